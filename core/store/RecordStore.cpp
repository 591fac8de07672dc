#include "store/RecordStore.h"

#include "pki/OpenSsl.h"

#include <QAtomicInteger>
#include <QHash>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QVariant>
#include <QtEndian>

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
        // 3: the audit log, a SHA-256 chain (see auditHash).
        QStringLiteral(R"(
        CREATE TABLE audit (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            station TEXT NOT NULL,
            operator TEXT NOT NULL,
            kind TEXT NOT NULL,
            subject TEXT NOT NULL,
            detail TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL);
        CREATE INDEX audit_by_subject ON audit(subject);
        )"),
        // 4: the write-ahead record of serials (reserved before signing, never handed out
        // twice), lots / work orders, the outbox for upstream, and signed audit checkpoints.
        QStringLiteral(R"(
        CREATE TABLE serials (
            serial TEXT PRIMARY KEY,
            job_id INTEGER NOT NULL REFERENCES jobs(id),
            state TEXT NOT NULL,
            reserved TEXT NOT NULL);
        CREATE INDEX serials_reserved ON serials(job_id) WHERE state = 'reserved';
        INSERT INTO serials(serial, job_id, state, reserved) SELECT serial, job_id, 'used', issued_at FROM certificates;
        CREATE TABLE lots (
            id TEXT PRIMARY KEY,
            profile TEXT NOT NULL,
            expected INTEGER NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            created TEXT NOT NULL,
            station TEXT NOT NULL,
            operator TEXT NOT NULL);
        ALTER TABLE jobs ADD COLUMN lot TEXT NOT NULL DEFAULT '';
        ALTER TABLE devices ADD COLUMN lot TEXT NOT NULL DEFAULT '';
        CREATE INDEX devices_by_lot_updated ON devices(lot, updated, serial);
        DROP INDEX devices_by_status_updated;
        CREATE INDEX devices_by_status_updated ON devices(status, updated, serial);
        DROP INDEX devices_by_updated;
        CREATE INDEX devices_by_updated ON devices(updated, serial);
        CREATE INDEX jobs_unfinished ON jobs(id) WHERE finished IS NULL;
        CREATE INDEX certificates_by_job ON certificates(job_id);
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            subject TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            created TEXT NOT NULL,
            sent TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT '');
        CREATE INDEX outbox_pending ON outbox(id) WHERE sent IS NULL;
        INSERT INTO outbox(kind, subject, created) SELECT 'certificate', serial, issued_at FROM certificates
            ORDER BY issued_at, serial;
        CREATE TABLE audit_checkpoints (
            seq INTEGER PRIMARY KEY,
            hash TEXT NOT NULL,
            at TEXT NOT NULL,
            key_sha256 TEXT NOT NULL,
            signature BLOB NOT NULL);
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

/// How far a commit must get before it returns. Every commit survives the station being
/// killed (SQLite has written it to the operating system). Synced commits also survive a
/// power cut: the WAL is fsynced, and with it every commit before. Issued certificates
/// (before they leave), revocations, administrative acts and audit checkpoints are synced;
/// the rest, the write-ahead intent included, rides along with the next synced commit. A
/// power cut can then lose an intent only together with everything signed under it, and
/// nothing signed leaves the station before its own synced commit.
enum class Durability { Written, Synced };

/// Rolls back unless committed: no half-written record survives an error path.
class Transaction {
public:
    explicit Transaction(QSqlDatabase db, Durability durability = Durability::Written)
        : m_db(std::move(db))
        , m_synced(durability == Durability::Synced)
    {
        QSqlQuery q(m_db);
        // IMMEDIATE: the write lock is taken (waiting up to the busy timeout) before anything
        // is read, so another writer (imprintctl beside the station) cannot invalidate what
        // this transaction read. Not active: the caller writes nothing (see begun()).
        m_active = (!m_synced || q.exec(QStringLiteral("PRAGMA synchronous = FULL")))
            && q.exec(QStringLiteral("BEGIN IMMEDIATE"));
        if (!m_active)
            m_error = q.lastError();
    }
    ~Transaction()
    {
        if (m_active)
            QSqlQuery(m_db).exec(QStringLiteral("ROLLBACK"));
        if (m_synced)
            QSqlQuery(m_db).exec(QStringLiteral("PRAGMA synchronous = NORMAL"));
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    bool active() const { return m_active; }
    const QSqlError& error() const { return m_error; }
    bool commit()
    {
        QSqlQuery q(m_db);
        if (!m_active || !q.exec(QStringLiteral("COMMIT"))) {
            if (m_active)
                m_error = q.lastError();
            return false; // still active: the destructor rolls back
        }
        m_active = false;
        return true;
    }

private:
    QSqlDatabase m_db;
    bool m_synced = false;
    bool m_active = false;
    QSqlError m_error;
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

const QString GenesisHash = QString(64, u'0');

/// SHA-256 over the previous entry's hash and a canonical encoding of this entry: a context
/// string, the sequence number (8 bytes big-endian), then each field as a 4-byte big-endian
/// length and its UTF-8 bytes, in a fixed order. Any edit, removal or reordering breaks it.
QString auditHash(const QString& prevHash, qint64 seq, const AuditEntry& e)
{
    QByteArray data = QByteArray::fromHex(prevHash.toLatin1());
    data += QByteArray("IMPRINT-AUDIT-V1", 17); // with its terminating zero
    char be[8];
    qToBigEndian(static_cast<quint64>(seq), be);
    data.append(be, 8);
    for (const QString* field : { &e.at, &e.station, &e.operatorName, &e.kind, &e.subject, &e.detail }) {
        const QByteArray utf8 = field->toUtf8();
        char len[4];
        qToBigEndian(static_cast<quint32>(utf8.size()), len);
        data.append(len, 4);
        data += utf8;
    }
    return ossl::sha256Hex(data);
}

/// The newest entry's number and hash: where the next entry links in.
struct AuditHead {
    qint64 seq = 0;
    QString hash = GenesisHash;
};

bool readAuditHead(QSqlQuery& q, AuditHead* head)
{
    if (!q.exec(QStringLiteral("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")))
        return false;
    *head = q.next() ? AuditHead { q.value(0).toLongLong(), q.value(1).toString() } : AuditHead {};
    return true;
}

/// Inserts `e` after `head` and moves `head` on. `insert` may be prepared once for many entries.
bool insertAudit(QSqlQuery& insert, AuditHead* head, const AuditEntry& e)
{
    const qint64 seq = head->seq + 1;
    const QString hash = auditHash(head->hash, seq, e);
    if (!exec(insert,
            QStringLiteral("INSERT INTO audit(seq, at, station, operator, kind, subject, detail, prev_hash, hash) "
                           "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)"),
            { seq, e.at, e.station, e.operatorName, e.kind, e.subject, e.detail, head->hash, hash }))
        return false;
    *head = AuditHead { seq, hash };
    return true;
}

/// Appends `e` after the newest entry, inside the caller's transaction.
bool appendEntry(QSqlQuery& q, const AuditEntry& e)
{
    AuditHead head;
    return readAuditHead(q, &head) && insertAudit(q, &head, e);
}

/// An entry as the audit queries select it: seq, at, station, operator, kind, subject, detail.
AuditEntry auditFrom(const QSqlQuery& q)
{
    return AuditEntry { q.value(0).toLongLong(), q.value(1).toString(), q.value(2).toString(), q.value(3).toString(),
        q.value(4).toString(), q.value(5).toString(), q.value(6).toString() };
}

/// Appends an entry inside the caller's transaction; station and operator come from the job.
bool appendAudit(
    QSqlQuery& q, const QString& kind, const QString& subject, const QString& detail, qint64 jobId, const QString& at)
{
    AuditEntry e;
    e.at = at;
    e.kind = kind;
    e.subject = subject;
    e.detail = detail;
    if (jobId != 0) {
        if (!exec(q, QStringLiteral("SELECT station, operator FROM jobs WHERE id = ?"), { jobId }))
            return false;
        if (q.next()) {
            e.station = q.value(0).toString();
            e.operatorName = q.value(1).toString();
        }
    }
    return appendEntry(q, e);
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
    // WAL lets QA read while the line writes; synced transactions (see Durability) survive
    // a power cut, the others are written at once and synced with the next synced one.
    // A 64 MiB page cache (the default is 2 MiB): a store of a million devices keeps its
    // indexes' upper levels in memory.
    for (const char* pragma :
        { "PRAGMA foreign_keys = ON", "PRAGMA synchronous = NORMAL", "PRAGMA cache_size = -65536" }) {
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
        Transaction tx(db, Durability::Synced);
        if (!tx.active())
            return storeFail(QStringLiteral("start writing"), tx.error());
        const QStringList statements = migrations().at(version).split(u';', Qt::SkipEmptyParts);
        for (const QString& sql : statements) {
            if (sql.trimmed().isEmpty())
                continue;
            if (!q.exec(sql))
                return storeFail(QStringLiteral("be upgraded to schema %1").arg(version + 1), q.lastError());
        }
        // Schema 3 starts the audit log: certificates issued before it are entered first, in
        // the order they were issued, so the log covers every certificate in the store.
        if (version + 1 == 3) {
            QSqlQuery certs(db);
            if (!certs.exec(QStringLiteral("SELECT serial, device_serial, sha256, job_id, issued_at FROM certificates "
                                           "ORDER BY issued_at, serial")))
                return storeFail(QStringLiteral("be upgraded to schema 3"), certs.lastError());
            while (certs.next()) {
                if (!appendAudit(q, QStringLiteral("issued"), certs.value(0).toString(),
                        QStringLiteral("device %1 sha256 %2").arg(certs.value(1).toString(), certs.value(2).toString()),
                        certs.value(3).toLongLong(), certs.value(4).toString()))
                    return storeFail(QStringLiteral("be upgraded to schema 3"), q.lastError());
            }
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

Result<qint64> RecordStore::beginJob(const DeviceIdentity& device, const QString& port, const QString& station,
    const QString& operatorName, const QString& lot)
{
    QSqlDatabase db = QSqlDatabase::database(m_connection);
    Transaction tx(db);
    if (!tx.active())
        return storeFail(QStringLiteral("start writing"), tx.error());
    QSqlQuery q(db);
    const QString t = now();
    if (!exec(q,
            QStringLiteral("INSERT INTO devices(serial, model, firmware, status, first_seen, updated, lot) "
                           "VALUES(?, ?, ?, 'in-progress', ?, ?, ?) "
                           "ON CONFLICT(serial) DO UPDATE SET model = excluded.model, "
                           "firmware = excluded.firmware, status = 'in-progress', status_reason = '', "
                           "updated = excluded.updated, lot = excluded.lot"),
            { device.serial, device.model, device.firmware, t, t, lot }))
        return storeFail(QStringLiteral("record the device"), q.lastError());
    // Jobs of this device the station never finished (it stopped under them).
    QList<QPair<qint64, QString>> interrupted;
    if (!exec(q,
            QStringLiteral("SELECT j.id, COALESCE((SELECT s.step FROM job_steps s WHERE s.job_id = j.id ORDER BY s.id "
                           "DESC LIMIT 1), '') FROM jobs j WHERE j.device_serial = ? AND j.finished IS NULL"),
            { device.serial }))
        return storeFail(QStringLiteral("look up the device's jobs"), q.lastError());
    while (q.next())
        interrupted.append({ q.value(0).toLongLong(), q.value(1).toString() });
    if (!exec(q,
            QStringLiteral("INSERT INTO jobs(device_serial, port, station, operator, started, lot) "
                           "VALUES(?, ?, ?, ?, ?, ?)"),
            { device.serial, port, station, operatorName, t, lot }))
        return storeFail(QStringLiteral("start a job"), q.lastError());
    const qint64 id = q.lastInsertId().toLongLong();
    for (const auto& [old, lastStep] : interrupted) {
        const QString why = QStringLiteral("the station stopped during %1; continued in job %2").arg(lastStep).arg(id);
        if (!exec(q, QStringLiteral("UPDATE jobs SET finished = ?, result = 'interrupted', reason = ? WHERE id = ?"),
                { t, why, old })
            || !exec(q,
                QStringLiteral(
                    "INSERT INTO job_steps(job_id, step, status, detail, at) VALUES(?, 'finish', 'interrupted', ?, ?)"),
                { old, why, t })
            // A serial reserved but never used is void: it is never handed out again.
            || !exec(
                q, QStringLiteral("UPDATE serials SET state = 'void' WHERE job_id = ? AND state = 'reserved'"), { old })
            || !exec(q,
                QStringLiteral(
                    "INSERT INTO job_steps(job_id, step, status, detail, at) VALUES(?, 'resume', 'done', ?, ?)"),
                { id, QStringLiteral("continues job %1, interrupted during %2").arg(old).arg(lastStep), t }))
            return storeFail(QStringLiteral("close an interrupted job"), q.lastError());
    }
    if (!exec(q, QStringLiteral("INSERT INTO job_steps(job_id, step, status, at) VALUES(?, 'identify', 'done', ?)"),
            { id, t })
        || !tx.commit())
        return storeFail(QStringLiteral("start a job"), q.lastError());
    return id;
}

Result<std::optional<PendingCertificate>> RecordStore::pendingCertificate(const QString& deviceSerial) const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!exec(q,
            QStringLiteral("SELECT c.serial, c.device_serial, c.der, c.sha256, c.state, c.issued_at, c.job_id, "
                           "COALESCE(j.result, '') FROM certificates c JOIN jobs j ON j.id = c.job_id "
                           "WHERE c.device_serial = ? ORDER BY c.issued_at DESC, c.rowid DESC LIMIT 1"),
            { deviceSerial }))
        return storeFail(QStringLiteral("look up the device's certificates"), q.lastError());
    if (!q.next())
        return std::optional<PendingCertificate> {};
    PendingCertificate p;
    p.certificate = CertificateRecord { q.value(0).toString(), q.value(1).toString(), q.value(2).toByteArray(),
        q.value(3).toString(), q.value(4).toString(), parseTime(q.value(5)), q.value(6).toLongLong() };
    p.jobResult = q.value(7).toString();
    if (p.certificate.state == QLatin1String("superseded") || p.certificate.state == QLatin1String("revoked"))
        return std::optional<PendingCertificate> {};
    return std::optional<PendingCertificate> { p };
}

Result<QList<UnfinishedJob>> RecordStore::unfinishedJobs(int limit) const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!exec(q,
            QStringLiteral(
                "SELECT j.id, j.device_serial, j.port, j.station, j.operator, j.lot, j.started, "
                "(SELECT s.step || ' ' || s.status FROM job_steps s WHERE s.job_id = j.id ORDER BY s.id DESC LIMIT 1), "
                "(SELECT s.at FROM job_steps s WHERE s.job_id = j.id ORDER BY s.id DESC LIMIT 1), "
                "(SELECT c.serial || ' ' || c.state FROM certificates c WHERE c.job_id = j.id ORDER BY c.rowid DESC "
                "LIMIT 1), "
                "(SELECT r.serial FROM serials r WHERE r.job_id = j.id AND r.state = 'reserved' LIMIT 1) "
                "FROM jobs j WHERE j.finished IS NULL ORDER BY j.id LIMIT ?"),
            { std::clamp(limit, 1, 100000) }))
        return storeFail(QStringLiteral("list unfinished jobs"), q.lastError());
    QList<UnfinishedJob> out;
    while (q.next()) {
        UnfinishedJob u;
        u.jobId = q.value(0).toLongLong();
        u.deviceSerial = q.value(1).toString();
        u.port = q.value(2).toString();
        u.station = q.value(3).toString();
        u.operatorName = q.value(4).toString();
        u.lot = q.value(5).toString();
        u.started = parseTime(q.value(6));
        u.lastStep = q.value(7).toString();
        u.lastAt = parseTime(q.value(8));
        const QString cert = q.value(9).toString();
        u.certificateSerial = cert.section(u' ', 0, 0);
        u.certificateState = cert.section(u' ', 1);
        u.reservedSerial = q.value(10).toString();
        out.append(u);
    }
    return out;
}

Result<QList<bool>> RecordStore::reserveSerials(const QList<IssueIntent>& intents)
{
    QSqlDatabase db = QSqlDatabase::database(m_connection);
    Transaction tx(db);
    if (!tx.active())
        return storeFail(QStringLiteral("start writing"), tx.error()); // see Durability
    QSqlQuery q(db);
    const QString t = now();
    QList<bool> reserved;
    for (const IssueIntent& i : intents) {
        if (!exec(q, QStringLiteral("SELECT 1 FROM serials WHERE serial = ?"), { i.serialHex }))
            return storeFail(QStringLiteral("reserve a serial"), q.lastError());
        if (q.next()) {
            reserved << false;
            continue;
        }
        if (!exec(q,
                QStringLiteral(
                    "INSERT INTO job_steps(job_id, step, status, detail, at) VALUES(?, 'check-csr', 'done', ?, ?)"),
                { i.jobId, i.keyType, t })
            || !exec(q,
                QStringLiteral("INSERT INTO serials(serial, job_id, state, reserved) VALUES(?, ?, 'reserved', ?)"),
                { i.serialHex, i.jobId, t })
            || !exec(q,
                QStringLiteral(
                    "INSERT INTO job_steps(job_id, step, status, detail, at) VALUES(?, 'issue', 'intent', ?, ?)"),
                { i.jobId, QStringLiteral("serial ") + i.serialHex, t }))
            return storeFail(QStringLiteral("reserve a serial"), q.lastError());
        reserved << true;
    }
    if (!tx.commit())
        return storeFail(QStringLiteral("reserve a serial"), q.lastError());
    return reserved;
}

Result<void> RecordStore::recordStep(qint64 jobId, const QString& step, const QString& status, const QString& detail)
{
    QSqlDatabase db = QSqlDatabase::database(m_connection);
    Transaction tx(db);
    if (!tx.active())
        return storeFail(QStringLiteral("start writing"), tx.error());
    QSqlQuery q(db);
    const QString t = now();
    if (!exec(q, QStringLiteral("INSERT INTO job_steps(job_id, step, status, detail, at) VALUES(?, ?, ?, ?, ?)"),
            { jobId, step, status, detail, t }))
        return storeFail(QStringLiteral("record a step"), q.lastError());
    // Refused requests are audited with the device they came from.
    if (status == QLatin1String("rejected")) {
        if (!exec(q, QStringLiteral("SELECT device_serial FROM jobs WHERE id = ?"), { jobId }))
            return storeFail(QStringLiteral("record a step"), q.lastError());
        const QString device = q.next() ? q.value(0).toString() : QString();
        if (!appendAudit(q, QStringLiteral("rejected"), device, detail, jobId, t))
            return storeFail(QStringLiteral("record a step"), q.lastError());
    }
    if (!tx.commit())
        return storeFail(QStringLiteral("record a step"), q.lastError());
    return {};
}

Result<void> RecordStore::recordIssued(qint64 jobId, const QString& deviceSerial, const QByteArray& der,
    const QString& serialHex, const QString& sha256, const QString& publicKeySha256)
{
    return recordIssued(QList<IssuedRecord> { { jobId, deviceSerial, der, serialHex, sha256, publicKeySha256 } });
}

Result<void> RecordStore::recordIssued(const QList<IssuedRecord>& issued)
{
    QSqlDatabase db = QSqlDatabase::database(m_connection);
    Transaction tx(db, Durability::Synced);
    if (!tx.active())
        return storeFail(QStringLiteral("start writing"), tx.error());
    // Prepared once for the whole group; the audit head is read once and moved on in memory.
    QSqlQuery cert(db), serial(db), step(db), outbox(db), who(db), audit(db);
    const bool prepared = cert.prepare(QStringLiteral(
                              "INSERT INTO certificates(serial, device_serial, job_id, der, sha256, spki_sha256, "
                              "state, issued_at) VALUES(?, ?, ?, ?, ?, ?, 'issued', ?)"))
        && serial.prepare(QStringLiteral("INSERT INTO serials(serial, job_id, state, reserved) VALUES(?, ?, 'used', ?) "
                                         "ON CONFLICT(serial) DO UPDATE SET state = 'used' WHERE job_id = "
                                         "excluded.job_id AND state = 'reserved'"))
        && step.prepare(
            QStringLiteral("INSERT INTO job_steps(job_id, step, status, detail, at) VALUES(?, 'issue', 'done', ?, ?)"))
        && outbox.prepare(QStringLiteral("INSERT INTO outbox(kind, subject, created) VALUES('certificate', ?, ?)"))
        && who.prepare(QStringLiteral("SELECT station, operator FROM jobs WHERE id = ?"));
    AuditHead head;
    if (!prepared || !readAuditHead(audit, &head))
        return storeFail(QStringLiteral("record the issued certificate"), db.lastError());
    auto run = [](QSqlQuery& q, const QVariantList& values) {
        for (qsizetype i = 0; i < values.size(); ++i)
            q.bindValue(static_cast<int>(i), values[i]);
        return q.exec();
    };
    const QString t = now();
    for (const IssuedRecord& i : issued) {
        if (!run(cert, { i.serialHex, i.deviceSerial, i.jobId, i.der, i.sha256, i.publicKeySha256, t }))
            return storeFail(QStringLiteral("record the issued certificate"), cert.lastError());
        if (!run(serial, { i.serialHex, i.jobId, t }))
            return storeFail(QStringLiteral("record the issued certificate"), serial.lastError());
        if (serial.numRowsAffected() != 1)
            return fail(ErrorCode::Store,
                QStringLiteral("Certificate serial %1 is not reserved for job %2 any more (the job was closed, or the "
                               "serial was used); the certificate was not recorded and will not be sent.")
                    .arg(i.serialHex)
                    .arg(i.jobId));
        if (!run(step, { i.jobId, QStringLiteral("certificate ") + i.serialHex, t }) || !run(outbox, { i.serialHex, t })
            || !run(who, { i.jobId }))
            return storeFail(QStringLiteral("commit the issued certificate"),
                step.lastError().isValid()         ? step.lastError()
                    : outbox.lastError().isValid() ? outbox.lastError()
                                                   : who.lastError());
        AuditEntry e;
        e.at = t;
        if (who.next()) {
            e.station = who.value(0).toString();
            e.operatorName = who.value(1).toString();
        }
        who.finish();
        e.kind = QStringLiteral("issued");
        e.subject = i.serialHex;
        e.detail = QStringLiteral("device %1 sha256 %2").arg(i.deviceSerial, i.sha256);
        if (!insertAudit(audit, &head, e))
            return storeFail(QStringLiteral("audit the issued certificate"), audit.lastError());
    }
    if (!tx.commit())
        return storeFail(QStringLiteral("commit the issued certificate"), db.lastError());
    return {};
}

Result<void> RecordStore::setCertificateState(
    qint64 jobId, const QString& serialHex, const QString& state, const QString& detail)
{
    static const QHash<QString, QString> stepOf {
        { QStringLiteral("installed"), QStringLiteral("inject") },
        { QStringLiteral("verified"), QStringLiteral("verify") },
        { QStringLiteral("superseded"), QStringLiteral("supersede") },
    };
    if (!stepOf.contains(state))
        return fail(ErrorCode::Store, QStringLiteral("\"%1\" is not a certificate state.").arg(state));
    QSqlDatabase db = QSqlDatabase::database(m_connection);
    Transaction tx(db, state == QLatin1String("superseded") ? Durability::Synced : Durability::Written);
    if (!tx.active())
        return storeFail(QStringLiteral("start writing"), tx.error());
    QSqlQuery q(db);
    const QString t = now();
    // The states a certificate may come from: never back from superseded or revoked, and a
    // certificate that shipped (verified, its job passed) is never superseded.
    static const QHash<QString, QString> from {
        { QStringLiteral("installed"),
            QStringLiteral("(state IN ('issued', 'installed') OR (state = 'verified' AND NOT EXISTS (SELECT 1 FROM "
                           "jobs j WHERE j.id = certificates.job_id AND j.result = 'passed')))") },
        { QStringLiteral("verified"), QStringLiteral("state IN ('issued', 'installed', 'verified')") },
        { QStringLiteral("superseded"),
            QStringLiteral("(state IN ('issued', 'installed') OR (state = 'verified' AND NOT EXISTS (SELECT 1 FROM "
                           "jobs j WHERE j.id = certificates.job_id AND j.result = 'passed')))") },
    };
    if (!exec(q, QStringLiteral("UPDATE certificates SET state = ? WHERE serial = ? AND ") + from.value(state),
            { state, serialHex }))
        return storeFail(QStringLiteral("update a certificate"), q.lastError());
    if (q.numRowsAffected() != 1) {
        if (!exec(q, QStringLiteral("SELECT state FROM certificates WHERE serial = ?"), { serialHex }))
            return storeFail(QStringLiteral("update a certificate"), q.lastError());
        if (!q.next())
            return fail(
                ErrorCode::NotFound, QStringLiteral("No certificate with serial %1 is recorded.").arg(serialHex));
        return fail(ErrorCode::Store,
            QStringLiteral("Certificate %1 is %2 on record; it cannot become %3.")
                .arg(serialHex, q.value(0).toString(), state));
    }
    const QString stepDetail = detail.isEmpty() ? QStringLiteral("certificate ") + serialHex
                                                : QStringLiteral("certificate %1: %2").arg(serialHex, detail);
    if (!exec(q, QStringLiteral("INSERT INTO job_steps(job_id, step, status, detail, at) VALUES(?, ?, 'done', ?, ?)"),
            { jobId, stepOf.value(state), stepDetail, t })
        || !appendAudit(q, state, serialHex, detail, jobId, t))
        return storeFail(QStringLiteral("update a certificate"), q.lastError());
    // Issued, never shipped: upstream must learn that the certificate is not to be trusted.
    if (state == QLatin1String("superseded")
        && !exec(q, QStringLiteral("INSERT INTO outbox(kind, subject, detail, created) VALUES('revocation', ?, ?, ?)"),
            { serialHex, QStringLiteral("superseded: ") + detail, t }))
        return storeFail(QStringLiteral("record a revocation"), q.lastError());
    if (!tx.commit())
        return storeFail(QStringLiteral("update a certificate"), q.lastError());
    return {};
}

Result<void> RecordStore::finishJob(
    qint64 jobId, const QString& deviceSerial, JobOutcome outcome, const QString& reason)
{
    QSqlDatabase db = QSqlDatabase::database(m_connection);
    Transaction tx(db);
    if (!tx.active())
        return storeFail(QStringLiteral("start writing"), tx.error());
    QSqlQuery q(db);
    const QString t = now();
    const QString result = outcome == JobOutcome::Passed ? QStringLiteral("passed")
        : outcome == JobOutcome::Failed                  ? QStringLiteral("failed")
                                                         : QStringLiteral("issued");
    // A job is finished once: one closed already (interrupted, the device scrapped) keeps
    // its end, and only the device's newest job sets its status.
    if (!exec(q,
            QStringLiteral("UPDATE jobs SET finished = ?, result = ?, reason = ? WHERE id = ? AND finished IS NULL"),
            { t, result, reason, jobId }))
        return storeFail(QStringLiteral("finish the job"), q.lastError());
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
    if (!exec(q,
            QStringLiteral("UPDATE devices SET status = ?, status_reason = ?, updated = ? WHERE serial = ? AND NOT "
                           "EXISTS (SELECT 1 FROM jobs WHERE device_serial = ? AND id > ?)"),
            { result, reason, t, deviceSerial, deviceSerial, jobId })
        || !exec(
            q, QStringLiteral("UPDATE serials SET state = 'void' WHERE job_id = ? AND state = 'reserved'"), { jobId })
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
    Transaction tx(db, Durability::Synced);
    if (!tx.active())
        return storeFail(QStringLiteral("start writing"), tx.error());
    QSqlQuery device(db), job(db), cert(db), step(db), audit(db), serial(db), outbox(db);
    const QString t = now();
    const bool prepared = device.prepare(QStringLiteral(
                              "INSERT INTO devices(serial, model, firmware, status, first_seen, updated) "
                              "VALUES(?, '', '', 'issued', ?, ?) ON CONFLICT(serial) DO UPDATE SET status = 'issued', "
                              "status_reason = '', updated = excluded.updated"))
        && job.prepare(QStringLiteral("INSERT INTO jobs(device_serial, port, station, operator, started, finished, "
                                      "result, reason) VALUES(?, ?, ?, ?, ?, ?, 'issued', '')"))
        && cert.prepare(QStringLiteral("INSERT INTO certificates(serial, device_serial, job_id, der, sha256, "
                                       "spki_sha256, state, issued_at) VALUES(?, ?, ?, ?, ?, ?, 'issued', ?)"))
        && step.prepare(QStringLiteral("INSERT INTO job_steps(job_id, step, status, detail, at) VALUES(?, ?, ?, ?, ?)"))
        && serial.prepare(
            QStringLiteral("INSERT INTO serials(serial, job_id, state, reserved) VALUES(?, ?, 'used', ?)"))
        && outbox.prepare(QStringLiteral("INSERT INTO outbox(kind, subject, created) VALUES('certificate', ?, ?)"));
    AuditHead head;
    if (!prepared || !readAuditHead(audit, &head))
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
        if (!run(cert, { b.serialHex, b.deviceSerial, id, b.der, b.sha256, b.publicKeySha256, t })
            || !run(serial, { b.serialHex, id, t }) || !run(outbox, { b.serialHex, t }))
            return storeFail(QStringLiteral("record an issued certificate"),
                cert.lastError().isValid()         ? cert.lastError()
                    : serial.lastError().isValid() ? serial.lastError()
                                                   : outbox.lastError());
        AuditEntry e;
        e.at = t;
        e.station = station;
        e.operatorName = operatorName;
        e.kind = QStringLiteral("issued");
        e.subject = b.serialHex;
        e.detail = QStringLiteral("device %1 sha256 %2").arg(b.deviceSerial, b.sha256);
        if (!insertAudit(audit, &head, e))
            return storeFail(QStringLiteral("audit the batch"), audit.lastError());
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
        "SELECT serial, model, firmware, status, status_reason, first_seen, updated, lot FROM devices WHERE 1 = 1");
    QVariantList values;
    if (!query.status.isEmpty()) {
        sql += QStringLiteral(" AND status = ?");
        values << query.status;
    }
    if (!query.lot.isEmpty()) {
        sql += QStringLiteral(" AND lot = ?");
        values << query.lot;
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
        // Keyset paging: the next page starts after the last row of this one (an index
        // range on (status|lot, updated, serial), never a sort of the table).
        QSqlQuery anchor(QSqlDatabase::database(m_connection));
        if (!exec(anchor, QStringLiteral("SELECT updated FROM devices WHERE serial = ?"), { query.before }))
            return storeFail(QStringLiteral("list devices"), anchor.lastError());
        if (!anchor.next())
            return fail(ErrorCode::NotFound, QStringLiteral("No device with serial %1 is recorded.").arg(query.before));
        sql += QStringLiteral(" AND (updated, serial) < (?, ?)");
        values << anchor.value(0).toString() << query.before;
    }
    sql += QStringLiteral(" ORDER BY updated DESC, serial DESC LIMIT ?");
    values << std::clamp(query.limit, 1, 10000);
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!exec(q, sql, values))
        return storeFail(QStringLiteral("list devices"), q.lastError());
    QList<DeviceRecord> out;
    while (q.next())
        out.append(
            DeviceRecord { q.value(0).toString(), q.value(1).toString(), q.value(2).toString(), q.value(3).toString(),
                q.value(4).toString(), parseTime(q.value(5)), parseTime(q.value(6)), q.value(7).toString() });
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
    Transaction tx(db, Durability::Synced);
    if (!tx.active())
        return storeFail(QStringLiteral("start writing"), tx.error());
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
        || !appendAudit(q, QStringLiteral("scrapped"), serial, reason, job, t))
        return storeFail(QStringLiteral("scrap the device"), q.lastError());
    // A job the station never finished for it is over; its reserved serials are void.
    if (!exec(q,
            QStringLiteral("UPDATE serials SET state = 'void' WHERE state = 'reserved' AND job_id IN (SELECT id FROM "
                           "jobs WHERE device_serial = ? AND finished IS NULL)"),
            { serial })
        || !exec(q,
            QStringLiteral("UPDATE jobs SET finished = ?, result = 'interrupted', reason = 'device scrapped' WHERE "
                           "device_serial = ? AND finished IS NULL"),
            { t, serial }))
        return storeFail(QStringLiteral("scrap the device"), q.lastError());
    // Its certificates are revoked: a scrapped device must not be trusted if it turns up.
    QStringList live;
    if (!exec(q,
            QStringLiteral("SELECT serial FROM certificates WHERE device_serial = ? AND state NOT IN ('superseded', "
                           "'revoked')"),
            { serial }))
        return storeFail(QStringLiteral("scrap the device"), q.lastError());
    while (q.next())
        live << q.value(0).toString();
    for (const QString& cert : live) {
        if (!exec(q, QStringLiteral("UPDATE certificates SET state = 'revoked' WHERE serial = ?"), { cert })
            || !exec(q,
                QStringLiteral("INSERT INTO outbox(kind, subject, detail, created) VALUES('revocation', ?, ?, ?)"),
                { cert, QStringLiteral("scrapped: ") + reason, t })
            || !appendAudit(q, QStringLiteral("revoked"), cert, QStringLiteral("device scrapped"), job, t))
            return storeFail(QStringLiteral("revoke the scrapped device's certificates"), q.lastError());
    }
    if (!tx.commit())
        return storeFail(QStringLiteral("scrap the device"), q.lastError());
    return {};
}

Result<AuditVerdict> RecordStore::verifyAudit(const CheckpointVerifier& verifier) const
{
    QSqlDatabase db = QSqlDatabase::database(m_connection);
    // One snapshot for the whole walk: a station writing meanwhile (a checkpoint sealed
    // after the entries were read) must not look like tampering.
    struct Snapshot {
        QSqlDatabase db;
        bool open = QSqlQuery(db).exec(QStringLiteral("BEGIN"));
        ~Snapshot()
        {
            if (open)
                QSqlQuery(db).exec(QStringLiteral("ROLLBACK"));
        }
    } snapshot { db };
    QSqlQuery q(db), cert(db);
    AuditVerdict v;
    qint64 expected = 1;
    QString prev = GenesisHash;
    auto bad = [&v](qint64 entry, QString why) {
        v.firstBadEntry = entry;
        v.problem = std::move(why);
        return v;
    };
    while (true) {
        if (!exec(q,
                QStringLiteral("SELECT seq, at, station, operator, kind, subject, detail, prev_hash, hash FROM audit "
                               "WHERE seq >= ? ORDER BY seq LIMIT 1000"),
                { expected }))
            return storeFail(QStringLiteral("read the audit log"), q.lastError());
        int rows = 0;
        while (q.next()) {
            ++rows;
            const AuditEntry e = auditFrom(q);
            const QString prevHash = q.value(7).toString();
            const QString hash = q.value(8).toString();
            if (e.seq != expected)
                return bad(expected,
                    QStringLiteral("Entry %1 is missing: the log goes from entry %2 to entry %3.")
                        .arg(expected)
                        .arg(expected - 1)
                        .arg(e.seq));
            if (prevHash != prev)
                return bad(e.seq,
                    QStringLiteral("Entry %1 (%2 %3) does not follow entry %4: entries were removed, replaced or "
                                   "reordered.")
                        .arg(e.seq)
                        .arg(e.kind, e.subject)
                        .arg(e.seq - 1));
            if (auditHash(prevHash, e.seq, e) != hash)
                return bad(e.seq,
                    QStringLiteral("Entry %1 (%2 %3) was edited: its contents do not match its hash.")
                        .arg(e.seq)
                        .arg(e.kind, e.subject));
            if (e.kind == QLatin1String("issued")) {
                if (!exec(cert, QStringLiteral("SELECT device_serial, sha256, der FROM certificates WHERE serial = ?"),
                        { e.subject }))
                    return storeFail(QStringLiteral("read a certificate"), cert.lastError());
                if (!cert.next())
                    return bad(e.seq,
                        QStringLiteral("Certificate %1 (entry %2) is missing from the store.")
                            .arg(e.subject)
                            .arg(e.seq));
                const QString recorded
                    = QStringLiteral("device %1 sha256 %2").arg(cert.value(0).toString(), cert.value(1).toString());
                if (recorded != e.detail || ossl::sha256Hex(cert.value(2).toByteArray()) != cert.value(1).toString())
                    return bad(e.seq,
                        QStringLiteral("Certificate %1 (entry %2) was edited in the store.").arg(e.subject).arg(e.seq));
            }
            prev = hash;
            ++expected;
            ++v.entries;
        }
        if (rows < 1000)
            break;
    }
    // Checkpoints: each vouches for the chain up to its entry, signed by the audit key.
    if (!q.exec(QStringLiteral("SELECT c.seq, c.hash, c.signature, a.hash, c.key_sha256 FROM audit_checkpoints c "
                               "LEFT JOIN audit a ON a.seq = c.seq ORDER BY c.seq")))
        return storeFail(QStringLiteral("read the audit checkpoints"), q.lastError());
    v.signaturesChecked = static_cast<bool>(verifier);
    while (q.next()) {
        const qint64 seq = q.value(0).toLongLong();
        const QString hash = q.value(1).toString();
        if (verifier && !verifier(checkpointMessage(seq, hash), q.value(2).toByteArray()))
            return bad(seq,
                QStringLiteral("The checkpoint at entry %1 does not carry a valid signature of the audit key in the "
                               "token: it was forged or edited, or signed by another audit key (it names key sha256 "
                               "%2).")
                    .arg(seq)
                    .arg(q.value(4).toString().left(16)));
        if (seq > v.entries)
            return bad(v.entries + 1,
                QStringLiteral("Entries %1 to %2 were removed from the end of the log: a signed checkpoint vouches "
                               "for %2 entries, the log has %3.")
                    .arg(v.entries + 1)
                    .arg(seq)
                    .arg(v.entries));
        if (q.value(3).toString() != hash)
            return bad(seq,
                QStringLiteral("The log up to entry %1 is not the one the signed checkpoint vouches for: entries were "
                               "rewritten.")
                    .arg(seq));
        ++v.checkpoints;
        v.lastCheckpoint = seq;
    }
    // A certificate the log never saw was put in behind its back.
    if (!q.exec(QStringLiteral("SELECT serial FROM certificates c WHERE NOT EXISTS (SELECT 1 FROM audit a WHERE "
                               "a.kind = 'issued' AND a.subject = c.serial) LIMIT 1")))
        return storeFail(QStringLiteral("read the certificates"), q.lastError());
    if (q.next())
        return bad(0,
            QStringLiteral("Certificate %1 is in the store but the audit log never recorded it as issued.")
                .arg(q.value(0).toString()));
    return v;
}

Result<void> RecordStore::audit(const QString& kind, const QString& subject, const QString& detail,
    const QString& station, const QString& operatorName)
{
    QSqlDatabase db = QSqlDatabase::database(m_connection);
    Transaction tx(db, Durability::Synced);
    if (!tx.active())
        return storeFail(QStringLiteral("start writing"), tx.error());
    QSqlQuery q(db);
    if (!appendEntry(q, AuditEntry { 0, now(), station, operatorName, kind, subject, detail }) || !tx.commit())
        return storeFail(QStringLiteral("write to the audit log"), q.lastError());
    return {};
}

Result<std::optional<AuditEntry>> RecordStore::lastAudit(const QString& kind, const QString& subject) const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!exec(q,
            QStringLiteral("SELECT seq, at, station, operator, kind, subject, detail FROM audit WHERE subject = ? AND "
                           "kind = ? ORDER BY seq DESC LIMIT 1"),
            { subject, kind }))
        return storeFail(QStringLiteral("read the audit log"), q.lastError());
    if (!q.next())
        return std::optional<AuditEntry> {};
    return std::optional<AuditEntry> { auditFrom(q) };
}

Result<AuditCheckpoint> RecordStore::auditHead() const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    AuditHead head;
    if (!readAuditHead(q, &head))
        return storeFail(QStringLiteral("read the audit log"), q.lastError());
    AuditCheckpoint c;
    c.seq = head.seq;
    c.hash = head.hash;
    return c;
}

Result<qint64> RecordStore::lastCheckpoint() const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!q.exec(QStringLiteral("SELECT COALESCE(MAX(seq), 0) FROM audit_checkpoints")) || !q.next())
        return storeFail(QStringLiteral("read the audit checkpoints"), q.lastError());
    return q.value(0).toLongLong();
}

Result<void> RecordStore::addCheckpoint(const AuditCheckpoint& c)
{
    // Synced: a checkpoint must never outlive (in a power cut) the entries it vouches for.
    QSqlDatabase db = QSqlDatabase::database(m_connection);
    Transaction tx(db, Durability::Synced);
    if (!tx.active())
        return storeFail(QStringLiteral("start writing"), tx.error());
    QSqlQuery q(db);
    if (!exec(q,
            QStringLiteral("INSERT OR IGNORE INTO audit_checkpoints(seq, hash, at, key_sha256, signature) "
                           "VALUES(?, ?, ?, ?, ?)"),
            { c.seq, c.hash, c.at.isEmpty() ? now() : c.at, c.keySha256, c.signature })
        || !tx.commit())
        return storeFail(QStringLiteral("record an audit checkpoint"), q.lastError());
    return {};
}

QByteArray RecordStore::checkpointMessage(qint64 seq, const QString& hash)
{
    QByteArray data("IMPRINT-AUDIT-CHECKPOINT-V1", 28); // with its terminating zero
    char be[8];
    qToBigEndian(static_cast<quint64>(seq), be);
    data.append(be, 8);
    data += QByteArray::fromHex(hash.toLatin1());
    return data;
}

Result<void> RecordStore::createLot(const Lot& lot)
{
    QSqlDatabase db = QSqlDatabase::database(m_connection);
    Transaction tx(db, Durability::Synced);
    if (!tx.active())
        return storeFail(QStringLiteral("start writing"), tx.error());
    // Checked under the write lock: two stations creating one lot get a plain answer.
    QSqlQuery q(db);
    if (!exec(q, QStringLiteral("SELECT 1 FROM lots WHERE id = ?"), { lot.id }))
        return storeFail(QStringLiteral("look up a lot"), q.lastError());
    if (q.next())
        return fail(ErrorCode::BadInput, QStringLiteral("Lot %1 already exists.").arg(lot.id));
    const QString t = now();
    if (!exec(q,
            QStringLiteral("INSERT INTO lots(id, profile, expected, note, created, station, operator) "
                           "VALUES(?, ?, ?, ?, ?, ?, ?)"),
            { lot.id, lot.profile, lot.expected, lot.note, t, lot.station, lot.operatorName }))
        return storeFail(QStringLiteral("create the lot"), q.lastError());
    AuditEntry e { 0, t, lot.station, lot.operatorName, QStringLiteral("lot-created"), lot.id,
        QStringLiteral("profile %1, %2 devices%3")
            .arg(lot.profile)
            .arg(lot.expected)
            .arg(lot.note.isEmpty() ? QString() : QStringLiteral(": ") + lot.note) };
    if (!appendEntry(q, e) || !tx.commit())
        return storeFail(QStringLiteral("create the lot"), q.lastError());
    return {};
}

namespace {
Lot lotFrom(const QSqlQuery& q)
{
    return Lot { q.value(0).toString(), q.value(1).toString(), q.value(2).toInt(), q.value(3).toString(),
        parseTime(q.value(4)), q.value(5).toString(), q.value(6).toString() };
}
} // namespace

Result<std::optional<Lot>> RecordStore::lot(const QString& id) const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!exec(q,
            QStringLiteral("SELECT id, profile, expected, note, created, station, operator FROM lots WHERE id = ?"),
            { id }))
        return storeFail(QStringLiteral("look up a lot"), q.lastError());
    if (!q.next())
        return std::optional<Lot> {};
    return std::optional<Lot> { lotFrom(q) };
}

Result<QList<Lot>> RecordStore::lots(int limit) const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!exec(q,
            QStringLiteral("SELECT id, profile, expected, note, created, station, operator FROM lots "
                           "ORDER BY created DESC LIMIT ?"),
            { std::clamp(limit, 1, 10000) }))
        return storeFail(QStringLiteral("list lots"), q.lastError());
    QList<Lot> out;
    while (q.next())
        out << lotFrom(q);
    return out;
}

Result<QList<QPair<QString, int>>> RecordStore::lotCounts(const QString& id) const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!exec(q, QStringLiteral("SELECT status, COUNT(*) FROM devices WHERE lot = ? GROUP BY status ORDER BY status"),
            { id }))
        return storeFail(QStringLiteral("count a lot's devices"), q.lastError());
    QList<QPair<QString, int>> out;
    while (q.next())
        out.append({ q.value(0).toString(), q.value(1).toInt() });
    return out;
}

Result<QList<OutboxEntry>> RecordStore::outbox(int limit) const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!exec(q,
            QStringLiteral("SELECT id, kind, subject, detail, created FROM outbox WHERE sent IS NULL ORDER BY id "
                           "LIMIT ?"),
            { std::clamp(limit, 1, 10000) }))
        return storeFail(QStringLiteral("read the outbox"), q.lastError());
    QList<OutboxEntry> out;
    while (q.next())
        out << OutboxEntry { q.value(0).toLongLong(), q.value(1).toString(), q.value(2).toString(),
            q.value(3).toString(), parseTime(q.value(4)) };
    return out;
}

Result<qint64> RecordStore::outboxPending() const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!q.exec(QStringLiteral("SELECT COUNT(*) FROM outbox WHERE sent IS NULL")) || !q.next())
        return storeFail(QStringLiteral("read the outbox"), q.lastError());
    return q.value(0).toLongLong();
}

Result<QList<AuditEntry>> RecordStore::auditEntries(qint64 afterSeq, int limit) const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!exec(q,
            QStringLiteral("SELECT seq, at, station, operator, kind, subject, detail FROM audit WHERE seq > ? ORDER BY "
                           "seq LIMIT ?"),
            { afterSeq, std::clamp(limit, 1, 10000) }))
        return storeFail(QStringLiteral("read the audit log"), q.lastError());
    QList<AuditEntry> out;
    while (q.next())
        out.append(auditFrom(q));
    return out;
}

Result<std::optional<DeviceRecord>> RecordStore::device(const QString& serial) const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!exec(q,
            QStringLiteral("SELECT serial, model, firmware, status, status_reason, first_seen, updated, lot FROM "
                           "devices WHERE serial = ?"),
            { serial }))
        return storeFail(QStringLiteral("look up the device"), q.lastError());
    if (!q.next())
        return std::optional<DeviceRecord> {};
    DeviceRecord r { q.value(0).toString(), q.value(1).toString(), q.value(2).toString(), q.value(3).toString(),
        q.value(4).toString(), parseTime(q.value(5)), parseTime(q.value(6)), q.value(7).toString() };
    return std::optional<DeviceRecord> { r };
}

Result<QList<CertificateRecord>> RecordStore::certificates(const QString& deviceSerial) const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!exec(q,
            QStringLiteral("SELECT serial, device_serial, der, sha256, state, issued_at, job_id FROM certificates "
                           "WHERE device_serial = ? ORDER BY issued_at DESC, rowid DESC"),
            { deviceSerial }))
        return storeFail(QStringLiteral("look up certificates"), q.lastError());
    QList<CertificateRecord> out;
    while (q.next())
        out << CertificateRecord { q.value(0).toString(), q.value(1).toString(), q.value(2).toByteArray(),
            q.value(3).toString(), q.value(4).toString(), parseTime(q.value(5)), q.value(6).toLongLong() };
    return out;
}

Result<QList<StepRecord>> RecordStore::steps(const QString& deviceSerial, int limit) const
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!exec(q,
            QStringLiteral("SELECT s.job_id, s.step, s.status, s.detail, s.at, j.station, j.operator FROM job_steps s "
                           "JOIN jobs j ON j.id = s.job_id WHERE j.device_serial = ? ORDER BY s.id LIMIT ?"),
            { deviceSerial, limit }))
        return storeFail(QStringLiteral("look up the device's steps"), q.lastError());
    QList<StepRecord> out;
    while (q.next())
        out << StepRecord { q.value(0).toLongLong(), q.value(1).toString(), q.value(2).toString(),
            q.value(3).toString(), parseTime(q.value(4)), q.value(5).toString(), q.value(6).toString() };
    return out;
}

} // namespace imprint::core
