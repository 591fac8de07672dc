#pragma once

#include <functional>

// The audit log: owns the table `audit`, a SHA-256 hash chain with one entry per act.
// Other parts append their entries inside their own transactions (Appender), so an act and
// its entry are written together or not at all. Checkpoints are entries of the chain too:
// a `checkpoint` entry carries the audit key's signature over the entry before it (its
// number and hash), so a checkpoint can neither be dropped nor moved without breaking the
// chain, and a chain rewritten by someone without the key has no valid checkpoint after
// the rewritten entry. Every process that writes entries with the audit key at hand seals
// (sealWith): every N entries inside the transaction that reaches N, and when its store
// closes.

#include "Error.h"
#include "domain/Records.h"
#include "pki/Crl.h"
#include "store/Sql.h"

#include <QList>

#include <memory>
#include <optional>

namespace imprint::core {

class Signer;

class AuditLog : public StorePart {
public:
    using StorePart::StorePart;

    /// How this process seals the log: `signer` (the audit key) signs a checkpoint entry
    /// once `every` entries have no checkpoint after them, inside the transaction that
    /// appends the last of them, and when a store that appended entries closes. For every
    /// store this process opens from now on, while its owner keeps `signer` (it is not kept
    /// here); a null signer stops sealing.
    static void sealWith(std::shared_ptr<Signer> signer, int every);
    /// Whether this process seals (sealWith was given a key).
    [[nodiscard]] static bool sealing();
    /// For RecordStore, as a connection closes: seals what it appended, if this process seals.
    static void sealOnClose(const Connection& connection);

    /// Appends entries inside a transaction of the caller's: reads the newest entry once,
    /// then links each new one to the last.
    class Appender {
    public:
        explicit Appender(Transaction& tx);
        /// Appends `e` (its seq is chosen here); `e.station`/`e.operatorName` as given.
        [[nodiscard]] bool append(const AuditEntry& e);
        /// Appends an entry with the station and operator of job `jobId` (none when 0).
        [[nodiscard]] bool append(
            AuditKind kind, const QString& subject, const QString& detail, qint64 jobId, const QString& at);
        /// Appends a checkpoint for the newest entry now, unless it is one (or there is
        /// none, or this process has no audit key). Unless `force`d (a person's act), only
        /// a short tail that follows a checkpoint of the audit key link by link is sealed
        /// (untrustedTail). False only when writing failed; a key that cannot sign now
        /// (token away) leaves the entries for the next checkpoint.
        [[nodiscard]] bool seal(bool force = false);
        [[nodiscard]] QSqlError error() const;

    private:
        bool readHead();
        bool insert(const AuditEntry& e);
        /// Why the entries after the newest checkpoint must not be sealed automatically
        /// (empty: they may).
        QString untrustedTail(Signer& signer, int every);
        Statement m_insert;
        Statement m_who;
        QSqlQuery m_head;
        QString m_connection;
        bool m_headRead = false;
        qint64 m_seq = 0;
        QString m_hash;
        qint64 m_sealed = 0; ///< the newest checkpoint entry
    };

    /// An entry of its own (login, setting change, export, ...), synced.
    [[nodiscard]] Result<void> append(AuditKind kind, const QString& subject, const QString& detail,
        const QString& station, const QString& operatorName);
    /// The newest entry of this kind about this subject, if any (indexed by subject).
    [[nodiscard]] Result<std::optional<AuditEntry>> last(AuditKind kind, const QString& subject) const;
    /// The newest entry's number and hash (seq 0 when the log is empty).
    [[nodiscard]] Result<AuditCheckpoint> head() const;
    /// The newest signed checkpoint, if there is one: the entry it vouches for, and its
    /// signature (a signed head, as `audit head` hands it out).
    [[nodiscard]] Result<std::optional<AuditCheckpoint>> newestCheckpoint() const;
    /// The newest checkpoint entry's number (0: none yet): it and every entry before it are
    /// under a signature.
    [[nodiscard]] Result<qint64> lastCheckpoint() const;
    /// Seals the log now with this process's audit key (see Appender::seal), synced.
    /// True when a checkpoint was added.
    [[nodiscard]] Result<bool> seal(bool force = false);
    /// What a checkpoint's signature covers.
    [[nodiscard]] static QByteArray checkpointMessage(qint64 seq, const QString& hash);
    /// Checks checkpoints with these audit keys' public halves (DER SubjectPublicKeyInfo),
    /// each by the key the checkpoint names; empty when a key does not parse.
    [[nodiscard]] static CheckpointVerifier verifierFor(const QList<QByteArray>& publicKeys);
    /// The detail of a checkpoint entry, and its reading back (false: not one).
    [[nodiscard]] static QString checkpointDetail(const AuditCheckpoint& c);
    [[nodiscard]] static bool parseCheckpoint(const QString& detail, AuditCheckpoint* c);
    /// The detail of an `issued` entry: what verify() compares with the certificate itself.
    [[nodiscard]] static QString issuedDetail(const QString& deviceSerial, const QString& sha256);

    /// What one `issued-batch` entry vouches for: the certificates of the consecutive jobs
    /// firstJob..lastJob (request files recorded in one transaction), by a SHA-256 over each
    /// one's serial, device and SHA-256 in job order. One entry for each commit of a batch
    /// (a few chunks) instead of one per certificate; verify() recomputes it from the store.
    class BatchDigest {
    public:
        void add(qint64 jobId, const QString& serialHex, const QString& deviceSerial, const QString& sha256);
        [[nodiscard]] qint64 count() const { return m_count; }
        [[nodiscard]] QString subject() const;
        [[nodiscard]] QString detail() const;
        /// Reads back what detail() wrote: count, first and last job, digest.
        [[nodiscard]] static bool parse(
            const QString& detail, qint64* count, qint64* firstJob, qint64* lastJob, QString* digest);

    private:
        QByteArray m_data;
        qint64 m_count = 0;
        qint64 m_firstJob = 0;
        qint64 m_lastJob = 0;
    };

    /// Walks the hash chain from the first entry, and checks every issued certificate
    /// against its entry: the first edited, missing or reordered entry, or certificate
    /// edited, removed or added behind the log's back, is named. Every checkpoint entry
    /// must vouch for the entry before it, and, with `verifier` (the pinned audit key),
    /// carry a valid signature; without one signatures are left unchecked and the verdict
    /// says so (the caller fails closed). A certificate whose revocation the log records
    /// must be revoked in the store. `since`, when given, is a signed head kept elsewhere:
    /// the log must still hold its entry with its hash (it extends that head). `keySha256`,
    /// when given, is the pinned key: checkpoints name the key the log was handed to (the one
    /// its pin entry names, then each rotation's new key once the key before it sealed the
    /// rotation), and the newest must be the pinned one. Every CRL on record must be
    /// the one its crl-issued entry names.
    /// `progress` (optional) is told the entries checked so far and the newest entry's number
    /// after every thousand; returning false stops the walk (ErrorCode::Cancelled).
    [[nodiscard]] Result<AuditVerdict> verify(const CheckpointVerifier& verifier = {},
        const std::function<bool(qint64 checked, qint64 newest)>& progress = {},
        const std::optional<AuditCheckpoint>& since = {}, const QString& keySha256 = {}) const;
    /// The certificates whose revocation (superseded or revoked) the log records, with when
    /// and why: what every CRL must list whatever the certificates table says.
    [[nodiscard]] Result<QList<RevokedCertificate>> auditedRevocations() const;
    /// A page of the log, after entry `afterSeq`.
    [[nodiscard]] Result<QList<AuditEntry>> entries(qint64 afterSeq, int limit) const;
    /// The entries whose subject is one of `subjects` (a device and its certificates), oldest first.
    [[nodiscard]] Result<QList<AuditEntry>> about(const QStringList& subjects, int limit = 500) const;
};

} // namespace imprint::core
