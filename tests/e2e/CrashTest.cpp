// kill -9 the station at random moments while it provisions a 50-device line, over and
// over. After each kill the records must hold: the database passes its integrity check,
// every certificate a device took is in the store, no certificate serial is used twice, the
// audit log verifies, and every device not finished is listed as interrupted. Then the
// station is started again on the devices not passed, and every one of them is resumed to a
// pass with exactly one verified certificate: the one the device holds.

#include "TestSupport.h"
#include "pki/OpenSsl.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QRandomGenerator>
#include <QSet>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QThread>

#include <catch2/catch.hpp>

using namespace imprint;

namespace {

const QString Ctl = QStringLiteral(IMPRINT_CTL);
constexpr int Devices = 50;
constexpr int Runs = 20;

/// What one look at the database finds, through a connection of its own.
struct Snapshot {
    QString integrity;
    QHash<QString, QString> certStateBySha; ///< sha256 -> state
    QHash<QString, QString> deviceBySha; ///< sha256 -> device serial
    int resumed = 0; ///< jobs that continued an interrupted one
    int superseded = 0;
    QHash<QString, QString> deviceStatus;
    int certificates = 0;
    QStringList problems;
};

Snapshot inspect(const QString& dbPath)
{
    Snapshot s;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("inspect"));
        db.setDatabaseName(dbPath);
        REQUIRE(db.open());
        QSqlQuery q(db);
        REQUIRE(q.exec(QStringLiteral("PRAGMA integrity_check")));
        while (q.next())
            s.integrity += q.value(0).toString();
        REQUIRE(q.exec(QStringLiteral("SELECT serial, der, sha256, state, device_serial FROM certificates")));
        QSet<QString> serials;
        while (q.next()) {
            ++s.certificates;
            const QString serial = q.value(0).toString();
            const QByteArray der = q.value(1).toByteArray();
            auto cert = core::ossl::certFromDer(der);
            if (!cert) {
                s.problems << QStringLiteral("certificate %1 does not parse").arg(serial);
                continue;
            }
            // The serial inside the certificate is the one on record, and it is unique.
            const QString inside = core::ossl::serialHex(cert->get());
            if (inside.compare(serial, Qt::CaseInsensitive) != 0)
                s.problems << QStringLiteral("certificate %1 carries serial %2").arg(serial, inside);
            if (serials.contains(inside.toUpper()))
                s.problems << QStringLiteral("serial %1 used twice").arg(inside);
            serials.insert(inside.toUpper());
            if (core::ossl::sha256Hex(der) != q.value(2).toString())
                s.problems << QStringLiteral("certificate %1 does not match its hash").arg(serial);
            s.certStateBySha.insert(q.value(2).toString(), q.value(3).toString());
            s.deviceBySha.insert(q.value(2).toString(), q.value(4).toString());
            s.superseded += q.value(3).toString() == QLatin1String("superseded");
        }
        // A serial reserved for signing is never in two places.
        REQUIRE(q.exec(QStringLiteral("SELECT COUNT(*) FROM serials s WHERE s.state <> 'used' AND EXISTS (SELECT 1 "
                                      "FROM certificates c WHERE c.serial = s.serial)")));
        REQUIRE(q.next());
        if (q.value(0).toInt() != 0)
            s.problems << QStringLiteral("a certificate uses a serial that is not marked used");
        REQUIRE(q.exec(QStringLiteral("SELECT COUNT(*) FROM job_steps WHERE step = 'resume'")));
        REQUIRE(q.next());
        s.resumed = q.value(0).toInt();
        REQUIRE(q.exec(QStringLiteral("SELECT serial, status FROM devices")));
        while (q.next())
            s.deviceStatus.insert(q.value(0).toString(), q.value(1).toString());
    }
    QSqlDatabase::removeDatabase(QStringLiteral("inspect"));
    return s;
}

/// "SERIAL SHA256" lines the simulated devices wrote for every certificate they took.
QList<QPair<QString, QString>> received(const QString& log)
{
    QList<QPair<QString, QString>> out;
    QFile f(log);
    if (!f.open(QIODevice::ReadOnly))
        return out;
    for (const QByteArray& line : f.readAll().split('\n')) {
        const QList<QByteArray> parts = line.trimmed().split(' ');
        if (parts.size() == 2)
            out.append({ QString::fromLatin1(parts[0]), QString::fromLatin1(parts[1]) });
    }
    return out;
}

QStringList portArgs(const QStringList& ports)
{
    QStringList a;
    for (const QString& p : ports)
        a << QStringLiteral("--port") << p;
    return a;
}

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
        test::DevSim sim({ QStringLiteral("--count"), QString::number(Devices), QStringLiteral("--serial-prefix"),
            prefix, QStringLiteral("--link-dir"), links, QStringLiteral("--received-log"), log });

        QProcess station;
        station.setProcessChannelMode(QProcess::SeparateChannels);
        QElapsedTimer timer;
        timer.start();
        station.start(Ctl,
            QStringList { QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--json") }
                + portArgs(sim.ports()));
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

        // After the kill: what the store says.
        Snapshot s = inspect(db);
        CHECK(s.integrity == QLatin1String("ok"));
        CHECK(s.problems.join(u'\n').toStdString().empty());
        for (const auto& [serial, sha] : received(log)) {
            INFO("device " << serial.toStdString() << " took " << sha.toStdString());
            CHECK(s.certStateBySha.contains(sha)); // it left the station: it is on record
        }
        auto audit = test::run(
            Ctl, { QStringLiteral("audit"), QStringLiteral("verify"), QStringLiteral("--data-dir"), dataDir });
        INFO(audit.out.toStdString());
        CHECK(audit.exitCode == 0);
        // Every device of this run that is not passed is listed as interrupted or never
        // reached a job at all.
        auto jobs = test::run(
            Ctl, { QStringLiteral("jobs"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--json") });
        REQUIRE(jobs.exitCode == 0);
        QSet<QString> unfinished;
        for (const auto& v : QJsonDocument::fromJson(jobs.out).array())
            unfinished.insert(v.toObject()[QStringLiteral("serial")].toString());
        QStringList remaining;
        for (int i = 0; i < Devices; ++i) {
            const QString serial = QStringLiteral("%1-%2").arg(prefix).arg(i + 1, 4, 10, QLatin1Char('0'));
            const QString status = s.deviceStatus.value(serial);
            if (status == QLatin1String("passed"))
                continue;
            INFO("device " << serial.toStdString() << " is " << status.toStdString());
            CHECK((status.isEmpty() || unfinished.contains(serial)));
            remaining << links + u'/' + serial;
        }
        if (wasRunning && !remaining.isEmpty())
            ++killedMidway;

        // Start again on the devices not passed: each one is resumed to a pass.
        if (!remaining.isEmpty()) {
            auto again = test::run(Ctl,
                QStringList {
                    QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--json") }
                    + portArgs(remaining));
            INFO(again.out.toStdString() << again.err.toStdString());
            CHECK(again.exitCode == 0);
        }
        Snapshot after = inspect(db);
        CHECK(after.integrity == QLatin1String("ok"));
        CHECK(after.problems.join(u'\n').toStdString().empty());
        // The certificate each device holds now (the last one it took) is its verified one.
        QHash<QString, QString> holds;
        for (const auto& [serial, sha] : received(log))
            holds.insert(serial, sha);
        CHECK(holds.size() == Devices);
        for (auto it = holds.cbegin(); it != holds.cend(); ++it) {
            INFO("device " << it.key().toStdString());
            CHECK(after.deviceStatus.value(it.key()) == QLatin1String("passed"));
            CHECK(after.certStateBySha.value(it.value()) == QLatin1String("verified"));
        }
        // Nothing is left half-way: every other certificate of these devices is superseded
        // (issued, never shipped; its revocation waits in the outbox).
        for (auto it = after.certStateBySha.cbegin(); it != after.certStateBySha.cend(); ++it) {
            const QString device = after.deviceBySha.value(it.key());
            if (!device.startsWith(prefix))
                continue;
            INFO("certificate " << it.key().toStdString() << " of " << device.toStdString());
            CHECK((it.value() == QLatin1String("superseded") || holds.value(device) == it.key()));
        }
        auto jobsAfter = test::run(
            Ctl, { QStringLiteral("jobs"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--json") });
        CHECK(QJsonDocument::fromJson(jobsAfter.out).array().isEmpty());
    }
    auto audit
        = test::run(Ctl, { QStringLiteral("audit"), QStringLiteral("verify"), QStringLiteral("--data-dir"), dataDir });
    INFO(audit.out.toStdString());
    CHECK(audit.exitCode == 0);
    // Kills must land while the line is working, or the test proves little.
    CHECK(killedMidway >= Runs / 3);
    const Snapshot end = inspect(db);
    WARN("station killed mid-line in " << killedMidway << " of " << Runs << " runs (a full line took " << fullRunMs
                                       << " ms); " << end.resumed << " interrupted jobs continued, " << end.superseded
                                       << " certificates superseded, " << end.certificates << " certificates in all");
}
