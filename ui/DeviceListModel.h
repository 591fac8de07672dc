#pragma once

#include "domain/Records.h"

#include <QAbstractTableModel>

namespace imprint::core {
class QaDesk;
}

namespace imprint::ui {

/// The QA screen's device list: filtered, newest first, fetched from the store a page at a
/// time as the view scrolls (canFetchMore / fetchMore, keyset paging), never the whole table.
/// Pages are read on the back office's thread; the view never waits for them.
class DeviceListModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Serial, Status, Lot, Model, Firmware, Updated, Reason, ColumnCount };
    static constexpr int PageSize = 64;

    explicit DeviceListModel(core::QaDesk* desk, QObject* parent = nullptr);

    /// Starts over with these filters (limit and paging are the model's).
    void setQuery(const core::DeviceQuery& query);
    const core::DeviceQuery& query() const { return m_query; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    bool canFetchMore(const QModelIndex& parent) const override;
    void fetchMore(const QModelIndex& parent) override;

    const core::DeviceRecord& device(int row) const { return m_rows.at(row); }
    /// Pages asked of the store for this query (for tests: the model reads only as the view needs).
    int pagesRead() const { return m_pages; }
    bool isFetching() const { return m_fetching; }

signals:
    void failed(const QString& message);
    void pageArrived();

private:
    core::QaDesk* m_desk;
    core::DeviceQuery m_query;
    QList<core::DeviceRecord> m_rows;
    bool m_atEnd = false;
    bool m_fetching = false;
    quint64 m_generation = 0; ///< pages of an older query are dropped
    int m_pages = 0;
};

} // namespace imprint::ui
