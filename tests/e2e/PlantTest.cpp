// The plant record with a real PostgreSQL (started by the test): three stations push their
// lines, QA anywhere reads any device, rights are the database's, a push cut by a stopped
// server or a network cut without a word loses nothing and repeats nothing, and a truncated
// audit log is caught.

#include "CutProxy.h"
#include "TestPostgres.h"
#include "TestSupport.h"

#include <catch2/catch.hpp>

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSettings>
#include <QTemporaryDir>
#include <QThread>

#include <functional>

using namespace imprint;
using test::ctl;
using test::query;
using test::TestPostgres;

using test::issue;
using test::migrate;
using test::plantCount;
using test::PlantStation;
using test::plantStation;
using test::push;

TEST_CASE("Three stations push their lines to the plant record, and QA on one finds a device made on another")
{
    TestPostgres pg;
    REQUIRE(pg.ok());
    QTemporaryDir tmp;
    auto migrated = test::run(QStringLiteral(IMPRINT_CTL),
        { QStringLiteral("plant"), QStringLiteral("migrate"), QStringLiteral("--conninfo"), pg.adminConninfo() });
    INFO(migrated.out.toStdString() << migrated.err.toStdString());
    REQUIRE(migrated.exitCode == 0);
    CHECK(migrated.out.contains("now has schema 2 (was 0)"));
    const PlantStation a = plantStation(tmp, pg, QStringLiteral("A"), QStringLiteral("L1"));
    const PlantStation b = plantStation(tmp, pg, QStringLiteral("B"), QStringLiteral("L2"));
    const PlantStation c = plantStation(tmp, pg, QStringLiteral("C"), QStringLiteral("L3"));
    issue(tmp, a, QStringLiteral("A"), 2);
    issue(tmp, b, QStringLiteral("B"), 2);
    issue(tmp, c, QStringLiteral("C"), 3);
    REQUIRE(ctl(c.dataDir,
                { QStringLiteral("scrap"), QStringLiteral("--device-serial"), QStringLiteral("C-000003"),
                    QStringLiteral("--reason"), QStringLiteral("dropped") })
                .exitCode
        == 0);
    for (const PlantStation* s : { &a, &b, &c }) {
        auto pushed = push(*s);
        INFO(pushed.out.toStdString() << pushed.err.toStdString());
        REQUIRE(pushed.exitCode == 0);
        CHECK(pushed.out.contains(" 0 waiting"));
        CHECK(
            query(s->dataDir, QStringLiteral("SELECT COUNT(*) FROM plant_log")) == QStringList { QStringLiteral("0") });
    }
    CHECK(plantCount(pg, QStringLiteral("SELECT count(*) FROM imprint.devices")) == 7);
    CHECK(plantCount(pg,
              QStringLiteral("SELECT count(*) FROM imprint.devices WHERE serial = 'C-000003' AND status = 'scrapped'"))
        == 1);

    // QA at station A scans a device made on station C. Station A trusts C's root (as a plant
    // whose stations share a corporate root would): the chain is verified here.
    REQUIRE(ctl(a.dataDir,
                { QStringLiteral("upstream"), QStringLiteral("configure"), QStringLiteral("--url"),
                    QStringLiteral("http://127.0.0.1:9/"), QStringLiteral("--trusted"),
                    c.dataDir + QStringLiteral("/ca/root.pem") })
                .exitCode
        == 0);
    auto shown = ctl(a.dataDir,
        { QStringLiteral("show"), QStringLiteral("--device-serial"), QStringLiteral("C-000003"),
            QStringLiteral("--json") });
    INFO(shown.out.toStdString() << shown.err.toStdString());
    REQUIRE(shown.exitCode == 0);
    const QJsonObject o = QJsonDocument::fromJson(shown.out).object();
    CHECK(o[QStringLiteral("source")].toString() == QStringLiteral("plant record"));
    CHECK(o[QStringLiteral("station")].toString() == c.id);
    CHECK(o[QStringLiteral("line")].toString() == QStringLiteral("L3"));
    CHECK(o[QStringLiteral("device")].toObject()[QStringLiteral("status")].toString() == QStringLiteral("scrapped"));
    const QJsonArray certs = o[QStringLiteral("certificates")].toArray();
    REQUIRE(certs.size() == 1);
    CHECK(certs[0].toObject()[QStringLiteral("chain_verified")].toBool());
    CHECK(certs[0].toObject()[QStringLiteral("state")].toString() == QStringLiteral("revoked"));
    const QJsonArray jobs = o[QStringLiteral("jobs")].toArray();
    REQUIRE(jobs.size() >= 1);
    CHECK(jobs[0].toObject()[QStringLiteral("steps")].toArray().size() >= 4);
    // Station B does not trust C's root: it says so.
    auto untrusted
        = ctl(b.dataDir, { QStringLiteral("show"), QStringLiteral("--device-serial"), QStringLiteral("C-000001") });
    INFO(untrusted.out.toStdString());
    CHECK(untrusted.exitCode == 0);
    CHECK(untrusted.out.contains("From the plant record"));
    CHECK(untrusted.out.contains("NOT verified: its station's root is not one this station trusts"));
    CHECK(ctl(a.dataDir, { QStringLiteral("show"), QStringLiteral("--device-serial"), QStringLiteral("Z-9") }).exitCode
        == 3);

    // plant status: every station, its last push, backlog and audit head.
    auto status = ctl(b.dataDir, { QStringLiteral("plant"), QStringLiteral("status"), QStringLiteral("--json") });
    INFO(status.out.toStdString());
    REQUIRE(status.exitCode == 0);
    const QJsonArray stations = QJsonDocument::fromJson(status.out).object()[QStringLiteral("stations")].toArray();
    REQUIRE(stations.size() == 3);
    for (const QJsonValue& v : stations) {
        CHECK(v.toObject()[QStringLiteral("audit_head")].toInteger() > 0);
        CHECK(v.toObject()[QStringLiteral("backlog")].toInteger() == 0);
        CHECK_FALSE(v.toObject()[QStringLiteral("last_push")].toString().isEmpty());
    }

    // Rights are the database's: B may not write A's rows, nor change or delete its own.
    auto forged = pg.psql(QStringLiteral("INSERT INTO imprint.changes(station_id, seq, kind, key, payload) VALUES "
                                         "('%1', 999999, 'device', 'A-000001', '{\"status\": \"passed\"}')")
                              .arg(a.id),
        b.role, b.password);
    CHECK(forged.exitCode != 0);
    CHECK(forged.err.contains("row-level security"));
    auto deleted
        = pg.psql(QStringLiteral("DELETE FROM imprint.changes WHERE station_id = '%1'").arg(b.id), b.role, b.password);
    CHECK(deleted.exitCode != 0);
    CHECK(deleted.err.contains("permission denied"));
    auto updated = pg.psql(
        QStringLiteral("UPDATE imprint.changes SET key = 'x' WHERE station_id = '%1'").arg(b.id), b.role, b.password);
    CHECK(updated.exitCode != 0);
    auto claimed
        = pg.psql(QStringLiteral("UPDATE imprint.stations SET role = '%1' WHERE station_id = '%2'").arg(b.role, a.id),
            b.role, b.password);
    CHECK(claimed.exitCode != 0);
    // QA reads and writes nothing.
    REQUIRE(pg.psql(QStringLiteral("CREATE ROLE qa_desk LOGIN PASSWORD 'qa-desk-pw'")).exitCode == 0);
    REQUIRE(test::run(QStringLiteral(IMPRINT_CTL),
                { QStringLiteral("plant"), QStringLiteral("add-station"), QStringLiteral("--conninfo"),
                    pg.adminConninfo(), QStringLiteral("--qa-role"), QStringLiteral("qa_desk") })
                .exitCode
        == 0);
    auto qaRead = pg.psql(
        QStringLiteral("SELECT count(*) FROM imprint.yield"), QStringLiteral("qa_desk"), QStringLiteral("qa-desk-pw"));
    INFO(qaRead.err.toStdString());
    CHECK(qaRead.exitCode == 0);
    CHECK(pg.psql(QStringLiteral("INSERT INTO imprint.pushes(station_id, rows, last_seq, backlog) VALUES ('%1', 1, 1, "
                                 "0)")
                      .arg(a.id),
                QStringLiteral("qa_desk"), QStringLiteral("qa-desk-pw"))
              .exitCode
        != 0);
    CHECK(plantCount(pg,
              QStringLiteral("SELECT count(*) FROM imprint.changes WHERE station_id = '%1' AND seq = 999999").arg(a.id))
        == 0);

    // What the plant vouches for is its own: the digest and the arrival time are computed
    // there, kinds and numeric keys are checked, a push's time is the server's.
    auto stamped = pg.psql(QStringLiteral("INSERT INTO imprint.changes(station_id, seq, kind, key, at, payload, "
                                          "payload_sha256, received) VALUES ('%1', 999998, 'device', 'B-000001', "
                                          "'9999-12-31', '{\"status\": \"passed\"}', '\\x00', '9999-12-31')")
                               .arg(b.id),
        b.role, b.password);
    CHECK(stamped.exitCode != 0);
    CHECK(stamped.err.contains("generated column"));
    auto arrived = pg.psql(QStringLiteral("INSERT INTO imprint.changes(station_id, seq, kind, key, payload, received) "
                                          "VALUES ('%1', 999995, 'device', 'B-000001', '{}', '9999-12-31')")
                               .arg(b.id),
        b.role, b.password);
    CHECK(arrived.exitCode != 0);
    CHECK(arrived.err.contains("permission denied"));
    auto own
        = pg.psql(QStringLiteral("INSERT INTO imprint.changes(station_id, seq, kind, key, at, payload) VALUES ('%1', "
                                 "999998, 'device', 'B-000001', '9999-12-31', '{\"status\": \"passed\"}')")
                      .arg(b.id),
            b.role, b.password);
    INFO(own.err.toStdString());
    CHECK(own.exitCode == 0);
    CHECK(plantCount(pg,
              QStringLiteral("SELECT count(*) FROM imprint.changes WHERE station_id = '%1' AND seq = 999998 AND "
                             "payload_sha256 = imprint.change_digest(payload, der, request) AND received < "
                             "now() + interval '1 minute'")
                  .arg(b.id))
        == 1);
    CHECK(
        pg.psql(QStringLiteral("INSERT INTO imprint.changes(station_id, seq, kind, key, payload) VALUES ('%1', 999997, "
                               "'job', 'latest', '{}')")
                    .arg(b.id),
              b.role, b.password)
            .exitCode
        != 0);
    CHECK(
        pg.psql(QStringLiteral("INSERT INTO imprint.changes(station_id, seq, kind, key, payload) VALUES ('%1', 999996, "
                               "'anything', 'x', '{}')")
                    .arg(b.id),
              b.role, b.password)
            .exitCode
        != 0);
    CHECK(pg.psql(QStringLiteral("INSERT INTO imprint.pushes(station_id, at, rows, last_seq, backlog) VALUES ('%1', "
                                 "'9999-12-31', 1, 1, 0)")
                      .arg(b.id),
                b.role, b.password)
              .exitCode
        != 0);
    CHECK(
        plantCount(pg, QStringLiteral("SELECT count(*) FROM imprint.pushes WHERE at > now() + interval '1 day'")) == 0);

    // Station B records a serial A made (a label printed twice, or a station lying): QA at C
    // is told both stations hold it, sees each one's record, and each certificate is checked
    // against the chain of the station that pushed it. B's forged row naming A's certificate
    // under another serial, and its escape sequences, are shown for what they are.
    REQUIRE(ctl(c.dataDir,
                { QStringLiteral("upstream"), QStringLiteral("configure"), QStringLiteral("--url"),
                    QStringLiteral("http://127.0.0.1:9/"), QStringLiteral("--trusted"),
                    a.dataDir + QStringLiteral("/ca/root.pem") })
                .exitCode
        == 0);
    {
        const QString dir = tmp.filePath(QStringLiteral("dup"));
        REQUIRE(test::run(QStringLiteral(IMPRINT_MAKECSR),
                    { QStringLiteral("--out"), dir, QStringLiteral("--count"), QStringLiteral("1"),
                        QStringLiteral("--serial-prefix"), QStringLiteral("A") })
                    .exitCode
            == 0);
        REQUIRE(ctl(b.dataDir,
                    { QStringLiteral("issue"), QStringLiteral("--csr"), dir + QStringLiteral("/A-000001.der"),
                        QStringLiteral("--device-serial"), QStringLiteral("A-000001"), QStringLiteral("--out"),
                        dir + QStringLiteral("/x.pem") })
                    .exitCode
            == 0);
        REQUIRE(push(b).exitCode == 0);
    }
    REQUIRE(pg.psql(QStringLiteral("INSERT INTO imprint.changes(station_id, seq, kind, key, at, payload, der) SELECT "
                                   "'%1', 999990, 'certificate', 'FEEDFACE', now(), jsonb_build_object('serial', "
                                   "'FEEDFACE', 'device_serial', 'A-000001', 'issued_at', E'\\u001b[2Jnow'), der FROM "
                                   "imprint.changes WHERE station_id = '%2' AND kind = 'certificate' AND "
                                   "payload->>'device_serial' = 'A-000001'")
                        .arg(b.id, a.id),
                  b.role, b.password)
                .exitCode
        == 0);
    // B also pushes a chain of its own that ends in A's root (which C trusts), its own root
    // inside: a root in a station's chain counts for nothing here.
    {
        QFile ownChain(b.dataDir + QStringLiteral("/ca/chain.pem"));
        QFile aRoot(a.dataDir + QStringLiteral("/ca/root.pem"));
        REQUIRE(ownChain.open(QIODevice::ReadOnly));
        REQUIRE(aRoot.open(QIODevice::ReadOnly));
        const QString pem = QString::fromLatin1(ownChain.readAll() + aRoot.readAll());
        REQUIRE(pg.psql(QStringLiteral("INSERT INTO imprint.chains(station_id, sha256, pem) VALUES ('%1', "
                                       "sha256(convert_to('%2', 'UTF8')), '%2')")
                            .arg(b.id, pem),
                      b.role, b.password)
                    .exitCode
            == 0);
    }
    // And pushes A's own chain as its, with A's genuine certificate of A-000002 as one of
    // A-000001: it verifies, but it is not this device's.
    {
        QFile aChain(a.dataDir + QStringLiteral("/ca/chain.pem"));
        REQUIRE(aChain.open(QIODevice::ReadOnly));
        const QString pem = QString::fromLatin1(aChain.readAll());
        REQUIRE(pg.psql(QStringLiteral("INSERT INTO imprint.chains(station_id, sha256, pem) VALUES ('%1', "
                                       "sha256(convert_to('%2', 'UTF8')), '%2') ON CONFLICT DO NOTHING")
                            .arg(b.id, pem),
                      b.role, b.password)
                    .exitCode
            == 0);
        auto other = pg.psql(QStringLiteral("INSERT INTO imprint.changes(station_id, seq, kind, key, at, payload, der) "
                                            "SELECT '%1', 999988, 'certificate', key, now(), jsonb_build_object("
                                            "'serial', key, 'device_serial', 'A-000001'), der FROM imprint.changes "
                                            "WHERE station_id = '%2' AND kind = 'certificate' AND "
                                            "payload->>'device_serial' = 'A-000002'")
                                 .arg(b.id, a.id),
            b.role, b.password);
        INFO(other.err.toStdString());
        REQUIRE(other.exitCode == 0);
    }
    // And says its certificate of A's serial came back from the upstream: the "upstream's
    // certificate" it pushes is its own, which verifies to nothing C trusts.
    REQUIRE(pg.psql(QStringLiteral("INSERT INTO imprint.changes(station_id, seq, kind, key, at, payload, der) SELECT "
                                   "'%1', 999989, 'certificate-state', key, now(), jsonb_build_object('serial', key, "
                                   "'state', 'issued', 'upstream', true), der FROM imprint.changes WHERE station_id = "
                                   "'%1' AND kind = 'certificate' AND payload->>'device_serial' = 'A-000001' AND seq < "
                                   "999988")
                        .arg(b.id),
                  b.role, b.password)
                .exitCode
        == 0);
    auto both
        = ctl(c.dataDir, { QStringLiteral("show"), QStringLiteral("--device-serial"), QStringLiteral("A-000001") });
    INFO(both.out.toStdString() << both.err.toStdString());
    REQUIRE(both.exitCode == 0);
    CHECK(both.out.contains("NOTE: 2 stations hold a record of serial A-000001"));
    CHECK(both.out.contains(QStringLiteral("Made on station %1 (line L1)").arg(a.id).toUtf8()));
    CHECK(both.out.contains(QStringLiteral("Made on station %1 (line L2)").arg(b.id).toUtf8()));
    CHECK(both.out.contains("the certificate the plant holds is not the one its row names"));
    CHECK(both.out.contains("upstream: certificate NOT verified"));
    CHECK(both.out.contains("the certificate is not for device A-000001 (it names \"A-000002\")"));
    CHECK_FALSE(both.out.contains("upstream: certified"));
    CHECK_FALSE(both.out.contains('\x1b'));
    auto bothJson = ctl(c.dataDir,
        { QStringLiteral("show"), QStringLiteral("--device-serial"), QStringLiteral("A-000001"),
            QStringLiteral("--json") });
    const QJsonArray records = QJsonDocument::fromJson(bothJson.out).object()[QStringLiteral("records")].toArray();
    REQUIRE(records.size() == 2);
    for (const QJsonValue& r : records) {
        const bool fromA = r.toObject()[QStringLiteral("station")].toString() == a.id;
        for (const QJsonValue& cv : r.toObject()[QStringLiteral("certificates")].toArray()) {
            const QJsonObject cert = cv.toObject();
            INFO(cert[QStringLiteral("serial")].toString().toStdString());
            // A's own certificate verifies to A's chain; nothing B pushed does.
            CHECK(cert[QStringLiteral("chain_verified")].toBool() == fromA);
        }
    }
}

TEST_CASE("The plant database stopped mid-push loses nothing and keeps nothing twice, and a changed payload is flagged")
{
    TestPostgres pg;
    REQUIRE(pg.ok());
    QTemporaryDir tmp;
    migrate(pg);
    const PlantStation s = plantStation(tmp, pg, QStringLiteral("S"), QStringLiteral("L9"));
    {
        QSettings ini(s.dataDir + QStringLiteral("/station.ini"), QSettings::IniFormat);
        ini.setValue(QStringLiteral("plant/batch-rows"), 100); // many transactions to cut between
        ini.setValue(QStringLiteral("plant/connect-timeout-s"), 2);
    }
    issue(tmp, s, QStringLiteral("P"), 12);
    // And a long tail of attempts (a shift's worth of empty slots), so that the push takes
    // long enough to be cut in the middle.
    test::tamper(s.dataDir + QStringLiteral("/imprint.sqlite"),
        QStringLiteral("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000) "
                       "INSERT INTO attempts(port, station, operator, started, finished, code, reason) SELECT "
                       "'/dev/pts/' || i, 'S', 'op', '2026-12-07T06:00:00.000Z', '2026-12-07T06:00:01.000Z', "
                       "'timeout', 'nothing answered' FROM n"));
    const qint64 queued = query(s.dataDir, QStringLiteral("SELECT COUNT(*) FROM plant_log")).value(0).toLongLong();
    REQUIRE(queued > 30000);

    // The server stops (as in a crash) while the push runs.
    QProcess running;
    running.start(QStringLiteral(IMPRINT_CTL),
        { QStringLiteral("plant"), QStringLiteral("push"), QStringLiteral("--progress"), QStringLiteral("--data-dir"),
            s.dataDir });
    REQUIRE(running.waitForStarted());
    // Cut once a few thousand are in.
    while (query(s.dataDir, QStringLiteral("SELECT COUNT(*) FROM plant_log")).value(0).toLongLong() > queued - 3000
        && running.state() == QProcess::Running)
        QThread::msleep(20);
    REQUIRE(pg.stop(QStringLiteral("immediate")));
    REQUIRE(running.waitForFinished(30000));
    CHECK(running.exitCode() != 0);
    const qint64 left = query(s.dataDir, QStringLiteral("SELECT COUNT(*) FROM plant_log")).value(0).toLongLong();
    INFO("queued " << queued << ", left after the cut " << left);
    REQUIRE(left > 0);
    REQUIRE(left < queued);

    // Down: the push says so in plain words, keeps every change, and the status says it too.
    auto down = push(s);
    CHECK(down.exitCode != 0);
    CHECK(down.err.contains("The plant database could not be reached"));
    CHECK(query(s.dataDir, QStringLiteral("SELECT COUNT(*) FROM plant_log")).value(0).toLongLong() == left);
    auto status = ctl(s.dataDir, { QStringLiteral("plant"), QStringLiteral("status") });
    CHECK(status.out.contains("last error:  The plant database could not be reached"));
    CHECK(status.out.contains("The plant record cannot be read now"));
    // The line does not wait for it: a device is issued while the plant is down.
    issue(tmp, s, QStringLiteral("Q"), 1);

    REQUIRE(pg.start());
    auto up = push(s);
    INFO(up.out.toStdString() << up.err.toStdString());
    REQUIRE(up.exitCode == 0);
    CHECK(query(s.dataDir, QStringLiteral("SELECT COUNT(*) FROM plant_log")) == QStringList { QStringLiteral("0") });
    const qint64 lastSeq = query(s.dataDir, QStringLiteral("SELECT seq FROM sqlite_sequence WHERE name = 'plant_log'"))
                               .value(0)
                               .toLongLong();
    // Every change once: as many rows as numbers, none missing, none twice.
    CHECK(plantCount(pg, QStringLiteral("SELECT count(*) FROM imprint.changes WHERE station_id = '%1'").arg(s.id))
        == lastSeq);
    CHECK(plantCount(
              pg, QStringLiteral("SELECT count(DISTINCT seq) FROM imprint.changes WHERE station_id = '%1'").arg(s.id))
        == lastSeq);
    CHECK(
        plantCount(pg, QStringLiteral("SELECT count(*) FROM imprint.devices WHERE station_id = '%1'").arg(s.id)) == 13);

    // A NUL written into a record behind the station's back does not stop the queue.
    test::tamper(s.dataDir + QStringLiteral("/imprint.sqlite"),
        QStringLiteral("UPDATE devices SET model = CAST(X'4D00' AS TEXT) WHERE serial = 'P-000003'"));
    auto nul = push(s);
    INFO(nul.out.toStdString() << nul.err.toStdString());
    CHECK(nul.exitCode == 0);
    CHECK(query(s.dataDir, QStringLiteral("SELECT COUNT(*) FROM plant_log")) == QStringList { QStringLiteral("0") });

    // The same change pushed again is taken once; another payload under the same number
    // (a store put back from an old copy) is flagged and kept, the plant's row unchanged.
    test::tamper(s.dataDir + QStringLiteral("/imprint.sqlite"),
        QStringLiteral("INSERT INTO plant_log(seq, kind, key) VALUES (1, 'device', 'P-000002')"));
    const QString before = QString::fromUtf8(
        pg.psql(QStringLiteral("SELECT payload::text FROM imprint.changes WHERE station_id = '%1' AND "
                               "seq = 1")
                    .arg(s.id))
            .out);
    auto flagged = push(s);
    INFO(flagged.out.toStdString() << flagged.err.toStdString());
    REQUIRE(flagged.exitCode == 0);
    CHECK(flagged.out.contains("1 flagged"));
    CHECK(plantCount(pg,
              QStringLiteral("SELECT count(*) FROM imprint.conflicts WHERE station_id = '%1' AND seq = 1 AND "
                             "offered->>'serial' = 'P-000002'")
                  .arg(s.id))
        == 1);
    CHECK(QString::fromUtf8(pg.psql(QStringLiteral("SELECT payload::text FROM imprint.changes WHERE station_id = '%1' "
                                                   "AND seq = 1")
                                        .arg(s.id))
                                .out)
        == before);
    auto conflicts = ctl(s.dataDir, { QStringLiteral("plant"), QStringLiteral("status") });
    CHECK(conflicts.out.contains("1 CONFLICT(S)"));
}

TEST_CASE("The network to the plant database cut without a word: the push gives up in bounded time, the line goes on, "
          "and the next push takes everything once")
{
    TestPostgres pg;
    REQUIRE(pg.ok());
    test::CutProxy network(pg.port());
    REQUIRE(network.ok());
    QTemporaryDir tmp;
    migrate(pg);
    const PlantStation s = plantStation(tmp, pg, QStringLiteral("S"), QStringLiteral("L7"));
    {
        // The station reaches the plant through the network that will be cut.
        QSettings ini(s.dataDir + QStringLiteral("/station.ini"), QSettings::IniFormat);
        ini.setValue(QStringLiteral("plant/conninfo"),
            QStringLiteral("host=127.0.0.1 port=%1 dbname=plant user=%2").arg(network.port()).arg(s.role));
        ini.setValue(QStringLiteral("plant/answer-timeout-s"), 3);
    }
    issue(tmp, s, QStringLiteral("N"), 3);
    test::tamper(s.dataDir + QStringLiteral("/imprint.sqlite"),
        QStringLiteral("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
                       "INSERT INTO attempts(port, station, operator, started, finished, code, reason) SELECT "
                       "'/dev/pts/' || i, 'S', 'op', '2026-12-07T06:00:00.000Z', '2026-12-07T06:00:01.000Z', "
                       "'timeout', 'nothing answered' FROM n"));
    const qint64 queued = query(s.dataDir, QStringLiteral("SELECT COUNT(*) FROM plant_log")).value(0).toLongLong();

    // Cut inside the first transaction, past its first rows (the station's chain): the push
    // is left inside it, what it wrote never committed, the server's session waiting for the
    // rest.
    network.cutAfter(60000);
    QElapsedTimer clock;
    clock.start();
    QProcess cutPush;
    cutPush.start(QStringLiteral(IMPRINT_CTL),
        { QStringLiteral("plant"), QStringLiteral("push"), QStringLiteral("--data-dir"), s.dataDir });
    REQUIRE(cutPush.waitForStarted());
    while (network.cut() == 0 && cutPush.state() == QProcess::Running)
        QThread::msleep(10);
    REQUIRE(network.cut() == 1);
    auto holding = [&] {
        return plantCount(pg,
            QStringLiteral("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'imprint-push %1' AND "
                           "backend_xid IS NOT NULL")
                .arg(s.id));
    };
    QElapsedTimer settle;
    settle.start();
    while (holding() == 0 && settle.elapsed() < 5000)
        QThread::msleep(50);
    REQUIRE(holding() == 1);
    // The line does not wait for it: a device is issued while the push hangs on the network.
    QElapsedTimer line;
    line.start();
    issue(tmp, s, QStringLiteral("M"), 1);
    CHECK(line.elapsed() < 2500);
    CHECK(cutPush.state() == QProcess::Running);
    REQUIRE(cutPush.waitForFinished(30000));
    const QString err = QString::fromUtf8(cutPush.readAllStandardError());
    INFO(err.toStdString());
    CHECK(cutPush.exitCode() != 0);
    CHECK(err.contains(QStringLiteral("The plant database did not answer within 3 s")));
    CHECK(clock.elapsed() < 20000);
    const qint64 left = query(s.dataDir, QStringLiteral("SELECT COUNT(*) FROM plant_log")).value(0).toLongLong();
    INFO("queued " << queued << ", left after the cut " << left);
    CHECK(left > 0);
    auto status = ctl(s.dataDir, { QStringLiteral("plant"), QStringLiteral("status") });
    CHECK(status.out.contains("last error:  The plant database did not answer within 3 s"));

    // The network back: the cut session still hangs on the server (no reset ever reached it),
    // holding the rows it wrote; the next push ends it and takes everything, each change once.
    CHECK(holding() == 1);
    network.heal();
    auto healed = push(s);
    INFO(healed.out.toStdString() << healed.err.toStdString());
    REQUIRE(healed.exitCode == 0);
    CHECK(query(s.dataDir, QStringLiteral("SELECT COUNT(*) FROM plant_log")) == QStringList { QStringLiteral("0") });
    const qint64 lastSeq = query(s.dataDir, QStringLiteral("SELECT seq FROM sqlite_sequence WHERE name = 'plant_log'"))
                               .value(0)
                               .toLongLong();
    CHECK(plantCount(pg, QStringLiteral("SELECT count(*) FROM imprint.changes WHERE station_id = '%1'").arg(s.id))
        == lastSeq);
    CHECK(plantCount(
              pg, QStringLiteral("SELECT count(DISTINCT seq) FROM imprint.changes WHERE station_id = '%1'").arg(s.id))
        == lastSeq);
    CHECK(
        plantCount(pg, QStringLiteral("SELECT count(*) FROM imprint.devices WHERE station_id = '%1'").arg(s.id)) == 4);
    CHECK(holding() == 0);
}

TEST_CASE("A station whose audit log was cut short after its head reached the plant fails audit verify --against-plant")
{
    TestPostgres pg;
    REQUIRE(pg.ok());
    QTemporaryDir tmp;
    migrate(pg);
    const PlantStation s = plantStation(tmp, pg, QStringLiteral("T"), QStringLiteral("L4"));
    issue(tmp, s, QStringLiteral("T"), 3);
    REQUIRE(ctl(s.dataDir, { QStringLiteral("audit"), QStringLiteral("head") }).exitCode == 0);
    REQUIRE(push(s).exitCode == 0);
    auto intact
        = ctl(s.dataDir, { QStringLiteral("audit"), QStringLiteral("verify"), QStringLiteral("--against-plant") });
    INFO(intact.out.toStdString() << intact.err.toStdString());
    CHECK(intact.exitCode == 0);
    CHECK(intact.out.contains("It extends the head the plant record holds"));
    // The witness as the plant's own tools read it: the station's newest checkpoint, signed.
    const qint64 newest = query(s.dataDir, QStringLiteral("SELECT MAX(seq) FROM audit WHERE kind = 'checkpoint'"))
                              .value(0)
                              .toLongLong();
    CHECK(plantCount(pg,
              QStringLiteral("SELECT max(entry) FROM imprint.audit_heads WHERE station_id = '%1' AND line = 'L4' AND "
                             "signed_head <> '' AND hash ~ '^[0-9a-f]{64}$'")
                  .arg(s.id))
        == newest);

    // The newest entry (the checkpoint the plant holds) goes, as a station cutting its log
    // short would leave it: the store agrees with itself (its own check finds nothing
    // edited), the plant does not.
    REQUIRE(newest > 3);
    REQUIRE(query(s.dataDir, QStringLiteral("SELECT MAX(seq) FROM audit")).value(0).toLongLong() == newest);
    test::tamper(
        s.dataDir + QStringLiteral("/imprint.sqlite"), QStringLiteral("DELETE FROM audit WHERE seq = %1").arg(newest));
    auto local = ctl(s.dataDir, { QStringLiteral("audit"), QStringLiteral("verify") });
    INFO(local.out.toStdString() << local.err.toStdString());
    CHECK(local.exitCode != 1);
    CHECK_FALSE(local.out.contains("TAMPERED"));
    auto cut = ctl(s.dataDir, { QStringLiteral("audit"), QStringLiteral("verify"), QStringLiteral("--against-plant") });
    INFO(cut.out.toStdString() << cut.err.toStdString());
    CHECK(cut.exitCode == 1);
    CHECK(cut.out.contains("TAMPERED"));
}

TEST_CASE("The station service pushes to the plant record on its own, and a stopped plant database only delays it")
{
    TestPostgres pg;
    REQUIRE(pg.ok());
    QTemporaryDir tmp;
    migrate(pg);
    const PlantStation s = plantStation(tmp, pg, QStringLiteral("V"), QStringLiteral("L5"));
    {
        QSettings ini(s.dataDir + QStringLiteral("/station.ini"), QSettings::IniFormat);
        ini.setValue(QStringLiteral("plant/push-every-s"), 1);
        ini.setValue(QStringLiteral("plant/retry-max-s"), 2);
    }
    issue(tmp, s, QStringLiteral("V"), 3);
    // The station's password never reached the server in clear (its log holds every statement).
    CHECK_FALSE(pg.log().contains(s.password.toUtf8()));
    CHECK(pg.log().contains("ALTER ROLE"));
    // A network server is named with TLS checked, and no password goes in the string.
    for (const QString& conninfo : { QStringLiteral("host=/tmp,db.plant.example dbname=imprint_plant"),
             QStringLiteral("host=localhost hostaddr=192.0.2.10 dbname=imprint_plant"),
             QStringLiteral("service=plant") }) {
        auto listed = ctl(s.dataDir,
            { QStringLiteral("plant"), QStringLiteral("configure"), QStringLiteral("--conninfo"), conninfo });
        INFO(conninfo.toStdString());
        CHECK(listed.exitCode == 2);
    }
    auto plain = ctl(s.dataDir,
        { QStringLiteral("plant"), QStringLiteral("configure"), QStringLiteral("--conninfo"),
            QStringLiteral("host=db.plant.example dbname=imprint_plant") });
    CHECK(plain.exitCode == 2);
    CHECK(plain.err.contains("sslmode=verify-full"));
    auto inline_ = ctl(s.dataDir,
        { QStringLiteral("plant"), QStringLiteral("configure"), QStringLiteral("--conninfo"),
            QStringLiteral("host=127.0.0.1 dbname=x password=hunter2") });
    CHECK(inline_.exitCode == 2);
    CHECK(inline_.err.contains("--password-file"));

    const QString socket = tmp.filePath(QStringLiteral("imprint.sock"));
    QProcess service;
    service.start(QStringLiteral(IMPRINT_DAEMON),
        { QStringLiteral("--data-dir"), s.dataDir, QStringLiteral("--socket"), socket, QStringLiteral("--allow-pty") });
    REQUIRE(service.waitForStarted(10000));
    auto waitFor = [&](const std::function<bool()>& done, int seconds) {
        QElapsedTimer t;
        t.start();
        while (!done() && t.elapsed() < seconds * 1000) {
            REQUIRE(service.state() == QProcess::Running);
            QThread::msleep(100);
        }
        return done();
    };
    auto devices = [&] {
        return plantCount(pg, QStringLiteral("SELECT count(*) FROM imprint.devices WHERE station_id = '%1'").arg(s.id));
    };
    CHECK(waitFor([&] { return devices() == 3; }, 30));

    // The plant database stops; changes keep being recorded (here, a shift's empty slots
    // written behind the service's back) and wait.
    REQUIRE(pg.stop());
    test::tamper(s.dataDir + QStringLiteral("/imprint.sqlite"),
        QStringLiteral("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5) INSERT INTO "
                       "attempts(port, station, operator, started, finished, code, reason) SELECT '/dev/pts/' || i, "
                       "'V', 'op', '2026-12-07T06:00:00.000Z', '2026-12-07T06:00:01.000Z', 'timeout', 'nothing "
                       "answered' FROM n"));
    CHECK(waitFor(
        [&] {
            return query(s.dataDir, QStringLiteral("SELECT last_error FROM plant_contact"))
                .value(0)
                .contains(QStringLiteral("could not be reached"));
        },
        30));
    CHECK(query(s.dataDir, QStringLiteral("SELECT COUNT(*) FROM plant_log")) == QStringList { QStringLiteral("5") });

    // Back: the service finds it on its own (its back-off is at most retry-max-s).
    REQUIRE(pg.start());
    CHECK(waitFor(
        [&] {
            return plantCount(pg,
                       QStringLiteral("SELECT count(*) FROM imprint.changes WHERE station_id = '%1' AND kind = "
                                      "'attempt'")
                           .arg(s.id))
                == 5;
        },
        30));
    CHECK(query(s.dataDir, QStringLiteral("SELECT COUNT(*) FROM plant_log")) == QStringList { QStringLiteral("0") });
    service.terminate();
    REQUIRE(service.waitForFinished(20000));
    CHECK(service.exitCode() == 0);
}
