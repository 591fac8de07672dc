#pragma once

// The read side for QA: a device's record and timeline, pages of devices by status, lot
// and time (keyset paging over the indexes, never a sort of the table), and a shift's
// counts. Reads `devices`, `jobs` and `job_steps`; writes nothing.

#include "Error.h"
#include "domain/Records.h"
#include "store/Sql.h"

#include <QList>
#include <QPair>

#include <optional>

namespace imprint::core {

class DeviceRecords : public StorePart {
public:
    using StorePart::StorePart;

    [[nodiscard]] Result<std::optional<DeviceRecord>> device(const QString& serial) const;
    /// A page of devices, newest first (indexed; never the whole table). With `noDevice`, a
    /// page of the attempts that identified none, each as a row with no serial: the port as
    /// its model, the failure code as its firmware, code and reason as its status reason.
    [[nodiscard]] Result<QList<DeviceRecord>> devices(const DeviceQuery& query) const;
    /// A page of the attempts that ended before a device's job started (see Attempt), newest
    /// first, by the query's time and lot; none when it asks for a serial or a status other
    /// than failed. Paging: `beforeAttempt`.
    [[nodiscard]] Result<QList<Attempt>> attempts(const DeviceQuery& query) const;
    /// The figures of the jobs and attempts that ended in [since, until), in buckets of
    /// `bucketMinutes` (indexed by their end; the period's rows only). Every count of the
    /// station's figures — the window, list --counts, the service — is this one.
    [[nodiscard]] Result<ShiftFigures> shift(
        const QDateTime& since, const QDateTime& until, int bucketMinutes = 15) const;
    /// A lot's devices by status.
    [[nodiscard]] Result<QList<QPair<DeviceStatus, int>>> lotCounts(const QString& lot) const;
    /// The device's timeline: every step of every job, oldest first, with station and operator;
    /// a request file's job from sign-batch, which records no steps, as the one it stands for.
    [[nodiscard]] Result<QList<StepRecord>> timeline(const QString& deviceSerial, int limit = 200) const;

private:
    Result<QList<QPair<DeviceStatus, int>>> countsWhere(
        const QString& condition, const QVariantList& values, const QString& what) const;
};

} // namespace imprint::core
