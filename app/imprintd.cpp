// imprintd: the station service. It alone opens the data directory, the token, the store and
// the device ports; it runs the line's slots, signs, records, publishes CRLs and syncs
// upstream, and answers the window, imprintctl and an MES over its socket (StationService).

#include "PlantWorker.h"
#include "ServiceClient.h"
#include "StationContext.h"
#include "StationService.h"
#include "UpstreamWorker.h"
#include "device/UsbTransport.h"
#include "engine/Backoffice.h"
#include "engine/Station.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFile>
#include <QSocketNotifier>
#include <QTextStream>

#include <csignal>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#ifdef IMPRINT_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

using namespace imprint;

namespace {

int signalPipe[2] = { -1, -1 };

void onSignal(int)
{
    const char c = 1;
    (void)!::write(signalPipe[1], &c, 1);
}

void notify(const char* state)
{
#ifdef IMPRINT_HAVE_SYSTEMD
    sd_notify(0, state);
#else
    (void)state;
#endif
}

} // namespace

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("imprintd"));
    QCoreApplication::setApplicationVersion(QStringLiteral(IMPRINT_VERSION));
    QTextStream err(stderr);

    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Imprint station service: runs the line and answers the window, imprintctl and an MES on its socket."));
    p.addHelpOption();
    p.addVersionOption();
    QCommandLineOption dataDir(QStringLiteral("data-dir"),
        QStringLiteral("Station data directory (default: $IMPRINT_DATA_DIR, else $XDG_DATA_HOME/imprint)."),
        QStringLiteral("DIR"));
    QCommandLineOption socket(QStringLiteral("socket"),
        QStringLiteral("The socket to listen on (default: $IMPRINT_SOCKET, else /run/imprint/station.sock)."),
        QStringLiteral("PATH"));
    QCommandLineOption lineGroup(QStringLiteral("line-group"),
        QStringLiteral("The group whose members run the line (default: imprint-line)."), QStringLiteral("GROUP"),
        QStringLiteral("imprint-line"));
    QCommandLineOption port(
        QStringLiteral("port"), QStringLiteral("A fixture slot's serial port (repeatable)."), QStringLiteral("PATH"));
    QCommandLineOption usb(QStringLiteral("usb"),
        QStringLiteral("Give every USB device with these ids a slot as it is plugged in."),
        QStringLiteral("VVVV:PPPP"));
    QCommandLineOption lot(
        QStringLiteral("lot"), QStringLiteral("The lot (work order) being made."), QStringLiteral("LOT"));
    QCommandLineOption profile(
        QStringLiteral("profile"), QStringLiteral("Certificate profile (default: idevid)."), QStringLiteral("NAME"));
    QCommandLineOption op(QStringLiteral("operator"),
        QStringLiteral("Recorded with the slots the service starts itself (--port, --usb) until someone takes over."),
        QStringLiteral("NAME"), QStringLiteral("station"));
    QCommandLineOption allowPty(QStringLiteral("allow-pty"),
        QStringLiteral("Take pseudo-terminals as ports (simulated devices: imprint-devsim). A fixture's ports are "
                       "real serial ports; without this a pty is refused."));
    p.addOptions({ dataDir, socket, lineGroup, port, usb, lot, profile, op, allowPty });
    p.process(app);

    const core::DataDir dir(core::DataDir::resolve(p.value(dataDir)));
    // One service per data directory; imprintctl's direct mode sees this lock and waits.
    const int lockFd
        = ::open(QFile::encodeName(dir.serviceLockFile()).constData(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (lockFd < 0 && QFile::exists(dir.configFile())) {
        err << "imprintd: cannot open " << dir.serviceLockFile() << ": " << strerror(errno) << Qt::endl;
        return 1;
    }
    if (lockFd >= 0 && ::flock(lockFd, LOCK_EX | LOCK_NB) != 0) {
        err << "imprintd: another station service, or a command working on it directly, holds " << dir.path()
            << "; start the service when it is done." << Qt::endl;
        return 1;
    }

    // The PIN comes from the key's pin-source (the service's own file), never from a prompt.
    auto ctx = app::openStation(dir.path(), nullptr, p.value(profile), p.value(lot));
    if (!ctx) {
        err << "imprintd: " << ctx.error().text() << Qt::endl;
        return ctx.error().code == core::ErrorCode::PinRejected ? 6 : 2;
    }
    core::Station station(p.value(op));
    station.setAcceptsScannedSerials(true);
    station.setTimeouts(ctx->config.timeouts);
    if (auto r = station.start(ctx->registrarFactory()); !r) {
        err << "imprintd: " << r.error().text() << Qt::endl;
        return 2;
    }
    if (!station.interruptedJobs().isEmpty())
        err << "imprintd: " << station.interruptedJobs().size()
            << " job(s) were interrupted when the station last stopped; each continues when its device is back on a "
               "slot."
            << Qt::endl;
    core::Backoffice backoffice(ctx->dir, ctx->config, ctx->chain, ctx->backofficeWiring());
    if (auto r = backoffice.start(); !r) {
        err << "imprintd: " << r.error().text() << Qt::endl;
        return 2;
    }

    // The station's upstream sync runs here, on a thread of its own: one process owns the
    // token, and the records go upstream whether or not a window is open.
    app::UpstreamWorker upstream(ctx->dir, ctx->config, ctx->caKey);
    if (ctx->config.upstream.configured()) {
        QObject::connect(&upstream, &app::UpstreamWorker::roundDone, &app,
            [&err](const QString& summary) { err << "imprintd: " << summary << Qt::endl; });
        QObject::connect(&upstream, &app::UpstreamWorker::failed, &app,
            [&err](const QString& message) { err << "imprintd: upstream: " << message << Qt::endl; });
        if (auto r = upstream.start(); !r)
            err << "imprintd: " << r.error().text() << Qt::endl;
        QObject::connect(&station, &core::Station::finished, &upstream, &app::UpstreamWorker::syncNow);
    }

    app::StationService::Options options;
    options.socketPath = p.isSet(socket) ? p.value(socket) : app::serviceSocketPath();
    options.lineGroup = p.value(lineGroup);
    options.ctlProgram = QCoreApplication::applicationDirPath() + QStringLiteral("/imprintctl");
    options.dataDir = ctx->dir.path();
    options.allowPseudoTerminals = p.isSet(allowPty);
    app::StationService service(*ctx, station, backoffice, options);
    if (auto r = service.listen(); !r) {
        err << "imprintd: " << r.error().text() << Qt::endl;
        return 1;
    }

    // SIGTERM (systemctl stop) and SIGINT end the event loop; a device mid-step resumes
    // where it was when the service is back, as after any stop.
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, signalPipe) != 0)
        return 1;
    QSocketNotifier stopper(signalPipe[0], QSocketNotifier::Read);
    QObject::connect(&stopper, &QSocketNotifier::activated, &app, [] { QCoreApplication::quit(); });
    std::signal(SIGTERM, onSignal);
    std::signal(SIGINT, onSignal);
    std::signal(SIGPIPE, SIG_IGN);

    for (const QString& spec : p.values(port)) {
        if (auto ok = core::Station::checkPort(spec); !ok) {
            err << "imprintd: " << ok.error().text() << Qt::endl;
            return 2;
        }
        station.addSlot(spec);
    }
    if (p.isSet(usb)) {
        auto ids = core::UsbAddress::parse(QStringLiteral("usb:") + p.value(usb));
        auto watching
            = ids ? station.watchUsb(ids->vendorId, ids->productId) : core::Result<void>(std::unexpected(ids.error()));
        if (!watching) {
            err << "imprintd: " << watching.error().text() << Qt::endl;
            return 2;
        }
    }
    // And its push to the plant record, on another: the line never waits for either.
    app::PlantWorker plant(ctx->dir, ctx->config);
    if (ctx->config.plant.configured()) {
        QObject::connect(&plant, &app::PlantWorker::pushed, &app,
            [&err](const QString& summary) { err << "imprintd: " << summary << Qt::endl; });
        QObject::connect(&plant, &app::PlantWorker::failed, &app,
            [&err](const QString& message) { err << "imprintd: plant record: " << message << Qt::endl; });
        if (auto r = plant.start(); !r)
            err << "imprintd: " << r.error().text() << Qt::endl;
        QObject::connect(&station, &core::Station::finished, &plant, &app::PlantWorker::pushNow);
    }
    err << "imprintd: station " << ctx->config.stationName << " listening on " << options.socketPath << Qt::endl;
    notify("READY=1");
    const int status = QCoreApplication::exec();
    notify("STOPPING=1");
    upstream.stop();
    plant.stop();
    return status;
}
