#include "StoryJson.h"

#include <QJsonArray>

namespace imprint::app {

namespace {

QJsonValue timeJson(const QDateTime& t)
{
    return t.isValid() ? QJsonValue(t.toString(Qt::ISODateWithMs)) : QJsonValue();
}

QDateTime timeOf(const QJsonValue& v)
{
    return v.isString() ? QDateTime::fromString(v.toString(), Qt::ISODateWithMs) : QDateTime();
}

QString str(const QJsonObject& o, const char* key)
{
    return o.value(QLatin1String(key)).toString();
}

template <typename E> E stateOf(const QJsonObject& o, const char* key, E fallback)
{
    return core::parseState<E>(str(o, key)).value_or(fallback);
}

} // namespace

QJsonObject deviceJson(const core::DeviceRecord& d)
{
    return { { QStringLiteral("serial"), d.serial }, { QStringLiteral("model"), d.model },
        { QStringLiteral("firmware"), d.firmware }, { QStringLiteral("status"), text(d.status) },
        { QStringLiteral("reason"), d.statusReason }, { QStringLiteral("first_seen"), timeJson(d.firstSeen) },
        { QStringLiteral("updated"), timeJson(d.updated) }, { QStringLiteral("lot"), d.lot } };
}

core::DeviceRecord deviceOf(const QJsonObject& o)
{
    core::DeviceRecord d;
    d.serial = str(o, "serial");
    d.model = str(o, "model");
    d.firmware = str(o, "firmware");
    d.status = stateOf(o, "status", core::DeviceStatus::InProgress);
    d.statusReason = str(o, "reason");
    d.firstSeen = timeOf(o.value(QStringLiteral("first_seen")));
    d.updated = timeOf(o.value(QStringLiteral("updated")));
    d.lot = str(o, "lot");
    return d;
}

QJsonObject storyJson(const core::DeviceStory& story)
{
    QJsonArray certificates;
    for (const core::CertificateStory& c : story.certificates) {
        QJsonArray upstream;
        for (const core::OutboxEntry& e : c.upstream)
            upstream.append(QJsonObject { { QStringLiteral("id"), e.id }, { QStringLiteral("kind"), text(e.kind) },
                { QStringLiteral("subject"), e.subject }, { QStringLiteral("detail"), e.detail },
                { QStringLiteral("created"), timeJson(e.created) }, { QStringLiteral("state"), text(e.state) },
                { QStringLiteral("attempts"), e.attempts }, { QStringLiteral("last_error"), e.lastError },
                { QStringLiteral("next_attempt"), timeJson(e.nextAttempt) },
                { QStringLiteral("upstream_status"), e.upstreamStatus },
                { QStringLiteral("export_batch"), e.exportBatch }, { QStringLiteral("updated"), timeJson(e.updated) },
                { QStringLiteral("reason"), e.reason } });
        certificates.append(QJsonObject { { QStringLiteral("serial"), c.record.serialHex },
            { QStringLiteral("device"), c.record.deviceSerial },
            { QStringLiteral("der"), QString::fromLatin1(c.record.der.toBase64()) },
            { QStringLiteral("sha256"), c.record.sha256 }, { QStringLiteral("state"), text(c.record.state) },
            { QStringLiteral("issued"), timeJson(c.record.issuedAt) }, { QStringLiteral("job"), c.record.jobId },
            { QStringLiteral("chain_verified"), c.chainVerified }, { QStringLiteral("chain_problem"), c.chainProblem },
            { QStringLiteral("crl_state"), c.crlState },
            { QStringLiteral("upstream_der"), QString::fromLatin1(c.upstreamDer.toBase64()) },
            { QStringLiteral("upstream_verified"),
                c.upstreamVerified ? QJsonValue(*c.upstreamVerified) : QJsonValue() },
            { QStringLiteral("upstream_problem"), c.upstreamProblem }, { QStringLiteral("upstream"), upstream } });
    }
    QJsonArray timeline;
    for (const core::StepRecord& s : story.timeline)
        timeline.append(QJsonObject { { QStringLiteral("job"), s.jobId }, { QStringLiteral("step"), text(s.step) },
            { QStringLiteral("status"), text(s.status) }, { QStringLiteral("detail"), s.detail },
            { QStringLiteral("at"), timeJson(s.at) }, { QStringLiteral("station"), s.station },
            { QStringLiteral("operator"), s.operatorName } });
    QJsonArray audit;
    for (const core::AuditEntry& e : story.audit)
        audit.append(QJsonObject { { QStringLiteral("seq"), e.seq }, { QStringLiteral("at"), e.at },
            { QStringLiteral("station"), e.station }, { QStringLiteral("operator"), e.operatorName },
            { QStringLiteral("kind"), e.kind }, { QStringLiteral("subject"), e.subject },
            { QStringLiteral("detail"), e.detail } });
    return { { QStringLiteral("device"), deviceJson(story.device) }, { QStringLiteral("certificates"), certificates },
        { QStringLiteral("timeline"), timeline }, { QStringLiteral("audit"), audit } };
}

core::DeviceStory storyOf(const QJsonObject& o)
{
    core::DeviceStory story;
    story.device = deviceOf(o.value(QStringLiteral("device")).toObject());
    for (const QJsonValue& v : o.value(QStringLiteral("certificates")).toArray()) {
        const QJsonObject c = v.toObject();
        core::CertificateStory cs;
        cs.record.serialHex = str(c, "serial");
        cs.record.deviceSerial = str(c, "device");
        cs.record.der = QByteArray::fromBase64(str(c, "der").toLatin1());
        cs.record.sha256 = str(c, "sha256");
        cs.record.state = stateOf(c, "state", core::CertificateState::Issued);
        cs.record.issuedAt = timeOf(c.value(QStringLiteral("issued")));
        cs.record.jobId = c.value(QStringLiteral("job")).toInteger();
        cs.chainVerified = c.value(QStringLiteral("chain_verified")).toBool();
        cs.chainProblem = str(c, "chain_problem");
        cs.crlState = str(c, "crl_state");
        cs.upstreamDer = QByteArray::fromBase64(str(c, "upstream_der").toLatin1());
        if (c.value(QStringLiteral("upstream_verified")).isBool())
            cs.upstreamVerified = c.value(QStringLiteral("upstream_verified")).toBool();
        cs.upstreamProblem = str(c, "upstream_problem");
        for (const QJsonValue& u : c.value(QStringLiteral("upstream")).toArray()) {
            const QJsonObject e = u.toObject();
            core::OutboxEntry entry;
            entry.id = e.value(QStringLiteral("id")).toInteger();
            entry.kind = stateOf(e, "kind", core::OutboxKind::Certificate);
            entry.subject = str(e, "subject");
            entry.detail = str(e, "detail");
            entry.created = timeOf(e.value(QStringLiteral("created")));
            entry.state = stateOf(e, "state", core::OutboxState::Pending);
            entry.attempts = e.value(QStringLiteral("attempts")).toInt();
            entry.lastError = str(e, "last_error");
            entry.nextAttempt = timeOf(e.value(QStringLiteral("next_attempt")));
            entry.upstreamStatus = str(e, "upstream_status");
            entry.exportBatch = str(e, "export_batch");
            entry.updated = timeOf(e.value(QStringLiteral("updated")));
            entry.reason = e.value(QStringLiteral("reason")).toInt(-1);
            cs.upstream << entry;
        }
        story.certificates << cs;
    }
    for (const QJsonValue& v : o.value(QStringLiteral("timeline")).toArray()) {
        const QJsonObject s = v.toObject();
        core::StepRecord step;
        step.jobId = s.value(QStringLiteral("job")).toInteger();
        step.step = stateOf(s, "step", core::StepName::Identify);
        step.status = stateOf(s, "status", core::StepStatus::Done);
        step.detail = str(s, "detail");
        step.at = timeOf(s.value(QStringLiteral("at")));
        step.station = str(s, "station");
        step.operatorName = str(s, "operator");
        story.timeline << step;
    }
    for (const QJsonValue& v : o.value(QStringLiteral("audit")).toArray()) {
        const QJsonObject e = v.toObject();
        story.audit << core::AuditEntry { e.value(QStringLiteral("seq")).toInteger(), str(e, "at"), str(e, "station"),
            str(e, "operator"), str(e, "kind"), str(e, "subject"), str(e, "detail") };
    }
    return story;
}

QJsonObject queryJson(const core::DeviceQuery& q)
{
    return { { QStringLiteral("status"), q.status ? QJsonValue(text(*q.status)) : QJsonValue() },
        { QStringLiteral("lot"), q.lot }, { QStringLiteral("since"), timeJson(q.since) },
        { QStringLiteral("until"), timeJson(q.until) }, { QStringLiteral("serial_prefix"), q.serialPrefix },
        { QStringLiteral("before"), q.before }, { QStringLiteral("before_updated"), timeJson(q.beforeUpdated) },
        { QStringLiteral("limit"), q.limit }, { QStringLiteral("no_device"), q.noDevice } };
}

core::DeviceQuery queryOf(const QJsonObject& o)
{
    core::DeviceQuery q;
    if (o.value(QStringLiteral("status")).isString())
        q.status = core::parseState<core::DeviceStatus>(str(o, "status"));
    q.lot = str(o, "lot");
    q.since = timeOf(o.value(QStringLiteral("since")));
    q.until = timeOf(o.value(QStringLiteral("until")));
    q.serialPrefix = str(o, "serial_prefix");
    q.before = str(o, "before");
    q.beforeUpdated = timeOf(o.value(QStringLiteral("before_updated")));
    q.limit = std::clamp(o.value(QStringLiteral("limit")).toInt(100), 1, 1000);
    q.noDevice = o.value(QStringLiteral("no_device")).toBool();
    return q;
}

QJsonObject verdictJson(const core::AuditVerdict& v)
{
    return { { QStringLiteral("entries"), v.entries }, { QStringLiteral("problem"), v.problem },
        { QStringLiteral("first_bad_entry"), v.firstBadEntry }, { QStringLiteral("checkpoints"), v.checkpoints },
        { QStringLiteral("last_checkpoint"), v.lastCheckpoint },
        { QStringLiteral("signatures_checked"), v.signaturesChecked } };
}

core::AuditVerdict verdictOf(const QJsonObject& o)
{
    core::AuditVerdict v;
    v.entries = o.value(QStringLiteral("entries")).toInteger();
    v.problem = str(o, "problem");
    v.firstBadEntry = o.value(QStringLiteral("first_bad_entry")).toInteger();
    v.checkpoints = o.value(QStringLiteral("checkpoints")).toInteger();
    v.lastCheckpoint = o.value(QStringLiteral("last_checkpoint")).toInteger();
    v.signaturesChecked = o.value(QStringLiteral("signatures_checked")).toBool();
    return v;
}

QJsonObject shiftJson(const core::ShiftFigures& f)
{
    QJsonArray reasons;
    for (const auto& [code, count] : f.failureReasons)
        reasons.append(QJsonObject { { QStringLiteral("code"), code }, { QStringLiteral("count"), count } });
    QJsonArray buckets;
    for (const core::ShiftFigures::Bucket& b : f.buckets)
        buckets.append(
            QJsonObject { { QStringLiteral("start"), timeJson(b.start) }, { QStringLiteral("passed"), b.passed },
                { QStringLiteral("failed"), b.failed }, { QStringLiteral("no_device"), b.noDevice } });
    return QJsonObject { { QStringLiteral("since"), timeJson(f.since) }, { QStringLiteral("until"), timeJson(f.until) },
        { QStringLiteral("as_of"), timeJson(f.asOf) }, { QStringLiteral("passed"), f.passed },
        { QStringLiteral("failed"), f.failed }, { QStringLiteral("no_device"), f.noDevice },
        { QStringLiteral("done_earlier"), f.doneEarlier }, { QStringLiteral("first_pass"), f.firstPass },
        { QStringLiteral("devices"), f.devices },
        { QStringLiteral("first_pass_yield"), f.firstPassYield() < 0 ? QJsonValue() : f.firstPassYield() },
        { QStringLiteral("per_hour"), f.perHour() }, { QStringLiteral("failures"), reasons },
        { QStringLiteral("buckets"), buckets } };
}

core::ShiftFigures shiftOf(const QJsonObject& e)
{
    core::ShiftFigures f;
    f.since = timeOf(e.value(QStringLiteral("since")));
    f.until = timeOf(e.value(QStringLiteral("until")));
    f.asOf = timeOf(e.value(QStringLiteral("as_of")));
    f.passed = e.value(QStringLiteral("passed")).toInt();
    f.failed = e.value(QStringLiteral("failed")).toInt();
    f.noDevice = e.value(QStringLiteral("no_device")).toInt();
    f.doneEarlier = e.value(QStringLiteral("done_earlier")).toInt();
    f.firstPass = e.value(QStringLiteral("first_pass")).toInt();
    f.devices = e.value(QStringLiteral("devices")).toInt();
    for (const QJsonValue& v : e.value(QStringLiteral("buckets")).toArray()) {
        const QJsonObject b = v.toObject();
        f.buckets << core::ShiftFigures::Bucket { timeOf(b.value(QStringLiteral("start"))),
            b.value(QStringLiteral("passed")).toInt(), b.value(QStringLiteral("failed")).toInt(),
            b.value(QStringLiteral("no_device")).toInt() };
    }
    for (const QJsonValue& v : e.value(QStringLiteral("failures")).toArray()) {
        const QJsonObject r = v.toObject();
        f.failureReasons << qMakePair(
            r.value(QStringLiteral("code")).toString(), r.value(QStringLiteral("count")).toInt());
    }
    return f;
}

QJsonObject attemptJson(const core::Attempt& a)
{
    return QJsonObject { { QStringLiteral("serial"), QJsonValue() }, { QStringLiteral("device_identified"), false },
        { QStringLiteral("attempt"), a.id }, { QStringLiteral("port"), a.port },
        { QStringLiteral("status"), QStringLiteral("failed") }, { QStringLiteral("code"), a.code },
        { QStringLiteral("reason"), a.reason }, { QStringLiteral("claimed_serial"), a.claimedSerial },
        { QStringLiteral("dropped_frames"), a.droppedFrames }, { QStringLiteral("lot"), a.lot },
        { QStringLiteral("operator"), a.operatorName }, { QStringLiteral("started"), timeJson(a.started) },
        { QStringLiteral("updated"), timeJson(a.finished) } };
}

} // namespace imprint::app
