// imprintctl upstream: the way to the corporate CA over CMP (configure, status, sync, retry).

#include "StationContext.h"
#include "StationSetup.h"
#include "TerminalPinPrompt.h"
#include "UpstreamWorker.h"
#include "cli/Command.h"
#include "engine/OfflineBatch.h"
#include "engine/UpstreamSync.h"
#include "pki/CertificateBuilder.h"
#include "pki/OpenSsl.h"
#include "upstream/CmpClient.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QThread>

#include <atomic>
#include <csignal>

namespace imprint::app::cli {

namespace {

/// The token (unlocked, for the RA key) and the way upstream over it.
struct UpstreamLink {
    hsm::CaKey ca;
    app::UpstreamClient upstream;
};

/// Whose answers the station accepts, in words.
QString answersFrom(const core::UpstreamConfig& u)
{
    if (!u.serverCertFile.isEmpty())
        return QStringLiteral("the signer pinned in %1 only").arg(u.serverCertFile);
    if (!u.serverName.isEmpty())
        return QStringLiteral("\"%1\" only").arg(u.serverName);
    return QStringLiteral("any signer the trust anchors vouch for");
}

/// `offline`: for an export, which needs no URL (the messages are written, not sent).
core::Result<UpstreamLink> openUpstream(const core::DataDir& dir, core::StationConfig* config, bool offline = false)
{
    auto ca = openCeremonyKey(dir, config);
    if (!ca)
        return std::unexpected(ca.error());
    auto upstream = app::openUpstreamClient(*config, *ca, offline);
    if (!upstream)
        return std::unexpected(upstream.error());
    return UpstreamLink { std::move(*ca), std::move(*upstream) };
}

volatile std::sig_atomic_t stopRequested = 0;
/// The sync a SIGTERM must stop, also in the middle of a round (an atomic store is safe in a
/// signal handler).
std::atomic<core::UpstreamSync*> runningSync { nullptr };

/// Exit status 6 of upstream sync: the token refused the PIN, or none could be given (no
/// terminal, no pin-source). A service must not try again by itself: tokens lock.
constexpr int PinExit = 6;

int syncFailure(const core::Error& e)
{
    const int status = report(e);
    return e.code == core::ErrorCode::PinRejected || e.code == core::ErrorCode::Cancelled ? PinExit : status;
}

void printRound(const core::SyncRound& r)
{
    out() << "confirmed " << r.certified << ", revoked " << r.revoked << ", waiting " << r.waiting << ", rejected "
          << r.rejected << ", failed " << r.failed << ", skipped " << r.skipped;
    if (r.answered)
        out() << ", answered (confirmation not acknowledged) " << r.answered;
    out() << Qt::endl;
    if (!r.lastError.isEmpty())
        err() << r.lastError << Qt::endl;
    if (!r.lastDetail.isEmpty())
        err() << "  detail: " << r.lastDetail << Qt::endl;
}

} // namespace

int upstreamConfigure(const QStringList& args)
{
    CommandLine p(QStringLiteral("Point the station at the upstream CA: its CMP URL, its trust anchors (copied into "
                                 "the data directory), its name, and the one signer whose answers it accepts."));
    QCommandLineOption url(QStringLiteral("url"), QStringLiteral("The CMP server, e.g. http://ca.corp:8080/pkix/."),
        QStringLiteral("URL"));
    QCommandLineOption trusted(QStringLiteral("trusted"),
        QStringLiteral("The upstream's trust anchors (PEM): its answers and certificates must verify to them."),
        QStringLiteral("FILE"));
    QCommandLineOption recipient(QStringLiteral("recipient"),
        QStringLiteral("The upstream CA's name, e.g. \"/CN=Corporate Device CA\"."), QStringLiteral("NAME"));
    QCommandLineOption serverCert(QStringLiteral("server-cert"),
        QStringLiteral("The certificate the upstream signs its CMP answers with (PEM; its issuers may follow): only "
                       "answers signed with its key are accepted. Copied into the data directory; kept until "
                       "another --server-cert or --server-name is given."),
        QStringLiteral("FILE"));
    QCommandLineOption serverName(QStringLiteral("server-name"),
        QStringLiteral("Instead of --server-cert: the name the upstream's answers must be sent by, e.g. "
                       "\"/CN=Corporate CMP\", signed by a certificate of that name the trust anchors vouch for."),
        QStringLiteral("NAME"));
    p.addOptions({ url, trusted, recipient, serverCert, serverName });
    p.parse(args);
    if (!p.isSet(url) || !p.isSet(trusted) || (p.isSet(serverCert) && p.isSet(serverName)))
        return usageError(args,
            QStringLiteral("give --url URL and --trusted FILE [--recipient NAME] [--server-cert FILE | --server-name "
                           "NAME]"));
    auto anchors = app::readCertificateFile(p.value(trusted), QStringLiteral("trust anchor"));
    if (!anchors)
        return report(anchors.error());
    core::DataDir dir = p.dataDir();
    auto config = dir.loadConfig();
    if (!config)
        return report(config.error());
    core::UpstreamConfig& u = config->upstream;
    // The pin is checked before anything is written: the one given, or the one kept against
    // the anchors given now.
    QList<QByteArray> signer;
    if (p.isSet(serverCert) || (!p.isSet(serverName) && !u.serverCertFile.isEmpty())) {
        auto certs = app::readCertificateFile(p.isSet(serverCert) ? p.value(serverCert) : u.serverCertFile,
            QStringLiteral("upstream signer certificate"));
        if (!certs)
            return report(certs.error());
        if (auto r = core::CmpClient::checkSignerPin(*anchors, *certs); !r) {
            core::Error e = r.error();
            e.message += p.isSet(serverCert)
                ? QStringLiteral(" Give the certificate the upstream signs its CMP answers with (its issuers may "
                                 "follow it in the file) and the anchors it chains to; nothing was changed.")
                : QStringLiteral(" It is the signer pinned in %1: give its new certificate with --server-cert FILE, "
                                 "or --server-name NAME; nothing was changed.")
                      .arg(u.serverCertFile);
            return report(e);
        }
        signer = *certs;
    }
    if (p.isSet(serverName)) {
        auto entries = core::parseName(p.value(serverName));
        if (!entries)
            return report(entries.error());
        if (auto name = core::makeName(*entries); !name)
            return report(name.error());
    }
    QByteArray pem;
    for (const QByteArray& der : *anchors)
        pem += core::ossl::derToPem(der);
    QDir().mkpath(QFileInfo(dir.upstreamTrustFile()).absolutePath());
    if (auto r = writeOutput(dir.upstreamTrustFile(), pem); !r)
        return report(r.error());
    if (p.isSet(serverCert)) {
        QByteArray signerPem;
        for (const QByteArray& der : signer)
            signerPem += core::ossl::derToPem(der);
        if (auto r = writeOutput(dir.upstreamServerCertFile(), signerPem); !r)
            return report(r.error());
        u.serverCertFile = dir.upstreamServerCertFile();
        u.serverName.clear();
    } else if (p.isSet(serverName)) {
        u.serverName = p.value(serverName).trimmed();
        u.serverCertFile.clear();
    }
    u.url = p.value(url);
    u.trustedFile = dir.upstreamTrustFile();
    if (p.isSet(recipient))
        u.recipient = p.value(recipient);
    if (auto r = dir.saveConfig(*config); !r)
        return report(r.error());
    auto reloaded = dir.loadConfig(); // the URL is checked as every start checks it
    if (!reloaded)
        return report(reloaded.error());
    out() << "The upstream CA is " << u.url << " (" << anchors->size() << " trust anchor(s) in "
          << dir.upstreamTrustFile() << ")" << Qt::endl;
    out() << "Answers are accepted from " << answersFrom(u) << "." << Qt::endl;
    if (u.serverCertFile.isEmpty() && u.serverName.isEmpty() && u.url.startsWith(QLatin1String("http://")))
        err() << "Over http:// any holder of a certificate the trust anchors vouch for can answer in the upstream's "
                 "place: give --server-cert FILE or --server-name NAME, or use https://."
              << Qt::endl;
    return 0;
}

int upstreamStatus(const QStringList& args)
{
    CommandLine p(QStringLiteral("Show the way upstream: reachable or not, last contact, rows by state, the age of "
                                 "the oldest unsynced row, the last error."),
        CommandLine::DataDirAndJson);
    p.parse(args);
    return withRecords(p, Access::Read, [&](core::RecordStore& records, const core::StationConfig& config) {
        auto counts = records.outbox().counts();
        auto contact = records.outbox().contact();
        auto oldest = records.outbox().oldestUnsynced();
        auto lease = records.outbox().lease(core::UpstreamSync::LeaseName);
        if (!counts)
            return report(counts.error());
        if (!contact)
            return report(contact.error());
        if (!oldest)
            return report(oldest.error());
        if (!lease)
            return report(lease.error());
        const bool everReached = contact->reached.isValid();
        const bool reachable = everReached && contact->lastError.isEmpty();
        const QDateTime now = QDateTime::currentDateTimeUtc();
        QJsonObject rows;
        for (core::OutboxState s : { core::OutboxState::Pending, core::OutboxState::Sent, core::OutboxState::Waiting,
                 core::OutboxState::Answered, core::OutboxState::Confirmed, core::OutboxState::Rejected,
                 core::OutboxState::Failed, core::OutboxState::Skipped })
            rows[text(s)] = counts->value(s);
        QJsonObject o { { QStringLiteral("configured"), config.upstream.configured() },
            { QStringLiteral("url"), config.upstream.url }, { QStringLiteral("reachable"), reachable },
            { QStringLiteral("last_attempt"), contact->attempted.toString(Qt::ISODateWithMs) },
            { QStringLiteral("last_contact"), contact->reached.toString(Qt::ISODateWithMs) },
            { QStringLiteral("last_error"), contact->plainError() },
            { QStringLiteral("last_error_detail"), contact->errorDetail() }, { QStringLiteral("rows"), rows },
            { QStringLiteral("server_cert"), config.upstream.serverCertFile },
            { QStringLiteral("server_name"), config.upstream.serverName },
            { QStringLiteral("oldest_unsynced_age_s"), *oldest ? QJsonValue((*oldest)->secsTo(now)) : QJsonValue() },
            { QStringLiteral("syncing"), *lease ? QJsonValue((*lease)->first) : QJsonValue() } };
        if (p.json()) {
            out() << QJsonDocument(o).toJson(QJsonDocument::Compact) << Qt::endl;
            return 0;
        }
        if (!config.upstream.configured())
            out() << "No upstream CA is configured (imprintctl upstream configure" << p.dataDir().ctlArg()
                  << " --url URL --trusted FILE)." << Qt::endl;
        else
            out() << "Upstream CA: " << config.upstream.url << Qt::endl
                  << "  reachable:     "
                  << (!contact->attempted.isValid() ? QStringLiteral("not tried yet")
                             : reachable            ? QStringLiteral("yes")
                                                    : QStringLiteral("no"))
                  << Qt::endl
                  << "  last contact:  "
                  << (everReached ? contact->reached.toString(Qt::ISODate) : QStringLiteral("never")) << Qt::endl
                  << "  answers from:  " << answersFrom(config.upstream) << Qt::endl;
        if (!contact->lastError.isEmpty())
            out() << "  last error:    " << contact->plainError() << Qt::endl;
        if (!contact->errorDetail().isEmpty())
            out() << "  detail:        " << contact->errorDetail() << Qt::endl;
        out() << "Rows:";
        for (auto it = rows.begin(); it != rows.end(); ++it) {
            if (it.value().toInteger() > 0)
                out() << " " << it.key() << " " << it.value().toInteger();
        }
        out() << Qt::endl;
        if (*oldest)
            out() << "Oldest unsynced row: " << (*oldest)->toString(Qt::ISODate) << " (" << (*oldest)->secsTo(now) / 60
                  << " min ago)" << Qt::endl;
        if (*lease)
            out() << "Being synced by " << (*lease)->first << Qt::endl;
        if (counts->value(core::OutboxState::Rejected) > 0)
            out() << counts->value(core::OutboxState::Rejected)
                  << " row(s) rejected by the upstream: see \"imprintctl outbox" << p.dataDir().ctlArg()
                  << " --state rejected\"; after fixing the cause, \"imprintctl upstream retry" << p.dataDir().ctlArg()
                  << " --rejected\"." << Qt::endl;
        return 0;
    });
}

int upstreamSync(const QStringList& args)
{
    CommandLine p(QStringLiteral("Send the outbox to the upstream CA over CMP: in the foreground, until stopped "
                                 "(or once, with --once: for cron, an MES, a station without the window)."));
    QCommandLineOption once(QStringLiteral("once"),
        QStringLiteral("Send what is due, poll what the upstream makes wait (within total-timeout-s), and stop."));
    QCommandLineOption progress(QStringLiteral("progress"),
        QStringLiteral("Print the progress as JSON lines on standard error (done, total, per second, seconds left)."));
    p.addOptions({ once, progress });
    p.parse(args);
    core::DataDir dir = p.dataDir();
    core::StationConfig config;
    auto link = openUpstream(dir, &config);
    if (!link)
        return syncFailure(link.error());
    auto records = app::openStationStore(dir, config);
    if (!records)
        return report(records.error());
    core::UpstreamSync sync(*records, *link->upstream.client, config.upstream);
    if (p.isSet(once)) {
        // Count, rate and time left of the rows due now, on a terminal or as JSON lines.
        Progress shown(p.isSet(progress), QStringLiteral("rows"));
        const qint64 due = records->outbox().pendingCount().value_or(0);
        sync.progress
            = [&](const core::SyncRound& sofar) { shown(sofar.acted(), std::max<qint64>(due, sofar.acted())); };
        auto r = sync.drain();
        shown.finish();
        sync.release();
        if (!r)
            return syncFailure(r.error());
        if (!r->leaseHolder.isEmpty()) {
            err() << "Another process is syncing this station: " << r->leaseHolder << Qt::endl;
            return 4;
        }
        printRound(*r);
        return r->unreachable ? 5 : 0;
    }
    // A stop ends the round under way too (its records stay as they are: each is durable).
    runningSync = &sync;
    auto stop = [](int) {
        stopRequested = 1;
        if (core::UpstreamSync* running = runningSync.load())
            running->requestStop();
    };
    std::signal(SIGTERM, stop);
    std::signal(SIGINT, stop);
    struct Forget {
        ~Forget() { runningSync = nullptr; }
    } forget;
    while (!stopRequested) {
        auto r = sync.drain();
        if (!r) {
            sync.release();
            return syncFailure(r.error());
        }
        if (r->acted() > 0 || !r->leaseHolder.isEmpty()) {
            if (!r->leaseHolder.isEmpty())
                err() << "Another process is syncing this station: " << r->leaseHolder << Qt::endl;
            else
                printRound(*r);
        }
        for (int i = 0; i < config.upstream.syncEveryS * 10 && !stopRequested; ++i)
            QThread::msleep(100);
    }
    sync.release();
    return 0;
}

int upstreamRetry(const QStringList& args)
{
    CommandLine p(QStringLiteral("Send rows again that the upstream rejected (or that failed): one row, or every "
                                 "rejected one. Audited."));
    QCommandLineOption row(
        QStringLiteral("row"), QStringLiteral("The outbox row (imprintctl outbox)."), QStringLiteral("N"));
    QCommandLineOption rejected(QStringLiteral("rejected"), QStringLiteral("Every rejected row."));
    p.addOptions({ row, rejected });
    p.parse(args);
    if (p.isSet(row) == p.isSet(rejected))
        return usageError(args, QStringLiteral("give --row N or --rejected"));
    bool ok = true;
    const qint64 id = p.isSet(row) ? p.value(row).toLongLong(&ok) : 0;
    if (!ok || (p.isSet(row) && id <= 0))
        return usageError(args, QStringLiteral("--row takes an outbox row number"));
    return withRecords(p, Access::Write, [&](core::RecordStore& records, const core::StationConfig& config) {
        auto changed = records.outbox().retry(id);
        if (!changed)
            return report(changed.error());
        if (*changed == 0) {
            err() << (id > 0 ? QStringLiteral("Row %1 is not rejected or failed; nothing was changed.").arg(id)
                             : QStringLiteral("No row is rejected; nothing was changed."))
                  << Qt::endl;
            return id > 0 ? 3 : 0;
        }
        if (auto r = records.audit().append(core::AuditKind::Setting, QStringLiteral("upstream-retry"),
                id > 0 ? QStringLiteral("row %1 to be sent again").arg(id)
                       : QStringLiteral("%1 rejected row(s) to be sent again").arg(*changed),
                config.stationName, qEnvironmentVariable("USER", QStringLiteral("cli")));
            !r)
            return report(r.error());
        out() << *changed << " row(s) will be sent again at the next sync." << Qt::endl;
        return 0;
    });
}

int exportBatch(const QStringList& args)
{
    CommandLine p(QStringLiteral("Write one batch of every record not yet synced or exported, for a plant with no "
                                 "link to the upstream: the CMP request messages (as the sync would send them), the "
                                 "requests as PKCS#10, the local certificates, the CRL, the audit log's head and a "
                                 "manifest signed by the RA key."));
    QCommandLineOption outDir(
        QStringLiteral("out"), QStringLiteral("A new folder for the batch."), QStringLiteral("DIR"));
    QCommandLineOption again(
        QStringLiteral("again"), QStringLiteral("Write an earlier batch once more."), QStringLiteral("BATCH"));
    QCommandLineOption partRows(QStringLiteral("part-rows"),
        QStringLiteral("Rows per part (each part one archive, its manifest and signature); default 20000."),
        QStringLiteral("N"), QStringLiteral("20000"));
    QCommandLineOption progress(QStringLiteral("progress"),
        QStringLiteral("Print the progress as JSON lines on standard error (done, total, per second, seconds left)."));
    p.addOptions({ outDir, again, partRows, progress });
    p.parse(args);
    if (!p.isSet(outDir))
        return usageError(args, QStringLiteral("give --out DIR [--again BATCH]"));
    core::DataDir dir = p.dataDir();
    core::StationConfig config;
    auto link = openUpstream(dir, &config, true);
    if (!link)
        return report(link.error());
    auto chain = dir.loadChain();
    if (!chain)
        return report(chain.error());
    auto crl = issueCrl(dir, link->ca, 7);
    if (!crl)
        return report(crl.error());
    auto records = app::openStationStore(dir, config);
    if (!records)
        return report(records.error());
    bool rowsOk = false;
    const int perPart = p.value(partRows).toInt(&rowsOk);
    if (!rowsOk || perPart < 1 || perPart > 30000)
        return usageError(args,
            QStringLiteral("--part-rows is from 1 to 30000 (a part's folder, unpacked, stays "
                           "under FAT32's 65,534 entries)"));
    Progress shown(p.isSet(progress), QStringLiteral("rows"));
    core::ExportInputs inputs { config.stationName, link->upstream.raKey, link->upstream.raChain, *chain, crl->pem, {},
        {}, perPart };
    inputs.progress = [&](qint64 done, qint64 total) { shown(done, total); };
    auto written = core::exportBatch(*records, *link->upstream.client, inputs, p.value(outDir), p.value(again));
    shown.finish();
    if (!written) {
        const int status = report(written.error());
        if (written.error().code != core::ErrorCode::NotFound && written.error().code != core::ErrorCode::BadInput)
            err() << "Nothing was marked exported; run the same command again to write the batch whole." << Qt::endl;
        return status;
    }
    out() << "Batch " << written->batch << ": " << written->certificates << " certificate request(s), "
          << written->revocations << " revocation(s) in " << written->parts << " part(s) in " << p.value(outDir)
          << Qt::endl;
    if (written->held)
        out() << written->held
              << " revocation(s) wait for their certificate's answer from the upstream (a later batch)." << Qt::endl;
    out() << "Check each part: openssl cms -verify -binary -inform DER -in " << p.value(outDir)
          << "/part-0001.json.p7s -content " << p.value(outDir) << "/part-0001.json -CAfile "
          << config.upstream.trustedFile << " -out /dev/null" << Qt::endl
          << "  then sha256sum part-0001.tar against its manifest (archive), and the files in it (files)." << Qt::endl;
    return 0;
}

int importAnswers(const QStringList& args)
{
    CommandLine p(QStringLiteral("Record the upstream's answer to an exported batch: its certificates (PKCS#7 or "
                                 "PEM, a file or a folder of them), each matched to its device by public key and "
                                 "checked to the upstream's trust anchors. Importing twice is harmless."));
    QCommandLineOption in(QStringLiteral("in"),
        QStringLiteral("A file or folder (*.p7b, *.p7c, *.pem, *.crt; *.crl for revocations)."),
        QStringLiteral("DIR|FILE"));
    p.addOption(in);
    p.parse(args);
    if (!p.isSet(in))
        return usageError(args, QStringLiteral("give --in DIR|FILE"));
    QStringList files;
    const QFileInfo where(p.value(in));
    if (where.isDir()) {
        for (const QFileInfo& f :
            QDir(where.filePath())
                .entryInfoList({ QStringLiteral("*.p7b"), QStringLiteral("*.p7c"), QStringLiteral("*.pem"),
                                   QStringLiteral("*.crt"), QStringLiteral("*.crl") },
                    QDir::Files, QDir::Name))
            files << f.filePath();
        if (files.isEmpty())
            return report(core::Error { core::ErrorCode::BadInput,
                QStringLiteral("%1 holds no *.p7b, *.p7c, *.pem or *.crt file.").arg(where.filePath()), {}, {} });
    } else {
        files << where.filePath();
    }
    return withRecords(p, Access::Write, [&](core::RecordStore& records, const core::StationConfig& config) {
        auto anchors = app::readUpstreamAnchors(config);
        if (!anchors)
            return report(anchors.error());
        auto imported = core::importAnswers(records, *anchors, files, config.stationName);
        if (!imported)
            return report(imported.error());
        out() << imported->recorded << " upstream certificate(s) recorded, " << imported->already
              << " already on record, " << imported->revoked << " revocation(s) ended, " << imported->refused.size()
              << " refused." << Qt::endl;
        for (const QString& line : imported->refused)
            out() << "  refused: " << line << Qt::endl;
        return imported->refused.isEmpty() ? 0 : 6;
    });
}

int upstreamEnroll(const QStringList& args)
{
    CommandLine p(QStringLiteral("Enroll the RA key online: a CMP ir protected by a one-time secret from the "
                                 "upstream's administrator (asked at the terminal, or read from a file only its owner "
                                 "can read; never on the command line, never stored). The certificate is installed as "
                                 "\"ra import\" would."));
    QCommandLineOption subject(QStringLiteral("subject"),
        QStringLiteral("The RA's name, e.g. \"/O=Acme/CN=Line 3 RA\"."), QStringLiteral("NAME"));
    QCommandLineOption reference(QStringLiteral("reference"),
        QStringLiteral("The secret's reference (its name at the upstream, sent as senderKID)."), QStringLiteral("REF"));
    QCommandLineOption secretFile(QStringLiteral("secret-file"),
        QStringLiteral("Read the one-time secret from this file (mode 0600) instead of asking."),
        QStringLiteral("FILE"));
    p.addOptions({ subject, reference, secretFile });
    p.parse(args);
    if (!p.isSet(subject) || !p.isSet(reference))
        return usageError(args, QStringLiteral("give --subject NAME --reference REF [--secret-file FILE]"));
    core::DataDir dir = p.dataDir();
    core::StationConfig config;
    auto ca = openCeremonyKey(dir, &config);
    if (!ca)
        return report(ca.error());
    if (!config.upstream.configured())
        return report(core::Error { core::ErrorCode::NotInitialized,
            QStringLiteral("No upstream CA is configured; run \"imprintctl upstream configure%1 --url URL --trusted "
                           "FILE\".")
                .arg(dir.ctlArg()),
            {}, {} });
    auto ra = hsm::openRaKey(*ca, config);
    if (!ra)
        return report(ra.error());
    auto anchors = app::readUpstreamAnchors(config);
    if (!anchors)
        return report(anchors.error());
    auto secret = p.isSet(secretFile)
        ? core::DataDir::readSecretFile(p.value(secretFile))
        : app::askOnTerminal("One-time secret for \"" + p.value(reference).toUtf8() + "\": ",
            QStringLiteral("There is no terminal to ask for the one-time secret on; give --secret-file FILE."),
            QStringLiteral("No secret was given; nothing was enrolled."));
    if (!secret)
        return report(secret.error());
    const core::UpstreamConfig& u = config.upstream;
    auto chain = core::CmpClient::enrollRaKey(
        core::CmpOptions { u.url, u.recipient, u.messageTimeoutS, u.totalTimeoutS, u.connectTimeoutS }, *anchors, *ra,
        p.value(subject), p.value(reference).toUtf8(), *secret);
    secret->wipe();
    if (!chain)
        return report(chain.error());
    auto imported = hsm::importRaCertificate(dir, *ca, config, chain->first(), chain->mid(1) + *anchors);
    if (!imported)
        return report(imported.error());
    if (auto r = auditAct(dir, config, *ca, core::AuditKind::Setting, QStringLiteral("ra-certificate"),
            QStringLiteral("enrolled online (ir, reference %1): RA certificate sha256 %2")
                .arg(p.value(reference), core::ossl::sha256Hex(imported->first())));
        !r)
        return report(r.error());
    out() << "Enrolled the RA key; its certificate is in " << dir.raCertFile() << Qt::endl;
    printChain(*imported);
    return 0;
}

} // namespace imprint::app::cli
