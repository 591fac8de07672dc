#include "store/RecordStore.h"

#include <QAtomicInteger>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QVariant>

#include <algorithm>

namespace imprint::core {

namespace {

// Numbered migrations: entry i brings the schema from version i to i+1. Never edit a
// shipped entry; append a new one.
const QStringList& migrations()
{
    static const QStringList list {
        // 1: devices, certificates, jobs and their steps.
        QStringLiteral(R"(
        CREATE TABLE devices (
            serial TEXT PRIMARY KEY,
            model TEXT NOT NULL,
            firmware TEXT NOT NULL,
            status TEXT NOT NULL,
            status_reason TEXT NOT NULL DEFAULT '',
            first_seen TEXT NOT NULL,
            updated TEXT NOT NULL);
        CREATE TABLE certificates (
            serial TEXT PRIMARY KEY,
            device_serial TEXT NOT NULL REFERENCES devices(serial),
            job_id INTEGER NOT NULL REFERENCES jobs(id),
            der BLOB NOT NULL,
            sha256 TEXT NOT NULL,
            spki_sha256 TEXT NOT NULL,
            state TEXT NOT NULL,
            issued_at TEXT NOT NULL);
        CREATE INDEX certificates_by_device ON certificates(device_serial);
        CREATE INDEX certificates_by_key ON certificates(spki_sha256);
        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            device_serial TEXT NOT NULL REFERENCES devices(serial),
            port TEXT NOT NULL,
            station TEXT NOT NULL,
            operator TEXT NOT NULL,
            started TEXT NOT NULL,
            finished TEXT,
            result TEXT,
            reason TEXT);
        CREATE INDEX jobs_by_device ON jobs(device_serial);
        CREATE TABLE job_steps (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            job_id INTEGER NOT NULL REFERENCES jobs(id),
            step TEXT NOT NULL,
            status TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            at TEXT NOT NULL);
        CREATE INDEX job_steps_by_job ON job_steps(job_id);
        )"),
        // 2: QA queries by status and time without reading the whole table.
        QStringLiteral(R"(
        CREATE INDEX devices_by_status_updated ON devices(status, updated);
        CREATE INDEX devices_by_updated ON devices(updated);
        )"),
    };
    return list;
}

QString now()
{
    return QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs);
}

QDateTime parseTime(const QVariant& v)
{
    return QDateTime::fromString(v.toString(), Qt::ISODateWithMs);
}

std::unexpected<Error> storeFail(const QString& what, const QSqlError& error)
{
    return fail(ErrorCode::Store, QStringLiteral("The record store could not %1.").arg(what), error.text());
}

/// Rolls back unless committed: no half-written record survives an error path.
class Transaction {
public:
    explicit Transaction(QSqlDatabase db)
        : m_db(std::move(db))
    {
        m_active = m_db.transaction();
    }
    ~Transaction()
    {
        if (m_active)
            m_db.rollback();
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    bool active() const { return m_active; }
    bool commit()
    {
        m_active = false;
        return m_db.commit();
    }

private:
    QSqlDatabase m_db;
    bool m_active = false;
};

// Runs a prepared statement with positional values. A null QString binds as '' (the
// columns that hold text are NOT NULL); absent values are passed as QVariant().
bool exec(QSqlQuery& q, const QString& sql, const QVariantList& values)
{
    if (!q.prepare(sql))
        return false;
    for (const auto& v : values) {
        if (v.typeId() == QMetaType::QString && v.toString().isNull())
            q.addBindValue(QStringLiteral(""));
        else
            q.addBindValue(v);
    }
    return q.exec();
}

} // namespace

RecordStore::RecordStore(QString connectionName)
    : m_connection(std::move(connectionName))
{
}

RecordStore::RecordStore(RecordStore&& other) noexcept
    : m_connection(std::exchange(other.m_connection, {}))
{
}

RecordStore::~RecordStore()
{
    if (m_connection.isEmpty())
        return;
    {
        QSqlDatabase db = QSqlDatabase::database(m_connection, false);
        db.close();
    }
    QSqlDatabase::removeDatabase(m_connection);
}

Result<RecordStore> RecordStore::open(const QString& path, bool readOnly)
{
    static QAtomicInteger<quint64> counter;
    const QString name = QStringLiteral("imprint-store-%1").arg(counter.fetchAndAddRelaxed(1));
    RecordStore store(name);
    QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
    db.setDatabaseName(path);
    db.setConnectOptions(readOnly ? QStringLiteral("QSQLITE_OPEN_READONLY;QSQLITE_BUSY_TIMEOUT=5000")
                                  : QStringLiteral("QSQLITE_BUSY_TIMEOUT=5000"));
    if (!db.open())
        return storeFail(QStringLiteral("open %1").arg(path), db.lastError());

    QSqlQuery q(db);
    // WAL lets QA read while the line writes; FULL sync makes every commit survive a power cut.
    for (const char* pragma : { "PRAGMA foreign_keys = ON", "PRAGMA synchronous = FULL" }) {
        if (!q.exec(QString::fromLatin1(pragma)))
            return storeFail(QStringLiteral("be configured"), q.lastError());
    }
    if (!readOnly && !q.exec(QStringLiteral("PRAGMA journal_mode = WAL")))
        return storeFail(QStringLiteral("switch to WAL"), q.lastError());

    int version = store.schemaVersion();
    if (version > migrations().size())
        return fail(ErrorCode::Store,
            QStringLiteral("The record store was written by a newer Imprint (schema %1; this one knows %2).")
                .arg(version)
                .arg(migrations().size()));
    if (readOnly) {
        if (version < migrations().size())
            return fail(ErrorCode::Store, QStringLiteral("The record store needs an upgrade; run the station once."));
        return store;
    }
    while (version < migrations().size()) {
        Transaction tx(db);
        const QStringList statements = migrations().at(version).split(u';', Qt::SkipEmptyParts);
        for (const QString& sql : statements) {
            if (sql.trimmed().isEmpty())
                continue;
            if (!q.exec(sql))
                return storeFail(QStringLiteral("be upgraded to schema %1").arg(version + 1), q.lastError());
        }
        if (!q.exec(QStringLiteral("PRAGMA user_version = %1").arg(version + 1)) || !tx.commit())
            return storeFail(QStringLiteral("record its schema version"), q.lastError());
        ++version;
    }
    return store;
}

int RecordStore::schemaVersion() const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!q.exec(QStringLiteral("PRAGMA user_version")) || !q.next())
        return -1;
    return q.value(0).toInt();
}

Result<qint64> RecordStore::beginJob(
    const DeviceIdentity& device, const QString& port, const QString& station, const QString& operatorName)
{
    QSqlDatabase db = QSqlDatabase::database(m_connection);
    Transaction tx(db);
    QSqlQuery q(db);
    const QString t = now();
    if (!exec(q,
            QStringLiteral("INSERT INTO devices(serial, model, firmware, status, first_seen, updated) "
                           "VALUES(?, ?, ?, 'in-progress', ?, ?) "
                           "ON CONFLICT(serial) DO UPDATE SET model = excluded.model, "
                           "firmware = excluded.firmware, status = 'in-progress', status_reason = '', "
                           "updated = excluded.updated"),
            { device.serial, device.model, device.firmware, t, t }))
        return storeFail(QStringLiteral("record the device"), q.lastError());
    if (!exec(q,
            QStringLiteral("INSERT INTO jobs(device_serial, port, station, operator, started) VALUES(?, ?, ?, ?, ?)"),
            { device.serial, port, station, operatorName, t }))
        return storeFail(QStringLiteral("start a job"), q.lastError());
    const qint64 id = q.lastInsertId().toLongLong();
    if (!exec(q, QStringLiteral("INSERT INTO job_steps(job_id, step, status, at) VALUES(?, 'identify', 'done', ?)"),
            { id, t })
        || !tx.commit())
        return storeFail(QStringLiteral("start a job"), q.lastError());
    return id;
}

Result<void> RecordStore::recordStep(qint64 jobId, const QString& step, const QString& status, const QString& detail)
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!exec(q, QStringLiteral("INSERT INTO job_steps(job_id, step, status, detail, at) VALUES(?, ?, ?, ?, ?)"),
            { jobId, step, status, detail, now() }))
        return storeFail(QStringLiteral("record a step"), q.lastError());
    return {};
}

Result<void> RecordStore::recordIssued(qint64 jobId, const QString& deviceSerial, const QByteArray& der,
    const QString& serialHex, const QString& sha256, const QString& publicKeySha256)
{
    QSqlDatabase db = QSqlDatabase::database(m_connection);
    Transaction tx(db);
    QSqlQuery q(db);
    const QString t = now();
    if (!exec(q,
            QStringLiteral("INSERT INTO certificates(serial, device_serial, job_id, der, sha256, spki_sha256, state, "
                           "issued_at) VALUES(?, ?, ?, ?, ?, ?, 'issued', ?)"),
            { serialHex, deviceSerial, jobId, der, sha256, publicKeySha256, t }))
        return storeFail(QStringLiteral("record the issued certificate"), q.lastError());
    if (!exec(q,
            QStringLiteral("INSERT INTO job_steps(job_id, step, status, detail, at) VALUES(?, 'issue', 'done', ?, ?)"),
            { jobId, QStringLiteral("certificate ") + serialHex, t })
        || !tx.commit())
        return storeFail(QStringLiteral("commit the issued certificate"), q.lastError());
    return {};
}

Result<void> RecordStore::setCertificateState(const QString& serialHex, const QString& state)
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!exec(q, QStringLiteral("UPDATE certificates SET state = ? WHERE serial = ?"), { state, serialHex }))
        return storeFail(QStringLiteral("update a certificate"), q.lastError());
    return {};
}

Result<void> RecordStore::finishJob(
    qint64 jobId, const QString& deviceSerial, JobOutcome outcome, const QString& reason)
{
    QSqlDatabase db = QSqlDatabase::database(m_connection);
    Transaction tx(db);
    QSqlQuery q(db);
    const QString t = now();
    const QString result = outcome == JobOutcome::Passed ? QStringLiteral("passed")
        : outcome == JobOutcome::Failed                  ? QStringLiteral("failed")
                                                         : QStringLiteral("issued");
    if (!exec(q, QStringLiteral("UPDATE jobs SET finished = ?, result = ?, reason = ? WHERE id = ?"),
            { t, result, reason, jobId })
        || !exec(q, QStringLiteral("UPDATE devices SET status = ?, status_reason = ?, updated = ? WHERE serial = ?"),
            { result, reason, t, deviceSerial })
        || !exec(q,
            QStringLiteral("INSERT INTO job_steps(job_id, step, status, detail, at) VALUES(?, 'finish', ?, ?, ?)"),
            { jobId, result, reason, t })
        || !tx.commit())
        return storeFail(QStringLiteral("finish the job"), q.lastError());
    return {};
}

Result<void> RecordStore::recordBatch(
    const QList<BatchIssued>& issued, const QString& station, const QString& operatorName)
{
    QSqlDatabase db = QSqlDatabase::database(m_connection);
    Transaction tx(db);
    QSqlQuery device(db), job(db), cert(db), step(db);
    const QString t = now();
    const bool prepared = device.prepare(QStringLiteral(
                              "INSERT INTO devices(serial, model, firmware, status, first_seen, updated) "
                              "VALUES(?, '', '', 'issued', ?, ?) ON CONFLICT(serial) DO UPDATE SET status = 'issued', "
                              "status_reason = '', updated = excluded.updated"))
        && job.prepare(QStringLiteral("INSERT INTO jobs(device_serial, port, station, operator, started, finished, "
                                      "result, reason) VALUES(?, ?, ?, ?, ?, ?, 'issued', '')"))
        && cert.prepare(QStringLiteral("INSERT INTO certificates(serial, device_serial, job_id, der, sha256, "
                                       "spki_sha256, state, issued_at) VALUES(?, ?, ?, ?, ?, ?, 'issued', ?)"))
        && step.prepare(
            QStringLiteral("INSERT INTO job_steps(job_id, step, status, detail, at) VALUES(?, ?, ?, ?, ?)"));
    if (!tx.active() || !prepared)
        return storeFail(QStringLiteral("start recording the batch"), db.lastError());
    auto run = [](QSqlQuery& q, const QVariantList& values) {
        for (qsizetype i = 0; i < values.size(); ++i)
            q.bindValue(static_cast<int>(i), values[i]);
        return q.exec();
    };
    for (const BatchIssued& b : issued) {
        if (!run(device, { b.deviceSerial, t, t })
            || !run(job, { b.deviceSerial, QStringLiteral("file:") + b.source, station, operatorName, t, t }))
            return storeFail(QStringLiteral("record the batch"),
                device.lastError().isValid() ? device.lastError() : job.lastError());
        const qint64 id = job.lastInsertId().toLongLong();
        if (!run(cert, { b.serialHex, b.deviceSerial, id, b.der, b.sha256, b.publicKeySha256, t }))
            return storeFail(QStringLiteral("record an issued certificate"), cert.lastError());
        if (!run(step, { id, QStringLiteral("check-csr"), QStringLiteral("done"), b.keyType, t })
            || !run(step,
                { id, QStringLiteral("issue"), QStringLiteral("done"), QStringLiteral("certificate ") + b.serialHex,
                    t })
            || !run(step, { id, QStringLiteral("finish"), QStringLiteral("issued"), QString(QLatin1String("")), t }))
            return storeFail(QStringLiteral("record the batch"), step.lastError());
    }
    if (!tx.commit())
        return storeFail(QStringLiteral("commit the batch"), db.lastError());
    return {};
}

Result<bool> RecordStore::hasCertificate(const QString& deviceSerial) const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!exec(q, QStringLiteral("SELECT 1 FROM certificates WHERE device_serial = ? LIMIT 1"), { deviceSerial }))
        return storeFail(QStringLiteral("look up a device"), q.lastError());
    return q.next();
}

Result<std::optional<QString>> RecordStore::keyOwner(const QString& publicKeySha256) const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!exec(q, QStringLiteral("SELECT device_serial FROM certificates WHERE spki_sha256 = ? LIMIT 1"),
            { publicKeySha256 }))
        return storeFail(QStringLiteral("look up a public key"), q.lastError());
    if (!q.next())
        return std::optional<QString> {};
    return std::optional<QString> { q.value(0).toString() };
}

Result<QList<DeviceRecord>> RecordStore::devices(const DeviceQuery& query) const
{
    QString sql = QStringLiteral(
        "SELECT serial, model, firmware, status, status_reason, first_seen, updated FROM devices WHERE 1 = 1");
    QVariantList values;
    if (!query.status.isEmpty()) {
        sql += QStringLiteral(" AND status = ?");
        values << query.status;
    }
    if (query.since.isValid()) {
        sql += QStringLiteral(" AND updated >= ?");
        values << query.since.toUTC().toString(Qt::ISODateWithMs);
    }
    if (query.until.isValid()) {
        sql += QStringLiteral(" AND updated < ?");
        values << query.until.toUTC().toString(Qt::ISODateWithMs);
    }
    if (!query.before.isEmpty()) {
        // Keyset paging: the next page starts after the last row of this one.
        sql += QStringLiteral(" AND (updated, serial) < (SELECT updated, serial FROM devices WHERE serial = ?)");
        values << query.before;
    }
    sql += QStringLiteral(" ORDER BY updated DESC, serial DESC LIMIT ?");
    values << std::clamp(query.limit, 1, 10000);
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!exec(q, sql, values))
        return storeFail(QStringLiteral("list devices"), q.lastError());
    QList<DeviceRecord> out;
    while (q.next())
        out.append(DeviceRecord { q.value(0).toString(), q.value(1).toString(), q.value(2).toString(),
            q.value(3).toString(), q.value(4).toString(), parseTime(q.value(5)), parseTime(q.value(6)) });
    return out;
}

Result<QList<QPair<QString, int>>> RecordStore::statusCounts(const QDateTime& since, const QDateTime& until) const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!exec(q,
            QStringLiteral("SELECT status, COUNT(*) FROM devices WHERE updated >= ? AND updated < ? GROUP BY status "
                           "ORDER BY status"),
            { since.toUTC().toString(Qt::ISODateWithMs), until.toUTC().toString(Qt::ISODateWithMs) }))
        return storeFail(QStringLiteral("count devices"), q.lastError());
    QList<QPair<QString, int>> out;
    while (q.next())
        out.append({ q.value(0).toString(), q.value(1).toInt() });
    return out;
}

Result<void> RecordStore::scrap(
    const QString& serial, const QString& reason, const QString& station, const QString& operatorName)
{
    QSqlDatabase db = QSqlDatabase::database(m_connection);
    Transaction tx(db);
    QSqlQuery q(db);
    const QString t = now();
    if (!exec(q,
            QStringLiteral("UPDATE devices SET status = 'scrapped', status_reason = ?, updated = ? WHERE serial = ?"),
            { reason, t, serial }))
        return storeFail(QStringLiteral("scrap the device"), q.lastError());
    if (q.numRowsAffected() != 1)
        return fail(ErrorCode::NotFound, QStringLiteral("No device with serial %1 is recorded.").arg(serial));
    // A job of its own, so the timeline says who scrapped it, where and when.
    if (!exec(q,
            QStringLiteral(
                "INSERT INTO jobs(device_serial, port, station, operator, started, finished, result, reason) "
                "VALUES(?, '', ?, ?, ?, ?, 'scrapped', ?)"),
            { serial, station, operatorName, t, t, reason }))
        return storeFail(QStringLiteral("scrap the device"), q.lastError());
    const qint64 job = q.lastInsertId().toLongLong();
    if (!exec(q,
            QStringLiteral("INSERT INTO job_steps(job_id, step, status, detail, at) VALUES(?, 'scrap', 'done', ?, ?)"),
            { job, reason, t })
        || !tx.commit())
        return storeFail(QStringLiteral("scrap the device"), q.lastError());
    return {};
}

Result<std::optional<DeviceRecord>> RecordStore::device(const QString& serial) const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!exec(q,
            QStringLiteral("SELECT serial, model, firmware, status, status_reason, first_seen, updated FROM devices "
                           "WHERE serial = ?"),
            { serial }))
        return storeFail(QStringLiteral("look up the device"), q.lastError());
    if (!q.next())
        return std::optional<DeviceRecord> {};
    DeviceRecord r { q.value(0).toString(), q.value(1).toString(), q.value(2).toString(), q.value(3).toString(),
        q.value(4).toString(), parseTime(q.value(5)), parseTime(q.value(6)) };
    return std::optional<DeviceRecord> { r };
}

Result<QList<CertificateRecord>> RecordStore::certificates(const QString& deviceSerial) const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!exec(q,
            QStringLiteral("SELECT serial, device_serial, der, sha256, state, issued_at FROM certificates "
                           "WHERE device_serial = ? ORDER BY issued_at DESC, rowid DESC"),
            { deviceSerial }))
        return storeFail(QStringLiteral("look up certificates"), q.lastError());
    QList<CertificateRecord> out;
    while (q.next())
        out << CertificateRecord { q.value(0).toString(), q.value(1).toString(), q.value(2).toByteArray(),
            q.value(3).toString(), q.value(4).toString(), parseTime(q.value(5)) };
    return out;
}

Result<QList<StepRecord>> RecordStore::steps(const QString& deviceSerial, int limit) const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!exec(q,
            QStringLiteral("SELECT s.job_id, s.step, s.status, s.detail, s.at FROM job_steps s "
                           "JOIN jobs j ON j.id = s.job_id WHERE j.device_serial = ? ORDER BY s.id LIMIT ?"),
            { deviceSerial, limit }))
        return storeFail(QStringLiteral("look up the device's steps"), q.lastError());
    QList<StepRecord> out;
    while (q.next())
        out << StepRecord { q.value(0).toLongLong(), q.value(1).toString(), q.value(2).toString(),
            q.value(3).toString(), parseTime(q.value(4)) };
    return out;
}

} // namespace imprint::core
