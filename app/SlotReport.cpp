#include "SlotReport.h"

#include "engine/SlotJob.h"

namespace imprint::app {

using core::SlotJob;

QJsonObject slotResultJson(const SlotJob& job)
{
    QJsonObject o;
    o[QStringLiteral("port")] = job.port();
    o[QStringLiteral("serial")] = job.device().serial.isEmpty() ? QJsonValue() : QJsonValue(job.device().serial);
    o[QStringLiteral("model")] = job.device().model.isEmpty() ? QJsonValue() : QJsonValue(job.device().model);
    const bool passed = job.step() == SlotJob::Step::Passed;
    o[QStringLiteral("status")] = passed ? QStringLiteral("passed") : QStringLiteral("failed");
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
    return o;
}

QString slotResultLine(const SlotJob& job)
{
    const QString who = job.device().serial.isEmpty() ? job.port() : job.device().serial;
    if (job.step() == SlotJob::Step::Passed)
        return QStringLiteral("PASS  %1  certificate %2  sha256 %3")
            .arg(who, job.certificate().serialHex, job.certificate().sha256.left(16));
    return QStringLiteral("FAIL  %1  %2 (%3)").arg(who, job.failure(), job.failureCode());
}

} // namespace imprint::app
