// imprint-bench-line: what the station adds on a busy line. Simulated devices (imprint-devsim,
// a process of its own) on ptys, N slots at once in this process, R rounds; prints the
// station-added latency per device (request in -> certificate out: check, sign in the
// token, durable record) at p50/p99/max, and the station's CPU time per device.
//
//   imprint-bench-line [--devices 32] [--rounds 10] [--service]
//
// With --service the same line runs a second time through the station service (imprintd, a
// process of its own, with the window connected to it as a client, offscreen), and both are
// printed: the service's latency comes from its own slots, its CPU from /proc.

#include "ServiceClient.h"
#include "StationContext.h"
#include "engine/SlotJob.h"
#include "engine/Station.h"

#include "BenchLine.h"
#include "Percentile.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonObject>
#include <QProcess>
#include <QSet>
#include <QTemporaryDir>
#include <QTextStream>
#include <QThread>
#include <QTimer>

#include <algorithm>
#include <unistd.h>

using namespace imprint;
using bench::cpuSeconds;
using bench::percentile;

namespace {

/// A process's CPU time (all threads), in seconds, from /proc.
double cpuSecondsOf(qint64 pid)
{
    QFile f(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!f.open(QIODevice::ReadOnly))
        return 0;
    const QByteArray stat = f.readAll();
    const QList<QByteArray> fields = stat.mid(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after "pid (comm) ".
    return (fields.value(11).toDouble() + fields.value(12).toDouble()) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct Figures {
    std::vector<double> latencyMs;
    double cpuPerDeviceMs = 0;
    double wallPerLineMs = 0;
    int failed = 0;
};

/// The line through imprintd, with the window connected as its client.
Figures throughService(const QString& dataDir, const QStringList& ports, int n, int r, int w, QTextStream& err)
{
    Figures f;
    const QString socket = dataDir + QStringLiteral("-station.sock");
    QProcess service;
    QProcessEnvironment serviceEnv = QProcessEnvironment::systemEnvironment();
    serviceEnv.remove(QStringLiteral("SOFTHSM2_CONF"));
    service.setProcessEnvironment(serviceEnv);
    service.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    service.start(QStringLiteral(IMPRINT_DAEMON),
        { QStringLiteral("--data-dir"), dataDir, QStringLiteral("--socket"), socket, QStringLiteral("--allow-pty") });
    std::unique_ptr<app::ServiceClient> client;
    for (int i = 0; i < 200 && !client; ++i) {
        if (auto c = app::ServiceClient::connectIfRunning(socket); c && *c)
            client = std::move(**c);
        else
            QThread::msleep(50);
    }
    if (!client) {
        err << "imprint-bench-line: the station service did not start" << Qt::endl;
        f.failed = n * r;
        return f;
    }
    QProcess window;
    QProcessEnvironment env = serviceEnv;
    env.insert(QStringLiteral("IMPRINT_SOCKET"), socket);
    env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    window.setProcessEnvironment(env);
    window.setProcessChannelMode(QProcess::MergedChannels);
    window.start(QStringLiteral(IMPRINT_GUI), { QStringLiteral("--operator"), QStringLiteral("bench") });
    window.waitForStarted(10000);
    QThread::msleep(1500); // the window connects and subscribes
    (void)client->call(QStringLiteral("subscribe"));
    double cpu = 0;
    double wall = 0;
    for (int round = 0; round < r; ++round) {
        const double cpuBefore = cpuSecondsOf(service.processId());
        QElapsedTimer timer;
        timer.start();
        QSet<int> mine;
        for (int i = 0; i < n; ++i) {
            auto added
                = client->call(QStringLiteral("slot.add"), { { QStringLiteral("port"), ports.at(round * n + i) } });
            if (added)
                mine << added->value(QStringLiteral("slot")).toObject().value(QStringLiteral("slot")).toInt();
        }
        int done = 0;
        while (done < mine.size()) {
            auto e = client->nextEvent(60000);
            if (!e)
                break;
            const QJsonObject slot = e->value(QStringLiteral("slot")).toObject();
            if (!mine.contains(slot.value(QStringLiteral("slot")).toInt())
                || !slot.value(QStringLiteral("finished")).toBool())
                continue;
            ++done;
            if (slot.value(QStringLiteral("verdict")).toString() != QLatin1String("passed")) {
                ++f.failed;
                err << slot.value(QStringLiteral("port")).toString() << ": "
                    << slot.value(QStringLiteral("reason")).toString() << Qt::endl;
            } else if (round >= w) {
                f.latencyMs.push_back(
                    slot.value(QStringLiteral("result")).toObject().value(QStringLiteral("station_ms")).toDouble());
            }
        }
        f.failed += static_cast<int>(mine.size()) - done;
        wall += static_cast<double>(timer.nsecsElapsed()) / 1e9;
        cpu += cpuSecondsOf(service.processId()) - cpuBefore;
        if (round < w)
            cpu = wall = 0;
    }
    f.cpuPerDeviceMs = cpu / (n * (r - w)) * 1000.0;
    f.wallPerLineMs = wall / (r - w) * 1000.0;
    if (window.waitForFinished(0) || window.state() != QProcess::Running) {
        err << "imprint-bench-line: the window stopped during the line (exit " << window.exitCode()
            << "): " << window.readAll() << Qt::endl;
        f.failed += 1;
    }
    window.kill();
    window.waitForFinished(5000);
    service.terminate();
    if (!service.waitForFinished(20000) || service.exitStatus() != QProcess::NormalExit || service.exitCode() != 0) {
        err << "imprint-bench-line: the station service did not stop cleanly" << Qt::endl;
        f.failed += 1;
    }
    return f;
}

} // namespace

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Station-added latency and CPU per device with many slots at once."));
    p.addHelpOption();
    QCommandLineOption devices(QStringLiteral("devices"), QStringLiteral("Slots at once (default 32)."),
        QStringLiteral("N"), QStringLiteral("32"));
    QCommandLineOption rounds(QStringLiteral("rounds"), QStringLiteral("Lines of N devices (default 10)."),
        QStringLiteral("R"), QStringLiteral("10"));
    QCommandLineOption warmup(QStringLiteral("warmup"),
        QStringLiteral("Lines run first and not counted (default 1): sessions, caches and the WAL get going."),
        QStringLiteral("W"), QStringLiteral("1"));
    QCommandLineOption viaService(QStringLiteral("service"),
        QStringLiteral("Run the line a second time through the station service, with the window connected."));
    p.addOptions({ devices, rounds, warmup, viaService });
    p.process(app);
    QTextStream out(stdout), err(stderr);
    const int n = std::clamp(p.value(devices).toInt(), 1, 256);
    const int w = std::clamp(p.value(warmup).toInt(), 0, 10);
    const int r = std::clamp(p.value(rounds).toInt(), 1, 100) + w;
    if (n * r > 512) {
        err << "imprint-bench-line: at most 512 devices in all" << Qt::endl;
        return 2;
    }

    QTemporaryDir tmp;
    core::DataDir dir(tmp.filePath(QStringLiteral("station")));
    core::Station station(QStringLiteral("bench"));
    // Kept to the end: it holds the token the station signs with.
    const auto ctx = bench::startDemoStation(dir, station);
    if (!ctx) {
        err << ctx.error().text() << Qt::endl;
        return 1;
    }
    QProcess sim;
    const QString links = tmp.filePath(QStringLiteral("links"));
    QDir().mkpath(links);
    const int perLine = n * r;
    const bool service = p.isSet(viaService);
    const QStringList ports = bench::startDevsim(sim,
        { QStringLiteral("--count"), QString::number(perLine), QStringLiteral("--serial-prefix"), QStringLiteral("B"),
            QStringLiteral("--link-dir"), links },
        perLine);
    // The service's line has devices of its own (a second simulator).
    QProcess sim2;
    const QStringList servicePorts = service ? bench::startDevsim(sim2,
                                         { QStringLiteral("--count"), QString::number(perLine),
                                             QStringLiteral("--serial-prefix"), QStringLiteral("S") },
                                         perLine)
                                             : QStringList();
    if (ports.size() < n * r || servicePorts.size() < (service ? perLine : 0)) {
        err << "imprint-bench-line: the simulator did not start" << Qt::endl;
        return 1;
    }

    std::vector<double> latencyMs;
    double cpu = 0;
    double wall = 0;
    int failed = 0;
    for (int round = 0; round < r; ++round) {
        const qsizetype first = station.slotJobs().size();
        const double cpuBefore = cpuSeconds();
        QElapsedTimer timer;
        timer.start();
        QEventLoop loop;
        QObject::connect(&station, &core::Station::finished, &loop, &QEventLoop::quit);
        for (int i = 0; i < n; ++i)
            station.addSlot(ports.at(round * n + i));
        if (!station.allFinished())
            loop.exec();
        wall += static_cast<double>(timer.nsecsElapsed()) / 1e9;
        cpu += cpuSeconds() - cpuBefore;
        if (round < w) {
            latencyMs.clear();
            cpu = wall = 0;
        }
        for (qsizetype i = first; i < station.slotJobs().size(); ++i) {
            const core::SlotJob* job = station.slotJobs().at(i);
            if (job->step() != core::SlotJob::Step::Passed) {
                ++failed;
                err << job->port() << ": " << job->failure() << Qt::endl;
                continue;
            }
            if (round >= w)
                latencyMs.push_back(static_cast<double>(job->stationLatencyNs()) / 1e6);
        }
    }
    const int counted = r - w;
    sim.terminate();
    sim.waitForFinished(5000);

    // The disk under the store, for reading the figures: every certificate waits for one fsync.
    std::vector<double> fsyncMs;
    {
        QFile probe(tmp.filePath(QStringLiteral("fsync-probe")));
        if (probe.open(QIODevice::WriteOnly)) {
            const QByteArray page(4096, 'x');
            for (int i = 0; i < 200; ++i) {
                probe.write(page);
                probe.flush();
                QElapsedTimer t;
                t.start();
                ::fsync(probe.handle());
                fsyncMs.push_back(static_cast<double>(t.nsecsElapsed()) / 1e6);
            }
        }
    }
    out << Qt::fixed << qSetRealNumberPrecision(2);
    out << "devices at once:                       " << n << Qt::endl
        << "rounds:                                " << counted << " counted after " << w << " warm-up  ("
        << n * counted << " devices, " << failed << " failed)" << Qt::endl
        << "station-added latency, request in -> certificate out:" << Qt::endl
        << "  p50:                                 " << percentile(latencyMs, 50) << " ms" << Qt::endl
        << "  p99:                                 " << percentile(latencyMs, 99) << " ms" << Qt::endl
        << "  max:                                 " << percentile(latencyMs, 100) << " ms" << Qt::endl
        << "disk fsync here (200 x 4 KiB):         p50 " << percentile(fsyncMs, 50) << " ms, p99 "
        << percentile(fsyncMs, 99) << " ms" << Qt::endl
        << "station CPU per device (all threads):  " << cpu / (n * counted) * 1000.0 << " ms" << Qt::endl
        << "wall time per line of " << n << ":             " << wall / counted * 1000.0 << " ms" << Qt::endl;
    if (service) {
        // The same line again, the service's own data directory, the window connected.
        // Set up as a plant would (imprintctl init, a process of its own with its own token).
        const core::DataDir serviceDir(tmp.filePath(QStringLiteral("service")));
        QProcess init;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.remove(QStringLiteral("SOFTHSM2_CONF"));
        init.setProcessEnvironment(env);
        init.start(QFileInfo(QStringLiteral(IMPRINT_DAEMON)).absolutePath() + QStringLiteral("/imprintctl"),
            { QStringLiteral("init"), QStringLiteral("--data-dir"), serviceDir.path(), QStringLiteral("--station-name"),
                QStringLiteral("bench-service") });
        if (!init.waitForFinished(60000) || init.exitCode() != 0) {
            err << init.readAllStandardError() << Qt::endl;
            return 1;
        }
        const Figures s2 = throughService(serviceDir.path(), servicePorts, n, r, w, err);
        const double inP99 = percentile(latencyMs, 99);
        const double cpuIn = cpu / (n * counted) * 1000.0;
        out << "through the station service (imprintd, the window connected):" << Qt::endl
            << "  devices:                             " << n * counted << " (" << s2.failed << " failed)" << Qt::endl
            << "  p50:                                 " << percentile(s2.latencyMs, 50) << " ms" << Qt::endl
            << "  p99:                                 " << percentile(s2.latencyMs, 99) << " ms  ("
            << percentile(s2.latencyMs, 99) / std::max(inP99, 1e-9) << " x in-process)" << Qt::endl
            << "  max:                                 " << percentile(s2.latencyMs, 100) << " ms" << Qt::endl
            << "  service CPU per device:              " << s2.cpuPerDeviceMs << " ms  ("
            << s2.cpuPerDeviceMs / std::max(cpuIn, 1e-9) << " x in-process)" << Qt::endl
            << "  wall time per line of " << n << ":           " << s2.wallPerLineMs << " ms" << Qt::endl;
        failed += s2.failed;
    }
    return failed == 0 ? 0 : 1;
}
