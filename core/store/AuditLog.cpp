#include "store/AuditLog.h"

#include "pki/OpenSsl.h"

#include <QRegularExpression>
#include <QtEndian>

#include <climits>

#include <algorithm>

namespace imprint::core {

namespace {

const QString GenesisHash = QString(64, u'0');

/// SHA-256 over the previous entry's hash and a canonical encoding of this entry: a context
/// string, the sequence number (8 bytes big-endian), then each field as a 4-byte big-endian
/// length and its UTF-8 bytes, in a fixed order. Any edit, removal or reordering breaks it.
QString entryHash(const QString& prevHash, qint64 seq, const AuditEntry& e)
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

const QString EntryColumns = QStringLiteral("SELECT seq, at, station, operator, kind, subject, detail FROM audit");

const QString HeadQuery = QStringLiteral("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");

/// An entry as the audit queries select it: seq, at, station, operator, kind, subject, detail.
AuditEntry entryFrom(const QSqlQuery& q, sql::States& /*kinds are kept as text*/)
{
    return AuditEntry { q.value(0).toLongLong(), q.value(1).toString(), q.value(2).toString(), q.value(3).toString(),
        q.value(4).toString(), q.value(5).toString(), q.value(6).toString() };
}

} // namespace

AuditLog::Appender::Appender(Transaction& tx)
    : m_insert(tx.db(),
        QStringLiteral("INSERT INTO audit(seq, at, station, operator, kind, subject, detail, prev_hash, hash) "
                       "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)"))
    , m_who(tx.db(), QStringLiteral("SELECT station, operator FROM jobs WHERE id = ?"))
    , m_head(tx.db())
{
}

bool AuditLog::Appender::readHead()
{
    if (m_headRead)
        return true;
    if (!m_head.exec(HeadQuery))
        return false;
    if (m_head.next()) {
        m_seq = m_head.value(0).toLongLong();
        m_hash = m_head.value(1).toString();
    } else {
        m_seq = 0;
        m_hash = GenesisHash;
    }
    m_head.finish();
    m_headRead = true;
    return true;
}

bool AuditLog::Appender::append(const AuditEntry& e)
{
    if (!readHead())
        return false;
    const qint64 seq = m_seq + 1;
    const QString hash = entryHash(m_hash, seq, e);
    if (!m_insert.run({ seq, e.at, e.station, e.operatorName, e.kind, e.subject, e.detail, m_hash, hash }))
        return false;
    m_seq = seq;
    m_hash = hash;
    return true;
}

bool AuditLog::Appender::append(
    AuditKind kind, const QString& subject, const QString& detail, qint64 jobId, const QString& at)
{
    AuditEntry e;
    e.at = at;
    e.kind = text(kind);
    e.subject = subject;
    e.detail = detail;
    if (jobId != 0) {
        if (!m_who.run({ jobId }))
            return false;
        if (m_who.next()) {
            e.station = m_who.value(0).toString();
            e.operatorName = m_who.value(1).toString();
        }
        m_who.reset();
    }
    return append(e);
}

QSqlError AuditLog::Appender::error() const
{
    for (const QSqlError& e : { m_insert.error(), m_who.error(), m_head.lastError() }) {
        if (e.isValid())
            return e;
    }
    return {};
}

Result<void> AuditLog::append(
    AuditKind kind, const QString& subject, const QString& detail, const QString& station, const QString& operatorName)
{
    Transaction tx(m_connection, Durability::Synced);
    if (!tx.active())
        return sql::fail(QStringLiteral("start writing"), tx.error());
    Appender audit(tx);
    if (!audit.append(AuditEntry { 0, sql::now(), station, operatorName, text(kind), subject, detail }) || !tx.commit())
        return sql::fail(QStringLiteral("write to the audit log"), audit.error());
    return {};
}

Result<std::optional<AuditCheckpoint>> AuditLog::newestCheckpoint() const
{
    return sql::first<AuditCheckpoint>(m_connection,
        QStringLiteral("SELECT seq, hash, at, key_sha256, signature FROM audit_checkpoints ORDER BY seq DESC LIMIT 1"),
        {}, QStringLiteral("read the audit log's checkpoints"), [](const QSqlQuery& q, sql::States&) {
            return AuditCheckpoint { q.value(0).toLongLong(), q.value(1).toString(), q.value(2).toString(),
                q.value(3).toString(), q.value(4).toByteArray() };
        });
}

Result<std::optional<AuditEntry>> AuditLog::last(AuditKind kind, const QString& subject) const
{
    return sql::first<AuditEntry>(m_connection,
        EntryColumns + QStringLiteral(" WHERE subject = ? AND kind = ? ORDER BY seq DESC LIMIT 1"),
        { subject, text(kind) }, QStringLiteral("read the audit log"), entryFrom);
}

Result<AuditCheckpoint> AuditLog::head() const
{
    QSqlQuery q(m_connection.db());
    if (!q.exec(HeadQuery))
        return sql::fail(QStringLiteral("read the audit log"), q.lastError());
    AuditCheckpoint c;
    c.hash = GenesisHash;
    if (q.next()) {
        c.seq = q.value(0).toLongLong();
        c.hash = q.value(1).toString();
    }
    return c;
}

Result<qint64> AuditLog::lastCheckpoint() const
{
    return sql::count(m_connection, QStringLiteral("SELECT COALESCE(MAX(seq), 0) FROM audit_checkpoints"),
        QStringLiteral("read the audit checkpoints"));
}

Result<void> AuditLog::addCheckpoint(const AuditCheckpoint& c)
{
    // Synced: a checkpoint must never outlive (in a power cut) the entries it vouches for.
    Transaction tx(m_connection, Durability::Synced);
    if (!tx.active())
        return sql::fail(QStringLiteral("start writing"), tx.error());
    QSqlQuery q(tx.db());
    if (!sql::exec(q,
            QStringLiteral("INSERT OR IGNORE INTO audit_checkpoints(seq, hash, at, key_sha256, signature) "
                           "VALUES(?, ?, ?, ?, ?)"),
            { c.seq, c.hash, c.at.isEmpty() ? sql::now() : c.at, c.keySha256, c.signature })
        || !tx.commit())
        return sql::fail(QStringLiteral("record an audit checkpoint"), q.lastError());
    return {};
}

QByteArray AuditLog::checkpointMessage(qint64 seq, const QString& hash)
{
    QByteArray data("IMPRINT-AUDIT-CHECKPOINT-V1", 28); // with its terminating zero
    char be[8];
    qToBigEndian(static_cast<quint64>(seq), be);
    data.append(be, 8);
    data += QByteArray::fromHex(hash.toLatin1());
    return data;
}

QString AuditLog::issuedDetail(const QString& deviceSerial, const QString& sha256)
{
    return QStringLiteral("device %1 sha256 %2").arg(deviceSerial, sha256);
}

void AuditLog::BatchDigest::add(
    qint64 jobId, const QString& serialHex, const QString& deviceSerial, const QString& sha256)
{
    if (m_count++ == 0)
        m_firstJob = jobId;
    m_lastJob = jobId;
    m_data += serialHex.toUtf8() + ' ' + deviceSerial.toUtf8() + ' ' + sha256.toUtf8() + '\n';
}

QString AuditLog::BatchDigest::subject() const
{
    return QStringLiteral("jobs %1-%2").arg(m_firstJob).arg(m_lastJob);
}

QString AuditLog::BatchDigest::detail() const
{
    return QStringLiteral("%1 certificates of jobs %2-%3 sha256 %4")
        .arg(m_count)
        .arg(m_firstJob)
        .arg(m_lastJob)
        .arg(ossl::sha256Hex(m_data));
}

bool AuditLog::BatchDigest::parse(
    const QString& detail, qint64* count, qint64* firstJob, qint64* lastJob, QString* digest)
{
    static const QRegularExpression format(
        QStringLiteral("^(\\d+) certificates of jobs (\\d+)-(\\d+) sha256 ([0-9a-f]{64})$"));
    const QRegularExpressionMatch m = format.match(detail);
    if (!m.hasMatch())
        return false;
    *count = m.captured(1).toLongLong();
    *firstJob = m.captured(2).toLongLong();
    *lastJob = m.captured(3).toLongLong();
    *digest = m.captured(4);
    return true;
}

Result<AuditVerdict> AuditLog::verify(
    const CheckpointVerifier& verifier, const std::function<bool(qint64, qint64)>& progress) const
{
    QSqlDatabase db = m_connection.db();
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
    // Forward only: the walk reads every entry and certificate once, and must not keep them.
    q.setForwardOnly(true);
    cert.setForwardOnly(true);
    AuditVerdict v;
    qint64 expected = 1;
    QString prev = GenesisHash;
    auto bad = [&v](qint64 entry, QString why) {
        v.firstBadEntry = entry;
        v.problem = std::move(why);
        return v;
    };
    const QString issued = text(AuditKind::Issued);
    const QString issuedBatch = text(AuditKind::IssuedBatch);
    QList<QPair<qint64, qint64>> batchJobs; // the job ranges issued-batch entries vouch for
    sql::States kinds;
    qint64 newest = 0;
    if (progress) {
        if (!q.exec(QStringLiteral("SELECT COALESCE(MAX(seq), 0) FROM audit")) || !q.next())
            return sql::fail(QStringLiteral("read the audit log"), q.lastError());
        newest = q.value(0).toLongLong();
    }
    while (true) {
        if (progress && !progress(v.entries, newest))
            return fail(ErrorCode::Cancelled, QStringLiteral("The audit log check was stopped."));
        if (!sql::exec(q,
                QStringLiteral("SELECT seq, at, station, operator, kind, subject, detail, prev_hash, hash FROM audit "
                               "WHERE seq >= ? ORDER BY seq LIMIT 1000"),
                { expected }))
            return sql::fail(QStringLiteral("read the audit log"), q.lastError());
        int rows = 0;
        while (q.next()) {
            ++rows;
            const AuditEntry e = entryFrom(q, kinds);
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
            if (entryHash(prevHash, e.seq, e) != hash)
                return bad(e.seq,
                    QStringLiteral("Entry %1 (%2 %3) was edited: its contents do not match its hash.")
                        .arg(e.seq)
                        .arg(e.kind, e.subject));
            if (e.kind == issued) {
                if (!sql::exec(cert,
                        QStringLiteral("SELECT device_serial, sha256, der FROM certificates WHERE serial = ?"),
                        { e.subject }))
                    return sql::fail(QStringLiteral("read a certificate"), cert.lastError());
                if (!cert.next())
                    return bad(e.seq,
                        QStringLiteral("Certificate %1 (entry %2) is missing from the store.")
                            .arg(e.subject)
                            .arg(e.seq));
                const QString recorded = issuedDetail(cert.value(0).toString(), cert.value(1).toString());
                if (recorded != e.detail || ossl::sha256Hex(cert.value(2).toByteArray()) != cert.value(1).toString())
                    return bad(e.seq,
                        QStringLiteral("Certificate %1 (entry %2) was edited in the store.").arg(e.subject).arg(e.seq));
            }
            if (e.kind == issuedBatch) {
                qint64 count = 0, first = 0, last = 0;
                QString digest;
                if (!BatchDigest::parse(e.detail, &count, &first, &last, &digest))
                    return bad(e.seq,
                        QStringLiteral("Entry %1 (%2) does not say which certificates it vouches for.")
                            .arg(e.seq)
                            .arg(e.kind));
                if (!sql::exec(cert,
                        QStringLiteral("SELECT serial, device_serial, sha256, der, job_id FROM certificates WHERE "
                                       "job_id BETWEEN ? AND ? ORDER BY job_id"),
                        { first, last }))
                    return sql::fail(QStringLiteral("read a certificate"), cert.lastError());
                BatchDigest recomputed;
                while (cert.next()) {
                    if (ossl::sha256Hex(cert.value(3).toByteArray()) != cert.value(2).toString())
                        return bad(e.seq,
                            QStringLiteral("Certificate %1 (entry %2) was edited in the store.")
                                .arg(cert.value(0).toString())
                                .arg(e.seq));
                    recomputed.add(cert.value(4).toLongLong(), cert.value(0).toString(), cert.value(1).toString(),
                        cert.value(2).toString());
                }
                if (recomputed.count() != count || !recomputed.detail().endsWith(digest))
                    return bad(e.seq,
                        QStringLiteral("The %1 certificates of entry %2 (%3) are not the ones it recorded: "
                                       "certificates were removed, added or edited in the store.")
                            .arg(count)
                            .arg(e.seq)
                            .arg(e.subject));
                batchJobs.append({ first, last });
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
        return sql::fail(QStringLiteral("read the audit checkpoints"), q.lastError());
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
    // A certificate the log never saw was put in behind its back: it has no entry of its
    // own, and no batch entry covers its job.
    std::sort(batchJobs.begin(), batchJobs.end());
    auto inBatch = [&batchJobs](qint64 job) {
        auto it = std::upper_bound(batchJobs.cbegin(), batchJobs.cend(), QPair<qint64, qint64> { job, LLONG_MAX });
        return it != batchJobs.cbegin() && job <= std::prev(it)->second;
    };
    if (!sql::exec(q,
            QStringLiteral("SELECT serial, job_id FROM certificates c WHERE NOT EXISTS (SELECT 1 FROM audit a WHERE "
                           "a.kind = ? AND a.subject = c.serial)"),
            { issued }))
        return sql::fail(QStringLiteral("read the certificates"), q.lastError());
    while (q.next()) {
        if (!inBatch(q.value(1).toLongLong()))
            return bad(0,
                QStringLiteral("Certificate %1 is in the store but the audit log never recorded it as issued.")
                    .arg(q.value(0).toString()));
    }
    return v;
}

Result<QList<AuditEntry>> AuditLog::entries(qint64 afterSeq, int limit) const
{
    return sql::rows<AuditEntry>(m_connection, EntryColumns + QStringLiteral(" WHERE seq > ? ORDER BY seq LIMIT ?"),
        { afterSeq, std::clamp(limit, 1, 10000) }, QStringLiteral("read the audit log"), entryFrom);
}

Result<QList<AuditEntry>> AuditLog::about(const QStringList& subjects, int limit) const
{
    if (subjects.isEmpty())
        return QList<AuditEntry> {};
    QStringList marks;
    QVariantList values;
    for (const QString& s : subjects) {
        marks << QStringLiteral("?");
        values << s;
    }
    values << std::clamp(limit, 1, 10000);
    return sql::rows<AuditEntry>(m_connection,
        EntryColumns + QStringLiteral(" WHERE subject IN (%1) ORDER BY seq LIMIT ?").arg(marks.join(u',')), values,
        QStringLiteral("read the audit log"), entryFrom);
}

} // namespace imprint::core
