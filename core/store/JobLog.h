#pragma once

// The job log: owns the tables `jobs`, `job_steps` and `attempts`, and writes `devices` (a device's row
// follows its newest job). A job is one device's run through the pipeline on one slot;
// its steps are the device's timeline. Other parts add their steps inside their own
// transactions (Writer).

#include "Error.h"
#include "domain/DeviceIdentity.h"
#include "domain/Records.h"
#include "store/Sql.h"

#include <QList>

namespace imprint::core {

class JobLog : public StorePart {
public:
    using StorePart::StorePart;

    /// Writes steps and jobs inside a transaction of the caller's.
    class Writer {
    public:
        explicit Writer(Transaction& tx);
        [[nodiscard]] bool step(
            qint64 jobId, StepName step, StepStatus status, const QString& detail, const QString& at);
        /// A job that ended as it began: a certificate issued from a request file with no
        /// device present (the device recorded as issued). Returns its id, 0 on failure.
        [[nodiscard]] qint64 fileJob(const QString& deviceSerial, const QString& source, const QString& station,
            const QString& operatorName, const QString& at);
        [[nodiscard]] QSqlError error() const;

    private:
        Statement m_step;
        Statement m_device;
        Statement m_job;
    };

    /// Starts a provisioning job for an identified device; returns the job id. Jobs of the
    /// device that never finished (the station stopped) are closed as interrupted, and the
    /// new job's timeline says which one it continues.
    [[nodiscard]] Result<qint64> begin(const DeviceIdentity& device, const QString& port, const QString& station,
        const QString& operatorName, const QString& lot = {});
    /// A slot's attempt that ended before a device's job started (see Attempt); returns its id.
    [[nodiscard]] Result<qint64> recordAttempt(const Attempt& attempt);
    /// A step on the job's timeline; a rejected request is audited with its device.
    [[nodiscard]] Result<void> recordStep(qint64 jobId, StepName step, StepStatus status, const QString& detail = {});
    /// Ends a job once; only the device's newest job sets its status. A pass ends with the
    /// device locked: its `reason` is the lock step's detail (the job keeps no reason). A pass for a job that
    /// was closed already is an error (it must not look recorded); a failure is dropped.
    [[nodiscard]] Result<void> finish(
        qint64 jobId, const QString& deviceSerial, JobOutcome outcome, const QString& reason);
    /// The newest job's id (0: none yet): jobs begun after this have greater ids.
    [[nodiscard]] Result<qint64> newestId() const;
    /// How many jobs begun up to job `upToId` never finished (indexed).
    [[nodiscard]] Result<qint64> unfinishedCount(qint64 upToId) const;
    /// Jobs that never finished, oldest first (indexed; at most `limit`).
    [[nodiscard]] Result<QList<UnfinishedJob>> unfinished(int limit = 1000) const;
    /// Takes a device out of production, with who, where and why on its timeline: its open
    /// jobs end, its certificates are revoked (a revocation each goes to the outbox).
    [[nodiscard]] Result<void> scrap(
        const QString& serial, const QString& reason, const QString& station, const QString& operatorName);
};

} // namespace imprint::core
