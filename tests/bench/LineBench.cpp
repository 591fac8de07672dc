// imprint-bench-line: what the station adds on a busy line. Simulated devices (imprint-devsim,
// a process of its own) on ptys, N slots at once in this process, R rounds; prints the
// station-added latency per device (request in -> certificate out: check, sign in the
// token, durable record) at p50/p99/max, and the station's CPU time per device.
//
//   imprint-bench-line [--devices 32] [--rounds 10]

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
#include <QProcess>
#include <QTemporaryDir>
#include <QTextStream>
#include <QTimer>

#include <algorithm>
#include <unistd.h>

using namespace imprint;
using bench::cpuSeconds;
using bench::percentile;

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
    p.addOptions({ devices, rounds, warmup });
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
    const QStringList ports = bench::startDevsim(sim,
        { QStringLiteral("--count"), QString::number(n * r), QStringLiteral("--serial-prefix"), QStringLiteral("B"),
            QStringLiteral("--link-dir"), links },
        n * r);
    if (ports.size() < n * r) {
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
    return failed == 0 ? 0 : 1;
}
