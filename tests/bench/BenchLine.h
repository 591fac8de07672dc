#pragma once

// What the line benchmarks share: simulated devices in a process of their own, and the
// process's own CPU time, memory and descriptors.

#include "StationContext.h"
#include "StationSetup.h"
#include "engine/Station.h"

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QStringList>

#include <sys/resource.h>

namespace imprint::bench {

/// Starts imprint-devsim with `args` and reads the `n` port paths it prints; fewer when it
/// did not start.
inline QStringList startDevsim(QProcess& sim, const QStringList& args, int n)
{
    sim.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    sim.start(QStringLiteral(IMPRINT_DEVSIM), args);
    QStringList ports;
    while (ports.size() < n && sim.waitForReadyRead(10000)) {
        while (sim.canReadLine())
            ports << QString::fromLocal8Bit(sim.readLine()).trimmed();
    }
    return ports;
}

/// A demo station made in `dir` (a SoftHSM2 token of its own), opened, and `station` started
/// on it: the engine a line benchmark drives.
inline core::Result<app::StationContext> startDemoStation(const core::DataDir& dir, core::Station& station)
{
    hsm::InitOptions init;
    init.modulePath = QStringLiteral(IMPRINT_DEFAULT_PKCS11_MODULE);
    init.stationName = QStringLiteral("bench");
    if (auto ok = hsm::initDemoStation(dir, init); !ok)
        return std::unexpected(ok.error());
    auto ctx = app::openStation(dir.path());
    if (!ctx)
        return ctx;
    station.setTimeouts(ctx->config.timeouts);
    if (auto ok = station.start(ctx->registrarFactory()); !ok)
        return std::unexpected(ok.error());
    return ctx;
}

/// This process's CPU time, all threads, in seconds.
inline double cpuSeconds()
{
    rusage u {};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec)
        + static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/// This process's resident memory (VmRSS) in MiB.
inline double residentMiB()
{
    QFile f(QStringLiteral("/proc/self/status"));
    if (!f.open(QIODevice::ReadOnly))
        return 0;
    for (const QByteArray& line : f.readAll().split('\n'))
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').first().toDouble() / 1024.0;
    return 0;
}

/// This process's open file descriptors.
inline int openDescriptors()
{
    return static_cast<int>(
        QDir(QStringLiteral("/proc/self/fd")).entryList(QDir::NoDotAndDotDot | QDir::AllEntries).size());
}

} // namespace imprint::bench
