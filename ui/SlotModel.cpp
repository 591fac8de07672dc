#include "SlotModel.h"

#include "engine/SlotJob.h"
#include "engine/Station.h"

#include <QBrush>
#include <QColor>
#include <QFont>

namespace imprint::ui {

using core::SlotJob;

SlotModel::SlotModel(core::Station* station, QObject* parent)
    : QAbstractTableModel(parent)
    , m_station(station)
    , m_rows(static_cast<int>(station->slotJobs().size()))
{
    connect(station, &core::Station::slotAdded, this, [this](int index) {
        if (index < m_rows)
            return;
        beginInsertRows({}, m_rows, index);
        m_rows = index + 1;
        endInsertRows();
    });
    connect(station, &core::Station::slotChanged, this, [this](int index) {
        if (index < m_rows)
            emit dataChanged(this->index(index, 0), this->index(index, ColumnCount - 1));
    });
}

int SlotModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : m_rows;
}

int SlotModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant SlotModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= m_rows)
        return {};
    const SlotJob* job = m_station->slotJobs().at(index.row());
    const bool passed = job->step() == SlotJob::Step::Passed;
    const bool failed = job->step() == SlotJob::Step::Failed;

    if (role == StepRole)
        return static_cast<int>(job->step());
    if (role == Qt::BackgroundRole && index.column() == Result && (passed || failed))
        return QBrush(passed ? QColor(0x2e, 0x7d, 0x32) : QColor(0xc6, 0x28, 0x28));
    if (role == Qt::ForegroundRole && index.column() == Result && (passed || failed))
        return QBrush(Qt::white);
    if (role == Qt::FontRole && index.column() == Result) {
        QFont f;
        f.setBold(true);
        return f;
    }
    if (role == Qt::TextAlignmentRole && index.column() == Result)
        return Qt::AlignCenter;
    if (role != Qt::DisplayRole && role != Qt::ToolTipRole)
        return {};

    switch (index.column()) {
    case Slot: return QStringLiteral("%1  %2").arg(job->index() + 1).arg(job->port());
    case Device: return job->device().serial.isEmpty() ? QStringLiteral("—") : job->device().serial;
    case Step:
        if (passed)
            return tr("done, device locked");
        if (failed)
            return tr("stopped while %1").arg(SlotJob::stepName(job->failedStep()));
        return SlotJob::stepName(job->step());
    case Result: return passed ? QStringLiteral("PASS") : failed ? QStringLiteral("FAIL") : QString();
    case Detail:
        if (failed)
            return job->failure() + QStringLiteral(" — Fix the device or its connection, then press Retry.");
        if (passed)
            return QStringLiteral("Certificate %1 installed and verified. Remove the device.")
                .arg(job->certificate().serialHex.left(16));
        if (job->step() == SlotJob::Step::AwaitingSerial)
            return QStringLiteral("The device has no serial yet: scan the label on it.");
        return QString();
    default: return {};
    }
}

QVariant SlotModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Slot: return tr("Slot");
    case Device: return tr("Device serial");
    case Step: return tr("Step");
    case Result: return tr("Result");
    case Detail: return tr("What to do");
    default: return {};
    }
}

} // namespace imprint::ui
