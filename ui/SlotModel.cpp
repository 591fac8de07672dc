#include "SlotModel.h"

#include "FailureWords.h"
#include "engine/Line.h"
#include "engine/SlotJob.h"

#include <QBrush>
#include <QColor>
#include <QFont>
#include <QHash>
#include <QTextDocument>

namespace imprint::ui {

using core::SlotJob;

namespace {

SlotModel::Verdict verdictOf(const core::SlotView& job)
{
    switch (job.step) {
    case SlotJob::Step::Passed: return SlotModel::Verdict::Pass;
    case SlotJob::Step::Failed: return SlotModel::Verdict::Fail;
    case SlotJob::Step::DoneEarlier: return SlotModel::Verdict::DoneEarlier;
    default: return SlotModel::Verdict::None;
    }
}

/// The step's name as the operator reads it (the engine's own names are for logs).
QString stepWords(SlotJob::Step step)
{
    switch (step) {
    case SlotJob::Step::Waiting: return SlotModel::tr("waiting");
    case SlotJob::Step::Connecting: return SlotModel::tr("connecting");
    case SlotJob::Step::Identifying: return SlotModel::tr("identifying");
    case SlotJob::Step::AwaitingSerial: return SlotModel::tr("waiting for its serial label");
    case SlotJob::Step::Keying: return SlotModel::tr("generating key");
    case SlotJob::Step::Issuing: return SlotModel::tr("checking and issuing");
    case SlotJob::Step::Injecting: return SlotModel::tr("installing certificate");
    case SlotJob::Step::Verifying: return SlotModel::tr("verifying");
    case SlotJob::Step::Locking: return SlotModel::tr("locking");
    case SlotJob::Step::Reconnecting: return SlotModel::tr("waiting for the device to come back");
    case SlotJob::Step::Passed: return SlotModel::tr("done, device locked");
    case SlotJob::Step::Failed: return SlotModel::tr("stopped");
    case SlotJob::Step::DoneEarlier: return SlotModel::tr("passed earlier, left as it is");
    }
    return {};
}

} // namespace

QString SlotModel::verdictText(Verdict v)
{
    switch (v) {
    case Verdict::Pass: return tr("PASS");
    case Verdict::Fail: return tr("FAIL");
    case Verdict::DoneEarlier: return tr("DONE EARLIER");
    case Verdict::None: return {};
    }
    return {};
}

SlotModel::SlotModel(core::Line* line, core::LineConfig config, QObject* parent)
    : QAbstractTableModel(parent)
    , m_lineSource(line)
    , m_line(std::move(config))
    , m_rows(line->slotCount())
{
    connect(line, &core::Line::slotAdded, this, [this](int index) {
        if (index < m_rows)
            return;
        beginInsertRows({}, m_rows, index);
        m_rows = index + 1;
        endInsertRows();
    });
    connect(line, &core::Line::reset, this, [this] {
        beginResetModel();
        m_rows = m_lineSource->slotCount();
        endResetModel();
    });
    connect(line, &core::Line::slotChanged, this, [this](int index) {
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
    const core::SlotView slot = m_lineSource->slotAt(index.row());
    const core::SlotView* job = &slot;
    const Verdict verdict = verdictOf(*job);
    const QString name = job->name.isEmpty() ? m_line.slotName(index.row()) : job->name;

    switch (role) {
    case StepRole: return static_cast<int>(job->step);
    case VerdictRole: return static_cast<int>(verdict);
    case NameRole: return name;
    case PortRole: return job->port;
    case ProgressRole:
        return SlotJob::pipelinePosition(job->step == SlotJob::Step::Failed ? job->failedStep : job->step);
    case StepElapsedRole: return job->stepElapsedMs();
    case StepLimitRole: return job->stepLimitMs;
    case WhenRole: return job->doneEarlierAt;
    case ShortDetailRole:
        switch (verdict) {
        case Verdict::Fail: {
            // Words by the failure's code, never the engine's English sentence (that is the tooltip's).
            return tr("%1 Press Retry.").arg(FailureWords::sentence(job->failureCode));
        }
        case Verdict::Pass: return tr("Remove the device.");
        case Verdict::DoneEarlier:
            return tr("Passed %1. Remove it: it is good.")
                .arg(QLocale().toString(job->doneEarlierAt.toLocalTime(), QLocale::ShortFormat));
        case Verdict::None: break;
        }
        if (job->step == SlotJob::Step::AwaitingSerial)
            return tr("No serial yet: scan the label on it.");
        return QString();
    case CheckSlotRole:
        // A bent pin or a bad cable fails device after device on the same slot.
        if (job->recentFailures >= 3)
            return tr("Check slot %1: %2 of its last %3 devices failed (a bent pin or a bad cable?).")
                .arg(name)
                .arg(job->recentFailures)
                .arg(job->recentVerdicts);
        return QString();
    default: break;
    }
    if (index.column() == Result) {
        if (role == Qt::BackgroundRole && verdict != Verdict::None)
            return QBrush(verdict == Verdict::Pass ? QColor(0x2e, 0x7d, 0x32)
                    : verdict == Verdict::Fail     ? QColor(0xc6, 0x28, 0x28)
                                                   : QColor(0x15, 0x65, 0xc0));
        if (role == Qt::ForegroundRole && verdict != Verdict::None)
            return QBrush(Qt::white);
        if (role == Qt::FontRole) {
            QFont f;
            f.setBold(true);
            return f;
        }
        if (role == Qt::TextAlignmentRole)
            return Qt::AlignCenter;
    }
    if (role == Qt::ToolTipRole) {
        // A tooltip is read as rich text when it looks like markup, and Detail holds a
        // device's own words (a refusal's message): given escaped, they show as they are.
        const QString words = data(index, Qt::DisplayRole).toString();
        return words.isEmpty() ? QVariant() : QVariant(Qt::convertFromPlainText(words));
    }
    if (role != Qt::DisplayRole)
        return {};

    switch (index.column()) {
    case Slot: return QStringLiteral("%1  %2").arg(name, job->port);
    case Device: return job->serial.isEmpty() ? QStringLiteral("—") : job->serial;
    case Step:
        if (verdict == Verdict::Fail)
            return tr("stopped while %1").arg(stepWords(job->failedStep));
        return stepWords(job->step);
    case Result: return verdictText(verdict);
    case Detail:
        switch (verdict) {
        case Verdict::Fail: return tr("%1 — Fix the device or its connection, then press Retry.").arg(job->failure);
        case Verdict::Pass:
            return tr("Certificate %1 installed and verified. Remove the device.").arg(job->certificateSerial.left(16));
        case Verdict::DoneEarlier:
            return tr("Passed on %1 with certificate %2; nothing was done to it. Remove the device: it is good.")
                .arg(QLocale().toString(job->doneEarlierAt.toLocalTime(), QLocale::ShortFormat),
                    job->certificateSerial.left(16));
        case Verdict::None: break;
        }
        if (job->step == SlotJob::Step::AwaitingSerial)
            return tr("The device has no serial yet: scan the label on it.");
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
