#pragma once

#include "Error.h"
#include "device/DeviceIdentity.h"

#include <QDateTime>
#include <QList>
#include <QString>

#include <functional>
#include <optional>

namespace imprint::core {

/// What is known of one device.
struct DeviceRecord {
    QString serial;
    QString model;
    QString firmware;
    QString status; ///< in-progress, passed, failed
    QString statusReason;
    QDateTime firstSeen;
    QDateTime updated;
    QString lot;
};

struct CertificateRecord {
    QString serialHex;
    QString deviceSerial;
    QByteArray der;
    QString sha256;
    QString state; ///< issued, installed, verified, superseded, revoked
    QDateTime issuedAt;
    qint64 jobId = 0;
};

/// A certificate the device may still be holding or about to hold: the newest one of the
/// device that is neither superseded nor revoked, and how its job ended (empty: it has not).
struct PendingCertificate {
    CertificateRecord certificate;
    QString jobResult;
};

/// A job that never finished: the station stopped (crash, power cut, kill) while the
/// device was on it. Listed on restart; resumed when the device comes back.
struct UnfinishedJob {
    qint64 jobId = 0;
    QString deviceSerial;
    QString port;
    QString station;
    QString operatorName;
    QString lot;
    QDateTime started;
    QString lastStep; ///< the last step recorded, with its status
    QDateTime lastAt;
    QString certificateSerial; ///< the newest certificate of the job, if any
    QString certificateState;
    QString reservedSerial; ///< a serial reserved for signing that no certificate used
};

/// A lot (work order): what the line is making, with which profile, how many.
struct Lot {
    QString id;
    QString profile;
    int expected = 0;
    QString note;
    QDateTime created;
    QString station;
    QString operatorName;
};

/// A record waiting to go upstream (the upstream sync sends them in order).
struct OutboxEntry {
    qint64 id = 0;
    QString kind; ///< certificate, revocation
    QString subject; ///< certificate serial
    QString detail;
    QDateTime created;
};

/// A signed statement that the audit log had `seq` entries ending in `hash`.
struct AuditCheckpoint {
    qint64 seq = 0;
    QString hash;
    QString at;
    QString keySha256;
    QByteArray signature;
};

/// How a job ended: the device proved its certificate (Passed), something stopped it
/// (Failed), or a certificate was issued from a request file with no device present (Issued).
enum class JobOutcome { Passed, Failed, Issued };

struct StepRecord {
    qint64 jobId = 0;
    QString step;
    QString status;
    QString detail;
    QDateTime at;
    QString station; ///< where, and who: the job's station and operator
    QString operatorName;
};

/// One entry of the audit log.
struct AuditEntry {
    qint64 seq = 0;
    QString at;
    QString station;
    QString operatorName;
    QString kind; ///< issued, verified, superseded, rejected, scrapped, ...
    QString subject; ///< a certificate serial or a device serial
    QString detail;
};

/// What `audit verify` found: the number of entries checked, and the first problem in plain
/// words (empty when the log and the certificates it covers are intact).
struct AuditVerdict {
    qint64 entries = 0;
    QString problem;
    qint64 firstBadEntry = 0;
    qint64 checkpoints = 0; ///< signed checkpoints checked
    qint64 lastCheckpoint = 0; ///< the entry the newest checkpoint vouches for
    bool signaturesChecked = false;
};

/// Checks a checkpoint's signature over checkpointMessage(); true when valid.
using CheckpointVerifier = std::function<bool(const QByteArray& message, const QByteArray& signature)>;

/// Which devices to list: all filters optional; newest first, `limit` at a time.
struct DeviceQuery {
    QString status; ///< in-progress, passed, failed, issued, scrapped
    QString lot;
    QDateTime since; ///< updated at or after
    QDateTime until; ///< updated before
    QString before; ///< paging: the serial of the last row of the previous page
    int limit = 100;
};

/// A checked request about to be signed: its job, key type and the serial reserved for it.
struct IssueIntent {
    qint64 jobId = 0;
    QString keyType;
    QString serialHex;
};

/// A certificate signed for a job, to be committed before it leaves the station.
struct IssuedRecord {
    qint64 jobId = 0;
    QString deviceSerial;
    QByteArray der;
    QString serialHex;
    QString sha256;
    QString publicKeySha256;
};

/// A certificate issued from a request file, with no device present (sign-batch).
struct BatchIssued {
    QString deviceSerial;
    QString source; ///< the request file
    QByteArray der;
    QString serialHex;
    QString sha256;
    QString publicKeySha256;
    QString keyType;
};

/// The station's durable records in one SQLite file (WAL). One instance per thread:
/// the engine has exactly one writer; readers (QA queries) open their own.
class RecordStore {
public:
    ~RecordStore();
    RecordStore(RecordStore&&) noexcept;
    RecordStore& operator=(RecordStore&&) = delete;
    RecordStore(const RecordStore&) = delete;

    /// Opens (and creates or migrates) the store. `readOnly` opens without migrating.
    [[nodiscard]] static Result<RecordStore> open(const QString& path, bool readOnly = false);

    [[nodiscard]] int schemaVersion() const;

    /// Starts a provisioning job for an identified device; returns the job id. Jobs of the
    /// device that never finished (the station stopped) are closed as interrupted, and the
    /// new job's timeline says which one it continues.
    [[nodiscard]] Result<qint64> beginJob(const DeviceIdentity& device, const QString& port, const QString& station,
        const QString& operatorName, const QString& lot = {});
    /// The certificate the device may hold from an earlier job, if any (see PendingCertificate).
    [[nodiscard]] Result<std::optional<PendingCertificate>> pendingCertificate(const QString& deviceSerial) const;
    /// Jobs that never finished, oldest first (indexed; at most `limit`).
    [[nodiscard]] Result<QList<UnfinishedJob>> unfinishedJobs(int limit = 1000) const;

    /// Write-ahead: records each job's checked request and reserves the certificate serial
    /// for it, in one transaction, before anything is signed with them. An entry is
    /// false when its serial was ever reserved or used before (nothing is recorded for it).
    [[nodiscard]] Result<QList<bool>> reserveSerials(const QList<IssueIntent>& intents);
    [[nodiscard]] Result<void> recordStep(
        qint64 jobId, const QString& step, const QString& status, const QString& detail = {});
    /// Durably commits issued certificates (all or none, one synced transaction); must
    /// succeed before a certificate leaves the station.
    [[nodiscard]] Result<void> recordIssued(const QList<IssuedRecord>& issued);
    [[nodiscard]] Result<void> recordIssued(qint64 jobId, const QString& deviceSerial, const QByteArray& der,
        const QString& serialHex, const QString& sha256, const QString& publicKeySha256);
    /// Moves a certificate on, with its step and audit entry, in one transaction:
    /// installed (the device took it), verified (read back and proven), superseded (issued,
    /// never shipped; a revocation goes to the outbox).
    [[nodiscard]] Result<void> setCertificateState(
        qint64 jobId, const QString& serialHex, const QString& state, const QString& detail = {});
    [[nodiscard]] Result<void> finishJob(
        qint64 jobId, const QString& deviceSerial, JobOutcome outcome, const QString& reason);

    /// Records certificates issued from request files, each as a device, a job and its
    /// steps, in one fully synced transaction: all of them or none.
    [[nodiscard]] Result<void> recordBatch(
        const QList<BatchIssued>& issued, const QString& station, const QString& operatorName);

    /// Whether the device holds any certificate.
    [[nodiscard]] Result<bool> hasCertificate(const QString& deviceSerial) const;

    /// The device that holds a certificate for this public key, if any.
    [[nodiscard]] Result<std::optional<QString>> keyOwner(const QString& publicKeySha256) const;

    [[nodiscard]] Result<std::optional<DeviceRecord>> device(const QString& serial) const;
    /// An audit entry of its own (login, setting change, export, ...).
    [[nodiscard]] Result<void> audit(const QString& kind, const QString& subject, const QString& detail,
        const QString& station, const QString& operatorName);
    /// The newest entry of this kind about this subject, if any (indexed by subject).
    [[nodiscard]] Result<std::optional<AuditEntry>> lastAudit(const QString& kind, const QString& subject) const;
    /// The newest entry's number and hash (seq 0 when the log is empty).
    [[nodiscard]] Result<AuditCheckpoint> auditHead() const;
    /// The entry the newest checkpoint vouches for (0: none yet).
    [[nodiscard]] Result<qint64> lastCheckpoint() const;
    [[nodiscard]] Result<void> addCheckpoint(const AuditCheckpoint& checkpoint);
    /// What a checkpoint's signature covers.
    [[nodiscard]] static QByteArray checkpointMessage(qint64 seq, const QString& hash);
    /// Walks the audit log's hash chain from the first entry, and checks every issued
    /// certificate against its entry: the first edited, missing or reordered entry, or
    /// certificate edited, removed or added behind the log's back, is named.
    /// Also checks every signed checkpoint: its hash against the chain (a checkpoint beyond
    /// the newest entry means entries were cut off the end) and, with `verifier`, its
    /// signature (without one, signatures are left unchecked and the verdict says so).
    [[nodiscard]] Result<AuditVerdict> verifyAudit(const CheckpointVerifier& verifier = {}) const;
    /// A page of the audit log, after entry `afterSeq`.
    [[nodiscard]] Result<QList<AuditEntry>> auditEntries(qint64 afterSeq, int limit) const;

    /// A page of devices (indexed; never the whole table).
    [[nodiscard]] Result<QList<DeviceRecord>> devices(const DeviceQuery& query) const;
    /// Devices by status, updated in [since, until): a shift's counts.
    [[nodiscard]] Result<QList<QPair<QString, int>>> statusCounts(const QDateTime& since, const QDateTime& until) const;
    /// Takes a device out of production, with who, where and why on its timeline.
    [[nodiscard]] Result<void> scrap(
        const QString& serial, const QString& reason, const QString& station, const QString& operatorName);
    [[nodiscard]] Result<QList<CertificateRecord>> certificates(const QString& deviceSerial) const;

    [[nodiscard]] Result<void> createLot(const Lot& lot);
    [[nodiscard]] Result<std::optional<Lot>> lot(const QString& id) const;
    [[nodiscard]] Result<QList<Lot>> lots(int limit = 100) const;
    /// A lot's devices by status.
    [[nodiscard]] Result<QList<QPair<QString, int>>> lotCounts(const QString& id) const;

    /// Records not yet sent upstream, oldest first.
    [[nodiscard]] Result<QList<OutboxEntry>> outbox(int limit = 100) const;
    [[nodiscard]] Result<qint64> outboxPending() const;
    [[nodiscard]] Result<QList<StepRecord>> steps(const QString& deviceSerial, int limit = 200) const;

private:
    explicit RecordStore(QString connectionName);
    QString m_connection;
};

} // namespace imprint::core
