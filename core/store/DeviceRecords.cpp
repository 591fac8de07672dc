#include "store/DeviceRecords.h"

#include <algorithm>
#include <tuple>

namespace imprint::core {

namespace {

const QString DeviceColumns
    = QStringLiteral("SELECT serial, model, firmware, status, status_reason, first_seen, updated, lot FROM devices");

DeviceRecord deviceFrom(const QSqlQuery& q, sql::States& states)
{
    return DeviceRecord { q.value(0).toString(), q.value(1).toString(), q.value(2).toString(),
        states.read<DeviceStatus>(q.value(3)), q.value(4).toString(), sql::parseTime(q.value(5)),
        sql::parseTime(q.value(6)), q.value(7).toString() };
}

QString storedTime(const QDateTime& t)
{
    return t.toUTC().toString(Qt::ISODateWithMs);
}

} // namespace

Result<std::optional<DeviceRecord>> DeviceRecords::device(const QString& serial) const
{
    return sql::first<DeviceRecord>(m_connection, DeviceColumns + QStringLiteral(" WHERE serial = ?"), { serial },
        QStringLiteral("look up the device"), deviceFrom);
}

Result<QList<DeviceRecord>> DeviceRecords::devices(const DeviceQuery& query) const
{
    if (query.noDevice) {
        auto found = attempts(query);
        if (!found)
            return std::unexpected(found.error());
        QList<DeviceRecord> rows;
        for (const Attempt& a : *found)
            rows << DeviceRecord { {}, a.port, a.code, DeviceStatus::Failed,
                QStringLiteral("%1: %2").arg(a.code, a.reason), a.started, a.finished, a.lot };
        return rows;
    }
    QString statement = DeviceColumns + QStringLiteral(" WHERE 1 = 1");
    QVariantList values;
    if (query.status) {
        statement += QStringLiteral(" AND status = ?");
        values << text(*query.status);
    }
    if (!query.lot.isEmpty()) {
        statement += QStringLiteral(" AND lot = ?");
        values << query.lot;
    }
    if (!query.serialPrefix.isEmpty()) {
        // A range on the primary key's order, not LIKE (whose case folding cannot use it).
        statement += QStringLiteral(" AND serial >= ? AND serial < ?");
        QString end = query.serialPrefix;
        end.back() = QChar(end.back().unicode() + 1);
        values << query.serialPrefix << end;
    }
    if (query.since.isValid()) {
        statement += QStringLiteral(" AND updated >= ?");
        values << storedTime(query.since);
    }
    if (query.until.isValid()) {
        statement += QStringLiteral(" AND updated < ?");
        values << storedTime(query.until);
    }
    if (!query.before.isEmpty()) {
        // Keyset paging: the next page starts after the last row of this one (an index
        // range on (status|lot, updated, serial), never a sort of the table).
        QString anchorTime = query.beforeUpdated.isValid() ? storedTime(query.beforeUpdated) : QString();
        if (anchorTime.isEmpty()) {
            QSqlQuery anchor(m_connection.db());
            if (!sql::exec(anchor, QStringLiteral("SELECT updated FROM devices WHERE serial = ?"), { query.before }))
                return sql::fail(QStringLiteral("list devices"), anchor.lastError());
            if (!anchor.next())
                return fail(
                    ErrorCode::NotFound, QStringLiteral("No device with serial %1 is recorded.").arg(query.before));
            anchorTime = anchor.value(0).toString();
        }
        statement += QStringLiteral(" AND (updated, serial) < (?, ?)");
        values << anchorTime << query.before;
    }
    statement += QStringLiteral(" ORDER BY updated DESC, serial DESC LIMIT ?");
    values << std::clamp(query.limit, 1, 10000);
    return sql::rows<DeviceRecord>(m_connection, statement, values, QStringLiteral("list devices"), deviceFrom);
}

Result<QList<Attempt>> DeviceRecords::attempts(const DeviceQuery& query) const
{
    if (!query.serialPrefix.isEmpty() || (query.status && *query.status != DeviceStatus::Failed))
        return QList<Attempt> {};
    QString statement = QStringLiteral("SELECT id, port, station, operator, lot, started, finished, code, reason, "
                                       "claimed_serial, dropped_frames FROM attempts WHERE 1 = 1");
    QVariantList values;
    if (!query.lot.isEmpty()) {
        statement += QStringLiteral(" AND lot = ?");
        values << query.lot;
    }
    if (query.since.isValid()) {
        statement += QStringLiteral(" AND finished >= ?");
        values << storedTime(query.since);
    }
    if (query.until.isValid()) {
        statement += QStringLiteral(" AND finished < ?");
        values << storedTime(query.until);
    }
    if (query.beforeAttempt > 0) {
        statement += QStringLiteral(" AND id < ?");
        values << query.beforeAttempt;
    } else if (query.noDevice && query.beforeUpdated.isValid()) {
        // The next page of a list that shows attempts as rows: after its last row's time.
        statement += QStringLiteral(" AND finished < ?");
        values << storedTime(query.beforeUpdated);
    }
    // Ids grow with time: newest first is by id (the primary key, never a sort).
    statement += QStringLiteral(" ORDER BY id DESC LIMIT ?");
    values << std::clamp(query.limit, 1, 10000);
    return sql::rows<Attempt>(
        m_connection, statement, values, QStringLiteral("list attempts"), [](const QSqlQuery& q, sql::States&) {
            return Attempt { q.value(0).toLongLong(), q.value(1).toString(), q.value(2).toString(),
                q.value(3).toString(), q.value(4).toString(), sql::parseTime(q.value(5)), sql::parseTime(q.value(6)),
                q.value(7).toString(), q.value(8).toString(), q.value(9).toString(), q.value(10).toLongLong() };
        });
}

Result<ShiftFigures> DeviceRecords::shift(const QDateTime& since, const QDateTime& until, int bucketMinutes) const
{
    ShiftFigures f;
    f.since = since;
    f.until = until;
    f.asOf = QDateTime::currentDateTimeUtc();
    const qint64 bucketS = std::max(1, bucketMinutes) * 60;
    const qint64 startS = since.toSecsSinceEpoch();
    const QVariantList window { storedTime(since), storedTime(until) };
    const QString inShift = QStringLiteral("j.finished >= ? AND j.finished < ?");
    const QString passed = sql::literal(JobOutcome::Passed);
    const QString failed = sql::literal(JobOutcome::Failed);

    auto buckets = sql::rows<std::tuple<qint64, QString, int>>(m_connection,
        QStringLiteral("SELECT (CAST(strftime('%s', j.finished) AS INTEGER) - ?) / ?, j.result, COUNT(*) FROM jobs j "
                       "WHERE %1 AND j.result IN (%2, %3, %4) GROUP BY 1, 2")
            .arg(inShift, passed, failed, sql::literal(JobOutcome::DoneEarlier)),
        QVariantList { startS, bucketS } + window, QStringLiteral("count the shift's jobs"),
        [](const QSqlQuery& q, sql::States&) {
            return std::tuple<qint64, QString, int> { q.value(0).toLongLong(), q.value(1).toString(),
                q.value(2).toInt() };
        });
    if (!buckets)
        return std::unexpected(buckets.error());
    const qint64 shown = std::max<qint64>(
        1, (std::min(until, QDateTime::currentDateTimeUtc()).toSecsSinceEpoch() - startS + bucketS - 1) / bucketS);
    for (qint64 i = 0; i < shown; ++i)
        f.buckets.append(ShiftFigures::Bucket { since.addSecs(i * bucketS), 0, 0 });
    for (const auto& [bucket, result, n] : *buckets) {
        const bool pass = result == text(JobOutcome::Passed);
        const bool fail = result == text(JobOutcome::Failed);
        (pass ? f.passed : fail ? f.failed : f.doneEarlier) += n;
        if (bucket >= 0 && bucket < f.buckets.size() && (pass || fail))
            (pass ? f.buckets[bucket].passed : f.buckets[bucket].failed) += n;
    }
    // Attempts that failed before a device's job started, by bucket.
    const QString attemptsInShift = QStringLiteral("a.finished >= ? AND a.finished < ?");
    auto attempts = sql::rows<QPair<qint64, int>>(m_connection,
        QStringLiteral("SELECT (CAST(strftime('%s', a.finished) AS INTEGER) - ?) / ?, COUNT(*) FROM attempts a WHERE "
                       "%1 GROUP BY 1")
            .arg(attemptsInShift),
        QVariantList { startS, bucketS } + window, QStringLiteral("count the shift's attempts"),
        [](const QSqlQuery& q, sql::States&) {
            return QPair<qint64, int> { q.value(0).toLongLong(), q.value(1).toInt() };
        });
    if (!attempts)
        return std::unexpected(attempts.error());
    for (const auto& [bucket, n] : *attempts) {
        f.noDevice += n;
        if (bucket >= 0 && bucket < f.buckets.size())
            f.buckets[bucket].noDevice += n;
    }

    // First-pass yield: of the devices that passed or failed in the shift, those that passed
    // on their first job (no earlier job of theirs failed or passed).
    auto devices = sql::rows<QPair<int, int>>(m_connection,
        QStringLiteral("SELECT COUNT(DISTINCT j.device_serial), COUNT(DISTINCT CASE WHEN j.result = %2 AND NOT EXISTS "
                       "(SELECT 1 FROM jobs e WHERE e.device_serial = j.device_serial AND e.id < j.id AND e.result IN "
                       "(%2, %3)) THEN j.device_serial END) FROM jobs j WHERE %1 AND j.result IN (%2, %3)")
            .arg(inShift, passed, failed),
        window, QStringLiteral("count the shift's devices"), [](const QSqlQuery& q, sql::States&) {
            return QPair<int, int> { q.value(0).toInt(), q.value(1).toInt() };
        });
    if (!devices)
        return std::unexpected(devices.error());
    if (!devices->isEmpty()) {
        f.devices = devices->first().first;
        f.firstPass = devices->first().second;
    }

    // The failures by reason: the code before a job's reason's first colon, an attempt's code.
    auto reasons = sql::rows<QPair<QString, int>>(m_connection,
        QStringLiteral("SELECT code, COUNT(*) FROM (SELECT CASE WHEN instr(j.reason, ':') > 0 THEN substr(j.reason, 1, "
                       "instr(j.reason, ':') - 1) ELSE j.reason END AS code FROM jobs j WHERE %1 AND j.result = %2 "
                       "UNION ALL SELECT a.code FROM attempts a WHERE %3) GROUP BY code ORDER BY 2 DESC, code")
            .arg(inShift, failed, attemptsInShift),
        window + window, QStringLiteral("count the shift's failures"), [](const QSqlQuery& q, sql::States&) {
            return QPair<QString, int> { q.value(0).toString(), q.value(1).toInt() };
        });
    if (!reasons)
        return std::unexpected(reasons.error());
    f.failureReasons = *reasons;
    return f;
}

Result<QList<QPair<DeviceStatus, int>>> DeviceRecords::lotCounts(const QString& lot) const
{
    return countsWhere(QStringLiteral("lot = ?"), { lot }, QStringLiteral("count a lot's devices"));
}

Result<QList<QPair<DeviceStatus, int>>> DeviceRecords::countsWhere(
    const QString& condition, const QVariantList& values, const QString& what) const
{
    return sql::rows<QPair<DeviceStatus, int>>(m_connection,
        QStringLiteral("SELECT status, COUNT(*) FROM devices WHERE %1 GROUP BY status ORDER BY status").arg(condition),
        values, what, [](const QSqlQuery& q, sql::States& states) {
            return QPair<DeviceStatus, int> { states.read<DeviceStatus>(q.value(0)), q.value(1).toInt() };
        });
}

Result<QList<StepRecord>> DeviceRecords::timeline(const QString& deviceSerial, int limit) const
{
    // The steps in the order they were recorded. A request file's job from sign-batch has
    // none (see CertificateLedger::BatchRecorder): it shows as the one step it stands for,
    // after the steps recorded before it (a step an earlier job was given later comes after).
    return sql::rows<StepRecord>(m_connection,
        QStringLiteral(
            "SELECT job_id, step, status, detail, at, station, operator FROM ("
            "SELECT s.id AS n, 0 AS derived, s.job_id, s.step, s.status, s.detail, s.at, j.station, j.operator "
            "FROM job_steps s JOIN jobs j ON j.id = s.job_id WHERE j.device_serial = ? "
            "UNION ALL "
            "SELECT COALESCE((SELECT MAX(s.id) FROM job_steps s JOIN jobs e ON e.id = s.job_id "
            "WHERE e.device_serial = ? AND e.id < j.id AND s.at <= j.finished), 0), 1, j.id, %1, %2, "
            "'certificate ' || c.serial || ' for request file ' || substr(j.port, 6), j.finished, j.station, "
            "j.operator FROM jobs j JOIN certificates c ON c.job_id = j.id WHERE j.device_serial = ? "
            "AND j.port LIKE 'file:%' AND NOT EXISTS (SELECT 1 FROM job_steps s WHERE s.job_id = j.id)"
            ") ORDER BY n, derived, job_id LIMIT ?")
            .arg(sql::literal(StepName::Issue), sql::literal(StepStatus::Done)),
        { deviceSerial, deviceSerial, deviceSerial, limit }, QStringLiteral("look up the device's steps"),
        [](const QSqlQuery& q, sql::States& states) {
            return StepRecord { q.value(0).toLongLong(), states.read<StepName>(q.value(1)),
                states.read<StepStatus>(q.value(2)), q.value(3).toString(), sql::parseTime(q.value(4)),
                q.value(5).toString(), q.value(6).toString() };
        });
}

} // namespace imprint::core
