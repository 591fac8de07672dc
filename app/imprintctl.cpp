// imprintctl: the station's engine, headless, for people at a shell and for a MES.

#include "SlotReport.h"
#include "StationContext.h"
#include "StationSetup.h"
#include "engine/SlotJob.h"
#include "engine/Station.h"
#include "pki/OpenSsl.h"
#include "store/RecordStore.h"

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
    QCommandLineOption name(QStringLiteral("station-name"), QStringLiteral("Name recorded with every step."),
                            QStringLiteral("NAME"));
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
    QCommandLineOption port(QStringLiteral("port"), QStringLiteral("Serial port of a device (repeatable)."),
                            QStringLiteral("PATH"));
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
    QCommandLineOption serial(QStringLiteral("device-serial"), QStringLiteral("The device's serial number."),
                              QStringLiteral("SN"));
    p.addOption(serial);
    p.process(args);
    if (!p.isSet(serial)) {
        err() << "imprintctl show: give --device-serial SN" << Qt::endl;
        return 2;
    }
    core::DataDir dir(core::DataDir::resolve(p.value(dataDirOption)));
    if (!dir.isInitialized())
        return report(core::Error{core::ErrorCode::NotInitialized,
                                  QStringLiteral("The data directory %1 is not set up; run \"imprintctl init\" first.")
                                      .arg(dir.path()),
                                  {}, {}});
    auto store = core::RecordStore::open(dir.database(), true);
    if (!store)
        return report(store.error());
    const QString sn = p.value(serial);
    auto device = store->device(sn);
    if (!device)
        return report(device.error());
    if (!device->has_value())
        return report(core::Error{core::ErrorCode::NotFound,
                                  QStringLiteral("No device with serial %1 is recorded.").arg(sn), {}, {}});
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
        out() << "  " << s.at.toString(Qt::ISODateWithMs) << "  job " << s.jobId << "  " << s.step << "  "
              << s.status << (s.detail.isEmpty() ? QString() : QStringLiteral("  ") + s.detail) << Qt::endl;
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

void usage()
{
    err() << "usage: imprintctl COMMAND [options]\n\n"
             "commands:\n"
             "  init        set up a data directory (token, CA key, demo root and CA certificate)\n"
             "  provision   provision the devices on --port PATH [--port PATH ...] [--json]\n"
             "  show        show a device's record: --device-serial SN [--json]\n\n"
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
    err() << "imprintctl: unknown command \"" << command << "\"\n";
    usage();
    return 2;
}
