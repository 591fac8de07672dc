// imprint-bench-soak: a long shift in one station process. 32 slots (imprint-devsim
// --next-after-lock: once a device is locked, the next one is on its port) run until N
// devices have passed, each slot started again as its device passes, as an operator does.
// Every `window` devices it prints resident memory, open file descriptors, the store's size
// per device and the p99 station-added latency (request in -> certificate out) of that
// window; at the end, the first window next to the last. Nothing may grow without bound.
//
//   imprint-bench-soak [--devices 100000] [--slots 32] [--window 10000]

#include "StationContext.h"
#include "engine/SlotJob.h"
#include "engine/Station.h"

#include "BenchLine.h"
#include "Percentile.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTextStream>
#include <QTimer>

#include <algorithm>
#include <utility>

using namespace imprint;
using bench::percentile;

namespace {

struct Window {
    qint64 devices = 0;
    double p99Ms = 0;
    double rssMiB = 0;
    int fds = 0; ///< the most open at once while the window's devices were on their slots
    double storeBytesPerDevice = 0;
    double rate = 0; ///< devices per second in this window
};

} // namespace

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("A long shift: memory, descriptors, store size and latency over time."));
    p.addHelpOption();
    QCommandLineOption devices(QStringLiteral("devices"), QStringLiteral("Devices in all (default 100000)."),
        QStringLiteral("N"), QStringLiteral("100000"));
    QCommandLineOption slotCount(QStringLiteral("slots"), QStringLiteral("Slots at once (default 32)."),
        QStringLiteral("S"), QStringLiteral("32"));
    QCommandLineOption window(QStringLiteral("window"), QStringLiteral("Devices per printed line (default 10000)."),
        QStringLiteral("W"), QStringLiteral("10000"));
    p.addOptions({ devices, slotCount, window });
    p.process(app);
    QTextStream out(stdout), err(stderr);
    const qint64 total = std::max(1LL, p.value(devices).toLongLong());
    const int n = std::clamp(p.value(slotCount).toInt(), 1, 256);
    const qint64 w = std::clamp<qint64>(p.value(window).toLongLong(), 1, total);

    QTemporaryDir tmp;
    core::DataDir dir(tmp.filePath(QStringLiteral("station")));
    core::Station station(QStringLiteral("soak"));
    // Kept to the end: it holds the token the station signs with.
    const auto ctx = bench::startDemoStation(dir, station);
    if (!ctx) {
        err << ctx.error().text() << Qt::endl;
        return 1;
    }
    QProcess sim;
    const QStringList ports = bench::startDevsim(sim,
        { QStringLiteral("--count"), QString::number(n), QStringLiteral("--serial-prefix"), QStringLiteral("S"),
            QStringLiteral("--next-after-lock") },
        n);
    if (ports.size() < n) {
        err << "imprint-bench-soak: the simulator did not start" << Qt::endl;
        return 1;
    }

    auto storeBytes
        = [&] { return QFileInfo(dir.database()).size() + QFileInfo(dir.database() + QStringLiteral("-wal")).size(); };
    out << Qt::fixed << qSetRealNumberPrecision(2);
    out << "devices    rate/s   p99 ms   RSS MiB   fds   store B/device" << Qt::endl;
    QList<Window> windows;
    std::vector<double> latencyMs;
    qint64 passed = 0;
    qint64 started = n;
    int failed = 0;
    QElapsedTimer clock;
    clock.start();
    qint64 windowStartMs = 0;
    int fdsPeak = 0;
    QObject::connect(&station, &core::Station::slotChanged, &app, [&](int index) {
        core::SlotJob* job = station.slotJobs().at(index);
        if (!job->isFinished())
            return;
        fdsPeak = std::max(fdsPeak, bench::openDescriptors());
        if (job->step() == core::SlotJob::Step::Passed) {
            ++passed;
            latencyMs.push_back(static_cast<double>(job->stationLatencyNs()) / 1e6);
        } else {
            ++failed;
            err << job->port() << ": " << job->failure() << Qt::endl;
        }
        if (static_cast<qint64>(latencyMs.size()) == w || (passed + failed == total && !latencyMs.empty())) {
            const qint64 now = clock.elapsed();
            Window win { passed, percentile(latencyMs, 99), bench::residentMiB(), std::exchange(fdsPeak, 0),
                static_cast<double>(storeBytes()) / static_cast<double>(std::max<qint64>(passed, 1)),
                static_cast<double>(latencyMs.size()) * 1000.0
                    / static_cast<double>(std::max<qint64>(now - windowStartMs, 1)) };
            windows.append(win);
            latencyMs.clear();
            windowStartMs = now;
            out << qSetFieldWidth(7) << win.devices << qSetFieldWidth(0) << "  " << qSetFieldWidth(7) << win.rate
                << qSetFieldWidth(0) << "  " << qSetFieldWidth(7) << win.p99Ms << qSetFieldWidth(0) << "  "
                << qSetFieldWidth(8) << win.rssMiB << qSetFieldWidth(0) << "  " << qSetFieldWidth(4) << win.fds
                << qSetFieldWidth(0) << "  " << qSetFieldWidth(10) << win.storeBytesPerDevice << qSetFieldWidth(0)
                << Qt::endl;
        }
        if (passed + failed >= total || failed > 0) {
            QCoreApplication::exit(0);
            return;
        }
        // The operator takes the passed device out and starts the slot on the next one.
        if (started < total) {
            ++started;
            QTimer::singleShot(0, job, [job] { job->retry(); });
        }
    });
    for (const QString& port : ports)
        station.addSlot(port);
    QCoreApplication::exec();
    sim.terminate();
    sim.waitForFinished(5000);

    if (windows.isEmpty() || failed > 0) {
        err << "imprint-bench-soak: " << failed << " device(s) failed" << Qt::endl;
        return 1;
    }
    const Window& first = windows.first();
    const Window& last = windows.last();
    const double wallS = static_cast<double>(clock.elapsed()) / 1000.0;
    out << "devices passed:                  " << passed << " through " << n << " slots in " << wallS << " s ("
        << static_cast<double>(passed) / wallS << " /s)" << Qt::endl
        << "p99 station-added latency:       first " << w << ": " << first.p99Ms << " ms, last " << w << ": "
        << last.p99Ms << " ms (ratio " << last.p99Ms / std::max(first.p99Ms, 1e-9) << ")" << Qt::endl
        << "resident memory:                 after the first " << w << ": " << first.rssMiB
        << " MiB, at the end: " << last.rssMiB << " MiB (ratio " << last.rssMiB / std::max(first.rssMiB, 1e-9) << ")"
        << Qt::endl
        << "open file descriptors, peak:     in the first " << w << ": " << first.fds << ", in the last: " << last.fds
        << Qt::endl
        << "store size per device:           after the first " << w << ": " << first.storeBytesPerDevice
        << " B, at the end: " << last.storeBytesPerDevice << " B" << Qt::endl;
    // A descriptor that leaks with every device would be in the thousands by the end.
    if (last.fds > first.fds + 16) {
        err << "imprint-bench-soak: open file descriptors grew from " << first.fds << " to " << last.fds << Qt::endl;
        return 1;
    }
    return 0;
}
