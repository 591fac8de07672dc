// imprintctl: the station's engine, headless, for people at a shell and for a MES.

#include "Bench.h"
#include "SlotReport.h"
#include "StationContext.h"
#include "StationSetup.h"
#include "TerminalPinPrompt.h"
#include "device/SerialTransport.h"
#include "device/UsbTransport.h"
#include "engine/BatchIssue.h"
#include "engine/Registrar.h"
#include "engine/SlotJob.h"
#include "engine/Station.h"
#include "pki/CertificateBuilder.h"
#include "pki/CsrCheck.h"
#include "pki/Der.h"
#include "pki/IssuingCa.h"
#include "pki/OpenSsl.h"
#include "store/RecordStore.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>
#include <QSocketNotifier>
#include <QThread>

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTextStream>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <unistd.h>

using namespace imprint;

namespace {

QTextStream& out()
{
    static QTextStream s(stdout);
    return s;
}

QTextStream& err()
{
    static QTextStream s(stderr);
    return s;
}

int report(const core::Error& e)
{
    err() << "imprintctl: " << e.message << Qt::endl;
    if (!e.detail.isEmpty())
        err() << "  detail: " << e.detail << Qt::endl;
    switch (e.code) {
    case core::ErrorCode::BadInput:
    case core::ErrorCode::NotInitialized: return 2;
    case core::ErrorCode::NotFound: return 3;
    default: return 1;
    }
}

const QCommandLineOption dataDirOption(QStringLiteral("data-dir"),
    QStringLiteral("Station data directory (default: $IMPRINT_DATA_DIR, else "
                   "$XDG_DATA_HOME/imprint)."),
    QStringLiteral("DIR"));
const QCommandLineOption jsonOption(QStringLiteral("json"), QStringLiteral("Print JSON for programs."));
const QCommandLineOption profileOption(QStringLiteral("profile"),
    QStringLiteral("Certificate profile: idevid (built in), NAME for DATA_DIR/profiles/NAME.json, or a file."),
    QStringLiteral("NAME"), QStringLiteral("idevid"));

/// Reads a whole file given on the command line, with a plain error.
core::Result<QByteArray> readInput(const QString& path, qsizetype limit = 16 * 1024 * 1024)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return core::fail(core::ErrorCode::BadInput, QStringLiteral("Cannot read %1.").arg(path), f.errorString());
    if (f.size() > limit)
        return core::fail(core::ErrorCode::BadInput, QStringLiteral("%1 is too large.").arg(path));
    return f.readAll();
}

/// Writes a file atomically, with a plain error.
core::Result<void> writeOutput(const QString& path, const QByteArray& contents)
{
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(contents) != contents.size() || !f.commit())
        return core::fail(core::ErrorCode::Io, QStringLiteral("Cannot write %1.").arg(path), f.errorString());
    return {};
}

int cmdInit(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Set up a data directory: SoftHSM2 token, issuing CA key inside it, "
                                               "demo root and CA certificate."));
    p.addHelpOption();
    p.addOption(dataDirOption);
    QCommandLineOption module(QStringLiteral("module"), QStringLiteral("PKCS#11 module with a free token."),
        QStringLiteral("PATH"), QStringLiteral(IMPRINT_DEFAULT_PKCS11_MODULE));
    QCommandLineOption name(
        QStringLiteral("station-name"), QStringLiteral("Name recorded with every step."), QStringLiteral("NAME"));
    p.addOption(module);
    p.addOption(name);
    p.process(args);

    core::DataDir dir(core::DataDir::resolve(p.value(dataDirOption)));
    hsm::InitOptions options;
    options.modulePath = p.value(module);
    options.stationName = p.value(name);
    if (auto r = hsm::initDemoStation(dir, options); !r)
        return report(r.error());
    out() << "Station set up in " << dir.path() << Qt::endl
          << "  token:     SoftHSM2, label \"" << options.tokenLabel << "\" (" << dir.tokenDir() << ")" << Qt::endl
          << "  CA key:    \"" << options.keyLabel << "\", generated inside the token, not extractable" << Qt::endl
          << "  CA chain:  " << dir.chainFile() << Qt::endl
          << "  records:   " << dir.database() << Qt::endl;
    return 0;
}

int cmdProvision(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Provision the devices on the given ports; exit 0 only if all pass."));
    p.addHelpOption();
    p.addOption(dataDirOption);
    p.addOption(jsonOption);
    QCommandLineOption port(QStringLiteral("port"),
        QStringLiteral("A device's port (repeatable): a serial port, with line settings after @, e.g. "
                       "/dev/ttyUSB0@9600,8N1 (default 115200,8N1, no flow control); or a USB device, "
                       "usb:VVVV:PPPP[:SERIAL]."),
        QStringLiteral("PATH"));
    QCommandLineOption op(QStringLiteral("operator"), QStringLiteral("Operator recorded with every step."),
        QStringLiteral("NAME"), qEnvironmentVariable("USER", QStringLiteral("cli")));
    QCommandLineOption usb(QStringLiteral("usb"),
        QStringLiteral("Provision every USB device with these ids as it is plugged in (and those already there)."),
        QStringLiteral("VVVV:PPPP"));
    QCommandLineOption count(QStringLiteral("count"),
        QStringLiteral("With --usb: stop after this many devices have finished (default 1)."), QStringLiteral("N"),
        QStringLiteral("1"));
    p.addOption(port);
    p.addOption(op);
    p.addOption(profileOption);
    p.addOption(usb);
    p.addOption(count);
    QCommandLineOption lot(QStringLiteral("lot"),
        QStringLiteral("The lot (work order) being made; its profile is used (imprintctl lot create)."),
        QStringLiteral("LOT"));
    QCommandLineOption scan(QStringLiteral("scan"),
        QStringLiteral("Serial labels arrive on standard input, one per line (a barcode scanner): each goes to the "
                       "first device waiting for its serial. Without it, a device with no serial fails."));
    QCommandLineOption progress(QStringLiteral("progress"),
        QStringLiteral("Print every slot's step as it changes, one JSON object per line on standard error."));
    p.addOption(lot);
    p.addOption(scan);
    p.addOption(progress);
    p.process(args);
    const QStringList ports = p.values(port);
    if (ports.isEmpty() && !p.isSet(usb)) {
        err() << "imprintctl provision: give at least one --port PATH, or --usb VVVV:PPPP" << Qt::endl;
        return 2;
    }
    std::optional<core::UsbAddress> watch;
    if (p.isSet(usb)) {
        auto parsed = core::UsbAddress::parse(QStringLiteral("usb:") + p.value(usb));
        if (!parsed)
            return report(parsed.error());
        watch = *parsed;
    }
    const int wanted = std::max(1, p.value(count).toInt());
    for (const QString& spec : ports) {
        if (auto ok = core::Station::checkPort(spec); !ok)
            return report(ok.error());
    }

    app::TerminalPinPrompt prompt;
    auto ctx = app::openStation(
        p.value(dataDirOption), &prompt, p.isSet(profileOption) ? p.value(profileOption) : QString(), p.value(lot));
    if (!ctx)
        return report(ctx.error());
    core::Station station(p.value(op));
    station.setTimeouts(ctx->config.timeouts);
    if (auto r = station.start(ctx->registrarFactory()); !r)
        return report(r.error());
    // Jobs the station was stopped under: each continues when its device is back on a slot.
    if (!station.interruptedJobs().isEmpty()) {
        err() << station.interruptedJobs().size()
              << " job(s) were interrupted when the station last stopped; each device continues where it was when "
                 "it is back on a slot (imprintctl jobs lists them):"
              << Qt::endl;
        for (const core::UnfinishedJob& j : station.interruptedJobs().mid(0, 20))
            err() << "  " << app::unfinishedJobLine(j) << Qt::endl;
    }

    // Scanned labels: queued until a device waits for one; at the end of the input, a
    // device still waiting is stopped.
    QStringList scanned;
    QByteArray partialLine;
    bool scanEnded = false;
    auto handOut = [&] {
        while (core::SlotJob* job = station.awaitingSerial()) {
            if (scanned.isEmpty()) {
                if (!scanEnded)
                    return;
                job->abort(QStringLiteral("No serial label was scanned for it (the input ended)."));
                continue;
            }
            const QString label = scanned.takeFirst();
            if (auto r = job->assignSerial(label); !r)
                err() << "imprintctl: " << r.error().message << Qt::endl;
        }
    };
    std::unique_ptr<QSocketNotifier> scanner;
    if (p.isSet(scan)) {
        station.setAcceptsScannedSerials(true);
        scanner = std::make_unique<QSocketNotifier>(STDIN_FILENO, QSocketNotifier::Read);
        QObject::connect(scanner.get(), &QSocketNotifier::activated, &station, [&] {
            char buffer[4096];
            const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return; // not the end: read again when told
            if (n <= 0) {
                scanner->setEnabled(false);
                scanEnded = true;
                if (!partialLine.trimmed().isEmpty())
                    scanned << QString::fromUtf8(partialLine.trimmed());
            } else {
                partialLine.append(buffer, n);
                qsizetype nl;
                while ((nl = partialLine.indexOf('\n')) >= 0) {
                    const QString label = QString::fromUtf8(partialLine.left(nl).trimmed());
                    partialLine.remove(0, nl + 1);
                    if (!label.isEmpty())
                        scanned << label;
                }
            }
            handOut();
        });
    }

    const bool json = p.isSet(jsonOption);
    int failed = 0;
    QObject::connect(&station, &core::Station::slotChanged, &station, [&](int index) {
        // Later, not from inside this change: handing out may stop a slot, which reports again.
        if (station.slotJobs().at(index)->step() == core::SlotJob::Step::AwaitingSerial)
            QMetaObject::invokeMethod(&station, handOut, Qt::QueuedConnection);
        const core::SlotJob* job = station.slotJobs().at(index);
        if (!job->isFinished()) {
            // Every slot's state as it changes, on stderr (stdout keeps one result per device).
            if (p.isSet(progress))
                err() << QJsonDocument(
                    QJsonObject { { QStringLiteral("slot"), job->index() + 1 }, { QStringLiteral("port"), job->port() },
                        { QStringLiteral("serial"), job->device().serial },
                        { QStringLiteral("step"), core::SlotJob::stepName(job->step()) },
                        { QStringLiteral("elapsed_ms"), job->elapsedMs() } })
                             .toJson(QJsonDocument::Compact)
                      << Qt::endl;
            return;
        }
        if (job->step() != core::SlotJob::Step::Passed)
            ++failed;
        if (json)
            out() << QJsonDocument(app::slotResultJson(*job)).toJson(QJsonDocument::Compact) << Qt::endl;
        else
            out() << app::slotResultLine(*job) << Qt::endl;
    });
    QObject::connect(&station, &core::Station::finished, qApp, [&] {
        // Watching USB, the line goes on until enough devices have come and finished.
        if (!watch || station.slotJobs().size() >= wanted)
            QCoreApplication::exit(0);
    });
    for (const QString& path : ports)
        station.addSlot(path);
    if (watch) {
        if (auto r = station.watchUsb(watch->vendorId, watch->productId); !r)
            return report(r.error());
        err() << "Waiting for USB devices " << watch->toString() << " ..." << Qt::endl;
    }
    if (watch || !station.allFinished())
        QCoreApplication::exec();
    return failed == 0 ? 0 : 1;
}

int cmdShow(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Show one device's record, certificate and chain."));
    p.addHelpOption();
    p.addOption(dataDirOption);
    p.addOption(jsonOption);
    QCommandLineOption serial(
        QStringLiteral("device-serial"), QStringLiteral("The device's serial number."), QStringLiteral("SN"));
    p.addOption(serial);
    p.process(args);
    if (!p.isSet(serial)) {
        err() << "imprintctl show: give --device-serial SN" << Qt::endl;
        return 2;
    }
    core::DataDir dir(core::DataDir::resolve(p.value(dataDirOption)));
    if (!dir.isInitialized())
        return report(core::Error { core::ErrorCode::NotInitialized,
            QStringLiteral("The data directory %1 is not set up; run \"imprintctl init\" first.").arg(dir.path()), {},
            {} });
    auto store = core::RecordStore::open(dir.database(), true);
    if (!store)
        return report(store.error());
    const QString sn = p.value(serial);
    auto device = store->device(sn);
    if (!device)
        return report(device.error());
    if (!device->has_value())
        return report(core::Error {
            core::ErrorCode::NotFound, QStringLiteral("No device with serial %1 is recorded.").arg(sn), {}, {} });
    auto certs = store->certificates(sn);
    auto steps = store->steps(sn);
    auto chain = dir.loadChain();
    if (!certs)
        return report(certs.error());
    if (!steps)
        return report(steps.error());
    if (!chain)
        return report(chain.error());
    const core::DeviceRecord& d = **device;

    if (p.isSet(jsonOption)) {
        QJsonObject o;
        o[QStringLiteral("serial")] = d.serial;
        o[QStringLiteral("model")] = d.model;
        o[QStringLiteral("firmware")] = d.firmware;
        o[QStringLiteral("status")] = d.status;
        o[QStringLiteral("reason")] = d.statusReason;
        o[QStringLiteral("first_seen")] = d.firstSeen.toString(Qt::ISODateWithMs);
        o[QStringLiteral("updated")] = d.updated.toString(Qt::ISODateWithMs);
        o[QStringLiteral("lot")] = d.lot;
        QJsonArray ca;
        for (const auto& c : *certs) {
            QJsonObject co;
            co[QStringLiteral("serial")] = c.serialHex;
            co[QStringLiteral("sha256")] = c.sha256;
            co[QStringLiteral("state")] = c.state;
            co[QStringLiteral("issued_at")] = c.issuedAt.toString(Qt::ISODateWithMs);
            auto verified = core::verifyChain(c.der, *chain);
            co[QStringLiteral("chain_verified")] = verified.has_value();
            if (!verified)
                co[QStringLiteral("chain_problem")] = verified.error().text();
            co[QStringLiteral("pem")] = QString::fromLatin1(core::ossl::derToPem(c.der));
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
            so[QStringLiteral("step")] = s.step;
            so[QStringLiteral("status")] = s.status;
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

    out() << "Device " << d.serial << "  (" << d.model << ", firmware " << d.firmware << ")" << Qt::endl
          << "Status:  " << d.status << (d.statusReason.isEmpty() ? QString() : QStringLiteral(" — ") + d.statusReason)
          << Qt::endl
          << "Updated: " << d.updated.toString(Qt::ISODate) << Qt::endl
          << (d.lot.isEmpty() ? QString() : QStringLiteral("Lot:     ") + d.lot + u'\n') << Qt::endl
          << "Timeline:" << Qt::endl;
    for (const auto& s : *steps)
        out() << "  " << s.at.toString(Qt::ISODateWithMs) << "  job " << s.jobId << "  " << s.station << "/"
              << s.operatorName << "  " << s.step << "  " << s.status
              << (s.detail.isEmpty() ? QString() : QStringLiteral("  ") + s.detail) << Qt::endl;
    for (const auto& c : *certs) {
        auto verified = core::verifyChain(c.der, *chain);
        out() << Qt::endl
              << "Certificate " << c.serialHex << " (" << c.state << ", issued " << c.issuedAt.toString(Qt::ISODate)
              << ")" << Qt::endl
              << "SHA-256 " << c.sha256 << Qt::endl
              << "Chain:  "
              << (verified ? QStringLiteral("verifies to the root in the station's chain")
                           : QStringLiteral("DOES NOT VERIFY: ") + verified.error().text())
              << Qt::endl
              << core::ossl::derToPem(c.der);
    }
    out() << Qt::endl << "Chain:" << Qt::endl;
    for (const auto& c : *chain)
        out() << core::ossl::derToPem(c);
    return 0;
}

QJsonObject certSummary(const QByteArray& der)
{
    QJsonObject o;
    auto cert = core::ossl::certFromDer(der);
    if (!cert)
        return o;
    o[QStringLiteral("subject")] = core::ossl::nameToString(X509_get_subject_name(cert->get()));
    o[QStringLiteral("issuer")] = core::ossl::nameToString(X509_get_issuer_name(cert->get()));
    o[QStringLiteral("serial")] = core::ossl::serialHex(cert->get());
    o[QStringLiteral("not_before")] = core::ossl::timeToIso(X509_get0_notBefore(cert->get()));
    o[QStringLiteral("not_after")] = core::ossl::timeToIso(X509_get0_notAfter(cert->get()));
    o[QStringLiteral("sha256")] = core::ossl::sha256Hex(der);
    return o;
}

int cmdCaShow(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Show the issuing CA: key, its attributes as the token reports them, "
                                               "certificate and chain."));
    p.addHelpOption();
    p.addOption(dataDirOption);
    p.addOption(jsonOption);
    p.process(args);
    core::DataDir dir(core::DataDir::resolve(p.value(dataDirOption)));
    auto config = dir.loadConfig();
    if (!config)
        return report(config.error());
    auto chain = dir.loadChain();
    if (!chain)
        return report(chain.error());
    app::TerminalPinPrompt prompt;
    auto ca = hsm::openCaKey(*config, &prompt);
    if (!ca)
        return report(ca.error());
    auto attrs = ca->service->token().keyAttributes(ca->keyUri.object);
    if (!attrs)
        return report(attrs.error());
    auto signer = ca->signer();
    if (!signer)
        return report(signer.error());
    auto pub = core::ossl::publicKeyFromDer((*signer)->publicKey());
    if (!pub)
        return report(pub.error());

    QJsonObject key;
    key[QStringLiteral("uri")] = config->keyUri;
    key[QStringLiteral("module")] = config->modulePath;
    key[QStringLiteral("algorithm")] = core::CsrCheck::describeKey(pub->get());
    QJsonObject a;
    a[QStringLiteral("sensitive")] = attrs->sensitive;
    a[QStringLiteral("extractable")] = attrs->extractable;
    a[QStringLiteral("always_sensitive")] = attrs->alwaysSensitive;
    a[QStringLiteral("never_extractable")] = attrs->neverExtractable;
    a[QStringLiteral("private")] = attrs->isPrivate;
    key[QStringLiteral("attributes")] = a;
    QJsonObject o;
    o[QStringLiteral("key")] = key;
    o[QStringLiteral("certificate")] = certSummary(chain->first());
    o[QStringLiteral("key_matches_certificate")]
        = core::ossl::publicKeyDer(X509_get0_pubkey(core::ossl::certFromDer(chain->first())->get()))
        == (*signer)->publicKey();
    QJsonArray issuers;
    for (qsizetype i = 1; i < chain->size(); ++i)
        issuers.append(certSummary(chain->at(i)));
    o[QStringLiteral("chain")] = issuers;

    if (p.isSet(jsonOption)) {
        out() << QJsonDocument(o).toJson(QJsonDocument::Indented);
        return 0;
    }
    auto yesNo = [](bool b) { return b ? QStringLiteral("yes") : QStringLiteral("no"); };
    const QJsonObject c = o[QStringLiteral("certificate")].toObject();
    out() << "Issuing CA key" << Qt::endl
          << "  URI:               " << config->keyUri << Qt::endl
          << "  module:            " << config->modulePath << Qt::endl
          << "  algorithm:         " << key[QStringLiteral("algorithm")].toString() << Qt::endl
          << "  sensitive:         " << yesNo(attrs->sensitive) << Qt::endl
          << "  extractable:       " << yesNo(attrs->extractable) << Qt::endl
          << "  always sensitive:  " << yesNo(attrs->alwaysSensitive) << Qt::endl
          << "  never extractable: " << yesNo(attrs->neverExtractable) << Qt::endl
          << "Certificate" << Qt::endl
          << "  subject:  " << c[QStringLiteral("subject")].toString() << Qt::endl
          << "  issuer:   " << c[QStringLiteral("issuer")].toString() << Qt::endl
          << "  valid:    " << c[QStringLiteral("not_before")].toString() << " to "
          << c[QStringLiteral("not_after")].toString() << Qt::endl
          << "  SHA-256:  " << c[QStringLiteral("sha256")].toString() << Qt::endl
          << "  matches the token key: " << yesNo(o[QStringLiteral("key_matches_certificate")].toBool()) << Qt::endl;
    for (const auto& i : issuers)
        out() << "Issued by " << i.toObject()[QStringLiteral("subject")].toString() << "  SHA-256 "
              << i.toObject()[QStringLiteral("sha256")].toString() << Qt::endl;
    return 0;
}

/// Records an administrator's act (setting change, export) in the audit log and seals it
/// with a checkpoint signed by the audit key in the token.
core::Result<void> auditAct(const core::DataDir& dir, const core::StationConfig& config, hsm::CaKey& ca,
    const QString& kind, const QString& subject, const QString& detail)
{
    auto store = core::RecordStore::open(dir.database());
    if (!store)
        return std::unexpected(store.error());
    if (auto r
        = store->audit(kind, subject, detail, config.stationName, qEnvironmentVariable("USER", QStringLiteral("cli")));
        !r)
        return r;
    auto signer = hsm::openAuditKey(ca);
    if (!signer)
        return std::unexpected(signer.error());
    return core::sealAuditLog(*store, **signer);
}

/// The station's CA key, unlocked, for the ceremony commands.
core::Result<hsm::CaKey> openCeremonyKey(const core::DataDir& dir, core::StationConfig* config)
{
    auto loaded = dir.loadConfig();
    if (!loaded)
        return std::unexpected(loaded.error());
    *config = *loaded;
    app::TerminalPinPrompt prompt;
    return hsm::openCaKey(*config, &prompt);
}

int cmdCaKeygen(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Generate a new issuing CA key inside the token (sensitive, private, "
                                               "never extractable, sign-only); the settings then name it."));
    p.addHelpOption();
    p.addOption(dataDirOption);
    QCommandLineOption type(QStringLiteral("type"), QStringLiteral("ec-p256 (default), ec-p384 or rsa-3072."),
        QStringLiteral("TYPE"), QStringLiteral("ec-p256"));
    QCommandLineOption label(
        QStringLiteral("label"), QStringLiteral("Label of the new key (must be unused)."), QStringLiteral("LABEL"));
    p.addOptions({ type, label });
    p.process(args);
    const QString t = p.value(type).toLower();
    hsm::KeyType keyType = hsm::KeyType::EcP256;
    if (t == QLatin1String("ec-p384"))
        keyType = hsm::KeyType::EcP384;
    else if (t == QLatin1String("rsa-3072"))
        keyType = hsm::KeyType::Rsa3072;
    else if (t != QLatin1String("ec-p256")) {
        err() << "imprintctl ca keygen: --type is ec-p256, ec-p384 or rsa-3072" << Qt::endl;
        return 2;
    }
    if (!p.isSet(label)) {
        err() << "imprintctl ca keygen: give --label for the new key (e.g. issuing-ca-2027)" << Qt::endl;
        return 2;
    }
    core::DataDir dir(core::DataDir::resolve(p.value(dataDirOption)));
    core::StationConfig config;
    auto ca = openCeremonyKey(dir, &config);
    if (!ca)
        return report(ca.error());
    auto spki = hsm::generateCaKey(dir, *ca, p.value(label), keyType);
    if (!spki)
        return report(spki.error());
    if (auto r = auditAct(dir, config, *ca, QStringLiteral("setting"), QStringLiteral("ca-key"),
            QStringLiteral("new %1 CA key \"%2\", public key sha256 %3")
                .arg(t, p.value(label), core::ossl::sha256Hex(*spki)));
        !r)
        return report(r.error());
    out() << "Generated " << t << " key \"" << p.value(label) << "\" inside token \"" << ca->keyUri.token << "\""
          << Qt::endl
          << "  URI:            " << ca->keyUri.toString() << Qt::endl
          << "  public key SHA-256: " << core::ossl::sha256Hex(*spki) << Qt::endl
          << "The station signs nothing with it until its certificate is imported:" << Qt::endl
          << "  imprintctl ca csr --subject \"/O=.../CN=...\" --out ca.csr   (to the upstream root)" << Qt::endl
          << "  imprintctl ca import --cert ca.pem --chain root.pem" << Qt::endl;
    return 0;
}

int cmdCaCsr(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Write a certificate request for the CA key, signed inside the token, "
                                               "for the upstream root."));
    p.addHelpOption();
    p.addOption(dataDirOption);
    QCommandLineOption subject(QStringLiteral("subject"),
        QStringLiteral("Subject, e.g. \"/O=Acme/OU=Plant 2/CN=Acme Line 3 Issuing CA\"."), QStringLiteral("NAME"));
    QCommandLineOption outFile(
        QStringLiteral("out"), QStringLiteral("Where to write the request (PEM)."), QStringLiteral("FILE"));
    p.addOptions({ subject, outFile });
    p.process(args);
    if (!p.isSet(subject) || !p.isSet(outFile)) {
        err() << "imprintctl ca csr: give --subject NAME and --out FILE" << Qt::endl;
        return 2;
    }
    auto name = core::parseName(p.value(subject));
    if (!name)
        return report(name.error());
    core::DataDir dir(core::DataDir::resolve(p.value(dataDirOption)));
    core::StationConfig config;
    auto ca = openCeremonyKey(dir, &config);
    if (!ca)
        return report(ca.error());
    auto request = hsm::makeCaRequest(*ca, *name);
    if (!request)
        return report(request.error());
    QByteArray wrapped;
    const QByteArray b64 = request->toBase64();
    for (qsizetype i = 0; i < b64.size(); i += 64)
        wrapped += b64.mid(i, 64) + '\n';
    if (auto r = writeOutput(p.value(outFile),
            "-----BEGIN CERTIFICATE REQUEST-----\n" + wrapped + "-----END CERTIFICATE REQUEST-----\n");
        !r)
        return report(r.error());
    err() << "Wrote the CA certificate request to " << p.value(outFile) << "; have the upstream root sign it, then "
          << "run \"imprintctl ca import --cert FILE --chain FILE\"." << Qt::endl;
    return 0;
}

int cmdCaImport(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Install the issuing CA certificate and its chain. Accepted only if "
                                               "the certificate is for the token key, is a CA, and verifies to a "
                                               "root; otherwise nothing changes."));
    p.addHelpOption();
    p.addOption(dataDirOption);
    QCommandLineOption cert(
        QStringLiteral("cert"), QStringLiteral("The CA certificate (PEM or DER)."), QStringLiteral("FILE"));
    QCommandLineOption chain(QStringLiteral("chain"),
        QStringLiteral("Its issuers up to and including the root (PEM, one or more)."), QStringLiteral("FILE"));
    p.addOptions({ cert, chain });
    p.process(args);
    if (!p.isSet(cert)) {
        err() << "imprintctl ca import: give --cert FILE [--chain FILE]" << Qt::endl;
        return 2;
    }
    auto certBytes = readInput(p.value(cert));
    if (!certBytes)
        return report(certBytes.error());
    auto certs = core::ossl::certsDerFromPem(*certBytes);
    const QByteArray caDer = certs && !certs->isEmpty() ? certs->first() : *certBytes;
    QList<QByteArray> others;
    if (certs && certs->size() > 1)
        others = certs->mid(1);
    if (p.isSet(chain)) {
        auto chainBytes = readInput(p.value(chain));
        if (!chainBytes)
            return report(chainBytes.error());
        auto chainCerts = core::ossl::certsDerFromPem(*chainBytes);
        if (!chainCerts || chainCerts->isEmpty())
            return report(core::Error { core::ErrorCode::BadInput,
                QStringLiteral("%1 holds no PEM certificate; nothing was changed.").arg(p.value(chain)), {}, {} });
        others += *chainCerts;
    }
    core::DataDir dir(core::DataDir::resolve(p.value(dataDirOption)));
    core::StationConfig config;
    auto ca = openCeremonyKey(dir, &config);
    if (!ca)
        return report(ca.error());
    auto imported = hsm::importCaCertificate(dir, *ca, caDer, others);
    if (!imported)
        return report(imported.error());
    if (auto r = auditAct(dir, config, *ca, QStringLiteral("setting"), QStringLiteral("ca-certificate"),
            QStringLiteral("imported CA certificate sha256 %1, chain of %2")
                .arg(core::ossl::sha256Hex(imported->first()))
                .arg(imported->size()));
        !r)
        return report(r.error());
    out() << "Imported the issuing CA certificate:" << Qt::endl;
    for (const QByteArray& der : *imported) {
        auto c = core::ossl::certFromDer(der);
        out() << "  " << core::ossl::nameToString(X509_get_subject_name(c->get())) << "  SHA-256 "
              << core::ossl::sha256Hex(der) << Qt::endl;
    }
    out() << "Chain written to " << dir.chainFile() << Qt::endl;
    return 0;
}

int cmdCa(QStringList args)
{
    const QString sub = args.size() >= 2 ? args[1] : QString();
    using Command = int (*)(const QStringList&);
    const QList<QPair<QString, Command>> commands { { QStringLiteral("show"), cmdCaShow },
        { QStringLiteral("keygen"), cmdCaKeygen }, { QStringLiteral("csr"), cmdCaCsr },
        { QStringLiteral("import"), cmdCaImport } };
    for (const auto& [name, command] : commands) {
        if (name == sub) {
            args.removeAt(1);
            args[0] = QStringLiteral("imprintctl ca ") + name;
            return command(args);
        }
    }
    err() << "usage: imprintctl ca show [--json]\n"
             "       imprintctl ca keygen --label LABEL [--type ec-p256|ec-p384|rsa-3072]\n"
             "       imprintctl ca csr --subject \"/O=.../CN=...\" --out FILE\n"
             "       imprintctl ca import --cert FILE [--chain FILE]\n"
             "(each takes --data-dir DIR and --help)"
          << Qt::endl;
    return 2;
}

/// DER from a PEM or DER request file; the DER itself is checked strictly later.
QByteArray csrDer(const QByteArray& contents)
{
    const qsizetype begin = contents.indexOf("-----BEGIN ");
    if (begin < 0)
        return contents;
    const qsizetype bodyStart = contents.indexOf('\n', begin);
    const qsizetype end = contents.indexOf("-----END ", bodyStart);
    if (bodyStart < 0 || end < 0)
        return {};
    return QByteArray::fromBase64(contents.mid(bodyStart + 1, end - bodyStart - 1).simplified().replace(' ', ""));
}

int cmdIssue(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Check a certificate request file and issue a certificate for it."));
    p.addHelpOption();
    p.addOption(dataDirOption);
    QCommandLineOption csr(QStringLiteral("csr"), QStringLiteral("The request (PEM or DER)."), QStringLiteral("FILE"));
    QCommandLineOption serial(
        QStringLiteral("device-serial"), QStringLiteral("The device the request is for."), QStringLiteral("SN"));
    QCommandLineOption outFile(QStringLiteral("out"),
        QStringLiteral("Write the certificate (PEM) here; default stdout."), QStringLiteral("FILE"));
    QCommandLineOption op(QStringLiteral("operator"), QStringLiteral("Operator recorded with the issuance."),
        QStringLiteral("NAME"), qEnvironmentVariable("USER", QStringLiteral("cli")));
    p.addOptions({ csr, serial, outFile, op, profileOption });
    p.process(args);
    if (!p.isSet(csr) || !p.isSet(serial)) {
        err() << "imprintctl issue: give --csr FILE and --device-serial SN" << Qt::endl;
        return 2;
    }
    QFile f(p.value(csr));
    if (!f.open(QIODevice::ReadOnly))
        return report(core::Error {
            core::ErrorCode::BadInput, QStringLiteral("Cannot read %1.").arg(p.value(csr)), f.errorString(), {} });
    const QByteArray der = csrDer(f.read(1024 * 1024));

    app::TerminalPinPrompt prompt;
    auto ctx = app::openStation(p.value(dataDirOption), &prompt, p.value(profileOption));
    if (!ctx)
        return report(ctx.error());
    auto registrar = ctx->registrarFactory()();
    if (!registrar)
        return report(registrar.error());
    core::DeviceIdentity device;
    device.serial = p.value(serial);
    device.state = QStringLiteral("offline");
    auto job = (*registrar)->beginJob(device, QStringLiteral("file:") + p.value(csr), p.value(op));
    if (!job)
        return report(job.error());
    auto issued = (*registrar)->issue(job->jobId, device, der);
    if (!issued) {
        (void)(*registrar)
            ->finishJob(job->jobId, device.serial, core::JobOutcome::Failed,
                issued.error().reason + QStringLiteral(": ") + issued.error().message);
        (void)(*registrar)->sealAudit();
        report(issued.error());
        if (!issued.error().reason.isEmpty())
            err() << "  code: " << issued.error().reason << Qt::endl;
        return 1;
    }
    if (auto r = (*registrar)->finishJob(job->jobId, device.serial, core::JobOutcome::Issued, {}); !r)
        return report(r.error());
    if (auto r = (*registrar)->sealAudit(); !r)
        return report(r.error());
    const QByteArray pem = core::ossl::derToPem(issued->certificate.der);
    if (p.isSet(outFile)) {
        QFile o(p.value(outFile));
        if (!o.open(QIODevice::WriteOnly) || o.write(pem) != pem.size())
            return report(core::Error {
                core::ErrorCode::Io, QStringLiteral("Cannot write %1.").arg(p.value(outFile)), o.errorString(), {} });
        err() << "Issued certificate " << issued->certificate.serialHex << " for " << device.serial << " to "
              << p.value(outFile) << Qt::endl;
    } else {
        out() << pem;
    }
    return 0;
}

/// Opens the records of an initialised data directory for reading or writing.
core::Result<core::RecordStore> openRecords(
    const QString& dataDir, bool readOnly, core::StationConfig* config = nullptr)
{
    core::DataDir dir(core::DataDir::resolve(dataDir));
    auto loaded = dir.loadConfig();
    if (!loaded)
        return std::unexpected(loaded.error());
    if (config)
        *config = *loaded;
    return core::RecordStore::open(dir.database(), readOnly);
}

QDateTime parseWhen(const QString& text)
{
    QDateTime t = QDateTime::fromString(text, Qt::ISODate);
    if (!t.isValid())
        t = QDate::fromString(text, Qt::ISODate).startOfDay();
    return t;
}

int cmdList(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(
        QStringLiteral("List devices, newest first, a page at a time; or count them by status."));
    p.addHelpOption();
    p.addOption(dataDirOption);
    p.addOption(jsonOption);
    QCommandLineOption status(QStringLiteral("status"),
        QStringLiteral("Only devices in this state: in-progress, passed, failed, issued, scrapped."),
        QStringLiteral("STATUS"));
    QCommandLineOption since(QStringLiteral("since"), QStringLiteral("Updated at or after (2026-11-22 or ISO time)."),
        QStringLiteral("WHEN"));
    QCommandLineOption until(QStringLiteral("until"), QStringLiteral("Updated before."), QStringLiteral("WHEN"));
    QCommandLineOption limit(QStringLiteral("limit"), QStringLiteral("Rows per page (default 50)."),
        QStringLiteral("N"), QStringLiteral("50"));
    QCommandLineOption before(QStringLiteral("before"),
        QStringLiteral("Next page: the serial of the last row of the previous page."), QStringLiteral("SN"));
    QCommandLineOption counts(QStringLiteral("counts"),
        QStringLiteral("Count devices per status instead (a shift: --since/--until; default today)."));
    QCommandLineOption lot(QStringLiteral("lot"), QStringLiteral("Only devices of this lot."), QStringLiteral("LOT"));
    p.addOptions({ status, since, until, limit, before, counts, lot });
    p.process(args);
    for (const auto* o : { &since, &until }) {
        if (p.isSet(*o) && !parseWhen(p.value(*o)).isValid()) {
            err() << "imprintctl list: " << p.value(*o) << " is not a date or time (2026-11-22, 2026-11-22T06:00)"
                  << Qt::endl;
            return 2;
        }
    }
    auto store = openRecords(p.value(dataDirOption), true);
    if (!store)
        return report(store.error());
    if (p.isSet(counts)) {
        const QDateTime from = p.isSet(since) ? parseWhen(p.value(since)) : QDate::currentDate().startOfDay();
        const QDateTime to = p.isSet(until) ? parseWhen(p.value(until)) : from.addDays(1);
        auto c = store->statusCounts(from, to);
        if (!c)
            return report(c.error());
        QJsonObject o;
        for (const auto& [s, n] : *c)
            o[s] = n;
        if (p.isSet(jsonOption)) {
            out() << QJsonDocument(o).toJson(QJsonDocument::Compact) << Qt::endl;
        } else {
            out() << "From " << from.toString(Qt::ISODate) << " to " << to.toString(Qt::ISODate) << Qt::endl;
            for (const auto& [s, n] : *c)
                out() << "  " << s << ": " << n << Qt::endl;
        }
        return 0;
    }
    core::DeviceQuery q;
    q.lot = p.value(lot);
    q.status = p.value(status);
    q.since = p.isSet(since) ? parseWhen(p.value(since)) : QDateTime();
    q.until = p.isSet(until) ? parseWhen(p.value(until)) : QDateTime();
    q.before = p.value(before);
    q.limit = std::clamp(p.value(limit).toInt(), 1, 10000);
    auto rows = store->devices(q);
    if (!rows)
        return report(rows.error());
    if (p.isSet(jsonOption)) {
        QJsonArray a;
        for (const auto& d : *rows)
            a.append(QJsonObject { { QStringLiteral("serial"), d.serial }, { QStringLiteral("model"), d.model },
                { QStringLiteral("status"), d.status }, { QStringLiteral("reason"), d.statusReason },
                { QStringLiteral("updated"), d.updated.toString(Qt::ISODateWithMs) } });
        out() << QJsonDocument(a).toJson(QJsonDocument::Compact) << Qt::endl;
        return 0;
    }
    for (const auto& d : *rows)
        out() << d.updated.toString(Qt::ISODate) << "  " << d.status.leftJustified(11) << "  " << d.serial
              << (d.statusReason.isEmpty() ? QString() : QStringLiteral("  ") + d.statusReason) << Qt::endl;
    if (rows->size() == q.limit)
        out() << "(more: --before " << rows->last().serial << ")" << Qt::endl;
    return 0;
}

int cmdScrap(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Take a device out of production, with the reason on its record."));
    p.addHelpOption();
    p.addOption(dataDirOption);
    QCommandLineOption serial(QStringLiteral("device-serial"), QStringLiteral("The device."), QStringLiteral("SN"));
    QCommandLineOption reason(QStringLiteral("reason"), QStringLiteral("Why, in words."), QStringLiteral("TEXT"));
    QCommandLineOption op(QStringLiteral("operator"), QStringLiteral("Who scraps it."), QStringLiteral("NAME"),
        qEnvironmentVariable("USER", QStringLiteral("cli")));
    p.addOptions({ serial, reason, op });
    p.process(args);
    if (!p.isSet(serial) || p.value(reason).trimmed().isEmpty()) {
        err() << "imprintctl scrap: give --device-serial SN and --reason TEXT" << Qt::endl;
        return 2;
    }
    core::StationConfig config;
    auto store = openRecords(p.value(dataDirOption), false, &config);
    if (!store)
        return report(store.error());
    if (auto r = store->scrap(p.value(serial), p.value(reason).trimmed(), config.stationName, p.value(op)); !r)
        return report(r.error());
    out() << "Device " << p.value(serial) << " is scrapped: " << p.value(reason).trimmed() << Qt::endl;
    return 0;
}

int cmdAudit(QStringList args)
{
    const QString sub = args.size() >= 2 ? args[1] : QString();
    if (sub != QLatin1String("verify") && sub != QLatin1String("show")) {
        err() << "usage: imprintctl audit verify | imprintctl audit show [--after SEQ] [--limit N] [--json]"
              << Qt::endl;
        return 2;
    }
    args.removeAt(1);
    args[0] = QStringLiteral("imprintctl audit ") + sub;
    QCommandLineParser p;
    p.setApplicationDescription(sub == QLatin1String("verify")
            ? QStringLiteral("Check the audit log's hash chain and the certificates it covers; name the first "
                             "edited, missing or reordered entry. Exit 0 only if intact.")
            : QStringLiteral("List audit log entries, oldest first, a page at a time."));
    p.addHelpOption();
    p.addOption(dataDirOption);
    p.addOption(jsonOption);
    QCommandLineOption after(
        QStringLiteral("after"), QStringLiteral("Start after this entry."), QStringLiteral("SEQ"), QStringLiteral("0"));
    QCommandLineOption limit(QStringLiteral("limit"), QStringLiteral("Entries per page (default 100)."),
        QStringLiteral("N"), QStringLiteral("100"));
    if (sub == QLatin1String("show"))
        p.addOptions({ after, limit });
    p.process(args);
    core::StationConfig config;
    auto store = openRecords(p.value(dataDirOption), true, &config);
    if (!store)
        return report(store.error());
    if (sub == QLatin1String("verify")) {
        // Checkpoint signatures are checked with the audit key's public half, read from the
        // token (no PIN needed).
        core::CheckpointVerifier verifier;
        QString keyProblem;
        if (auto spki = hsm::readAuditPublicKey(config); !spki) {
            keyProblem = spki.error().message;
        } else if (auto key = core::ossl::publicKeyFromDer(*spki); !key) {
            keyProblem = key.error().message;
        } else {
            verifier
                = [key = std::make_shared<core::ossl::PKey>(std::move(*key))](const QByteArray& message,
                      const QByteArray& signature) { return core::ossl::verifySha256(key->get(), message, signature); };
        }
        auto v = store->verifyAudit(verifier);
        if (!v)
            return report(v.error());
        if (p.isSet(jsonOption)) {
            out() << QJsonDocument(
                QJsonObject { { QStringLiteral("entries"), static_cast<double>(v->entries) },
                    { QStringLiteral("intact"), v->problem.isEmpty() }, { QStringLiteral("problem"), v->problem },
                    { QStringLiteral("first_bad_entry"), static_cast<double>(v->firstBadEntry) },
                    { QStringLiteral("checkpoints"), static_cast<double>(v->checkpoints) },
                    { QStringLiteral("last_checkpoint"), static_cast<double>(v->lastCheckpoint) },
                    { QStringLiteral("signatures_checked"), v->signaturesChecked } })
                         .toJson(QJsonDocument::Compact)
                  << Qt::endl;
        } else if (v->problem.isEmpty()) {
            out() << "The audit log is intact: " << v->entries << " entries, and every certificate they name."
                  << Qt::endl
                  << v->checkpoints << " checkpoints"
                  << (v->signaturesChecked ? QStringLiteral(" signed by the audit key in the token")
                                           : QStringLiteral(" (signatures NOT checked: ") + keyProblem + u')')
                  << "; the newest vouches for entries 1-" << v->lastCheckpoint << "." << Qt::endl;
            if (v->entries > v->lastCheckpoint)
                out() << "Entries " << v->lastCheckpoint + 1 << "-" << v->entries
                      << " are chained but not yet under a checkpoint (the station seals them every N entries and "
                         "when it stops)."
                      << Qt::endl;
        } else {
            out() << "TAMPERED: " << v->problem << Qt::endl;
        }
        return v->problem.isEmpty() ? 0 : 1;
    }
    auto entries = store->auditEntries(p.value(after).toLongLong(), p.value(limit).toInt());
    if (!entries)
        return report(entries.error());
    QJsonArray a;
    for (const auto& e : *entries) {
        if (p.isSet(jsonOption)) {
            a.append(QJsonObject { { QStringLiteral("seq"), static_cast<double>(e.seq) },
                { QStringLiteral("at"), e.at }, { QStringLiteral("station"), e.station },
                { QStringLiteral("operator"), e.operatorName }, { QStringLiteral("kind"), e.kind },
                { QStringLiteral("subject"), e.subject }, { QStringLiteral("detail"), e.detail } });
        } else {
            out() << e.seq << "  " << e.at << "  " << e.kind.leftJustified(10) << "  " << e.subject << "  " << e.station
                  << "/" << e.operatorName << (e.detail.isEmpty() ? QString() : QStringLiteral("  ") + e.detail)
                  << Qt::endl;
        }
    }
    if (p.isSet(jsonOption))
        out() << QJsonDocument(a).toJson(QJsonDocument::Compact) << Qt::endl;
    return 0;
}

int cmdSignBatch(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Check and issue a folder of certificate requests (*.csr, *.pem, *.der), one device each, named by the "
        "request's serialNumber. Good ones are issued and recorded; refused ones are listed with their reasons. "
        "Exit 0 when all were issued, 1 when some were refused."));
    p.addHelpOption();
    p.addOption(dataDirOption);
    QCommandLineOption in(QStringLiteral("in"), QStringLiteral("Folder of requests."), QStringLiteral("DIR"));
    QCommandLineOption outFile(QStringLiteral("out"),
        QStringLiteral("The PKCS#7 bundle of the issued certificates and the CA chain (DER, .p7b)."),
        QStringLiteral("FILE"));
    QCommandLineOption reportFile(QStringLiteral("report"),
        QStringLiteral("Also write a JSON report: every request, issued or refused and why."), QStringLiteral("FILE"));
    QCommandLineOption threads(QStringLiteral("threads"), QStringLiteral("Worker threads (default: one per core)."),
        QStringLiteral("N"), QString::number(QThread::idealThreadCount()));
    QCommandLineOption op(QStringLiteral("operator"), QStringLiteral("Operator recorded with the issuance."),
        QStringLiteral("NAME"), qEnvironmentVariable("USER", QStringLiteral("cli")));
    p.addOptions({ in, outFile, reportFile, threads, op, profileOption });
    p.process(args);
    if (!p.isSet(in) || !p.isSet(outFile)) {
        err() << "imprintctl sign-batch: give --in DIR and --out FILE.p7b" << Qt::endl;
        return 2;
    }
    const QDir folder(p.value(in));
    if (!folder.exists())
        return report(core::Error {
            core::ErrorCode::BadInput, QStringLiteral("There is no folder %1.").arg(p.value(in)), {}, {} });
    const QStringList names = folder.entryList(
        { QStringLiteral("*.csr"), QStringLiteral("*.pem"), QStringLiteral("*.der"), QStringLiteral("*.req") },
        QDir::Files, QDir::Name);

    QElapsedTimer timer;
    timer.start();
    QList<core::BatchRequest> requests;
    requests.reserve(names.size());
    for (const QString& name : names) {
        // Oversized files are read only as far as the check needs to refuse them.
        QFile f(folder.filePath(name));
        const QByteArray contents = f.open(QIODevice::ReadOnly) ? f.read(1024 * 1024) : QByteArray();
        requests.append({ name, csrDer(contents) });
    }

    app::TerminalPinPrompt prompt;
    auto ctx = app::openStation(p.value(dataDirOption), &prompt, p.value(profileOption));
    if (!ctx)
        return report(ctx.error());
    auto store = core::RecordStore::open(ctx->dir.database());
    if (!store)
        return report(store.error());
    auto ca = core::IssuingCa::create(ctx->caSigner, ctx->chain);
    if (!ca)
        return report(ca.error());
    auto prepared = ca->prepare(ctx->profile);
    if (!prepared)
        return report(prepared.error());

    core::BatchIssue batch(*ca, *prepared, *store);
    const int workers = std::clamp(p.value(threads).toInt(), 1, 64);
    auto outcomes = batch.run(requests, workers, ctx->config.stationName, p.value(op),
        [](const QString& phase, qsizetype done, qsizetype total) {
            err() << "  " << phase << " " << done << "/" << total << Qt::endl;
        });
    if (!outcomes) {
        report(outcomes.error());
        err() << "Nothing was recorded and no bundle was written." << Qt::endl;
        return 1;
    }
    const double seconds = static_cast<double>(timer.nsecsElapsed()) / 1e9;

    QList<QByteArray> issuedDers;
    QJsonArray issued, refused;
    for (const core::BatchOutcome& o : *outcomes) {
        if (o.issued()) {
            issuedDers << o.certificate.der;
            issued.append(
                QJsonObject { { QStringLiteral("file"), o.source }, { QStringLiteral("serial"), o.deviceSerial },
                    { QStringLiteral("certificate_serial"), o.certificate.serialHex },
                    { QStringLiteral("sha256"), o.certificate.sha256 } });
        } else {
            refused.append(
                QJsonObject { { QStringLiteral("file"), o.source }, { QStringLiteral("serial"), o.deviceSerial },
                    { QStringLiteral("code"), o.code }, { QStringLiteral("reason"), o.reason } });
        }
    }
    // Already durable in the store; the bundle is the copy that leaves.
    const QByteArray bundle = core::der::certificateBundle(issuedDers + ctx->chain);
    if (auto r = writeOutput(p.value(outFile), bundle); !r)
        return report(r.error());
    if (auto r = store->audit(QStringLiteral("exported"), QFileInfo(p.value(outFile)).fileName(),
            QStringLiteral("%1 certificates, bundle sha256 %2").arg(issued.size()).arg(core::ossl::sha256Hex(bundle)),
            ctx->config.stationName, p.value(op));
        !r)
        return report(r.error());
    if (auto r = core::sealAuditLog(*store, *ctx->auditSigner); !r)
        return report(r.error());
    if (p.isSet(reportFile)) {
        QJsonObject o { { QStringLiteral("requests"), static_cast<int>(outcomes->size()) },
            { QStringLiteral("issued"), static_cast<int>(issued.size()) },
            { QStringLiteral("refused"), static_cast<int>(refused.size()) },
            { QStringLiteral("profile"), ctx->profile.name }, { QStringLiteral("bundle"), p.value(outFile) },
            { QStringLiteral("seconds"), seconds }, { QStringLiteral("certificates"), issued },
            { QStringLiteral("refusals"), refused } };
        if (auto r = writeOutput(p.value(reportFile), QJsonDocument(o).toJson(QJsonDocument::Indented)); !r)
            return report(r.error());
    }
    out() << "Requests: " << outcomes->size() << "  issued: " << issued.size() << "  refused: " << refused.size()
          << "  in " << QString::number(seconds, 'f', 2) << " s with " << workers << " threads" << Qt::endl;
    for (const auto& r : refused) {
        const QJsonObject o = r.toObject();
        out() << "  REFUSED  " << o[QStringLiteral("file")].toString() << "  " << o[QStringLiteral("code")].toString()
              << "  " << o[QStringLiteral("reason")].toString() << Qt::endl;
    }
    out() << "Bundle: " << p.value(outFile) << " (" << issued.size() << " certificates and the CA chain)" << Qt::endl;
    return refused.isEmpty() ? 0 : 1;
}

int cmdJobs(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "List the jobs that never finished: the station stopped (crash, power cut) while the device was on it, or "
        "a station is working on it now. Each device continues where it was when it is back on a slot."));
    p.addHelpOption();
    p.addOption(dataDirOption);
    p.addOption(jsonOption);
    p.process(args);
    auto store = openRecords(p.value(dataDirOption), true);
    if (!store)
        return report(store.error());
    auto jobs = store->unfinishedJobs();
    if (!jobs)
        return report(jobs.error());
    if (p.isSet(jsonOption)) {
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
}

int cmdLot(QStringList args)
{
    const QString sub = args.size() >= 2 ? args[1] : QString();
    if (sub != QLatin1String("create") && sub != QLatin1String("show") && sub != QLatin1String("list")) {
        err() << "usage: imprintctl lot create --id LOT --expected N [--profile NAME] [--note TEXT]\n"
                 "       imprintctl lot show --id LOT [--json]\n"
                 "       imprintctl lot list [--json]"
              << Qt::endl;
        return 2;
    }
    args.removeAt(1);
    args[0] = QStringLiteral("imprintctl lot ") + sub;
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Lots (work orders): what the line makes, with which profile, how "
                                               "many; provision --lot LOT records each device in it."));
    p.addHelpOption();
    p.addOption(dataDirOption);
    p.addOption(jsonOption);
    QCommandLineOption id(
        QStringLiteral("id"), QStringLiteral("The lot's name, e.g. WO-2026-1142."), QStringLiteral("LOT"));
    QCommandLineOption expected(
        QStringLiteral("expected"), QStringLiteral("How many devices the lot holds."), QStringLiteral("N"));
    QCommandLineOption note(
        QStringLiteral("note"), QStringLiteral("Free text (customer, product)."), QStringLiteral("TEXT"));
    QCommandLineOption op(QStringLiteral("operator"), QStringLiteral("Who creates it."), QStringLiteral("NAME"),
        qEnvironmentVariable("USER", QStringLiteral("cli")));
    p.addOptions({ id, expected, note, op, profileOption });
    p.process(args);
    core::StationConfig config;
    auto store = openRecords(p.value(dataDirOption), sub != QLatin1String("create"), &config);
    if (!store)
        return report(store.error());
    if (sub == QLatin1String("list")) {
        auto lots = store->lots();
        if (!lots)
            return report(lots.error());
        QJsonArray a;
        for (const auto& l : *lots) {
            if (p.isSet(jsonOption))
                a.append(QJsonObject { { QStringLiteral("id"), l.id }, { QStringLiteral("profile"), l.profile },
                    { QStringLiteral("expected"), l.expected }, { QStringLiteral("note"), l.note },
                    { QStringLiteral("created"), l.created.toString(Qt::ISODateWithMs) } });
            else
                out() << l.id << "  profile " << l.profile << "  " << l.expected << " devices  created "
                      << l.created.toString(Qt::ISODate)
                      << (l.note.isEmpty() ? QString() : QStringLiteral("  ") + l.note) << Qt::endl;
        }
        if (p.isSet(jsonOption))
            out() << QJsonDocument(a).toJson(QJsonDocument::Compact) << Qt::endl;
        return 0;
    }
    if (!p.isSet(id) || p.value(id).trimmed().isEmpty()) {
        err() << "imprintctl lot " << sub << ": give --id LOT" << Qt::endl;
        return 2;
    }
    if (sub == QLatin1String("create")) {
        bool ok = false;
        const int n = p.value(expected).toInt(&ok);
        if (!ok || n < 1) {
            err() << "imprintctl lot create: give --expected N (a positive number of devices)" << Qt::endl;
            return 2;
        }
        core::DataDir dir(core::DataDir::resolve(p.value(dataDirOption)));
        auto profile = core::CertificateProfile::load(p.value(profileOption), dir.profileDir());
        if (!profile)
            return report(profile.error());
        core::Lot l { p.value(id).trimmed(), p.value(profileOption), n, p.value(note), {}, config.stationName,
            p.value(op) };
        if (auto r = store->createLot(l); !r)
            return report(r.error());
        out() << "Lot " << l.id << " created: " << n << " devices, profile " << l.profile << Qt::endl;
        return 0;
    }
    auto lot = store->lot(p.value(id).trimmed());
    if (!lot)
        return report(lot.error());
    if (!*lot)
        return report(
            core::Error { core::ErrorCode::NotFound, QStringLiteral("There is no lot %1.").arg(p.value(id)), {}, {} });
    auto counts = store->lotCounts((*lot)->id);
    if (!counts)
        return report(counts.error());
    int passed = 0;
    QJsonObject c;
    for (const auto& [status, n] : *counts) {
        c[status] = n;
        if (status == QLatin1String("passed"))
            passed = n;
    }
    if (p.isSet(jsonOption)) {
        out() << QJsonDocument(
            QJsonObject { { QStringLiteral("id"), (*lot)->id }, { QStringLiteral("profile"), (*lot)->profile },
                { QStringLiteral("expected"), (*lot)->expected }, { QStringLiteral("note"), (*lot)->note },
                { QStringLiteral("counts"), c },
                { QStringLiteral("remaining"), std::max(0, (*lot)->expected - passed) } })
                     .toJson(QJsonDocument::Compact)
              << Qt::endl;
        return 0;
    }
    out() << "Lot " << (*lot)->id << "  profile " << (*lot)->profile << "  created "
          << (*lot)->created.toString(Qt::ISODate) << " by " << (*lot)->operatorName << " at " << (*lot)->station
          << Qt::endl
          << "Passed " << passed << " of " << (*lot)->expected << "; " << std::max(0, (*lot)->expected - passed)
          << " to go" << Qt::endl;
    for (const auto& [status, n] : *counts)
        out() << "  " << status.leftJustified(12) << n << Qt::endl;
    return 0;
}

int cmdOutbox(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(
        QStringLiteral("List the records waiting for the upstream CA (certificates and revocations), oldest first."));
    p.addHelpOption();
    p.addOption(dataDirOption);
    p.addOption(jsonOption);
    QCommandLineOption limit(
        QStringLiteral("limit"), QStringLiteral("Rows (default 50)."), QStringLiteral("N"), QStringLiteral("50"));
    p.addOption(limit);
    p.process(args);
    auto store = openRecords(p.value(dataDirOption), true);
    if (!store)
        return report(store.error());
    auto pending = store->outboxPending();
    auto rows = store->outbox(p.value(limit).toInt());
    if (!pending)
        return report(pending.error());
    if (!rows)
        return report(rows.error());
    if (p.isSet(jsonOption)) {
        QJsonArray a;
        for (const auto& r : *rows)
            a.append(QJsonObject { { QStringLiteral("id"), r.id }, { QStringLiteral("kind"), r.kind },
                { QStringLiteral("subject"), r.subject }, { QStringLiteral("detail"), r.detail },
                { QStringLiteral("created"), r.created.toString(Qt::ISODateWithMs) } });
        out() << QJsonDocument(QJsonObject { { QStringLiteral("pending"), *pending }, { QStringLiteral("rows"), a } })
                     .toJson(QJsonDocument::Compact)
              << Qt::endl;
        return 0;
    }
    out() << *pending << " record(s) waiting for upstream" << Qt::endl;
    for (const auto& r : *rows)
        out() << "  " << r.id << "  " << r.kind.leftJustified(11) << "  " << r.subject
              << (r.detail.isEmpty() ? QString() : QStringLiteral("  ") + r.detail) << Qt::endl;
    return 0;
}

void usage()
{
    err() << "usage: imprintctl COMMAND [options]\n\n"
             "commands:\n"
             "  init        set up a data directory (token, CA key, demo root and CA certificate)\n"
             "  provision   provision the devices on --port PATH [--port PATH ...] [--lot LOT] [--json]\n"
             "  show        show a device's record: --device-serial SN [--json]\n"
             "  list        list devices: [--status S] [--lot LOT] [--since WHEN] [--until WHEN] [--limit N] [--json];"
             " --counts\n"
             "  scrap       take a device out of production: --device-serial SN --reason TEXT\n"
             "  jobs        list jobs that never finished (the station stopped under them) [--json]\n"
             "  lot         lot create --id LOT --expected N [--profile P] | lot show --id LOT | lot list\n"
             "  outbox      list records waiting for the upstream CA [--json]\n"
             "  audit       audit verify (hash chain and certificates) | audit show [--after SEQ] [--json]\n"
             "  issue       issue a certificate from a request file: --csr FILE --device-serial SN [--out FILE]\n"
             "  sign-batch  issue for a folder of requests: --in DIR --out FILE.p7b [--report FILE.json]\n"
             "  bench issue measure issuance against the raw HSM sign rate: [--count N]\n"
             "  ca show     show the issuing CA key (attributes read from the token), certificate and chain\n"
             "  ca keygen   generate a new issuing CA key inside the token: --label LABEL [--type "
             "ec-p256|ec-p384|rsa-3072]\n"
             "  ca csr      write a request for the CA key to the upstream root: --subject NAME --out FILE\n"
             "  ca import   install the CA certificate and chain: --cert FILE [--chain FILE]\n\n"
             "\"imprintctl COMMAND --help\" describes a command.\n";
}

} // namespace

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("imprintctl"));
    QCoreApplication::setApplicationVersion(QStringLiteral(IMPRINT_VERSION));
    QStringList args = QCoreApplication::arguments();
    if (args.size() < 2 || args[1] == QLatin1String("--help") || args[1] == QLatin1String("-h")) {
        usage();
        return args.size() < 2 ? 2 : 0;
    }
    const QString command = args.takeAt(1);
    args[0] = QStringLiteral("imprintctl ") + command;
    if (command == QLatin1String("init"))
        return cmdInit(args);
    if (command == QLatin1String("provision"))
        return cmdProvision(args);
    if (command == QLatin1String("show"))
        return cmdShow(args);
    if (command == QLatin1String("issue"))
        return cmdIssue(args);
    if (command == QLatin1String("ca"))
        return cmdCa(args);
    if (command == QLatin1String("sign-batch"))
        return cmdSignBatch(args);
    if (command == QLatin1String("list"))
        return cmdList(args);
    if (command == QLatin1String("audit"))
        return cmdAudit(args);
    if (command == QLatin1String("scrap"))
        return cmdScrap(args);
    if (command == QLatin1String("jobs"))
        return cmdJobs(args);
    if (command == QLatin1String("lot"))
        return cmdLot(args);
    if (command == QLatin1String("outbox"))
        return cmdOutbox(args);
    if (command == QLatin1String("bench") && args.size() >= 2 && args[1] == QLatin1String("issue")) {
        args.removeAt(1);
        args[0] = QStringLiteral("imprintctl bench issue");
        return app::benchIssue(args);
    }
    err() << "imprintctl: unknown command \"" << command << "\"\n";
    usage();
    return 2;
}
