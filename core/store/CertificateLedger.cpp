#include "store/CertificateLedger.h"

#include <QCryptographicHash>

#include "store/JobLog.h"

namespace imprint::core {

namespace {

/// What certificateFrom() reads: the certificates table, as `c`, in this order.
QString selectCertificates()
{
    return QStringLiteral("SELECT c.serial, c.device_serial, c.der, c.sha256, c.state, c.issued_at, c.job_id");
}

template <typename Row> CertificateRecord certificateFrom(const Row& q, sql::States& states)
{
    return CertificateRecord { q.value(0).toString(), q.value(1).toString(), q.value(2).toByteArray(),
        q.value(3).toString(), states.read<CertificateState>(q.value(4)), sql::parseTime(q.value(5)),
        q.value(6).toLongLong() };
}

/// The step that moves a certificate into `state`, and the states it may come from: never
/// back from superseded or revoked, and a certificate that shipped (verified, its job
/// passed) is never superseded.
struct Move {
    StepName step;
    QString from; ///< an SQL condition on the certificate row
};

std::optional<Move> moveTo(CertificateState state)
{
    const QString issued = sql::literal(CertificateState::Issued);
    const QString installed = sql::literal(CertificateState::Installed);
    const QString verified = sql::literal(CertificateState::Verified);
    const QString notShipped = QStringLiteral("(state IN (%1, %2) OR (state = %3 AND NOT EXISTS (SELECT 1 FROM jobs j "
                                              "WHERE j.id = certificates.job_id AND j.result = %4)))")
                                   .arg(issued, installed, verified, sql::literal(JobOutcome::Passed));
    switch (state) {
    case CertificateState::Installed: return Move { StepName::Install, notShipped };
    case CertificateState::Verified:
        return Move { StepName::Challenge, QStringLiteral("state IN (%1, %2, %3)").arg(issued, installed, verified) };
    case CertificateState::Superseded: return Move { StepName::Supersede, notShipped };
    case CertificateState::Issued:
    case CertificateState::Revoked: return std::nullopt; // issued by recordIssued, revoked by revokeDevice
    }
    return std::nullopt;
}

/// Binds serial, device serial, job, DER, sha256, key sha256, state, issued at, request.
Statement certificateInsert(Transaction& tx)
{
    return Statement(tx.db(),
        QStringLiteral("INSERT INTO certificates(serial, device_serial, job_id, der, sha256, spki_sha256, state, "
                       "issued_at, request) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)"));
}

AuditKind auditKindOf(CertificateState state)
{
    switch (state) {
    case CertificateState::Issued: return AuditKind::Issued;
    case CertificateState::Installed: return AuditKind::Installed;
    case CertificateState::Verified: return AuditKind::Verified;
    case CertificateState::Superseded: return AuditKind::Superseded;
    case CertificateState::Revoked: return AuditKind::Revoked;
    }
    return AuditKind::Issued;
}

} // namespace

CertificateLedger::Serials::Serials(Transaction& tx)
    : m_ofJob(tx.db(),
        QStringLiteral("UPDATE serials SET state = %1 WHERE job_id = ? AND state = %2")
            .arg(sql::literal(SerialState::Void), sql::literal(SerialState::Reserved)))
    , m_ofDevice(tx.db(),
          QStringLiteral("UPDATE serials SET state = %1 WHERE state = %2 AND job_id IN (SELECT id FROM jobs WHERE "
                         "device_serial = ? AND finished IS NULL)")
              .arg(sql::literal(SerialState::Void), sql::literal(SerialState::Reserved)))
{
}

bool CertificateLedger::Serials::voidReserved(qint64 jobId)
{
    return m_ofJob.run({ jobId });
}

bool CertificateLedger::Serials::voidReservedOfDevice(const QString& deviceSerial)
{
    return m_ofDevice.run({ deviceSerial });
}

QSqlError CertificateLedger::Serials::error() const
{
    return m_ofJob.error().isValid() ? m_ofJob.error() : m_ofDevice.error();
}

Result<void> CertificateLedger::revokeDevice(Transaction& tx, const QString& deviceSerial, const QString& why,
    qint64 jobId, const QString& at, AuditLog::Appender& audit, Outbox::Appender& outbox)
{
    QSqlQuery q(tx.db());
    QStringList live;
    if (!sql::exec(q,
            QStringLiteral("SELECT serial FROM certificates WHERE device_serial = ? AND state NOT IN (%1, %2)")
                .arg(sql::literal(CertificateState::Superseded), sql::literal(CertificateState::Revoked)),
            { deviceSerial }))
        return sql::fail(QStringLiteral("scrap the device"), q.lastError());
    while (q.next())
        live << q.value(0).toString();
    const QString failed = QStringLiteral("revoke the device's certificates");
    for (const QString& cert : live) {
        if (auto r = revoke(tx, cert, crl_reason::CessationOfOperation, why, jobId, at, audit, outbox); !r)
            return r;
    }
    return {};
}

Result<void> CertificateLedger::revoke(Transaction& tx, const QString& serialHex, int reason, const QString& why,
    qint64 jobId, const QString& at, AuditLog::Appender& audit, Outbox::Appender& outbox)
{
    const QString failed = QStringLiteral("revoke certificate %1").arg(serialHex);
    QSqlQuery q(tx.db());
    if (!sql::exec(q,
            QStringLiteral("UPDATE certificates SET state = ?, revocation_reason = ? WHERE serial = ? AND state NOT IN "
                           "(%1, %2)")
                .arg(sql::literal(CertificateState::Superseded), sql::literal(CertificateState::Revoked)),
            { text(CertificateState::Revoked), reason, serialHex }))
        return sql::fail(failed, q.lastError());
    if (q.numRowsAffected() != 1)
        return fail(
            ErrorCode::Store, QStringLiteral("Certificate %1 is not on record, or is revoked already.").arg(serialHex));
    if (!outbox.addRevocation(serialHex, reason, why, at))
        return sql::fail(failed, outbox.error());
    if (!audit.append(AuditKind::Revoked, serialHex, why, jobId, at))
        return sql::fail(failed, audit.error());
    return {};
}

Result<QList<bool>> CertificateLedger::reserve(const QList<IssueIntent>& intents)
{
    Transaction tx(m_connection); // see Durability: rides along with the next synced commit
    if (!tx.active())
        return sql::fail(QStringLiteral("start writing"), tx.error());
    // A serial is taken once reserved, or once recorded with its certificate (a batch's).
    Statement drawn(tx.db(),
        QStringLiteral(
            "SELECT 1 FROM serials WHERE serial = ?1 UNION ALL SELECT 1 FROM certificates WHERE serial = ?1"));
    Statement reserve(
        tx.db(), QStringLiteral("INSERT INTO serials(serial, job_id, state, reserved) VALUES(?, ?, ?, ?)"));
    JobLog::Writer steps(tx);
    const QString t = sql::now();
    const QString failed = QStringLiteral("reserve a serial");
    QList<bool> reserved;
    for (const IssueIntent& i : intents) {
        if (!drawn.run({ i.serialHex }))
            return sql::fail(failed, drawn.error());
        const bool taken = drawn.next();
        drawn.reset();
        if (taken) {
            reserved << false;
            continue;
        }
        if (!steps.step(i.jobId, i.injected ? StepName::InjectKey : StepName::Keygen, StepStatus::Done,
                keyStepDetail(i.keyType, i.injected), t)
            || !steps.step(i.jobId, StepName::CheckCsr, StepStatus::Done, i.keyType, t))
            return sql::fail(failed, steps.error());
        if (!reserve.run({ i.serialHex, i.jobId, text(SerialState::Reserved), t }))
            return sql::fail(failed, reserve.error());
        if (!steps.step(i.jobId, StepName::Issue, StepStatus::Intent, QStringLiteral("serial ") + i.serialHex, t))
            return sql::fail(failed, steps.error());
        reserved << true;
    }
    if (!tx.commit())
        return sql::fail(failed, tx.error());
    return reserved;
}

Result<void> CertificateLedger::recordIssued(const QList<IssuedRecord>& issued)
{
    Transaction tx(m_connection, Durability::Synced);
    if (!tx.active())
        return sql::fail(QStringLiteral("start writing"), tx.error());
    // Prepared once for the whole group; the audit head is read once and moved on in memory.
    Statement cert = certificateInsert(tx);
    Statement serial(tx.db(),
        QStringLiteral("INSERT INTO serials(serial, job_id, state, reserved) VALUES(?, ?, %1, ?) ON CONFLICT(serial) "
                       "DO UPDATE SET state = excluded.state WHERE job_id = excluded.job_id AND state = %2")
            .arg(sql::literal(SerialState::Used), sql::literal(SerialState::Reserved)));
    JobLog::Writer steps(tx);
    Outbox::Appender outbox(tx);
    AuditLog::Appender audit(tx);
    const QString t = sql::now();
    const QString issuedState = text(CertificateState::Issued);
    for (const IssuedRecord& i : issued) {
        if (!cert.run({ i.serialHex, i.deviceSerial, i.jobId, i.der, i.sha256, i.publicKeySha256, issuedState, t,
                i.request }))
            return sql::fail(QStringLiteral("record the issued certificate"), cert.error());
        if (!serial.run({ i.serialHex, i.jobId, t }))
            return sql::fail(QStringLiteral("record the issued certificate"), serial.error());
        if (serial.changes() != 1)
            return fail(ErrorCode::Store,
                QStringLiteral("Certificate serial %1 is not reserved for job %2 any more (the job was closed, or the "
                               "serial was used); the certificate was not recorded and will not be sent.")
                    .arg(i.serialHex)
                    .arg(i.jobId));
        if (!steps.step(i.jobId, StepName::Issue, StepStatus::Done, QStringLiteral("certificate ") + i.serialHex, t)
            || !outbox.add(OutboxKind::Certificate, i.serialHex, {}, t))
            return sql::fail(QStringLiteral("commit the issued certificate"),
                steps.error().isValid() ? steps.error() : outbox.error());
        if (!audit.append(AuditKind::Issued, i.serialHex, AuditLog::issuedDetail(i.deviceSerial, i.sha256), i.jobId, t))
            return sql::fail(QStringLiteral("audit the issued certificate"), audit.error());
    }
    if (!tx.commit())
        return sql::fail(QStringLiteral("commit the issued certificate"), tx.error());
    return {};
}

CertificateLedger::BatchRecorder::BatchRecorder(
    const CertificateLedger& ledger, const QString& station, const QString& operatorName)
    : m_tx(ledger.m_connection, Durability::Synced)
    , m_cert(certificateInsert(m_tx))
    , m_jobs(m_tx)
    , m_outbox(m_tx)
    , m_audit(m_tx)
    , m_station(station)
    , m_operator(operatorName)
    , m_at(sql::now())
{
}

CertificateLedger::BatchRecorder::~BatchRecorder() = default;

Result<void> CertificateLedger::BatchRecorder::add(const QList<BatchIssued>& issued)
{
    if (!m_tx.active())
        return sql::fail(QStringLiteral("start writing"), m_tx.error());
    const QString issuedState = text(CertificateState::Issued);
    for (const BatchIssued& b : issued) {
        const qint64 id = m_jobs.fileJob(b.deviceSerial, b.source, m_station, m_operator, m_at);
        if (id == 0)
            return sql::fail(QStringLiteral("record the batch"), m_jobs.error());
        // The certificate's serial is recorded with it in this very transaction: no
        // write-ahead row in `serials` is needed (reserve() also looks in `certificates`).
        // Nor a step: the job, finished as issued, and its certificate tell the request
        // file's story (DeviceRecords::timeline shows it as one).
        if (!m_cert.run(
                { b.serialHex, b.deviceSerial, id, b.der, b.sha256, b.publicKeySha256, issuedState, m_at, b.request })
            || !m_outbox.add(OutboxKind::Certificate, b.serialHex, {}, m_at))
            return sql::fail(QStringLiteral("record an issued certificate"),
                m_cert.error().isValid() ? m_cert.error() : m_outbox.error());
        m_digest.add(id, b.serialHex, b.deviceSerial, b.sha256);
    }
    return {};
}

Result<void> CertificateLedger::BatchRecorder::commit()
{
    if (!m_tx.active())
        return sql::fail(QStringLiteral("start writing"), m_tx.error());
    // One audit entry for them all, over what each certificate is (see BatchDigest).
    if (m_digest.count() > 0
        && !m_audit.append(AuditEntry {
            0, m_at, m_station, m_operator, text(AuditKind::IssuedBatch), m_digest.subject(), m_digest.detail() }))
        return sql::fail(QStringLiteral("audit the batch"), m_audit.error());
    if (!m_tx.commit())
        return sql::fail(QStringLiteral("commit the batch"), m_tx.error());
    return {};
}

Result<void> CertificateLedger::recordBatch(
    const QList<BatchIssued>& issued, const QString& station, const QString& operatorName)
{
    BatchRecorder recorder(*this, station, operatorName);
    if (auto r = recorder.add(issued); !r)
        return r;
    return recorder.commit();
}

Result<void> CertificateLedger::setState(
    qint64 jobId, const QString& serialHex, CertificateState state, const QString& detail)
{
    const std::optional<Move> move = moveTo(state);
    if (!move)
        return fail(ErrorCode::Store, QStringLiteral("A certificate cannot be made \"%1\" this way.").arg(text(state)));
    Transaction tx(m_connection, state == CertificateState::Superseded ? Durability::Synced : Durability::Written);
    if (!tx.active())
        return sql::fail(QStringLiteral("start writing"), tx.error());
    QSqlQuery q(tx.db());
    const QString t = sql::now();
    if (!sql::exec(q,
            QStringLiteral("UPDATE certificates SET state = ?, revocation_reason = ? WHERE serial = ? AND ")
                + move->from,
            { text(state), state == CertificateState::Superseded ? QVariant(crl_reason::Superseded) : QVariant(),
                serialHex }))
        return sql::fail(QStringLiteral("update a certificate"), q.lastError());
    if (q.numRowsAffected() != 1) {
        if (!sql::exec(q, QStringLiteral("SELECT state FROM certificates WHERE serial = ?"), { serialHex }))
            return sql::fail(QStringLiteral("update a certificate"), q.lastError());
        if (!q.next())
            return fail(
                ErrorCode::NotFound, QStringLiteral("No certificate with serial %1 is recorded.").arg(serialHex));
        return fail(ErrorCode::Store,
            QStringLiteral("Certificate %1 is %2 on record; it cannot become %3.")
                .arg(serialHex, q.value(0).toString(), text(state)));
    }
    const QString stepDetail = detail.isEmpty() ? QStringLiteral("certificate ") + serialHex
                                                : QStringLiteral("certificate %1: %2").arg(serialHex, detail);
    JobLog::Writer steps(tx);
    AuditLog::Appender audit(tx);
    // Verified: the device gave the certificate back as issued, then signed a challenge with its key.
    if (state == CertificateState::Verified
        && !steps.step(jobId, StepName::ReadBack, StepStatus::Done,
            QStringLiteral("certificate %1 read back from the device: the one issued").arg(serialHex), t))
        return sql::fail(QStringLiteral("update a certificate"), steps.error());
    if (!steps.step(jobId, move->step, StepStatus::Done,
            state == CertificateState::Verified
                ? QStringLiteral("certificate %1: the device signed a fresh challenge with its key").arg(serialHex)
                : stepDetail,
            t))
        return sql::fail(QStringLiteral("update a certificate"), steps.error());
    if (!audit.append(auditKindOf(state), serialHex, detail, jobId, t))
        return sql::fail(QStringLiteral("update a certificate"), audit.error());
    // Issued, never shipped: upstream must learn that the certificate is not to be trusted.
    Outbox::Appender outbox(tx);
    if (state == CertificateState::Superseded
        && !outbox.addRevocation(serialHex, crl_reason::Superseded, QStringLiteral("superseded: ") + detail, t))
        return sql::fail(QStringLiteral("record a revocation"), outbox.error());
    if (!tx.commit())
        return sql::fail(QStringLiteral("update a certificate"), tx.error());
    return {};
}

Result<std::optional<PendingCertificate>> CertificateLedger::pending(const QString& deviceSerial) const
{
    auto newest = sql::first<PendingCertificate>(m_connection,
        selectCertificates()
            + QStringLiteral(", j.result FROM certificates c JOIN jobs j ON j.id = c.job_id "
                             "WHERE c.device_serial = ? ORDER BY c.issued_at DESC, c.rowid DESC LIMIT 1"),
        { deviceSerial }, QStringLiteral("look up the device's certificates"),
        [](const QSqlQuery& q, sql::States& states) {
            return PendingCertificate { certificateFrom(q, states), states.readOptional<JobOutcome>(q.value(7)) };
        });
    if (!newest || !*newest)
        return newest;
    const CertificateState state = (*newest)->certificate.state;
    if (state == CertificateState::Superseded || state == CertificateState::Revoked)
        return std::optional<PendingCertificate> {};
    return newest;
}

CertificateLedger::Lookup::Lookup(const CertificateLedger& ledger)
    : m_connection(ledger.m_connection)
    , m_newest(ledger.m_connection.db(),
          selectCertificates()
              + QStringLiteral(", c.spki_sha256, j.port FROM certificates c JOIN jobs j ON j.id = c.job_id "
                               "WHERE c.device_serial = ? ORDER BY c.issued_at DESC, c.rowid DESC LIMIT 1"))
    , m_owner(ledger.m_connection.db(),
          QStringLiteral("SELECT device_serial FROM certificates WHERE spki_sha256 = ? LIMIT 1"))
{
}

Result<std::optional<HeldCertificate>> CertificateLedger::Lookup::newest(const QString& deviceSerial)
{
    if (!m_newest.run({ deviceSerial }))
        return sql::fail(QStringLiteral("look up the device's certificates"), m_newest.error());
    std::optional<HeldCertificate> held;
    sql::States states;
    if (m_newest.next())
        held = HeldCertificate { certificateFrom(m_newest, states), m_newest.value(7).toString(),
            m_newest.value(8).toString() };
    m_newest.reset();
    if (!states.ok())
        return states.error();
    return held;
}

Result<std::optional<QString>> CertificateLedger::Lookup::keyOwner(const QString& publicKeySha256)
{
    if (!m_owner.run({ publicKeySha256 }))
        return sql::fail(QStringLiteral("look up a public key"), m_owner.error());
    std::optional<QString> owner;
    if (m_owner.next())
        owner = m_owner.value(0).toString();
    m_owner.reset();
    return owner;
}

Result<std::optional<QString>> CertificateLedger::keyOwner(const QString& publicKeySha256) const
{
    return Lookup(*this).keyOwner(publicKeySha256);
}

Result<QList<CertificateRecord>> CertificateLedger::ofDevice(const QString& deviceSerial) const
{
    return sql::rows<CertificateRecord>(m_connection,
        selectCertificates()
            + QStringLiteral(" FROM certificates c WHERE c.device_serial = ? ORDER BY c.issued_at DESC, c.rowid DESC"),
        { deviceSerial }, QStringLiteral("look up certificates"), certificateFrom<QSqlQuery>);
}

Result<std::optional<QString>> CertificateLedger::certificateOfKey(const QString& publicKeySha256) const
{
    return sql::first<QString>(m_connection,
        QStringLiteral("SELECT serial FROM certificates WHERE spki_sha256 = ? ORDER BY issued_at DESC LIMIT 1"),
        { publicKeySha256 }, QStringLiteral("look up a key"),
        [](const QSqlQuery& q, sql::States&) { return q.value(0).toString(); });
}

Result<QList<QString>> CertificateLedger::certificatesOfKey(const QString& publicKeySha256) const
{
    return sql::rows<QString>(m_connection,
        QStringLiteral("SELECT serial FROM certificates WHERE spki_sha256 = ? ORDER BY issued_at DESC"),
        { publicKeySha256 }, QStringLiteral("look up a key"),
        [](const QSqlQuery& q, sql::States&) { return q.value(0).toString(); });
}

Result<QByteArray> CertificateLedger::upstreamCertificate(const QString& serialHex) const
{
    auto v = sql::scalar(m_connection, QStringLiteral("SELECT upstream_der FROM certificates WHERE serial = ?"),
        { serialHex }, QStringLiteral("look up the upstream certificate"));
    if (!v)
        return std::unexpected(v.error());
    return v->toByteArray();
}

Result<QList<std::pair<RevokedCertificate, CertificateState>>> CertificateLedger::revoked() const
{
    return sql::rows<std::pair<RevokedCertificate, CertificateState>>(m_connection,
        QStringLiteral("SELECT c.serial, COALESCE((SELECT MIN(o.created) FROM outbox o WHERE o.subject = c.serial AND "
                       "o.kind = %1), c.issued_at), CAST(c.state AS TEXT), c.revocation_reason FROM certificates c "
                       "WHERE c.state IN (%2, %3, CAST(%2 AS BLOB), CAST(%3 AS BLOB)) ORDER BY 2")
            .arg(sql::literal(OutboxKind::Revocation), sql::literal(CertificateState::Superseded),
                sql::literal(CertificateState::Revoked)),
        {}, QStringLiteral("read the revoked certificates"), [](const QSqlQuery& q, sql::States& states) {
            const CertificateState state = states.read<CertificateState>(q.value(2));
            const int reason = !q.value(3).isNull()     ? q.value(3).toInt()
                : state == CertificateState::Superseded ? crl_reason::Superseded
                                                        : crl_reason::CessationOfOperation;
            return std::pair { RevokedCertificate { q.value(0).toString(), sql::parseTime(q.value(1)), reason },
                state };
        });
}

Result<QStringList> CertificateLedger::revokeUnshipped(const QDateTime& failedBefore, const QString& lot)
{
    Transaction tx(m_connection, Durability::Synced);
    if (!tx.active())
        return sql::fail(QStringLiteral("start writing"), tx.error());
    QSqlQuery q(tx.db());
    // Failed jobs are few (jobs_failed); their certificates by job. A device on a slot now
    // (a newer job unfinished) may yet pass with its certificate.
    if (!sql::exec(q,
            QStringLiteral("SELECT c.serial, j.id, j.reason FROM jobs j JOIN certificates c ON c.job_id = j.id "
                           "WHERE j.result = %1 AND j.finished <= ? AND (? = '' OR j.lot = ?) AND c.state IN (%2, %3) "
                           "AND NOT EXISTS (SELECT 1 FROM jobs k WHERE k.device_serial = j.device_serial AND k.id > "
                           "j.id AND k.finished IS NULL) ORDER BY j.id")
                .arg(sql::literal(JobOutcome::Failed), sql::literal(CertificateState::Issued),
                    sql::literal(CertificateState::Installed)),
            { sql::time(failedBefore), lot, lot }))
        return sql::fail(QStringLiteral("look up certificates never shipped"), q.lastError());
    struct Unshipped {
        QString serial;
        qint64 job;
        QString reason;
    };
    QList<Unshipped> found;
    while (q.next())
        found.append({ q.value(0).toString(), q.value(1).toLongLong(), q.value(2).toString() });
    q.finish();
    AuditLog::Appender audit(tx);
    Outbox::Appender outbox(tx);
    const QString t = sql::now();
    QStringList revoked;
    for (const Unshipped& u : found) {
        const QString why = QStringLiteral("issued, never shipped: its job %1 failed%2")
                                .arg(u.job)
                                .arg(u.reason.isEmpty() ? QString() : QStringLiteral(" (%1)").arg(u.reason));
        if (auto r = revoke(tx, u.serial, crl_reason::CessationOfOperation, why, u.job, t, audit, outbox); !r)
            return std::unexpected(r.error());
        revoked << u.serial;
    }
    if (!revoked.isEmpty() && !tx.commit())
        return sql::fail(QStringLiteral("revoke certificates never shipped"), tx.error());
    return revoked;
}

Result<std::optional<std::pair<qint64, QByteArray>>> CertificateLedger::newestCrl() const
{
    QSqlQuery q(m_connection.db());
    if (!q.exec(QStringLiteral("SELECT number, der FROM crls ORDER BY number DESC LIMIT 1")))
        return sql::fail(QStringLiteral("read the newest CRL"), q.lastError());
    if (!q.next())
        return std::optional<std::pair<qint64, QByteArray>> {};
    return std::optional<std::pair<qint64, QByteArray>> { std::pair {
        q.value(0).toLongLong(), q.value(1).toByteArray() } };
}

Result<qint64> CertificateLedger::recordCrl(const std::function<Result<QByteArray>(qint64 number)>& sign,
    const QDateTime& thisUpdate, const QDateTime& nextUpdate)
{
    Transaction tx(m_connection, Durability::Synced);
    if (!tx.active())
        return sql::fail(QStringLiteral("start writing"), tx.error());
    QSqlQuery q(tx.db());
    if (!q.exec(QStringLiteral("SELECT COALESCE(MAX(number), 0) + 1 FROM crls")) || !q.next())
        return sql::fail(QStringLiteral("read the CRL number"), q.lastError());
    const qint64 number = q.value(0).toLongLong();
    auto der = sign(number);
    if (!der)
        return std::unexpected(der.error());
    if (!sql::exec(q, QStringLiteral("INSERT INTO crls(number, issued, next_update, der) VALUES(?, ?, ?, ?)"),
            { number, sql::time(thisUpdate), sql::time(nextUpdate), *der }))
        return sql::fail(QStringLiteral("record the CRL"), q.lastError());
    AuditLog::Appender audit(tx);
    if (!audit.append(AuditKind::CrlIssued, QStringLiteral("crl-%1").arg(number),
            QStringLiteral("CRL %1, sha256 %2, next update %3")
                .arg(number)
                .arg(QString::fromLatin1(QCryptographicHash::hash(*der, QCryptographicHash::Sha256).toHex()),
                    sql::time(nextUpdate)),
            0, sql::now()))
        return sql::fail(QStringLiteral("audit the CRL"), audit.error());
    if (!tx.commit())
        return sql::fail(QStringLiteral("record the CRL"), tx.error());
    return number;
}

} // namespace imprint::core
