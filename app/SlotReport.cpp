#include "SlotReport.h"

#include "engine/SlotJob.h"
#include "store/RecordStore.h"

namespace imprint::app {

using core::SlotJob;

QJsonObject slotResultJson(const SlotJob& job)
{
    QJsonObject o;
    o[QStringLiteral("port")] = job.port();
    o[QStringLiteral("serial")] = job.device().serial.isEmpty() ? QJsonValue() : QJsonValue(job.device().serial);
    o[QStringLiteral("model")] = job.device().model.isEmpty() ? QJsonValue() : QJsonValue(job.device().model);
    const bool passed = job.step() == SlotJob::Step::Passed || job.step() == SlotJob::Step::DoneEarlier;
    // A device that passed before and is back: its own status, neither a new pass nor a failure.
    o[QStringLiteral("status")] = job.step() == SlotJob::Step::DoneEarlier
        ? text(core::JobOutcome::DoneEarlier)
        : text(passed ? core::DeviceStatus::Passed : core::DeviceStatus::Failed);
    if (job.step() == SlotJob::Step::DoneEarlier)
        o[QStringLiteral("passed_at")] = job.doneEarlierAt().toString(Qt::ISODate);
    if (!job.certificate().serialHex.isEmpty()) {
        QJsonObject cert;
        cert[QStringLiteral("serial")] = job.certificate().serialHex;
        cert[QStringLiteral("sha256")] = job.certificate().sha256;
        o[QStringLiteral("certificate")] = cert;
    }
    if (!passed) {
        o[QStringLiteral("code")] = job.failureCode();
        o[QStringLiteral("reason")] = job.failure();
    }
    o[QStringLiteral("elapsed_ms")] = job.elapsedMs();
    if (job.stationLatencyNs() >= 0)
        o[QStringLiteral("station_ms")] = static_cast<double>(job.stationLatencyNs() / 1000) / 1000.0;
    return o;
}

QString slotResultLine(const SlotJob& job)
{
    const QString who = job.device().serial.isEmpty() ? job.port() : job.device().serial;
    if (job.step() == SlotJob::Step::Passed)
        return QStringLiteral("PASS  %1  certificate %2  sha256 %3")
            .arg(who, job.certificate().serialHex, job.certificate().sha256.left(16));
    if (job.step() == SlotJob::Step::DoneEarlier)
        return QStringLiteral("DONE EARLIER  %1  passed %2 with certificate %3; nothing was done to it")
            .arg(who, job.doneEarlierAt().toString(Qt::ISODate), job.certificate().serialHex);
    return QStringLiteral("FAIL  %1  %2 (%3)").arg(who, job.failure(), job.failureCode());
}

QJsonObject unfinishedJobJson(const core::UnfinishedJob& j)
{
    QJsonObject o;
    o[QStringLiteral("job")] = j.jobId;
    o[QStringLiteral("serial")] = j.deviceSerial;
    o[QStringLiteral("port")] = j.port;
    o[QStringLiteral("station")] = j.station;
    o[QStringLiteral("operator")] = j.operatorName;
    o[QStringLiteral("lot")] = j.lot;
    o[QStringLiteral("started")] = j.started.toString(Qt::ISODateWithMs);
    o[QStringLiteral("last_step")] = j.lastStep;
    o[QStringLiteral("last_at")] = j.lastAt.toString(Qt::ISODateWithMs);
    if (!j.certificateSerial.isEmpty())
        o[QStringLiteral("certificate")] = QJsonObject { { QStringLiteral("serial"), j.certificateSerial },
            { QStringLiteral("state"), j.certificateState ? text(*j.certificateState) : QString() } };
    if (!j.reservedSerial.isEmpty())
        o[QStringLiteral("reserved_serial")] = j.reservedSerial;
    return o;
}

QString unfinishedJobLine(const core::UnfinishedJob& j)
{
    QString line = QStringLiteral("%1  job %2 on %3 (%4/%5), last: %6 at %7")
                       .arg(j.deviceSerial)
                       .arg(j.jobId)
                       .arg(j.port, j.station, j.operatorName, j.lastStep, j.lastAt.toString(Qt::ISODate));
    if (!j.certificateSerial.isEmpty())
        line += QStringLiteral("; certificate %1 %2")
                    .arg(j.certificateSerial, j.certificateState ? text(*j.certificateState) : QString());
    else if (!j.reservedSerial.isEmpty())
        line += QStringLiteral("; serial %1 reserved, nothing signed on record").arg(j.reservedSerial);
    return line;
}

} // namespace imprint::app

namespace imprint::app {

QString countOf(qint64 n, const QString& singular, const QString& plural)
{
    return QStringLiteral("%1 %2").arg(n).arg(
        n == 1 ? singular : (plural.isEmpty() ? singular + QLatin1Char('s') : plural));
}

QString shiftText(const core::ShiftFigures& f)
{
    QString s;
    s += QStringLiteral("From %1 to %2 (local time)\n")
             .arg(f.since.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm")),
                 f.until.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm")));
    s += QStringLiteral("  passed: %1\n  failed: %2\n  no device identified: %3\n  done earlier: %4 (counted apart)\n")
             .arg(f.passed)
             .arg(f.failed)
             .arg(f.noDevice)
             .arg(f.doneEarlier);
    s += f.firstPassYield() < 0 ? QStringLiteral("  first-pass yield: none yet\n")
                                : QStringLiteral("  first-pass yield: %1 % (%2 of %3)\n")
                                      .arg(100.0 * f.firstPassYield(), 0, 'f', 1)
                                      .arg(f.firstPass)
                                      .arg(countOf(f.devices, QStringLiteral("device")));
    s += QStringLiteral("  rate: %1 per hour\n").arg(f.perHour(), 0, 'f', 1);
    if (!f.failureReasons.isEmpty()) {
        QStringList parts;
        for (const auto& [code, n] : f.failureReasons)
            parts << QStringLiteral("%1 %2").arg(code).arg(n);
        s += QStringLiteral("  failures by code: %1\n").arg(parts.join(QStringLiteral(", ")));
    }
    return s;
}

void ProvisionTally::add(const QString& verdict, const QString& code)
{
    if (verdict == text(core::DeviceStatus::Passed))
        ++passed;
    else if (verdict == text(core::JobOutcome::DoneEarlier))
        ++doneEarlier;
    else {
        ++failed;
        ++failedBy[code.isEmpty() ? QStringLiteral("unknown") : code];
    }
}

QString ProvisionTally::line() const
{
    QString s = QStringLiteral("%1: %2 passed, %3 done earlier, %4 failed")
                    .arg(countOf(passed + doneEarlier + failed, QStringLiteral("device")))
                    .arg(passed)
                    .arg(doneEarlier)
                    .arg(failed);
    if (!failedBy.isEmpty()) {
        QStringList parts;
        for (auto it = failedBy.cbegin(); it != failedBy.cend(); ++it)
            parts << QStringLiteral("%1 %2").arg(it.key()).arg(it.value());
        s += QStringLiteral(" (%1)").arg(parts.join(QStringLiteral(", ")));
    }
    return s + QLatin1Char('.');
}

} // namespace imprint::app
