#include "store/Schema.h"

#include "store/AuditLog.h"
#include "store/Sql.h"

namespace imprint::core::schema {

namespace {

/// Runs the statements of a script, one after another, in the caller's transaction.
bool runScript(QSqlQuery& q, const QString& script)
{
    const QStringList statements = script.split(u';', Qt::SkipEmptyParts);
    for (const QString& statement : statements) {
        if (!statement.trimmed().isEmpty() && !q.exec(statement))
            return false;
    }
    return true;
}

// 1: devices, certificates, jobs and their steps.
bool devicesCertificatesJobs(QSqlQuery& q)
{
    return runScript(q, QStringLiteral(R"(
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
            port TEXT NOT NULL, station TEXT NOT NULL, operator TEXT NOT NULL,
            started TEXT NOT NULL, finished TEXT, result TEXT, reason TEXT);
        CREATE INDEX jobs_by_device ON jobs(device_serial);
        CREATE TABLE job_steps (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            job_id INTEGER NOT NULL REFERENCES jobs(id),
            step TEXT NOT NULL,
            status TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            at TEXT NOT NULL);
        CREATE INDEX job_steps_by_job ON job_steps(job_id);
        )"));
}

// 2: QA queries by status and time without reading the whole table.
bool statusAndTimeIndexes(QSqlQuery& q)
{
    return runScript(q, QStringLiteral(R"(
        CREATE INDEX devices_by_status_updated ON devices(status, updated);
        CREATE INDEX devices_by_updated ON devices(updated);
        )"));
}

// 3: the audit log, a SHA-256 chain (see AuditLog). Certificates issued before it are
// entered first, in the order they were issued, so the log covers every certificate.
bool auditLog(QSqlQuery& q, Transaction& tx, QSqlError* error)
{
    *error = {};
    if (!runScript(q, QStringLiteral(R"(
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
        )")))
        return false;
    QSqlQuery certs(tx.db());
    if (!certs.exec(QStringLiteral("SELECT c.serial, c.device_serial, c.sha256, c.issued_at, j.station, j.operator "
                                   "FROM certificates c LEFT JOIN jobs j ON j.id = c.job_id "
                                   "ORDER BY c.issued_at, c.serial")))
        return false;
    AuditLog::Appender audit(tx);
    while (certs.next()) {
        if (!audit.append(AuditEntry { 0, certs.value(3).toString(), certs.value(4).toString(),
                certs.value(5).toString(), text(AuditKind::Issued), certs.value(0).toString(),
                AuditLog::issuedDetail(certs.value(1).toString(), certs.value(2).toString()) })) {
            *error = audit.error();
            return false;
        }
    }
    return true;
}

// 4: the write-ahead record of serials (reserved before signing, never handed out twice),
// lots / work orders, the outbox for upstream, and signed audit checkpoints.
bool serialsLotsOutboxCheckpoints(QSqlQuery& q)
{
    return runScript(q,
        QStringLiteral(R"(
        CREATE TABLE serials (
            serial TEXT PRIMARY KEY,
            job_id INTEGER NOT NULL REFERENCES jobs(id),
            state TEXT NOT NULL,
            reserved TEXT NOT NULL);
        CREATE INDEX serials_reserved ON serials(job_id) WHERE state = %1;
        INSERT INTO serials(serial, job_id, state, reserved) SELECT serial, job_id, %2, issued_at FROM certificates;
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
        INSERT INTO outbox(kind, subject, created) SELECT %3, serial, issued_at FROM certificates
            ORDER BY issued_at, serial;
        CREATE TABLE audit_checkpoints (
            seq INTEGER PRIMARY KEY,
            hash TEXT NOT NULL,
            at TEXT NOT NULL,
            key_sha256 TEXT NOT NULL,
            signature BLOB NOT NULL);
        )")
            .arg(sql::literal(SerialState::Reserved), sql::literal(SerialState::Used),
                sql::literal(OutboxKind::Certificate)));
}

// 5: the way upstream. Each certificate keeps the device's request (the upstream is sent
// that very PKCS#10) and, once answered, the upstream's certificate for the same key. Each
// outbox row has a durable state with its attempts and times; a lease keeps two processes
// from syncing at once; the upstream's last contact is kept for the health display; every
// CRL the local CA signed is kept by its number (which only grows).
bool upstream(QSqlQuery& q)
{
    return runScript(q,
        QStringLiteral(R"(
        ALTER TABLE certificates ADD COLUMN request BLOB;
        ALTER TABLE certificates ADD COLUMN upstream_der BLOB;
        ALTER TABLE outbox ADD COLUMN state TEXT NOT NULL DEFAULT %1;
        ALTER TABLE outbox ADD COLUMN updated TEXT;
        ALTER TABLE outbox ADD COLUMN next_attempt TEXT;
        ALTER TABLE outbox ADD COLUMN upstream_status TEXT NOT NULL DEFAULT '';
        ALTER TABLE outbox ADD COLUMN export_batch TEXT NOT NULL DEFAULT '';
        UPDATE outbox SET state = %2 WHERE sent IS NOT NULL;
        DROP INDEX outbox_pending;
        CREATE INDEX outbox_open ON outbox(id) WHERE state NOT IN (%2, %3, %4);
        CREATE INDEX outbox_by_subject ON outbox(subject);
        CREATE TABLE leases (
            name TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            expires TEXT NOT NULL);
        CREATE TABLE upstream_contact (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            attempted TEXT,
            reached TEXT,
            last_error TEXT NOT NULL DEFAULT '');
        CREATE TABLE crls (
            number INTEGER PRIMARY KEY,
            issued TEXT NOT NULL,
            next_update TEXT NOT NULL,
            der BLOB NOT NULL);
        )")
            .arg(sql::literal(OutboxState::Pending), sql::literal(OutboxState::Confirmed),
                sql::literal(OutboxState::Rejected), sql::literal(OutboxState::Skipped)));
}

// 11: the plant record's queue. A trigger notes each change the plant keeps (its kind and
// its record's key), in the transaction that makes it, under a number that only grows: the
// line pays for one small row. The plant connector reads the records as they are when it
// pushes (PlantLog), keeps what it composed for the batch in flight (plant_sent) until the
// plant database has committed it, then deletes both. What the store held before is queued
// first, in the order it was made.
bool plantLog(QSqlQuery& q)
{
    auto trigger = [](const QString& name, const QString& when, const QString& kind, const QString& key) {
        return QStringLiteral("CREATE TRIGGER %1 %2 BEGIN INSERT INTO plant_log(kind, key) VALUES('%3', %4); END;")
            .arg(name, when, kind, key);
    };
    auto backlog = [](const QString& kind, const QString& key, const QString& from) {
        return QStringLiteral("INSERT INTO plant_log(kind, key) SELECT '%1', %2 FROM %3;").arg(kind, key, from);
    };
    const QString checkpoint = text(AuditKind::Checkpoint);
    const QStringList script {
        QStringLiteral("CREATE TABLE plant_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, "
                       "key TEXT NOT NULL);"),
        QStringLiteral("CREATE TABLE plant_sent (seq INTEGER PRIMARY KEY, payload TEXT NOT NULL);"),
        QStringLiteral("CREATE TABLE plant_contact (id INTEGER PRIMARY KEY CHECK (id = 1), attempted TEXT, "
                       "reached TEXT, last_error TEXT NOT NULL DEFAULT '', pushed INTEGER NOT NULL DEFAULT 0);"),
        backlog(
            QStringLiteral("device"), QStringLiteral("serial"), QStringLiteral("devices ORDER BY first_seen, serial")),
        backlog(QStringLiteral("job"), QStringLiteral("id"), QStringLiteral("jobs ORDER BY id")),
        backlog(QStringLiteral("certificate"), QStringLiteral("serial"),
            QStringLiteral("certificates ORDER BY issued_at, serial")),
        backlog(QStringLiteral("certificate-state"), QStringLiteral("serial"),
            QStringLiteral("certificates WHERE state <> %1 OR upstream_der IS NOT NULL ORDER BY issued_at, serial")
                .arg(sql::literal(CertificateState::Issued))),
        backlog(QStringLiteral("crl"), QStringLiteral("number"), QStringLiteral("crls ORDER BY number")),
        backlog(QStringLiteral("lot"), QStringLiteral("id"), QStringLiteral("lots ORDER BY created, id")),
        backlog(QStringLiteral("attempt"), QStringLiteral("id"), QStringLiteral("attempts ORDER BY id")),
        backlog(QStringLiteral("audit-head"), QStringLiteral("seq"),
            QStringLiteral("audit WHERE kind = '%1' ORDER BY seq").arg(checkpoint)),
        trigger(QStringLiteral("plant_device_added"), QStringLiteral("AFTER INSERT ON devices"),
            QStringLiteral("device"), QStringLiteral("NEW.serial")),
        trigger(QStringLiteral("plant_device_changed"), QStringLiteral("AFTER UPDATE ON devices"),
            QStringLiteral("device"), QStringLiteral("NEW.serial")),
        // A job goes when it ends (with its steps); one left open goes when it started too.
        trigger(QStringLiteral("plant_job_started"), QStringLiteral("AFTER INSERT ON jobs"), QStringLiteral("job"),
            QStringLiteral("NEW.id")),
        trigger(QStringLiteral("plant_job_changed"), QStringLiteral("AFTER UPDATE OF finished, result, reason ON jobs"),
            QStringLiteral("job"), QStringLiteral("NEW.id")),
        trigger(QStringLiteral("plant_certificate"), QStringLiteral("AFTER INSERT ON certificates"),
            QStringLiteral("certificate"), QStringLiteral("NEW.serial")),
        trigger(QStringLiteral("plant_certificate_state"),
            QStringLiteral("AFTER UPDATE OF state, revocation_reason, upstream_der ON certificates WHEN OLD.state IS "
                           "NOT NEW.state OR OLD.revocation_reason IS NOT NEW.revocation_reason OR "
                           "(OLD.upstream_der IS NULL) <> (NEW.upstream_der IS NULL)"),
            QStringLiteral("certificate-state"), QStringLiteral("NEW.serial")),
        trigger(QStringLiteral("plant_crl"), QStringLiteral("AFTER INSERT ON crls"), QStringLiteral("crl"),
            QStringLiteral("NEW.number")),
        trigger(QStringLiteral("plant_lot_added"), QStringLiteral("AFTER INSERT ON lots"), QStringLiteral("lot"),
            QStringLiteral("NEW.id")),
        trigger(QStringLiteral("plant_lot_changed"), QStringLiteral("AFTER UPDATE ON lots"), QStringLiteral("lot"),
            QStringLiteral("NEW.id")),
        trigger(QStringLiteral("plant_attempt"), QStringLiteral("AFTER INSERT ON attempts"), QStringLiteral("attempt"),
            QStringLiteral("NEW.id")),
        trigger(QStringLiteral("plant_audit_head"),
            QStringLiteral("AFTER INSERT ON audit WHEN NEW.kind = '%1'").arg(checkpoint), QStringLiteral("audit-head"),
            QStringLiteral("NEW.seq")),
    };
    // Triggers hold ';' inside: each statement runs alone.
    for (const QString& statement : script) {
        if (!q.exec(statement))
            return false;
    }
    return true;
}

struct Migration {
    /// Runs in the caller's transaction; on failure the error is q's, or `*error` when set.
    bool (*run)(QSqlQuery& q, Transaction& tx, QSqlError* error);
};

// The list. Entry i brings the schema from version i to i+1.
const Migration migrations[] = {
    { [](QSqlQuery& q, Transaction&, QSqlError*) { return devicesCertificatesJobs(q); } },
    { [](QSqlQuery& q, Transaction&, QSqlError*) { return statusAndTimeIndexes(q); } },
    { auditLog },
    { [](QSqlQuery& q, Transaction&, QSqlError*) { return serialsLotsOutboxCheckpoints(q); } },
    { [](QSqlQuery& q, Transaction&, QSqlError*) { return upstream(q); } },
    // 6: the window's shift figures read the jobs that ended in a shift; a lot can be closed.
    { [](QSqlQuery& q, Transaction&, QSqlError*) {
        return runScript(q,
            QStringLiteral(
                "CREATE INDEX jobs_by_finished ON jobs(finished); ALTER TABLE lots ADD COLUMN closed TEXT;"));
    } },
    // 7: which station the store belongs to (one row, written by the station's first start).
    { [](QSqlQuery& q, Transaction&, QSqlError*) {
        return runScript(q, QStringLiteral("CREATE TABLE station (id TEXT NOT NULL);"));
    } },
    // 8: checkpoints are entries of the chain (a row beside it could be deleted with the
    // entries it vouched for). The old rows go: the chain they covered is still checked
    // hash by hash, and the first checkpoint after the upgrade signs all of it. A
    // revocation's reason is a column of its own (RFC 5280 code), on the certificate and on
    // its outbox row, not read back from a detail text. Failed jobs are found by time
    // (their certificates, issued never shipped, are revoked after a grace period).
    { [](QSqlQuery& q, Transaction&, QSqlError*) {
        return runScript(q,
            QStringLiteral(R"(
        DROP TABLE audit_checkpoints;
        CREATE INDEX audit_by_kind ON audit(kind, seq);
        CREATE INDEX jobs_failed ON jobs(finished) WHERE result = %4;
        ALTER TABLE certificates ADD COLUMN revocation_reason INTEGER;
        ALTER TABLE outbox ADD COLUMN reason INTEGER;
        UPDATE certificates SET revocation_reason = CASE state WHEN %1 THEN 4 ELSE 5 END WHERE state IN (%1, %2);
        UPDATE outbox SET reason = CASE WHEN detail LIKE 'superseded%' THEN 4 ELSE 5 END WHERE kind = %3;
        )")
                .arg(sql::literal(CertificateState::Superseded), sql::literal(CertificateState::Revoked),
                    sql::literal(OutboxKind::Revocation), sql::literal(JobOutcome::Failed)));
    } },
    // 9: wrong credentials in a row, per role, so that a restart does not reset the pause.
    { [](QSqlQuery& q, Transaction&, QSqlError*) {
        return runScript(q,
            QStringLiteral("CREATE TABLE sign_in_attempts (role TEXT PRIMARY KEY, failures INTEGER NOT NULL, last "
                           "TEXT NOT NULL);"));
    } },
    // 10: a slot's attempts that ended before a device's job started (nothing answered,
    // broken frames, an identity not valid, a label that did not match): counted with the jobs.
    { [](QSqlQuery& q, Transaction&, QSqlError*) {
        return runScript(q, QStringLiteral(R"(
        CREATE TABLE attempts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            port TEXT NOT NULL, station TEXT NOT NULL, operator TEXT NOT NULL,
            lot TEXT NOT NULL DEFAULT '',
            started TEXT NOT NULL, finished TEXT NOT NULL,
            code TEXT NOT NULL, reason TEXT NOT NULL,
            claimed_serial TEXT NOT NULL DEFAULT '',
            dropped_frames INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX attempts_by_finished ON attempts(finished, id);
        )"));
    } },
    // 11: the plant record's queue (see PlantLog): every change to what the plant keeps is
    // written here by a trigger, in the same transaction as the change, as it was then.
    { [](QSqlQuery& q, Transaction&, QSqlError*) { return plantLog(q); } },
};

} // namespace

int latest()
{
    return static_cast<int>(std::size(migrations));
}

Result<void> migrate(const Connection& connection, int version)
{
    for (; version < latest(); ++version) {
        Transaction tx(connection, Durability::Synced);
        if (!tx.active())
            return sql::fail(QStringLiteral("start writing"), tx.error());
        QSqlQuery q(tx.db());
        QSqlError error;
        if (!migrations[version].run(q, tx, &error))
            return sql::fail(
                QStringLiteral("be upgraded to schema %1").arg(version + 1), error.isValid() ? error : q.lastError());
        if (!q.exec(QStringLiteral("PRAGMA user_version = %1").arg(version + 1)))
            return sql::fail(QStringLiteral("record its schema version"), q.lastError());
        if (!tx.commit())
            return sql::fail(QStringLiteral("be upgraded to schema %1").arg(version + 1), tx.error());
    }
    return {};
}

} // namespace imprint::core::schema
