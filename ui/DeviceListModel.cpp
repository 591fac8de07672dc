#include "DeviceListModel.h"

#include "engine/QaDesk.h"

#include "engine/Backoffice.h"

#include <QLocale>
#include <QTextDocument>

namespace imprint::ui {

DeviceListModel::DeviceListModel(core::QaDesk* desk, QObject* parent)
    : QAbstractTableModel(parent)
    , m_desk(desk)
{
}

void DeviceListModel::setQuery(const core::DeviceQuery& query)
{
    beginResetModel();
    m_query = query;
    m_query.before.clear();
    m_rows.clear();
    m_pages = 0;
    m_atEnd = false;
    m_fetching = false;
    ++m_generation;
    endResetModel();
    // The first page at once: a view asks for more only as it scrolls.
    fetchMore({});
}

int DeviceListModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

int DeviceListModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

bool DeviceListModel::canFetchMore(const QModelIndex& parent) const
{
    return !parent.isValid() && !m_atEnd && !m_fetching;
}

void DeviceListModel::fetchMore(const QModelIndex& parent)
{
    if (!canFetchMore(parent))
        return;
    m_fetching = true;
    ++m_pages;
    core::DeviceQuery q = m_query;
    q.limit = PageSize;
    q.before = m_rows.isEmpty() ? QString() : m_rows.last().serial;
    q.beforeUpdated = m_rows.isEmpty() ? QDateTime() : m_rows.last().updated;
    const quint64 generation = m_generation;
    m_desk->devices(this, q, [this, generation](core::Result<QList<core::DeviceRecord>> page) {
        if (generation != m_generation)
            return;
        if (!page) {
            m_fetching = false;
            m_atEnd = true;
            emit failed(page.error().message);
            return;
        }
        if (page->size() < PageSize)
            m_atEnd = true;
        // Still fetching while the rows go in: a view that asks for more from inside
        // the insertion must not start the same page again.
        if (!page->isEmpty()) {
            const int first = static_cast<int>(m_rows.size());
            beginInsertRows({}, first, first + static_cast<int>(page->size()) - 1);
            m_rows.append(*page);
            endInsertRows();
        }
        m_fetching = false;
        emit pageArrived();
    });
}

QVariant DeviceListModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= m_rows.size() || (role != Qt::DisplayRole && role != Qt::ToolTipRole))
        return {};
    if (role == Qt::ToolTipRole) {
        // A tooltip is read as rich text when it looks like markup; model, firmware and
        // reason are a device's words: given escaped, they show as they are.
        const QString words = data(index, Qt::DisplayRole).toString();
        return words.isEmpty() ? QVariant() : QVariant(Qt::convertFromPlainText(words));
    }
    const core::DeviceRecord& d = m_rows.at(index.row());
    switch (index.column()) {
    case Serial: return d.serial.isEmpty() ? tr("(no device identified)") : d.serial;
    case Status: return text(d.status);
    case Lot: return d.lot;
    case Model: return d.model;
    case Firmware: return d.firmware;
    case Updated: return QLocale().toString(d.updated.toLocalTime(), QLocale::ShortFormat);
    case Reason: return d.statusReason;
    default: return {};
    }
}

QVariant DeviceListModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Serial: return tr("Serial");
    case Status: return tr("Status");
    case Lot: return tr("Lot");
    case Model: return tr("Model");
    case Firmware: return tr("Firmware");
    case Updated: return tr("Updated");
    case Reason: return tr("Reason");
    default: return {};
    }
}

} // namespace imprint::ui
