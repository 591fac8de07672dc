#include "store/AuditLog.h"

#include "pki/CsrCheck.h"
#include "pki/OpenSsl.h"
#include "pki/Signer.h"

#include <QCryptographicHash>

#include <QHash>
#include <QLoggingCategory>
#include <QRegularExpression>
#include <QSet>
#include <QtEndian>

#include <climits>

#include <algorithm>
#include <mutex>

Q_LOGGING_CATEGORY(IMPRINT_AUDIT, "imprint.audit", QtInfoMsg)

namespace imprint::core {

namespace {

/// This process's audit key and interval (AuditLog::sealWith), and the connections that
/// appended entries (sealed when they close).
struct Sealing {
    std::mutex mutex;
    /// Not owned: the key's owner (the station's context, the command's token) decides how
    /// long it lives, and with it the PKCS#11 module's session.
    std::weak_ptr<Signer> signer;
    int every = 100;
    QSet<QString> wrote;
};

Sealing& processSealing()
{
    static Sealing s;
    return s;
}

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

/// Whether a certificate row's columns have the types the station writes (a BLOB serial or
/// job id reads back as the same text but escapes the queries that select by them).
const QString CertificateTypes = QStringLiteral(
    "(typeof(serial) = 'text' AND typeof(device_serial) = 'text' AND typeof(job_id) = 'integer' AND typeof(sha256) = "
    "'text' AND typeof(spki_sha256) = 'text' AND typeof(state) = 'text')");

/// Whether the key hash on record is the certificate's own key's: the repeated-key check
/// reads the hash, so an edited one would let a key be certified twice.
bool keyMatches(const QByteArray& der, const QString& recordedSpkiSha256)
{
    auto cert = ossl::certFromDer(der);
    return cert && CsrCheck::publicKeySha256(X509_get0_pubkey(cert->get())) == recordedSpkiSha256;
}

const QString HeadQuery = QStringLiteral("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");

/// An entry as the audit queries select it: seq, at, station, operator, kind, subject, detail.
AuditEntry entryFrom(const QSqlQuery& q, sql::States& /*kinds are kept as text*/)
{
    return AuditEntry { q.value(0).toLongLong(), q.value(1).toString(), q.value(2).toString(), q.value(3).toString(),
        q.value(4).toString(), q.value(5).toString(), q.value(6).toString() };
}

} // namespace

void AuditLog::sealWith(std::shared_ptr<Signer> signer, int every)
{
    Sealing& s = processSealing();
    std::lock_guard lock(s.mutex);
    s.signer = std::move(signer);
    s.every = std::max(1, every);
}

bool AuditLog::sealing()
{
    Sealing& s = processSealing();
    std::lock_guard lock(s.mutex);
    return !s.signer.expired();
}

AuditLog::Appender::Appender(Transaction& tx)
    : m_insert(tx.db(),
        QStringLiteral("INSERT INTO audit(seq, at, station, operator, kind, subject, detail, prev_hash, hash) "
                       "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)"))
    , m_who(tx.db(), QStringLiteral("SELECT station, operator FROM jobs WHERE id = ?"))
    , m_head(tx.db())
    , m_connection(tx.db().connectionName())
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
    if (!sql::exec(m_head, QStringLiteral("SELECT COALESCE(MAX(seq), 0) FROM audit WHERE kind = ?"),
            { text(AuditKind::Checkpoint) })
        || !m_head.next())
        return false;
    m_sealed = m_head.value(0).toLongLong();
    m_head.finish();
    m_headRead = true;
    return true;
}

bool AuditLog::Appender::insert(const AuditEntry& e)
{
    const qint64 seq = m_seq + 1;
    const QString hash = entryHash(m_hash, seq, e);
    if (!m_insert.run({ seq, e.at, e.station, e.operatorName, e.kind, e.subject, e.detail, m_hash, hash }))
        return false;
    m_seq = seq;
    m_hash = hash;
    return true;
}

bool AuditLog::Appender::append(const AuditEntry& e)
{
    if (!readHead() || !insert(e))
        return false;
    std::shared_ptr<Signer> signer;
    int every = 0;
    {
        Sealing& s = processSealing();
        std::lock_guard lock(s.mutex);
        s.wrote.insert(m_connection);
        signer = s.signer.lock();
        every = s.every;
    }
    if (signer && m_seq - m_sealed >= every)
        return seal();
    return true;
}

QString AuditLog::Appender::untrustedTail(Signer& signer, int every)
{
    // A checkpoint vouches for what it follows. Sealed by itself, a tail rewritten behind
    // the station's back (its checkpoints stripped, the chain recomputed) would come out
    // signed; so the station seals only a short tail that follows a checkpoint of its own
    // key, link by link. Anything else waits for a person (imprintctl audit head).
    if (m_sealed == 0)
        return QStringLiteral("the log has no checkpoint to follow");
    if (m_seq - m_sealed > 4LL * every + 64)
        return QStringLiteral("%1 entries follow the newest checkpoint, more than the station leaves unsealed")
            .arg(m_seq - m_sealed);
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.setForwardOnly(true);
    if (!sql::exec(q,
            QStringLiteral("SELECT seq, at, station, operator, kind, subject, detail, prev_hash, hash FROM audit WHERE "
                           "seq >= ? ORDER BY seq"),
            { m_sealed - 1 }))
        return QStringLiteral("the log could not be read");
    QString prev;
    AuditCheckpoint c;
    sql::States kinds;
    auto pub = ossl::publicKeyFromDer(signer.publicKey());
    if (!pub)
        return QStringLiteral("the audit key could not be read");
    while (q.next()) {
        const AuditEntry e = entryFrom(q, kinds);
        const QString hash = q.value(8).toString();
        if (e.seq == m_sealed - 1) {
            prev = hash;
            continue;
        }
        if (q.value(7).toString() != prev || entryHash(prev, e.seq, e) != hash)
            return QStringLiteral("entry %1 does not follow the entry before it").arg(e.seq);
        if (e.seq == m_sealed
            && (!parseCheckpoint(e.detail, &c) || c.seq != e.seq - 1 || c.hash != prev
                || !ossl::verifySha256(pub->get(), checkpointMessage(c.seq, c.hash), c.signature)))
            return QStringLiteral("the newest checkpoint (entry %1) is not one of the audit key's").arg(e.seq);
        prev = hash;
    }
    if (prev != m_hash)
        return QStringLiteral("the log's newest entry is not where the chain leads");
    return {};
}

bool AuditLog::Appender::seal(bool force)
{
    if (!readHead())
        return false;
    std::shared_ptr<Signer> signer;
    int every = 100;
    {
        Sealing& s = processSealing();
        std::lock_guard lock(s.mutex);
        signer = s.signer.lock();
        every = s.every;
    }
    if (!signer || m_seq == 0 || m_seq == m_sealed)
        return true;
    if (!force) {
        if (const QString why = untrustedTail(*signer, every); !why.isEmpty()) {
            qCWarning(IMPRINT_AUDIT).noquote()
                << "The audit log was not sealed:" << why
                << "- entries written behind the station's back would be signed with it. Run imprintctl audit verify; "
                   "once a person has looked, imprintctl audit head seals it.";
            m_sealed = m_seq; // not again in this transaction
            return true;
        }
    }
    auto signature = signer->signSha256(checkpointMessage(m_seq, m_hash));
    if (!signature) {
        // The chain is durable without it; the entries wait for the next checkpoint (after
        // another `every` entries, or when the store closes), and `audit verify` counts them.
        qCWarning(IMPRINT_AUDIT) << "audit checkpoint not signed:" << signature.error().text();
        m_sealed = m_seq;
        return true;
    }
    AuditCheckpoint c { m_seq, m_hash, sql::now(), ossl::sha256Hex(signer->publicKey()), *signature };
    AuditEntry entry { 0, c.at, {}, {}, text(AuditKind::Checkpoint), QStringLiteral("audit-log"), checkpointDetail(c) };
    if (!insert(entry))
        return false;
    m_sealed = m_seq;
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
    auto entry = last(AuditKind::Checkpoint, QStringLiteral("audit-log"));
    if (!entry)
        return std::unexpected(entry.error());
    AuditCheckpoint c;
    if (!*entry || !parseCheckpoint((*entry)->detail, &c))
        return std::optional<AuditCheckpoint> {};
    c.at = (*entry)->at;
    return std::optional<AuditCheckpoint> { c };
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
    return sql::count(m_connection,
        QStringLiteral("SELECT COALESCE(MAX(seq), 0) FROM audit WHERE kind = %1")
            .arg(sql::literal(AuditKind::Checkpoint)),
        QStringLiteral("read the audit checkpoints"));
}

Result<bool> AuditLog::seal(bool force)
{
    if (!sealing())
        return false;
    // Synced: a checkpoint must never outlive (in a power cut) the entries it vouches for;
    // being in the chain, it cannot.
    Transaction tx(m_connection, Durability::Synced);
    if (!tx.active())
        return sql::fail(QStringLiteral("start writing"), tx.error());
    Appender audit(tx);
    auto before = lastCheckpoint();
    if (!before)
        return std::unexpected(before.error());
    if (!audit.seal(force) || !tx.commit())
        return sql::fail(QStringLiteral("seal the audit log"), audit.error());
    auto after = lastCheckpoint();
    if (!after)
        return std::unexpected(after.error());
    return *after != *before;
}

void AuditLog::sealOnClose(const Connection& connection)
{
    {
        Sealing& s = processSealing();
        std::lock_guard lock(s.mutex);
        if (!s.wrote.remove(connection.name()) || s.signer.expired())
            return;
    }
    if (auto r = AuditLog(connection).seal(); !r)
        qCWarning(IMPRINT_AUDIT) << "audit log not sealed at close:" << r.error().text();
}

CheckpointVerifier AuditLog::verifierFor(const QList<QByteArray>& publicKeys)
{
    auto keys = std::make_shared<QHash<QString, std::shared_ptr<ossl::PKey>>>();
    for (const QByteArray& spki : publicKeys) {
        auto key = ossl::publicKeyFromDer(spki);
        if (!key)
            return {};
        keys->insert(ossl::sha256Hex(spki), std::make_shared<ossl::PKey>(std::move(*key)));
    }
    return [keys](const QString& keySha256, const QByteArray& message, const QByteArray& signature) {
        const auto key = keys->value(keySha256);
        return key && ossl::verifySha256(key->get(), message, signature);
    };
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

QString AuditLog::checkpointDetail(const AuditCheckpoint& c)
{
    return QStringLiteral("entry %1 hash %2 key-sha256 %3 signature %4")
        .arg(c.seq)
        .arg(c.hash, c.keySha256, QString::fromLatin1(c.signature.toBase64()));
}

bool AuditLog::parseCheckpoint(const QString& detail, AuditCheckpoint* c)
{
    static const QRegularExpression format(
        QStringLiteral("^entry (\\d+) hash ([0-9a-f]{64}) key-sha256 ([0-9a-f]{64}) signature ([A-Za-z0-9+/=]+)$"));
    const QRegularExpressionMatch m = format.match(detail);
    if (!m.hasMatch())
        return false;
    c->seq = m.captured(1).toLongLong();
    c->hash = m.captured(2);
    c->keySha256 = m.captured(3);
    c->signature = QByteArray::fromBase64(m.captured(4).toLatin1());
    return true;
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

Result<AuditVerdict> AuditLog::verify(const CheckpointVerifier& verifier,
    const std::function<bool(qint64, qint64)>& progress, const std::optional<AuditCheckpoint>& since,
    const QString& keySha256) const
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
    const QString checkpoint = text(AuditKind::Checkpoint);
    const QStringList revocations { text(AuditKind::Superseded), text(AuditKind::Revoked) };
    struct Revocation {
        qint64 entry = 0;
        bool superseded = false;
    };
    QHash<QString, Revocation> revokedAt; // certificates the log says were revoked
    const QString crlIssued = text(AuditKind::CrlIssued);
    const QString setting = text(AuditKind::Setting);
    static const QRegularExpression PinnedKey(QStringLiteral("^audit key pinned: sha256 ([0-9a-f]{64})$"));
    static const QRegularExpression RotatedKey(QStringLiteral("^audit key rotated: sha256 ([0-9a-f]{64})\\b"));
    QString currentKey; // the key the log was handed to, as far as the walk has come
    QString rotatedTo; // a rotation not sealed yet
    QHash<QString, QString> crlEntries; // crl-N -> the crl-issued entry's detail
    v.signaturesChecked = static_cast<bool>(verifier);
    bool sinceFound = false;
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
                QStringLiteral("SELECT seq, at, station, operator, kind, subject, detail, prev_hash, hash, "
                               "typeof(seq) = 'integer' AND typeof(at) = 'text' AND typeof(station) = 'text' AND "
                               "typeof(operator) = 'text' AND typeof(kind) = 'text' AND typeof(subject) = 'text' AND "
                               "typeof(detail) = 'text' AND typeof(prev_hash) = 'text' AND typeof(hash) = 'text' "
                               "FROM audit WHERE seq >= ? ORDER BY seq LIMIT 1000"),
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
            // Stored as text, as the station writes it: the same bytes as a BLOB hash the same
            // but slip past every query that picks entries by kind (a CRL's revocations).
            if (!q.value(9).toBool())
                return bad(e.seq,
                    QStringLiteral("Entry %1 was edited: a field of it is stored as something other than text.")
                        .arg(e.seq));
            if (entryHash(prevHash, e.seq, e) != hash)
                return bad(e.seq,
                    QStringLiteral("Entry %1 (%2 %3) was edited: its contents do not match its hash.")
                        .arg(e.seq)
                        .arg(e.kind, e.subject));
            if (e.kind == checkpoint) {
                // It vouches for the entry just before it: a checkpoint cannot be moved, and
                // a chain rewritten before it no longer matches what it signed.
                AuditCheckpoint c;
                if (!parseCheckpoint(e.detail, &c) || c.seq != e.seq - 1 || c.hash != prevHash
                    || e.subject != QLatin1String("audit-log") || !e.station.isEmpty() || !e.operatorName.isEmpty())
                    return bad(e.seq,
                        QStringLiteral("Checkpoint entry %1 does not vouch for the entry before it: entries were "
                                       "removed, replaced or reordered.")
                            .arg(e.seq));
                // The key that may sign here: the pinned one, or the one the log was last
                // handed to (a rotation counts once the key before it sealed it).
                const QString expectedKey = currentKey.isEmpty() ? keySha256 : currentKey;
                if ((verifier && !verifier(c.keySha256, checkpointMessage(c.seq, c.hash), c.signature))
                    || (!expectedKey.isEmpty() && c.keySha256 != expectedKey))
                    return bad(e.seq,
                        QStringLiteral("Checkpoint entry %1 does not carry a valid signature of the station's pinned "
                                       "audit key: it was forged or edited, or signed by another key (it names key "
                                       "sha256 %2).")
                            .arg(e.seq)
                            .arg(c.keySha256.left(16)));
                ++v.checkpoints;
                v.lastCheckpoint = e.seq;
                if (!rotatedTo.isEmpty())
                    currentKey = std::exchange(rotatedTo, QString());
            }
            if (e.kind == setting && e.subject == QLatin1String("audit-key")) {
                // "audit key pinned: sha256 K" starts the keys; "audit key rotated: sha256 N
                // ..." hands the log to N from the next checkpoint on, which the key before
                // must sign.
                if (const auto m = PinnedKey.match(e.detail); m.hasMatch() && currentKey.isEmpty())
                    currentKey = m.captured(1);
                else if (const auto r = RotatedKey.match(e.detail); r.hasMatch())
                    rotatedTo = r.captured(1);
            }
            if (revocations.contains(e.kind) && !revokedAt.contains(e.subject))
                revokedAt.insert(e.subject, { e.seq, e.kind == revocations.first() });
            if (e.kind == crlIssued)
                crlEntries.insert(e.subject, e.detail);
            if (since && e.seq == since->seq) {
                if (hash != since->hash)
                    return bad(e.seq,
                        QStringLiteral("The log does not extend the head you kept: its entry %1 is not the one the "
                                       "head vouches for. The log was rewritten from entry %1 or before.")
                            .arg(e.seq));
                sinceFound = true;
            }
            if (e.kind == issued) {
                if (!sql::exec(cert,
                        QStringLiteral("SELECT device_serial, sha256, der, spki_sha256, ") + CertificateTypes
                            + QStringLiteral(" FROM certificates WHERE serial = ?"),
                        { e.subject }))
                    return sql::fail(QStringLiteral("read a certificate"), cert.lastError());
                if (!cert.next())
                    return bad(e.seq,
                        QStringLiteral("Certificate %1 (entry %2) is missing from the store.")
                            .arg(e.subject)
                            .arg(e.seq));
                const QString recorded = issuedDetail(cert.value(0).toString(), cert.value(1).toString());
                if (recorded != e.detail || ossl::sha256Hex(cert.value(2).toByteArray()) != cert.value(1).toString()
                    || !cert.value(4).toBool() || !keyMatches(cert.value(2).toByteArray(), cert.value(3).toString()))
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
                        QStringLiteral("SELECT serial, device_serial, sha256, der, job_id, spki_sha256, ")
                            + CertificateTypes
                            + QStringLiteral(" FROM certificates WHERE job_id BETWEEN ? AND ? ORDER BY job_id"),
                        { first, last }))
                    return sql::fail(QStringLiteral("read a certificate"), cert.lastError());
                BatchDigest recomputed;
                while (cert.next()) {
                    if (ossl::sha256Hex(cert.value(3).toByteArray()) != cert.value(2).toString()
                        || !cert.value(6).toBool()
                        || !keyMatches(cert.value(3).toByteArray(), cert.value(5).toString()))
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
    if (since && !sinceFound)
        return bad(v.entries + 1,
            QStringLiteral("Entries %1 to %2 were removed from the end of the log: the head you kept vouches for %2 "
                           "entries, the log has %3.")
                .arg(v.entries + 1)
                .arg(since->seq)
                .arg(v.entries));
    // The pin names the key the log was last handed to: a station.ini pointed back at a key
    // rotated out (to have its checkpoints pass again) is caught.
    if (!keySha256.isEmpty() && !currentKey.isEmpty() && currentKey != keySha256)
        return bad(v.lastCheckpoint,
            QStringLiteral("The audit key pinned in station.ini (sha256 %1) is not the one the log was handed to "
                           "last (sha256 %2).")
                .arg(keySha256.left(16), currentKey.left(16)));
    // A revocation the log recorded stays: a certificate it names must still be revoked in
    // the store (the CRL is built from the log as well, so an edit drops nothing from it).
    for (auto it = revokedAt.cbegin(); it != revokedAt.cend(); ++it) {
        if (!sql::exec(cert,
                QStringLiteral(
                    "SELECT state, typeof(state) = 'text', revocation_reason FROM certificates WHERE serial = ?"),
                { it.key() }))
            return sql::fail(QStringLiteral("read a certificate"), cert.lastError());
        if (!cert.next())
            continue; // a certificate that is gone is named by its issued entry above
        const QString state = cert.value(0).toString();
        const int reason = it->superseded ? crl_reason::Superseded : crl_reason::CessationOfOperation;
        if ((state != text(CertificateState::Superseded) && state != text(CertificateState::Revoked))
            || !cert.value(1).toBool() || cert.value(2).isNull() || cert.value(2).toInt() != reason)
            return bad(it->entry,
                QStringLiteral(
                    "Certificate %1 was revoked (entry %2), but the store now says it is %3 (reason %4): the "
                    "store was edited behind the log's back.")
                    .arg(it.key())
                    .arg(it->entry)
                    .arg(state, cert.value(2).isNull() ? QStringLiteral("none") : cert.value(2).toString()));
    }
    // Every CRL on record is the one its crl-issued entry names: the next CRL lists again
    // what the last one did, so a CRL swapped in the store would drop revocations.
    if (!q.exec(QStringLiteral("SELECT number, der FROM crls ORDER BY number")))
        return sql::fail(QStringLiteral("read the CRLs"), q.lastError());
    while (q.next()) {
        const QString subject = QStringLiteral("crl-%1").arg(q.value(0).toLongLong());
        const QString digest = QString::fromLatin1(
            QCryptographicHash::hash(q.value(1).toByteArray(), QCryptographicHash::Sha256).toHex());
        if (!crlEntries.value(subject).contains(QStringLiteral("sha256 ") + digest))
            return bad(0,
                QStringLiteral("CRL %1 in the store is not the one the audit log recorded: it was replaced or added "
                               "behind the log's back.")
                    .arg(q.value(0).toLongLong()));
    }
    // A certificate the log never saw was put in behind its back: it has no entry of its
    // own, and no batch entry covers its job.
    std::sort(batchJobs.begin(), batchJobs.end());
    auto inBatch = [&batchJobs](qint64 job) {
        auto it = std::upper_bound(batchJobs.cbegin(), batchJobs.cend(), QPair<qint64, qint64> { job, LLONG_MAX });
        return it != batchJobs.cbegin() && job <= std::prev(it)->second;
    };
    if (!sql::exec(q,
            QStringLiteral("SELECT serial, job_id, typeof(job_id) = 'integer' FROM certificates c WHERE NOT EXISTS "
                           "(SELECT 1 FROM audit a WHERE a.kind = ? AND a.subject = c.serial)"),
            { issued }))
        return sql::fail(QStringLiteral("read the certificates"), q.lastError());
    while (q.next()) {
        if (!q.value(2).toBool() || !inBatch(q.value(1).toLongLong()))
            return bad(0,
                QStringLiteral("Certificate %1 is in the store but the audit log never recorded it as issued.")
                    .arg(q.value(0).toString()));
    }
    return v;
}

Result<QList<RevokedCertificate>> AuditLog::auditedRevocations() const
{
    return sql::rows<RevokedCertificate>(m_connection,
        // The BLOB forms too: an entry whose kind was rewritten as a BLOB hashes the same, and
        // audit verify names it; until then it still lists its certificate.
        QStringLiteral("SELECT subject, CAST(kind AS TEXT), at FROM audit WHERE kind IN (%1, %2, CAST(%1 AS BLOB), "
                       "CAST(%2 AS BLOB)) ORDER BY seq")
            .arg(sql::literal(AuditKind::Superseded), sql::literal(AuditKind::Revoked)),
        {}, QStringLiteral("read the audit log's revocations"), [](const QSqlQuery& q, sql::States&) {
            return RevokedCertificate { q.value(0).toString(), sql::parseTime(q.value(2)),
                q.value(1).toString() == text(AuditKind::Superseded) ? crl_reason::Superseded
                                                                     : crl_reason::CessationOfOperation };
        });
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
