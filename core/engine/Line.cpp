#include "engine/Line.h"

#include "engine/Station.h"

namespace imprint::core {

SlotView SlotView::of(const SlotJob& job)
{
    SlotView v;
    v.index = job.index();
    v.port = job.port();
    v.step = job.step();
    v.failedStep = job.failedStep();
    v.serial = job.device().serial;
    v.model = job.device().model;
    v.failure = job.failure();
    v.failureCode = job.failureCode();
    v.certificateSerial = job.certificate().serialHex;
    v.stepStarted = QDateTime::currentDateTimeUtc().addMSecs(-job.stepElapsedMs());
    v.stepLimitMs = job.stepLimitMs();
    v.doneEarlierAt = job.doneEarlierAt();
    v.recentFailures = job.recentFailures();
    v.recentVerdicts = job.recentVerdicts();
    return v;
}

qint64 SlotView::stepElapsedMs() const
{
    return stepStarted.isValid() ? std::max<qint64>(0, stepStarted.msecsTo(QDateTime::currentDateTimeUtc())) : 0;
}

int Line::awaitingSerial() const
{
    for (int i = 0; i < slotCount(); ++i) {
        if (slotAt(i).step == SlotJob::Step::AwaitingSerial)
            return i;
    }
    return -1;
}

bool Line::allFinished() const
{
    for (int i = 0; i < slotCount(); ++i) {
        if (!slotAt(i).isFinished())
            return false;
    }
    return true;
}

LocalLine::LocalLine(Station* station, QObject* parent)
    : Line(parent)
    , m_station(station)
{
    connect(station, &Station::slotAdded, this, &Line::slotAdded);
    connect(station, &Station::slotChanged, this, &Line::slotChanged);
    connect(station, &Station::operatorChanged, this, &Line::operatorChanged);
    connect(station, &Station::finished, this, &Line::finished);
}

int LocalLine::slotCount() const
{
    return static_cast<int>(m_station->slotJobs().size());
}

SlotView LocalLine::slotAt(int index) const
{
    return SlotView::of(*m_station->slotJobs().at(index));
}

QString LocalLine::operatorName() const
{
    return m_station->operatorName();
}

QList<UnfinishedJob> LocalLine::interruptedJobs() const
{
    return m_station->interruptedJobs();
}

void LocalLine::retry(int index)
{
    m_station->slotJobs().at(index)->retry();
}

void LocalLine::abort(int index)
{
    m_station->slotJobs().at(index)->abort();
}

Result<void> LocalLine::assignSerial(int index, const QString& serial)
{
    return m_station->slotJobs().at(index)->assignSerial(serial);
}

void LocalLine::setOperator(const QString& name)
{
    m_station->setOperator(name);
}

} // namespace imprint::core
