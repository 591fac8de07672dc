#pragma once

#include "Error.h"
#include "device/DeviceIdentity.h"

#include <QDateTime>
#include <QList>
#include <QString>

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
};

struct CertificateRecord {
    QString serialHex;
    QString deviceSerial;
    QByteArray der;
    QString sha256;
    QString state; ///< issued, installed, verified
    QDateTime issuedAt;
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
};

/// Which devices to list: all filters optional; newest first, `limit` at a time.
struct DeviceQuery {
    QString status; ///< in-progress, passed, failed, issued, scrapped
    QDateTime since; ///< updated at or after
    QDateTime until; ///< updated before
    QString before; ///< paging: the serial of the last row of the previous page
    int limit = 100;
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

    /// Starts a provisioning job for an identified device; returns the job id.
    [[nodiscard]] Result<qint64> beginJob(
        const DeviceIdentity& device, const QString& port, const QString& station, const QString& operatorName);
    [[nodiscard]] Result<void> recordStep(
        qint64 jobId, const QString& step, const QString& status, const QString& detail = {});
    /// Durably commits an issued certificate; must succeed before the certificate leaves the station.
    [[nodiscard]] Result<void> recordIssued(qint64 jobId, const QString& deviceSerial, const QByteArray& der,
        const QString& serialHex, const QString& sha256, const QString& publicKeySha256);
    [[nodiscard]] Result<void> setCertificateState(const QString& serialHex, const QString& state);
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
    /// Walks the audit log's hash chain from the first entry, and checks every issued
    /// certificate against its entry: the first edited, missing or reordered entry, or
    /// certificate edited, removed or added behind the log's back, is named.
    [[nodiscard]] Result<AuditVerdict> verifyAudit() const;
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
    [[nodiscard]] Result<QList<StepRecord>> steps(const QString& deviceSerial, int limit = 200) const;

private:
    explicit RecordStore(QString connectionName);
    QString m_connection;
};

} // namespace imprint::core
