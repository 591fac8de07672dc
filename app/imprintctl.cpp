// imprintctl: the station's engine, headless, for people at a shell and for a MES.

#include "Bench.h"
#include "SlotReport.h"
#include "StationContext.h"
#include "StationSetup.h"
#include "engine/Registrar.h"
#include "engine/SlotJob.h"
#include "engine/Station.h"
#include "pki/CsrCheck.h"
#include "pki/OpenSsl.h"
#include "store/RecordStore.h"

#include <QFile>

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTextStream>

#include <cstdio>

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
    QCommandLineOption port(
        QStringLiteral("port"), QStringLiteral("Serial port of a device (repeatable)."), QStringLiteral("PATH"));
    QCommandLineOption op(QStringLiteral("operator"), QStringLiteral("Operator recorded with every step."),
        QStringLiteral("NAME"), qEnvironmentVariable("USER", QStringLiteral("cli")));
    p.addOption(port);
    p.addOption(op);
    p.process(args);
    const QStringList ports = p.values(port);
    if (ports.isEmpty()) {
        err() << "imprintctl provision: give at least one --port PATH" << Qt::endl;
        return 2;
    }

    auto ctx = app::openStation(p.value(dataDirOption));
    if (!ctx)
        return report(ctx.error());
    core::Station station(p.value(op));
    if (auto r = station.start(ctx->registrarFactory()); !r)
        return report(r.error());

    const bool json = p.isSet(jsonOption);
    int failed = 0;
    QObject::connect(&station, &core::Station::slotChanged, &station, [&](int index) {
        const core::SlotJob* job = station.slotJobs().at(index);
        if (!job->isFinished())
            return;
        if (job->step() != core::SlotJob::Step::Passed)
            ++failed;
        if (json)
            out() << QJsonDocument(app::slotResultJson(*job)).toJson(QJsonDocument::Compact) << Qt::endl;
        else
            out() << app::slotResultLine(*job) << Qt::endl;
    });
    QObject::connect(&station, &core::Station::finished, qApp, [] { QCoreApplication::exit(0); });
    for (const QString& path : ports)
        station.addSerialSlot(path);
    if (!station.allFinished())
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
        QJsonArray ca;
        for (const auto& c : *certs) {
            QJsonObject co;
            co[QStringLiteral("serial")] = c.serialHex;
            co[QStringLiteral("sha256")] = c.sha256;
            co[QStringLiteral("state")] = c.state;
            co[QStringLiteral("issued_at")] = c.issuedAt.toString(Qt::ISODateWithMs);
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
          << Qt::endl
          << "Steps:" << Qt::endl;
    for (const auto& s : *steps)
        out() << "  " << s.at.toString(Qt::ISODateWithMs) << "  job " << s.jobId << "  " << s.step << "  " << s.status
              << (s.detail.isEmpty() ? QString() : QStringLiteral("  ") + s.detail) << Qt::endl;
    for (const auto& c : *certs) {
        out() << Qt::endl
              << "Certificate " << c.serialHex << " (" << c.state << ", issued " << c.issuedAt.toString(Qt::ISODate)
              << ")" << Qt::endl
              << "SHA-256 " << c.sha256 << Qt::endl
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
    auto ca = hsm::openCaToken(*config);
    if (!ca)
        return report(ca.error());
    auto attrs = ca->token->keyAttributes(ca->keyUri.object);
    if (!attrs)
        return report(attrs.error());
    auto signer = ca->token->signer(ca->keyUri.object);
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

int cmdCa(QStringList args)
{
    if (args.size() < 2 || args[1] != QLatin1String("show")) {
        err() << "usage: imprintctl ca show [--json] [--data-dir DIR]" << Qt::endl;
        return 2;
    }
    args.removeAt(1);
    args[0] = QStringLiteral("imprintctl ca show");
    return cmdCaShow(args);
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
    p.addOptions({ csr, serial, outFile, op });
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

    auto ctx = app::openStation(p.value(dataDirOption));
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
    auto issued = (*registrar)->issue(*job, device, der);
    if (!issued) {
        (void)(*registrar)
            ->finishJob(*job, device.serial, core::JobOutcome::Failed,
                issued.error().reason + QStringLiteral(": ") + issued.error().message);
        report(issued.error());
        if (!issued.error().reason.isEmpty())
            err() << "  code: " << issued.error().reason << Qt::endl;
        return 1;
    }
    if (auto r = (*registrar)->finishJob(*job, device.serial, core::JobOutcome::Issued, {}); !r)
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

void usage()
{
    err() << "usage: imprintctl COMMAND [options]\n\n"
             "commands:\n"
             "  init        set up a data directory (token, CA key, demo root and CA certificate)\n"
             "  provision   provision the devices on --port PATH [--port PATH ...] [--json]\n"
             "  show        show a device's record: --device-serial SN [--json]\n"
             "  issue       issue a certificate from a request file: --csr FILE --device-serial SN [--out FILE]\n"
             "  bench issue measure issuance against the raw HSM sign rate: [--count N]\n"
             "  ca show     show the issuing CA key (attributes read from the token), certificate and chain\n\n"
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
    if (command == QLatin1String("bench") && args.size() >= 2 && args[1] == QLatin1String("issue")) {
        args.removeAt(1);
        args[0] = QStringLiteral("imprintctl bench issue");
        return app::benchIssue(args);
    }
    err() << "imprintctl: unknown command \"" << command << "\"\n";
    usage();
    return 2;
}
