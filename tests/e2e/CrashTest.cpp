// kill -9 the station at random moments while it provisions a 50-device line, over and
// over. After each kill the records must hold: the database passes its integrity check,
// every certificate a device took is in the store, no certificate serial is used twice, the
// audit log verifies, and every device not finished is listed as interrupted. Then the
// station is started again on the devices not passed, and every one of them is resumed to a
// pass with exactly one verified certificate: the one the device holds.

#include "LineRecovery.h"
#include "TestSupport.h"

#include <QDir>
#include <QElapsedTimer>
#include <QProcess>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QThread>

#include <catch2/catch.hpp>

using namespace imprint;

namespace {

const QString Ctl = QStringLiteral(IMPRINT_CTL);
constexpr int Devices = 50;
constexpr int Runs = 20;

} // namespace

TEST_CASE("kill -9 at random moments: nothing issued is lost, no serial reused, every device resumed or flagged")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    test::initQuickStation(dataDir);
    const QString db = dataDir + QStringLiteral("/imprint.sqlite");
    auto* rng = QRandomGenerator::global();

    qint64 fullRunMs = 0;
    int killedMidway = 0;
    for (int run = 0; run <= Runs; ++run) {
        const QString prefix = QStringLiteral("K%1").arg(run, 2, 10, QLatin1Char('0'));
        const QString links = tmp.filePath(prefix);
        const QString log = tmp.filePath(prefix + QStringLiteral(".log"));
        REQUIRE(QDir().mkpath(links));
        // Each device takes a moment to make its key, as real ones do: the line's own work, not
        // the station's start, is most of a run, so that most kills land mid-line (with devices
        // that answer at once a line took about 150 ms, and kills missed it one run in ten).
        test::DevSim sim({ QStringLiteral("--count"), QString::number(Devices), QStringLiteral("--serial-prefix"),
            prefix, QStringLiteral("--link-dir"), links, QStringLiteral("--received-log"), log,
            QStringLiteral("--keygen-delay-ms"), QStringLiteral("200") });

        QProcess station;
        station.setProcessChannelMode(QProcess::SeparateChannels);
        QElapsedTimer timer;
        timer.start();
        station.start(Ctl,
            QStringList { QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--json") }
                + sim.portArgs());
        REQUIRE(station.waitForStarted(10000));
        if (run == 0) {
            // The first run goes to the end: it tells how long a line takes here.
            REQUIRE(station.waitForFinished(120000));
            CHECK(station.exitCode() == 0);
            fullRunMs = timer.elapsed();
            continue;
        }
        // Anywhere from start-up to the last devices of the line.
        const qint64 killAt = rng->bounded(static_cast<int>(std::max<qint64>(fullRunMs * 9 / 10, 300)));
        while (timer.elapsed() < killAt && station.state() != QProcess::NotRunning)
            QThread::msleep(5);
        const bool wasRunning = station.state() != QProcess::NotRunning;
        station.kill(); // SIGKILL
        REQUIRE(station.waitForFinished(10000));
        INFO("run " << run << ", killed at " << killAt << " ms of " << fullRunMs);

        const test::Line line { prefix, links, log, Devices };
        if (test::checkAndResumeLine(dataDir, line) > 0 && wasRunning)
            ++killedMidway;
    }
    // The next start seals what the last stop left unsealed (audit head opens the station as
    // a start does); then the whole log is under signed checkpoints.
    REQUIRE(test::ctl(dataDir, { QStringLiteral("audit"), QStringLiteral("head") }).exitCode == 0);
    auto audit = test::ctl(dataDir, { QStringLiteral("audit"), QStringLiteral("verify") });
    INFO(audit.out.toStdString());
    CHECK(audit.exitCode == 0);
    // Kills must land while the line is working, or the test proves little.
    CHECK(killedMidway >= Runs / 3);
    const test::StoreSnapshot end = test::inspectStore(db);
    WARN("station killed mid-line in " << killedMidway << " of " << Runs << " runs (a full line took " << fullRunMs
                                       << " ms); " << end.resumed << " interrupted jobs continued, " << end.superseded
                                       << " certificates superseded, " << end.certificates << " certificates in all");
}
