// Power cuts while a line provisions, over and over. The station runs with its store over
// the power-cut VFS (tests/powercut): what SQLite wrote but did not sync stays apart from
// the disk, and at a random moment (the store's Nth write, N drawn from the writes a whole
// line makes) it is dropped, written up to a torn last write, or
// scrambled, and the station dies. Then the machine "reboots": the store is opened from
// what is on disk and the station is started again on the same simulated devices.
//
// What a power cut may lose is exactly what was written since the last synced commit: the
// steps of a device after its certificate was recorded (installed, verified, locked,
// passed), and the start of a job that has no certificate yet. Never a certificate that
// left the station. So after every cut: the store passes its integrity check, every
// certificate a device took (the simulator's synced log) is on record, no serial is used
// twice, the audit log verifies, every device not passed is interrupted or unknown; after
// the restart every device passes holding the one certificate it ever took (nothing is
// issued again because steps were lost), and passes the station had announced but lost
// are passed again with that same certificate.
//
// IMPRINT_POWER_CUTS sets the number of cuts (CI runs a few; the full run is 200).

#include "LineRecovery.h"
#include "TestSupport.h"

#include <QDir>
#include <QElapsedTimer>
#include <QProcess>
#include <QRandomGenerator>
#include <QSet>
#include <QTemporaryDir>

#include <catch2/catch.hpp>

using namespace imprint;

namespace {

const QString PowerCutStation = QStringLiteral(IMPRINT_POWERCUT_STATION);
constexpr int Devices = 24;

int cutsWanted()
{
    bool ok = false;
    const int n = qEnvironmentVariableIntValue("IMPRINT_POWER_CUTS", &ok);
    return ok && n > 0 ? n : 9;
}

} // namespace

TEST_CASE("power cuts at random moments: what was synced survives, every device resumes to the one certificate it took")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    test::initQuickStation(dataDir);
    const QString db = dataDir + QStringLiteral("/imprint.sqlite");
    // IMPRINT_POWER_CUT_SEED repeats a run (the seed is printed at the end and with a failure).
    bool seeded = false;
    const quint32 seed = qEnvironmentVariable("IMPRINT_POWER_CUT_SEED").toUInt(&seeded);
    const quint32 runSeed = seeded ? seed : QRandomGenerator::global()->generate();
    QRandomGenerator random(runSeed);
    auto* rng = &random;
    INFO("IMPRINT_POWER_CUT_SEED=" << runSeed);
    const int cuts = cutsWanted();
    const char* const modes[] = { "drop", "tear", "scramble" };

    qint64 fullRunMs = 0;
    qint64 lineWrites = 0;
    int cutMidLine = 0;
    int cutWithUnsynced = 0;
    int lostPasses = 0;
    int resumedDevices = 0;
    for (int run = 0; run <= cuts; ++run) {
        const QString prefix = QStringLiteral("P%1").arg(run, 3, 10, QLatin1Char('0'));
        const test::Line line { prefix, tmp.filePath(prefix), tmp.filePath(prefix + QStringLiteral(".log")), Devices };
        REQUIRE(QDir().mkpath(line.links));
        test::DevSim sim({ QStringLiteral("--count"), QString::number(Devices), QStringLiteral("--serial-prefix"),
            prefix, QStringLiteral("--link-dir"), line.links, QStringLiteral("--received-log"), line.log });

        // Anywhere from the first write to the last of a whole line.
        const qint64 cutAt = run == 0 ? 0 : 1 + rng->bounded(static_cast<int>(std::max<qint64>(lineWrites, 1)));
        const char* mode = modes[run % 3];
        QProcess station;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("IMPRINT_POWER_CUT"),
            QStringLiteral("after-writes=%1,mode=%2,seed=%3").arg(cutAt).arg(QLatin1String(mode)).arg(rng->generate()));
        station.setProcessEnvironment(env);
        QElapsedTimer timer;
        timer.start();
        station.start(PowerCutStation,
            QStringList { QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--json") }
                + sim.portArgs());
        REQUIRE(station.waitForStarted(10000));
        REQUIRE(station.waitForFinished(180000));
        const QByteArray err = station.readAllStandardError();
        if (run == 0) {
            // The first line runs to its end under the VFS with no cut: how many writes a
            // line makes, and how long it takes.
            INFO(err.toStdString());
            CHECK(station.exitCode() == 0);
            fullRunMs = timer.elapsed();
            const qsizetype at = err.indexOf("no power cut: ");
            // The VFS reaches the store only where Qt's SQLite driver uses the system's
            // libsqlite3 (Debian's does).
            INFO("the power-cut VFS saw no writes: is Qt's SQLite plugin linked to the system libsqlite3?");
            REQUIRE(at >= 0);
            lineWrites = err.mid(at + 14).split(' ').first().toLongLong();
            REQUIRE(lineWrites > 0);
            continue;
        }
        const bool wasCut = station.exitStatus() == QProcess::CrashExit;
        const QByteArray account = err.mid(err.indexOf("power cut"));
        INFO("cut " << run << " (IMPRINT_POWER_CUT=" << env.value(QStringLiteral("IMPRINT_POWER_CUT")).toStdString()
                    << ") at write " << cutAt << " of " << lineWrites << ": " << account.trimmed().toStdString());
        if (wasCut) {
            CHECK(account.startsWith("power cut"));
            // Transactions committed but not synced when the power went (each drops or tears).
            const qsizetype at = account.indexOf(" unsynced commits");
            cutWithUnsynced += at > 0 && account.left(at).split(' ').last().toInt() > 0;
        }
        // The passes the station announced before the power went.
        QSet<QString> announced;
        for (const QJsonObject& o : test::jsonLines(station.readAllStandardOutput()))
            if (o.value(QStringLiteral("status")).toString() == QLatin1String("passed"))
                announced.insert(o.value(QStringLiteral("serial")).toString());
        const test::StoreSnapshot afterCut = test::inspectStore(db);
        QSet<QString> lost;
        for (const QString& serial : announced)
            if (afterCut.deviceStatus.value(serial) != QLatin1String("passed"))
                lost.insert(serial);
        lostPasses += static_cast<int>(lost.size());

        const int remaining = test::checkAndResumeLine(dataDir, line);
        resumedDevices += remaining;
        if (wasCut && remaining > 0)
            ++cutMidLine;

        // Each device took one certificate, whatever the cut lost: a lost step never makes
        // the station sign again.
        QHash<QString, QSet<QString>> took;
        for (const auto& [serial, sha] : test::receivedCertificates(line.log))
            took[serial].insert(sha);
        for (auto it = took.cbegin(); it != took.cend(); ++it) {
            INFO("device " << it.key().toStdString() << (lost.contains(it.key()) ? " (its pass was lost)" : ""));
            CHECK(it.value().size() == 1);
        }
    }
    // The next start seals what the last stop left unsealed (audit head opens the station as
    // a start does); then the whole log is under signed checkpoints.
    REQUIRE(test::ctl(dataDir, { QStringLiteral("audit"), QStringLiteral("head") }).exitCode == 0);
    auto audit = test::ctl(dataDir, { QStringLiteral("audit"), QStringLiteral("verify") });
    INFO(audit.out.toStdString());
    CHECK(audit.exitCode == 0);
    // The cuts must land while the line works, with writes waiting for a sync, or the test
    // proves little.
    CHECK(cutMidLine >= cuts / 3);
    CHECK(cutWithUnsynced >= cuts / 3);
    const test::StoreSnapshot end = test::inspectStore(db);
    WARN("IMPRINT_POWER_CUT_SEED=" << runSeed << ": " << cuts << " power cuts (a full line of " << Devices << " took "
                                   << fullRunMs << " ms and " << lineWrites << " writes to the store): " << cutMidLine
                                   << " mid-line, " << cutWithUnsynced
                                   << " with committed, unsynced transactions lost or torn; " << resumedDevices
                                   << " devices not passed after a cut, all resumed; " << lostPasses
                                   << " announced passes lost and passed again with the same certificate; "
                                   << end.resumed << " interrupted jobs continued, " << end.superseded
                                   << " certificates superseded, " << end.certificates << " certificates in all");
}
