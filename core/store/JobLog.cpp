#include "store/JobLog.h"

#include "store/AuditLog.h"
#include "store/CertificateLedger.h"
#include "store/Outbox.h"

#include <algorithm>

namespace imprint::core {

JobLog::Writer::Writer(Transaction& tx)
    : m_step(tx.db(), QStringLiteral("INSERT INTO job_steps(job_id, step, status, detail, at) VALUES(?, ?, ?, ?, ?)"))
    , m_device(tx.db(),
          QStringLiteral("INSERT INTO devices(serial, model, firmware, status, first_seen, updated) "
                         "VALUES(?, '', '', ?, ?, ?) ON CONFLICT(serial) DO UPDATE SET status = excluded.status, "
                         "status_reason = '', updated = excluded.updated"))
    , m_job(tx.db(),
          QStringLiteral("INSERT INTO jobs(device_serial, port, station, operator, started, finished, result, reason) "
                         "VALUES(?, ?, ?, ?, ?, ?, ?, '')"))
{
}

bool JobLog::Writer::step(qint64 jobId, StepName step, StepStatus status, const QString& detail, const QString& at)
{
    return m_step.run({ jobId, text(step), text(status), detail, at });
}

qint64 JobLog::Writer::fileJob(const QString& deviceSerial, const QString& source, const QString& station,
    const QString& operatorName, const QString& at)
{
    if (!m_device.run({ deviceSerial, text(DeviceStatus::Issued), at, at })
        || !m_job.run({ deviceSerial, QStringLiteral("file:") + source, station, operatorName, at, at,
            text(JobOutcome::Issued) }))
        return 0;
    return m_job.lastInsertId();
}

QSqlError JobLog::Writer::error() const
{
    for (const QSqlError& e : { m_step.error(), m_device.error(), m_job.error() }) {
        if (e.isValid())
            return e;
    }
    return {};
}

Result<qint64> JobLog::begin(const DeviceIdentity& device, const QString& port, const QString& station,
    const QString& operatorName, const QString& lot)
{
    Transaction tx(m_connection);
    if (!tx.active())
        return sql::fail(QStringLiteral("start writing"), tx.error());
    QSqlQuery q(tx.db());
    const QString t = sql::now();
    const QString inProgress = text(DeviceStatus::InProgress);
    if (!sql::exec(q,
            QStringLiteral("INSERT INTO devices(serial, model, firmware, status, first_seen, updated, lot) "
                           "VALUES(?, ?, ?, ?, ?, ?, ?) "
                           "ON CONFLICT(serial) DO UPDATE SET model = excluded.model, "
                           "firmware = excluded.firmware, status = excluded.status, status_reason = '', "
                           "updated = excluded.updated, lot = CASE WHEN excluded.lot = '' THEN devices.lot ELSE "
                           "excluded.lot END"),
            { device.serial, device.model, device.firmware, inProgress, t, t, lot }))
        return sql::fail(QStringLiteral("record the device"), q.lastError());
    // Jobs of this device the station never finished (it stopped under them).
    QList<QPair<qint64, QString>> interrupted;
    if (!sql::exec(q,
            QStringLiteral("SELECT j.id, COALESCE((SELECT s.step FROM job_steps s WHERE s.job_id = j.id ORDER BY s.id "
                           "DESC LIMIT 1), '') FROM jobs j WHERE j.device_serial = ? AND j.finished IS NULL"),
            { device.serial }))
        return sql::fail(QStringLiteral("look up the device's jobs"), q.lastError());
    while (q.next())
        interrupted.append({ q.value(0).toLongLong(), q.value(1).toString() });
    if (!sql::exec(q,
            QStringLiteral("INSERT INTO jobs(device_serial, port, station, operator, started, lot) "
                           "VALUES(?, ?, ?, ?, ?, ?)"),
            { device.serial, port, station, operatorName, t, lot }))
        return sql::fail(QStringLiteral("start a job"), q.lastError());
    const qint64 id = q.lastInsertId().toLongLong();
    Writer steps(tx);
    CertificateLedger::Serials serials(tx);
    for (const auto& [old, lastStep] : interrupted) {
        const QString why = QStringLiteral("the station stopped during %1; continued in job %2").arg(lastStep).arg(id);
        if (!sql::exec(q, QStringLiteral("UPDATE jobs SET finished = ?, result = ?, reason = ? WHERE id = ?"),
                { t, text(JobOutcome::Interrupted), why, old })
            || !steps.step(old, StepName::Finish, finishStatus(JobOutcome::Interrupted), why, t)
            // A serial reserved but never used is void: it is never handed out again.
            || !serials.voidReserved(old)
            || !steps.step(id, StepName::Resume, StepStatus::Done,
                QStringLiteral("continues job %1, interrupted during %2").arg(old).arg(lastStep), t))
            return sql::fail(QStringLiteral("close an interrupted job"),
                q.lastError().isValid()       ? q.lastError()
                    : steps.error().isValid() ? steps.error()
                                              : serials.error());
    }
    if (!steps.step(id, StepName::Identify, StepStatus::Done, {}, t) || !tx.commit())
        return sql::fail(QStringLiteral("start a job"), steps.error().isValid() ? steps.error() : tx.error());
    return id;
}

Result<qint64> JobLog::recordAttempt(const Attempt& a)
{
    Transaction tx(m_connection);
    if (!tx.active())
        return sql::fail(QStringLiteral("start writing"), tx.error());
    QSqlQuery q(tx.db());
    const QString t = sql::now();
    const QString started = a.started.isValid() ? a.started.toUTC().toString(Qt::ISODateWithMs) : t;
    if (!sql::exec(q,
            QStringLiteral("INSERT INTO attempts(port, station, operator, lot, started, finished, code, reason, "
                           "claimed_serial, dropped_frames) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
            { a.port, a.station, a.operatorName, a.lot, started, t, a.code, a.reason, a.claimedSerial,
                a.droppedFrames }))
        return sql::fail(QStringLiteral("record the slot's attempt"), q.lastError());
    const qint64 id = q.lastInsertId().toLongLong();
    if (!tx.commit())
        return sql::fail(QStringLiteral("record the slot's attempt"), tx.error());
    return id;
}

Result<void> JobLog::recordStep(qint64 jobId, StepName step, StepStatus status, const QString& detail)
{
    Transaction tx(m_connection);
    if (!tx.active())
        return sql::fail(QStringLiteral("start writing"), tx.error());
    const QString t = sql::now();
    Writer steps(tx);
    if (!steps.step(jobId, step, status, detail, t))
        return sql::fail(QStringLiteral("record a step"), steps.error());
    // Refused requests are audited with the device they came from.
    if (status == StepStatus::Rejected) {
        QSqlQuery q(tx.db());
        if (!sql::exec(q, QStringLiteral("SELECT device_serial FROM jobs WHERE id = ?"), { jobId }))
            return sql::fail(QStringLiteral("record a step"), q.lastError());
        const QString device = q.next() ? q.value(0).toString() : QString();
        AuditLog::Appender audit(tx);
        if (!audit.append(AuditKind::Rejected, device, detail, jobId, t))
            return sql::fail(QStringLiteral("record a step"), audit.error());
    }
    if (!tx.commit())
        return sql::fail(QStringLiteral("record a step"), tx.error());
    return {};
}

Result<void> JobLog::finish(qint64 jobId, const QString& deviceSerial, JobOutcome outcome, const QString& reason)
{
    Transaction tx(m_connection);
    if (!tx.active())
        return sql::fail(QStringLiteral("start writing"), tx.error());
    QSqlQuery q(tx.db());
    const QString t = sql::now();
    // A job is finished once: one closed already (interrupted, the device scrapped) keeps
    // its end, and only the device's newest job sets its status.
    if (!sql::exec(q,
            QStringLiteral("UPDATE jobs SET finished = ?, result = ?, reason = ? WHERE id = ? AND finished IS NULL"),
            { t, text(outcome), outcome == JobOutcome::Passed ? QString() : reason, jobId }))
        return sql::fail(QStringLiteral("finish the job"), q.lastError());
    if (q.numRowsAffected() != 1) {
        // Closed already (the device started again on another slot, or was scrapped): a
        // failure changes nothing, a pass must not be shown as recorded.
        if (outcome != JobOutcome::Passed)
            return {};
        return fail(ErrorCode::Store,
            QStringLiteral("Job %1 of device %2 was closed already (the device was started again elsewhere, or "
                           "scrapped); its pass is not recorded. Look at imprintctl show --device-serial %2.")
                .arg(jobId)
                .arg(deviceSerial));
    }
    Writer steps(tx);
    CertificateLedger::Serials serials(tx);
    if (!sql::exec(q,
            QStringLiteral("UPDATE devices SET status = ?, status_reason = ?, updated = ? WHERE serial = ? AND NOT "
                           "EXISTS (SELECT 1 FROM jobs WHERE device_serial = ? AND id > ?)"),
            { text(deviceStatus(outcome)), outcome == JobOutcome::Passed ? QString() : reason, t, deviceSerial,
                deviceSerial, jobId }))
        return sql::fail(QStringLiteral("finish the job"), q.lastError());
    // A pass ends with the device locked: the lock is a step of its own (a pass's reason says how).
    if (!serials.voidReserved(jobId)
        || (outcome == JobOutcome::Passed
            && !steps.step(jobId, StepName::Lock, StepStatus::Done,
                reason.isEmpty() ? QStringLiteral("locked: it takes no other key or certificate") : reason, t))
        || !steps.step(
            jobId, StepName::Finish, finishStatus(outcome), outcome == JobOutcome::Passed ? QString() : reason, t)
        || !tx.commit())
        return sql::fail(QStringLiteral("finish the job"),
            serials.error().isValid()     ? serials.error()
                : steps.error().isValid() ? steps.error()
                                          : tx.error());
    return {};
}

Result<qint64> JobLog::newestId() const
{
    return sql::count(
        m_connection, QStringLiteral("SELECT COALESCE(MAX(id), 0) FROM jobs"), QStringLiteral("read the jobs"));
}

Result<qint64> JobLog::unfinishedCount(qint64 upToId) const
{
    QSqlQuery q(m_connection.db());
    if (!sql::exec(q, QStringLiteral("SELECT COUNT(*) FROM jobs WHERE finished IS NULL AND id <= ?"), { upToId })
        || !q.next())
        return sql::fail(QStringLiteral("count unfinished jobs"), q.lastError());
    return q.value(0).toLongLong();
}

Result<QList<UnfinishedJob>> JobLog::unfinished(int limit) const
{
    QSqlQuery q(m_connection.db());
    if (!sql::exec(q,
            QStringLiteral(
                "SELECT j.id, j.device_serial, j.port, j.station, j.operator, j.lot, j.started, "
                "(SELECT s.step || ' ' || s.status FROM job_steps s WHERE s.job_id = j.id ORDER BY s.id DESC LIMIT 1), "
                "(SELECT s.at FROM job_steps s WHERE s.job_id = j.id ORDER BY s.id DESC LIMIT 1), "
                "(SELECT c.serial FROM certificates c WHERE c.job_id = j.id ORDER BY c.rowid DESC LIMIT 1), "
                "(SELECT c.state FROM certificates c WHERE c.job_id = j.id ORDER BY c.rowid DESC LIMIT 1), "
                "(SELECT r.serial FROM serials r WHERE r.job_id = j.id AND r.state = %1 LIMIT 1) "
                "FROM jobs j WHERE j.finished IS NULL ORDER BY j.id LIMIT ?")
                .arg(sql::literal(SerialState::Reserved)),
            { std::clamp(limit, 1, 100000) }))
        return sql::fail(QStringLiteral("list unfinished jobs"), q.lastError());
    QList<UnfinishedJob> out;
    sql::States states;
    while (q.next()) {
        UnfinishedJob u;
        u.jobId = q.value(0).toLongLong();
        u.deviceSerial = q.value(1).toString();
        u.port = q.value(2).toString();
        u.station = q.value(3).toString();
        u.operatorName = q.value(4).toString();
        u.lot = q.value(5).toString();
        u.started = sql::parseTime(q.value(6));
        u.lastStep = q.value(7).toString();
        u.lastAt = sql::parseTime(q.value(8));
        u.certificateSerial = q.value(9).toString();
        u.certificateState = states.readOptional<CertificateState>(q.value(10));
        u.reservedSerial = q.value(11).toString();
        out.append(u);
    }
    if (!states.ok())
        return states.error();
    return out;
}

Result<void> JobLog::scrap(
    const QString& serial, const QString& reason, const QString& station, const QString& operatorName)
{
    Transaction tx(m_connection, Durability::Synced);
    if (!tx.active())
        return sql::fail(QStringLiteral("start writing"), tx.error());
    QSqlQuery q(tx.db());
    const QString t = sql::now();
    if (!sql::exec(q,
            QStringLiteral("UPDATE devices SET status = ?, status_reason = ?, updated = ? WHERE serial = ? AND status "
                           "<> ?"),
            { text(DeviceStatus::Scrapped), reason, t, serial, text(DeviceStatus::Scrapped) }))
        return sql::fail(QStringLiteral("scrap the device"), q.lastError());
    if (q.numRowsAffected() != 1) {
        // Not recorded, or scrapped already: the first scrap's record stands as it is.
        if (!sql::exec(q,
                QStringLiteral(
                    "SELECT d.status_reason, j.finished, j.operator, j.station FROM devices d LEFT JOIN jobs "
                    "j ON j.id = (SELECT MAX(id) FROM jobs WHERE device_serial = d.serial AND result = ?) "
                    "WHERE d.serial = ?"),
                { text(JobOutcome::Scrapped), serial }))
            return sql::fail(QStringLiteral("scrap the device"), q.lastError());
        if (!q.next())
            return fail(ErrorCode::NotFound, QStringLiteral("No device with serial %1 is recorded.").arg(serial));
        return fail(ErrorCode::BadInput,
            QStringLiteral("Device %1 was scrapped already%2: \"%3\". Nothing was changed and no CRL was signed.")
                .arg(serial,
                    q.value(1).isNull()
                        ? QString()
                        : QStringLiteral(" on %1 by %2 at station %3")
                              .arg(
                                  sql::parseTime(q.value(1)).toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm")),
                                  q.value(2).toString(), q.value(3).toString()),
                    q.value(0).toString()),
            {}, QStringLiteral("already-scrapped"));
    }
    // A job of its own, so the timeline says who scrapped it, where and when.
    if (!sql::exec(q,
            QStringLiteral(
                "INSERT INTO jobs(device_serial, port, station, operator, started, finished, result, reason) "
                "VALUES(?, '', ?, ?, ?, ?, ?, ?)"),
            { serial, station, operatorName, t, t, text(JobOutcome::Scrapped), reason }))
        return sql::fail(QStringLiteral("scrap the device"), q.lastError());
    const qint64 job = q.lastInsertId().toLongLong();
    Writer steps(tx);
    AuditLog::Appender audit(tx);
    if (!steps.step(job, StepName::Scrap, StepStatus::Done, reason, t))
        return sql::fail(QStringLiteral("scrap the device"), steps.error());
    if (!audit.append(AuditKind::Scrapped, serial, reason, job, t))
        return sql::fail(QStringLiteral("scrap the device"), audit.error());
    // A job the station never finished for it is over; its reserved serials are void.
    CertificateLedger::Serials serials(tx);
    if (!serials.voidReservedOfDevice(serial)
        || !sql::exec(q,
            QStringLiteral("UPDATE jobs SET finished = ?, result = ?, reason = 'device scrapped' WHERE "
                           "device_serial = ? AND finished IS NULL"),
            { t, text(JobOutcome::Interrupted), serial }))
        return sql::fail(
            QStringLiteral("scrap the device"), serials.error().isValid() ? serials.error() : q.lastError());
    // Its certificates are revoked: a scrapped device must not be trusted if it turns up.
    Outbox::Appender outbox(tx);
    if (auto r
        = CertificateLedger::revokeDevice(tx, serial, QStringLiteral("scrapped: ") + reason, job, t, audit, outbox);
        !r)
        return r;
    if (!tx.commit())
        return sql::fail(QStringLiteral("scrap the device"), tx.error());
    return {};
}

} // namespace imprint::core
