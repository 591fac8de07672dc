// imprintctl show, list, scrap, jobs, outbox: the station's records for QA and the line lead.

#include "PlantReader.h"
#include "SlotReport.h"
#include "StationContext.h"
#include "StationSetup.h"
#include "StoryJson.h"
#include "UpstreamWorker.h"
#include "cli/Command.h"
#include "device/Protocol.h"
#include "pki/IssuingCa.h"
#include "pki/OpenSsl.h"
#include "plant/PlantLookup.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <variant>

namespace imprint::app::cli {

namespace {

/// Issued, never shipped: the device failed after its certificate was issued, and the
/// certificate is still valid (until the grace period ends, or the device passes with it).
bool unshipped(const core::DeviceRecord& d, const core::CertificateRecord& c)
{
    return d.status == core::DeviceStatus::Failed
        && (c.state == core::CertificateState::Issued || c.state == core::CertificateState::Installed);
}

/// Where a certificate stands with the upstream CA: its row's state and the upstream's
/// answer, its revocation's state, and the upstream's certificate once recorded.
QJsonObject upstreamOf(core::RecordStore& store, const QString& serialHex)
{
    QJsonObject o;
    auto rows = store.outbox().ofCertificate(serialHex);
    if (!rows)
        return { { QStringLiteral("state"), rows.error().text() } };
    o[QStringLiteral("state")] = QStringLiteral("not queued");
    for (const core::OutboxEntry& r : *rows) {
        if (r.kind == core::OutboxKind::Certificate) {
            o[QStringLiteral("state")] = text(r.state);
            o[QStringLiteral("row")] = r.id;
            o[QStringLiteral("status")] = r.upstreamStatus;
            o[QStringLiteral("last_error")] = r.lastError;
            o[QStringLiteral("attempts")] = r.attempts;
        } else {
            o[QStringLiteral("revocation")] = text(r.state);
        }
    }
    auto der = store.ledger().upstreamCertificate(serialHex);
    if (der && !der->isEmpty()) {
        if (auto cert = core::ossl::certFromDer(*der)) {
            o[QStringLiteral("certificate_serial")] = core::ossl::serialHex(cert->get());
            o[QStringLiteral("certificate_issuer")] = core::ossl::nameToString(X509_get_issuer_name(cert->get()));
            o[QStringLiteral("certificate_sha256")] = core::ossl::sha256Hex(*der);
            o[QStringLiteral("certificate_pem")] = QString::fromLatin1(core::ossl::derToPem(*der));
        }
    }
    return o;
}

/// A recorded text as the terminal should get it. Model, firmware and step details hold a
/// device's own words, and the upstream's answers its own: a control character in them
/// (an escape sequence, a bidi override) is written as an escape, never sent as it is.
QString shown(const QString& recorded)
{
    return core::protocol::escapeUnprintable(recorded);
}

/// A device this station has not recorded, from the plant record: every station that holds
/// a record of it (more than one is said), which line, its jobs with their steps, its
/// certificates (each verified here) and their upstream state; everything a station wrote is
/// shown escaped.
int showFromPlant(const core::StationConfig& config, const QList<QByteArray>& ownChain, const QString& sn, bool json)
{
    auto found = core::lookUpPlantDevice(config.plant, app::plantRoots(config, ownChain), sn);
    if (!found)
        return report(found.error());
    const QJsonObject& o = *found;
    const QString asOf = o[QStringLiteral("as_of")].toString();
    const QJsonArray records = o[QStringLiteral("records")].toArray();
    if (json) {
        out() << QJsonDocument(o).toJson(QJsonDocument::Compact) << Qt::endl;
        return 0;
    }
    auto text = [](const QJsonObject& from, const char* key) {
        const QJsonValue v = from[QLatin1String(key)];
        return shown(v.isString() ? v.toString() : v.isDouble() ? QString::number(v.toInteger()) : QString());
    };
    out() << "From the plant record, as of " << asOf << "." << Qt::endl;
    if (records.size() > 1)
        out() << "NOTE: " << records.size() << " stations hold a record of serial " << shown(sn)
              << "; each is shown, the one heard from last first." << Qt::endl;
    for (const QJsonValue& rv : records) {
        const QJsonObject r = rv.toObject();
        const QJsonObject d = r[QStringLiteral("device")].toObject();
        out() << "Made on station " << text(r, "station") << " (line " << text(r, "line") << "), last heard from "
              << text(r, "received") << Qt::endl
              << "Device " << shown(sn) << "  " << text(d, "model") << "  firmware " << text(d, "firmware") << Qt::endl
              << "  status:  " << text(d, "status") << "  " << text(d, "status_reason") << Qt::endl
              << "  lot:     " << text(d, "lot") << Qt::endl;
        for (const QJsonValue& v : r[QStringLiteral("certificates")].toArray()) {
            const QJsonObject c = v.toObject();
            out() << "Certificate " << text(c, "serial") << "  " << text(c, "state") << "  issued "
                  << text(c, "issued_at") << "  chain "
                  << (c[QStringLiteral("chain_verified")].toBool()
                             ? QStringLiteral("verified here")
                             : QStringLiteral("NOT verified: ") + text(c, "chain_problem"))
                  << (!c.contains(QStringLiteral("upstream_verified")) ? QStringLiteral("  upstream: not yet")
                             : c[QStringLiteral("upstream_verified")].toBool()
                             ? QStringLiteral("  upstream: certified (verified here)")
                             : QStringLiteral("  upstream: certificate NOT verified: ") + text(c, "upstream_problem"))
                  << Qt::endl;
        }
        out() << "Timeline (station " << text(r, "station") << "):" << Qt::endl;
        for (const QJsonValue& j : r[QStringLiteral("jobs")].toArray()) {
            for (const QJsonValue& st : j.toObject()[QStringLiteral("steps")].toArray()) {
                const QJsonObject step = st.toObject();
                out() << "  " << text(step, "at") << "  " << text(step, "step") << "  " << text(step, "status") << "  "
                      << text(step, "detail") << Qt::endl;
            }
        }
    }
    return 0;
}

} // namespace

int show(const QStringList& args)
{
    CommandLine p(QStringLiteral("Show one device's record, certificate and chain."), CommandLine::DataDirAndJson);
    QCommandLineOption serial(
        QStringLiteral("device-serial"), QStringLiteral("The device's serial number."), QStringLiteral("SN"));
    p.addOption(serial);
    p.parse(args);
    if (!p.isSet(serial)) {
        return usageError(args, QStringLiteral("give --device-serial SN"));
    }
    core::DataDir dir = p.dataDir();
    // The settings are checked as every command checks them (a broken station.ini is said
    // here too), though showing a record needs none of them; so is whose store it is.
    auto config = dir.loadConfig();
    if (!config)
        return report(config.error());
    auto store = app::openStationStore(dir, *config, true);
    if (!store)
        return report(store.error());
    const QString sn = p.value(serial);
    auto chain = dir.loadChain();
    if (!chain)
        return report(chain.error());
    auto device = store->records().device(sn);
    if (!device)
        return report(device.error());
    if (!device->has_value()) {
        if (config->plant.configured())
            return showFromPlant(*config, *chain, sn, p.json());
        return report(core::Error {
            core::ErrorCode::NotFound, QStringLiteral("No device with serial %1 is recorded.").arg(sn), {}, {} });
    }
    auto certs = store->ledger().ofDevice(sn);
    auto steps = store->records().timeline(sn);
    if (!certs)
        return report(certs.error());
    if (!steps)
        return report(steps.error());
    const core::DeviceRecord& d = **device;

    if (p.json()) {
        QJsonObject o;
        o[QStringLiteral("serial")] = d.serial;
        o[QStringLiteral("model")] = d.model;
        o[QStringLiteral("firmware")] = d.firmware;
        o[QStringLiteral("status")] = text(d.status);
        o[QStringLiteral("reason")] = d.statusReason;
        o[QStringLiteral("first_seen")] = d.firstSeen.toString(Qt::ISODateWithMs);
        o[QStringLiteral("updated")] = d.updated.toString(Qt::ISODateWithMs);
        o[QStringLiteral("lot")] = d.lot;
        QJsonArray ca;
        for (const auto& c : *certs) {
            QJsonObject co;
            co[QStringLiteral("serial")] = c.serialHex;
            co[QStringLiteral("sha256")] = c.sha256;
            co[QStringLiteral("state")] = text(c.state);
            co[QStringLiteral("not_shipped")] = unshipped(d, c);
            co[QStringLiteral("issued_at")] = c.issuedAt.toString(Qt::ISODateWithMs);
            auto verified = core::verifyChain(c.der, *chain);
            co[QStringLiteral("chain_verified")] = verified.has_value();
            if (!verified)
                co[QStringLiteral("chain_problem")] = verified.error().text();
            co[QStringLiteral("pem")] = QString::fromLatin1(core::ossl::derToPem(c.der));
            co[QStringLiteral("upstream")] = upstreamOf(*store, c.serialHex);
            ca.append(co);
        }
        o[QStringLiteral("certificates")] = ca;
        QJsonArray chainArr;
        for (const auto& c : *chain)
            chainArr.append(QString::fromLatin1(core::ossl::derToPem(c)));
        o[QStringLiteral("chain")] = chainArr;
        QJsonArray sa;
        for (const auto& s : *steps) {
            QJsonObject so;
            so[QStringLiteral("job")] = s.jobId;
            so[QStringLiteral("step")] = text(s.step);
            so[QStringLiteral("status")] = text(s.status);
            so[QStringLiteral("detail")] = s.detail;
            so[QStringLiteral("at")] = s.at.toString(Qt::ISODateWithMs);
            so[QStringLiteral("station")] = s.station;
            so[QStringLiteral("operator")] = s.operatorName;
            sa.append(so);
        }
        o[QStringLiteral("steps")] = sa;
        out() << QJsonDocument(o).toJson(QJsonDocument::Indented);
        return 0;
    }

    // A device known only from its request file (sign-batch) has no model or firmware.
    const QString made = d.model.isEmpty() && d.firmware.isEmpty()
        ? QString()
        : QStringLiteral("  (%1, firmware %2)").arg(shown(d.model), shown(d.firmware));
    out() << "Device " << shown(d.serial) << made << Qt::endl
          << "Status:  " << text(d.status)
          << (d.statusReason.isEmpty() ? QString() : QStringLiteral(" — ") + shown(d.statusReason)) << Qt::endl
          << "Updated: " << d.updated.toString(Qt::ISODate) << Qt::endl
          << (d.lot.isEmpty() ? QString() : QStringLiteral("Lot:     ") + shown(d.lot) + u'\n') << Qt::endl
          << "Timeline:" << Qt::endl;
    for (const auto& s : *steps)
        out() << "  " << s.at.toString(Qt::ISODateWithMs) << "  job " << s.jobId << "  " << shown(s.station) << "/"
              << shown(s.operatorName) << "  " << text(s.step) << "  " << text(s.status)
              << (s.detail.isEmpty() ? QString() : QStringLiteral("  ") + shown(s.detail)) << Qt::endl;
    for (const auto& c : *certs) {
        auto verified = core::verifyChain(c.der, *chain);
        out() << Qt::endl
              << "Certificate " << c.serialHex << " (" << text(c.state) << ", issued "
              << c.issuedAt.toString(Qt::ISODate) << ")" << Qt::endl
              << (unshipped(d, c)
                         ? QStringLiteral("Issued, never shipped: the device failed after it was issued. It is "
                                          "revoked after the grace period ([certificates] "
                                          "unshipped-grace-minutes), unless the device comes back with the "
                                          "same key and passes.\n")
                         : QString())
              << "SHA-256 " << c.sha256 << Qt::endl
              << "Chain:  "
              << (verified ? QStringLiteral("verifies to the root in the station's chain")
                           : QStringLiteral("DOES NOT VERIFY: ") + shown(verified.error().text()))
              << Qt::endl
              << core::ossl::derToPem(c.der);
        const QJsonObject up = upstreamOf(*store, c.serialHex);
        out() << "Upstream: " << shown(up[QStringLiteral("state")].toString());
        if (!up[QStringLiteral("status")].toString().isEmpty())
            out() << " (" << shown(up[QStringLiteral("status")].toString()) << ")";
        if (!up[QStringLiteral("last_error")].toString().isEmpty())
            out() << " — " << shown(up[QStringLiteral("last_error")].toString());
        out() << Qt::endl;
        if (up.contains(QStringLiteral("revocation")))
            out() << "Upstream revocation: " << up[QStringLiteral("revocation")].toString() << Qt::endl;
        if (up.contains(QStringLiteral("certificate_pem")))
            out() << "Upstream certificate " << up[QStringLiteral("certificate_serial")].toString() << " from "
                  << shown(up[QStringLiteral("certificate_issuer")].toString()) << Qt::endl
                  << up[QStringLiteral("certificate_pem")].toString();
    }
    out() << Qt::endl << "Chain:" << Qt::endl;
    for (const auto& c : *chain)
        out() << core::ossl::derToPem(c);
    return 0;
}

namespace {

QDateTime parseWhen(const QString& text)
{
    QDateTime t = QDateTime::fromString(text, Qt::ISODate);
    if (!t.isValid())
        t = QDate::fromString(text, Qt::ISODate).startOfDay();
    return t;
}

} // namespace

int list(const QStringList& args)
{
    CommandLine p(QStringLiteral("List devices, newest first, a page at a time, with the attempts that identified no "
                                 "device; or give the shift's figures, as the window's shift panel counts them."),
        CommandLine::DataDirAndJson);
    QCommandLineOption status(QStringLiteral("status"),
        QStringLiteral("Only devices in this state: %1.").arg(core::stateTexts<core::DeviceStatus>().join(u", ")),
        QStringLiteral("STATUS"));
    QCommandLineOption since(QStringLiteral("since"),
        QStringLiteral("Updated (with --counts: ended) at or after (2026-11-22 or ISO time)."), QStringLiteral("WHEN"));
    QCommandLineOption until(
        QStringLiteral("until"), QStringLiteral("Updated (ended) before."), QStringLiteral("WHEN"));
    QCommandLineOption limit(QStringLiteral("limit"), QStringLiteral("Rows per page (default 50)."),
        QStringLiteral("N"), QStringLiteral("50"));
    QCommandLineOption before(QStringLiteral("before"),
        QStringLiteral("Next page: the last row of the previous page, its serial or attempt:ID."),
        QStringLiteral("SN"));
    QCommandLineOption counts(QStringLiteral("counts"),
        QStringLiteral("The figures instead: jobs passed and failed, attempts with no device identified, done earlier "
                       "(counted apart), first-pass yield and failures by code; for the current shift (the window's), "
                       "or --since/--until."));
    QCommandLineOption lot(QStringLiteral("lot"), QStringLiteral("Only devices of this lot."), QStringLiteral("LOT"));
    p.addOptions({ status, since, until, limit, before, counts, lot });
    p.parse(args);
    for (const auto* o : { &since, &until }) {
        if (p.isSet(*o) && !parseWhen(p.value(*o)).isValid()) {
            err() << "imprintctl list: " << p.value(*o) << " is not a date or time (2026-11-22, 2026-11-22T06:00)"
                  << Qt::endl;
            return 2;
        }
    }
    return withRecords(p, Access::Read, [&](core::RecordStore& records, const core::StationConfig& config) {
        if (p.isSet(counts)) {
            // The same figures as the window's shift panel: by default the shift now running.
            const QDateTime now = QDateTime::currentDateTimeUtc();
            auto [from, to] = config.line.shiftAround(now);
            if (p.isSet(since)) {
                from = parseWhen(p.value(since));
                to = now.addSecs(1);
            }
            if (p.isSet(until))
                to = parseWhen(p.value(until));
            auto f = records.records().shift(from, to);
            if (!f)
                return report(f.error());
            // The shift report carries the log's newest signed head (its newest checkpoint): a
            // witness kept on paper or by the MES, which audit verify --since checks later.
            std::optional<core::AuditCheckpoint> head;
            if (auto cp = records.audit().last(core::AuditKind::Checkpoint, QStringLiteral("audit-log")); cp && *cp) {
                core::AuditCheckpoint parsed;
                if (core::AuditLog::parseCheckpoint((*cp)->detail, &parsed)) {
                    parsed.at = (*cp)->at;
                    head = parsed;
                }
            }
            if (p.json()) {
                QJsonObject o = shiftJson(*f);
                o.remove(QStringLiteral("buckets"));
                if (head)
                    o[QStringLiteral("audit_head")] = headJson(*head, config);
                out() << QJsonDocument(o).toJson(QJsonDocument::Compact) << Qt::endl;
            } else {
                out() << shiftText(*f);
                if (head)
                    out() << "Audit log signed head: entry " << head->seq << ", hash " << head->hash << ", key sha256 "
                          << head->keySha256.left(16) << "…, signature " << head->signature.toBase64() << Qt::endl;
                else
                    out() << "Audit log: no signed head yet." << Qt::endl;
            }
            return 0;
        }
        core::DeviceQuery q;
        q.lot = p.value(lot);
        if (p.isSet(status)) {
            q.status = core::parseState<core::DeviceStatus>(p.value(status));
            if (!q.status)
                return usageError(args,
                    QStringLiteral("--status is one of %1").arg(core::stateTexts<core::DeviceStatus>().join(u", ")));
        }
        q.since = p.isSet(since) ? parseWhen(p.value(since)) : QDateTime();
        q.until = p.isSet(until) ? parseWhen(p.value(until)) : QDateTime();
        q.limit = std::clamp(p.value(limit).toInt(), 1, 10000);
        // Devices and the attempts that identified none, newest first, one page of both: the
        // next page starts after the last row shown (--before SERIAL, or --before attempt:ID).
        core::DeviceQuery attemptQuery = q;
        const QString anchor = p.value(before);
        if (anchor.startsWith(QLatin1String("attempt:"))) {
            bool ok = false;
            const qint64 id = anchor.mid(8).toLongLong(&ok);
            core::DeviceQuery one;
            one.beforeAttempt = id + 1;
            one.limit = 1;
            auto at
                = ok ? records.records().attempts(one) : core::Result<QList<core::Attempt>>(QList<core::Attempt> {});
            if (!at)
                return report(at.error());
            if (at->isEmpty() || at->first().id != id)
                return usageError(args, QStringLiteral("%1 names no recorded attempt").arg(anchor));
            // Devices that ended at the same moment came before it on the page it was on.
            q.until = at->first().finished;
            attemptQuery.beforeAttempt = id;
        } else if (!anchor.isEmpty()) {
            q.before = anchor;
            auto device = records.records().device(anchor);
            if (!device)
                return report(device.error());
            if (!*device)
                return report(core::Error { core::ErrorCode::NotFound,
                    QStringLiteral("No device with serial %1 is recorded.").arg(anchor), {}, {} });
            q.beforeUpdated = (*device)->updated;
            // Attempts that ended at the same moment come after it.
            attemptQuery.until = (*device)->updated.addMSecs(1);
        }
        auto rows = records.records().devices(q);
        if (!rows)
            return report(rows.error());
        auto attempts = records.records().attempts(attemptQuery);
        if (!attempts)
            return report(attempts.error());
        QList<std::variant<core::DeviceRecord, core::Attempt>> merged;
        qsizetype a = 0;
        for (const auto& d : *rows) {
            while (a < attempts->size() && attempts->at(a).finished > d.updated)
                merged << attempts->at(a++);
            merged << d;
        }
        while (a < attempts->size())
            merged << attempts->at(a++);
        const bool more = merged.size() > q.limit;
        merged = merged.mid(0, q.limit);
        if (p.json()) {
            QJsonArray array;
            for (const auto& row : merged) {
                if (const auto* d = std::get_if<core::DeviceRecord>(&row))
                    array.append(QJsonObject { { QStringLiteral("serial"), d->serial },
                        { QStringLiteral("model"), d->model }, { QStringLiteral("status"), text(d->status) },
                        { QStringLiteral("reason"), d->statusReason },
                        { QStringLiteral("updated"), d->updated.toString(Qt::ISODateWithMs) } });
                else
                    array.append(attemptJson(std::get<core::Attempt>(row)));
            }
            out() << QJsonDocument(array).toJson(QJsonDocument::Compact) << Qt::endl;
            return 0;
        }
        for (const auto& row : merged) {
            if (const auto* d = std::get_if<core::DeviceRecord>(&row)) {
                out() << d->updated.toString(Qt::ISODate) << "  " << text(d->status).leftJustified(11) << "  "
                      << d->serial << (d->statusReason.isEmpty() ? QString() : QStringLiteral("  ") + d->statusReason)
                      << Qt::endl;
                continue;
            }
            const auto& t = std::get<core::Attempt>(row);
            out() << t.finished.toString(Qt::ISODate) << "  " << QStringLiteral("failed").leftJustified(11)
                  << "  (no device identified)  port " << t.port
                  << (t.claimedSerial.isEmpty() ? QString() : QStringLiteral(", it said ") + t.claimedSerial) << "  "
                  << t.code << ": " << t.reason << Qt::endl;
        }
        if (more || rows->size() == q.limit || attempts->size() == q.limit) {
            const auto& last = merged.last();
            out() << "(more: --before "
                  << (std::holds_alternative<core::DeviceRecord>(last)
                             ? std::get<core::DeviceRecord>(last).serial
                             : QStringLiteral("attempt:%1").arg(std::get<core::Attempt>(last).id))
                  << ")" << Qt::endl;
        }
        return 0;
    });
}

int scrap(const QStringList& args)
{
    CommandLine p(QStringLiteral("Take a device out of production, with the reason on its record."));
    QCommandLineOption serial(QStringLiteral("device-serial"), QStringLiteral("The device."), QStringLiteral("SN"));
    QCommandLineOption reason(QStringLiteral("reason"), QStringLiteral("Why, in words."), QStringLiteral("TEXT"));
    const QCommandLineOption op = option::operatorName(QStringLiteral("Who scraps it."));
    p.addOptions({ serial, reason, op });
    p.parse(args);
    if (!p.isSet(serial) || p.value(reason).trimmed().isEmpty()) {
        return usageError(args, QStringLiteral("give --device-serial SN and --reason TEXT"));
    }
    return withRecords(p, Access::Write, [&](core::RecordStore& records, const core::StationConfig& config) {
        if (auto r = records.jobs().scrap(p.value(serial), p.value(reason).trimmed(), config.stationName, p.value(op));
            !r)
            return report(r.error());
        out() << "Device " << p.value(serial) << " is scrapped: " << p.value(reason).trimmed() << Qt::endl;
        // Its certificates are revoked: the next CRL lists them, signed now.
        core::StationConfig withKey;
        auto ca = openCeremonyKey(p.dataDir(), &withKey);
        auto crl = ca ? issueCrl(p.dataDir(), *ca, 7) : core::Result<core::PublishedCrl>(std::unexpected(ca.error()));
        if (!crl) {
            err() << "The CRL was not signed (" << crl.error().text() << "); run \"imprintctl ca crl"
                  << p.dataDir().ctlArg() << "\"." << Qt::endl;
            return 0;
        }
        out() << "CRL " << crl->number << " lists its certificates: " << p.dataDir().crlFile() << Qt::endl;
        return 0;
    });
}

int jobs(const QStringList& args)
{
    CommandLine p(
        QStringLiteral(
            "List the jobs that never finished: the station stopped (crash, power cut) while the device was on it, or "
            "a station is working on it now. Each device continues where it was when it is back on a slot."),
        CommandLine::DataDirAndJson);
    p.parse(args);
    return withRecords(p, Access::Read, [&](core::RecordStore& records, const core::StationConfig&) {
        auto jobs = records.jobs().unfinished();
        if (!jobs)
            return report(jobs.error());
        if (p.json()) {
            QJsonArray a;
            for (const auto& j : *jobs)
                a.append(app::unfinishedJobJson(j));
            out() << QJsonDocument(a).toJson(QJsonDocument::Compact) << Qt::endl;
            return 0;
        }
        if (jobs->isEmpty())
            out() << "No unfinished jobs." << Qt::endl;
        for (const auto& j : *jobs)
            out() << app::unfinishedJobLine(j) << Qt::endl;
        return 0;
    });
}

int outbox(const QStringList& args)
{
    CommandLine p(
        QStringLiteral("List the records waiting for the upstream CA (certificates and revocations), oldest first."),
        CommandLine::DataDirAndJson);
    QCommandLineOption limit(
        QStringLiteral("limit"), QStringLiteral("Rows (default 50)."), QStringLiteral("N"), QStringLiteral("50"));
    QCommandLineOption state(QStringLiteral("state"),
        QStringLiteral("Only rows in this state (%1); default: those not yet through.")
            .arg(core::stateTexts<core::OutboxState>().join(QStringLiteral(", "))),
        QStringLiteral("S"));
    p.addOptions({ limit, state });
    p.parse(args);
    std::optional<core::OutboxState> only;
    if (p.isSet(state)) {
        only = core::parseState<core::OutboxState>(p.value(state));
        if (!only)
            return usageError(args,
                QStringLiteral("--state is one of %1")
                    .arg(core::stateTexts<core::OutboxState>().join(QStringLiteral(", "))));
    }
    return withRecords(p, Access::Read, [&](core::RecordStore& records, const core::StationConfig&) {
        auto pending = records.outbox().pendingCount();
        auto rows = only ? records.outbox().list({ *only }, p.value(limit).toInt())
                         : records.outbox().pending(p.value(limit).toInt());
        if (!pending)
            return report(pending.error());
        if (!rows)
            return report(rows.error());
        if (p.json()) {
            QJsonArray a;
            for (const auto& r : *rows)
                a.append(QJsonObject { { QStringLiteral("id"), r.id }, { QStringLiteral("kind"), text(r.kind) },
                    { QStringLiteral("subject"), r.subject }, { QStringLiteral("detail"), r.detail },
                    { QStringLiteral("created"), r.created.toString(Qt::ISODateWithMs) },
                    { QStringLiteral("state"), text(r.state) }, { QStringLiteral("attempts"), r.attempts },
                    { QStringLiteral("last_error"), r.lastError },
                    { QStringLiteral("upstream_status"), r.upstreamStatus },
                    { QStringLiteral("export_batch"), r.exportBatch } });
            out() << QJsonDocument(
                QJsonObject { { QStringLiteral("pending"), *pending }, { QStringLiteral("rows"), a } })
                         .toJson(QJsonDocument::Compact)
                  << Qt::endl;
            return 0;
        }
        // The header says what the list below it holds, and the rows not yet through apart.
        const int limitRows = p.value(limit).toInt();
        const QString shown = rows->size() >= limitRows ? QStringLiteral("the first %1").arg(rows->size())
                                                        : QString::number(rows->size());
        if (only)
            out() << shown << " row(s) " << text(*only) << "; " << *pending
                  << " row(s) in all not yet through to the upstream" << Qt::endl;
        else
            out() << *pending << " row(s) not yet through to the upstream"
                  << (rows->size() < *pending ? QStringLiteral(" (%1 shown)").arg(shown) : QString()) << Qt::endl;
        if (rows->isEmpty())
            return 0;
        out() << "  row  kind         state      local certificate  (device)  — last error" << Qt::endl;
        for (const auto& r : *rows)
            out() << "  " << r.id << "  " << text(r.kind).leftJustified(11) << "  " << text(r.state).leftJustified(9)
                  << "  " << r.subject << (r.detail.isEmpty() ? QString() : QStringLiteral("  ") + r.detail)
                  << (r.lastError.isEmpty() ? QString() : QStringLiteral("  — ") + r.lastError) << Qt::endl;
        return 0;
    });
}

} // namespace imprint::app::cli
