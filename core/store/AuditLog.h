#pragma once

#include <functional>

// The audit log: owns the tables `audit` (a SHA-256 hash chain, one entry per act) and
// `audit_checkpoints` (signed statements that the chain had N entries ending in a hash).
// Other parts append their entries inside their own transactions (Appender), so an act and
// its entry are written together or not at all.

#include "Error.h"
#include "domain/Records.h"
#include "store/Sql.h"

#include <QList>

#include <optional>

namespace imprint::core {

class AuditLog : public StorePart {
public:
    using StorePart::StorePart;

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
        [[nodiscard]] QSqlError error() const;

    private:
        bool readHead();
        Statement m_insert;
        Statement m_who;
        QSqlQuery m_head;
        bool m_headRead = false;
        qint64 m_seq = 0;
        QString m_hash;
    };

    /// An entry of its own (login, setting change, export, ...), synced.
    [[nodiscard]] Result<void> append(AuditKind kind, const QString& subject, const QString& detail,
        const QString& station, const QString& operatorName);
    /// The newest entry of this kind about this subject, if any (indexed by subject).
    [[nodiscard]] Result<std::optional<AuditEntry>> last(AuditKind kind, const QString& subject) const;
    /// The newest entry's number and hash (seq 0 when the log is empty).
    [[nodiscard]] Result<AuditCheckpoint> head() const;
    /// The newest signed checkpoint, if there is one.
    [[nodiscard]] Result<std::optional<AuditCheckpoint>> newestCheckpoint() const;
    /// The entry the newest checkpoint vouches for (0: none yet).
    [[nodiscard]] Result<qint64> lastCheckpoint() const;
    [[nodiscard]] Result<void> addCheckpoint(const AuditCheckpoint& checkpoint);
    /// What a checkpoint's signature covers.
    [[nodiscard]] static QByteArray checkpointMessage(qint64 seq, const QString& hash);
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
    /// edited, removed or added behind the log's back, is named. Also checks every signed
    /// checkpoint: its hash against the chain (a checkpoint beyond the newest entry means
    /// entries were cut off the end) and, with `verifier`, its signature (without one,
    /// signatures are left unchecked and the verdict says so).
    /// `progress` (optional) is told the entries checked so far and the newest entry's number
    /// after every thousand; returning false stops the walk (ErrorCode::Cancelled).
    [[nodiscard]] Result<AuditVerdict> verify(const CheckpointVerifier& verifier = {},
        const std::function<bool(qint64 checked, qint64 newest)>& progress = {}) const;
    /// A page of the log, after entry `afterSeq`.
    [[nodiscard]] Result<QList<AuditEntry>> entries(qint64 afterSeq, int limit) const;
    /// The entries whose subject is one of `subjects` (a device and its certificates), oldest first.
    [[nodiscard]] Result<QList<AuditEntry>> about(const QStringList& subjects, int limit = 500) const;
};

} // namespace imprint::core
