#pragma once

#include <QAbstractTableModel>

namespace imprint::core {
class Station;
}

namespace imprint::ui {

/// One row per fixture slot: where, which device, what step, and the verdict.
class SlotModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Slot, Device, Step, Result, Detail, ColumnCount };
    enum Role { StepRole = Qt::UserRole + 1 };

    explicit SlotModel(core::Station* station, QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    core::Station* m_station;
    int m_rows = 0;
};

} // namespace imprint::ui
