// A line's day through imprintctl: 32 devices on 32 ptys at once, a lot, a mix of good and
// faulty devices counted right, a device that comes back reflashed, and an audit log sealed
// by signed checkpoints that shows entries cut off its end.

#include "TestSupport.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSet>
#include <QSettings>
#include <QTemporaryDir>

#include <catch2/catch.hpp>

using namespace imprint;

namespace {

const QString Ctl = QStringLiteral(IMPRINT_CTL);

QJsonDocument ctlJson(const QStringList& args, int expectedExit = 0)
{
    auto r = test::run(Ctl, args + QStringList { QStringLiteral("--json") });
    INFO(args.join(u' ').toStdString() << "\n" << r.out.toStdString() << r.err.toStdString());
    REQUIRE(r.exitCode == expectedExit);
    return QJsonDocument::fromJson(r.out);
}

} // namespace

TEST_CASE("32 devices on 32 ptys at once all pass, counted in their lot, under a sealed audit log")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    test::initQuickStation(dataDir);
    const QStringList dd { QStringLiteral("--data-dir"), dataDir };
    REQUIRE(test::run(Ctl,
                QStringList { QStringLiteral("lot"), QStringLiteral("create"), QStringLiteral("--id"),
                    QStringLiteral("WO-32"), QStringLiteral("--expected"), QStringLiteral("32") }
                    + dd)
                .exitCode
        == 0);
    test::DevSim sim({ QStringLiteral("--count"), QStringLiteral("32"), QStringLiteral("--serial-prefix"),
        QStringLiteral("L32"), QStringLiteral("--link-dir"), tmp.path() });
    auto prov = test::run(Ctl,
        QStringList { QStringLiteral("provision"), QStringLiteral("--lot"), QStringLiteral("WO-32"),
            QStringLiteral("--operator"), QStringLiteral("line-lead"), QStringLiteral("--json") }
            + dd + sim.portArgs());
    INFO(prov.err.toStdString());
    REQUIRE(prov.exitCode == 0);
    const auto results = test::jsonLines(prov.out);
    REQUIRE(results.size() == 32);
    for (const QJsonObject& r : results) {
        CHECK(r[QStringLiteral("status")].toString() == QLatin1String("passed"));
        CHECK(r[QStringLiteral("station_ms")].toDouble() > 0); // request in -> certificate out was measured
    }

    const QJsonObject lot = ctlJson(
        QStringList { QStringLiteral("lot"), QStringLiteral("show"), QStringLiteral("--id"), QStringLiteral("WO-32") }
        + dd)
                                .object();
    CHECK(lot[QStringLiteral("counts")].toObject()[QStringLiteral("passed")].toInt() == 32);
    CHECK(lot[QStringLiteral("remaining")].toInt() == 0);

    // Every step names where and who; the certificate's chain is checked.
    const QJsonObject device = ctlJson(
        QStringList { QStringLiteral("show"), QStringLiteral("--device-serial"), QStringLiteral("L32-0017") } + dd)
                                   .object();
    CHECK(device[QStringLiteral("lot")].toString() == QLatin1String("WO-32"));
    for (const auto& s : device[QStringLiteral("steps")].toArray()) {
        CHECK(s.toObject()[QStringLiteral("operator")].toString() == QLatin1String("line-lead"));
        CHECK_FALSE(s.toObject()[QStringLiteral("station")].toString().isEmpty());
    }
    CHECK(
        device[QStringLiteral("certificates")].toArray().first().toObject()[QStringLiteral("chain_verified")].toBool());

    // 32 certificates wait for upstream.
    CHECK(ctlJson(QStringList { QStringLiteral("outbox") } + dd).object()[QStringLiteral("pending")].toInt() == 32);

    // The station sealed the log when it stopped: the newest checkpoint covers every entry,
    // signed by the audit key in the token.
    const QJsonObject audit = ctlJson(QStringList { QStringLiteral("audit"), QStringLiteral("verify") } + dd).object();
    CHECK(audit[QStringLiteral("intact")].toBool());
    CHECK(audit[QStringLiteral("signatures_checked")].toBool());
    CHECK(audit[QStringLiteral("checkpoints")].toInt() >= 1);
    CHECK(audit[QStringLiteral("last_checkpoint")].toInt() == audit[QStringLiteral("entries")].toInt());

    // Cutting the newest entries off leaves a chain that is whole on its own: a head kept
    // elsewhere tells.
    const QString head = dataDir + QStringLiteral("-head.json");
    REQUIRE(test::run(Ctl,
                QStringList { QStringLiteral("audit"), QStringLiteral("head"), QStringLiteral("--out"), head } + dd)
                .exitCode
        == 0);
    test::tamper(dataDir + QStringLiteral("/imprint.sqlite"),
        QStringLiteral("DELETE FROM audit WHERE seq > (SELECT MAX(seq) - 5 FROM audit)"));
    const QJsonObject cut = ctlJson(
        QStringList { QStringLiteral("audit"), QStringLiteral("verify"), QStringLiteral("--since"), head } + dd, 1)
                                .object();
    CHECK_FALSE(cut[QStringLiteral("intact")].toBool());
    CHECK(cut[QStringLiteral("problem")].toString().contains(QStringLiteral("removed from the end")));

    // The lot is done: closed, it takes no more devices; closing it twice is refused.
    const QStringList close { QStringLiteral("lot"), QStringLiteral("close"), QStringLiteral("--id"),
        QStringLiteral("WO-32") };
    REQUIRE(test::run(Ctl, close + dd).exitCode == 0);
    CHECK(test::run(Ctl, close + dd).exitCode == 2);
    const QJsonArray lots = ctlJson(QStringList { QStringLiteral("lot"), QStringLiteral("list") } + dd).array();
    REQUIRE(lots.size() == 1);
    CHECK_FALSE(lots.first().toObject()[QStringLiteral("closed")].toString().isEmpty());
    test::DevSim late({ QStringLiteral("--serial"), QStringLiteral("L32-LATE") });
    auto refused = test::run(Ctl,
        QStringList { QStringLiteral("provision"), QStringLiteral("--lot"), QStringLiteral("WO-32") } + dd
            + late.portArgs());
    CHECK(refused.exitCode == 2);
    CHECK(refused.err.contains("was closed"));
}

TEST_CASE("A mix of good and faulty devices on one station gives the right counts")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    test::initQuickStation(dataDir);
    const QStringList dd { QStringLiteral("--data-dir"), dataDir };
    test::DevSim good({ QStringLiteral("--count"), QStringLiteral("10"), QStringLiteral("--serial-prefix"),
        QStringLiteral("MIX-OK"), QStringLiteral("--link-dir"), tmp.path() });
    test::DevSim forged(
        { QStringLiteral("--count"), QStringLiteral("3"), QStringLiteral("--serial-prefix"), QStringLiteral("MIX-SIG"),
            QStringLiteral("--fault"), QStringLiteral("bad-csr-signature"), QStringLiteral("--link-dir"), tmp.path() });
    test::DevSim refusing(
        { QStringLiteral("--count"), QStringLiteral("3"), QStringLiteral("--serial-prefix"), QStringLiteral("MIX-REF"),
            QStringLiteral("--fault"), QStringLiteral("refuse-cert"), QStringLiteral("--link-dir"), tmp.path() });
    auto prov = test::run(Ctl,
        QStringList { QStringLiteral("provision"), QStringLiteral("--json") } + dd + good.portArgs() + forged.portArgs()
            + refusing.portArgs());
    CHECK(prov.exitCode == 1);
    QHash<QString, int> codes;
    int passed = 0;
    for (const QJsonObject& r : test::jsonLines(prov.out)) {
        if (r[QStringLiteral("status")].toString() == QLatin1String("passed"))
            ++passed;
        else
            ++codes[r[QStringLiteral("code")].toString()];
    }
    CHECK(passed == 10);
    CHECK(codes.value(QStringLiteral("bad-signature")) == 3);
    CHECK(codes.value(QStringLiteral("refused")) == 3);
    const QJsonObject counts
        = ctlJson(QStringList { QStringLiteral("list"), QStringLiteral("--counts") } + dd).object();
    CHECK(counts[QStringLiteral("passed")].toInt() == 10);
    CHECK(counts[QStringLiteral("failed")].toInt() == 6);
    // Refused certificates never left: three issued, none verified, none in a device.
    auto refused = ctlJson(
        QStringList { QStringLiteral("show"), QStringLiteral("--device-serial"), QStringLiteral("MIX-REF-0001") } + dd);
    CHECK(refused.object()[QStringLiteral("certificates")]
              .toArray()
              .first()
              .toObject()[QStringLiteral("state")]
              .toString()
        == QLatin1String("issued"));
}

TEST_CASE("A device that comes back reflashed gets a new certificate, the old one is superseded and revoked upstream")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    test::initQuickStation(dataDir);
    const QStringList dd { QStringLiteral("--data-dir"), dataDir };
    QString firstCert;
    {
        // Gone for good right after taking its certificate: the job fails with the
        // certificate installed but never proven.
        test::DevSim sim({ QStringLiteral("--serial"), QStringLiteral("RF-1"), QStringLiteral("--fault"),
            QStringLiteral("disconnect-at:read-cert"), QStringLiteral("--link-dir"), tmp.path() });
        auto prov = test::run(
            Ctl, QStringList { QStringLiteral("provision"), QStringLiteral("--json") } + dd + sim.portArgs());
        CHECK(prov.exitCode == 1);
        const auto certs = ctlJson(
            QStringList { QStringLiteral("show"), QStringLiteral("--device-serial"), QStringLiteral("RF-1") } + dd)
                               .object()[QStringLiteral("certificates")]
                               .toArray();
        REQUIRE(certs.size() == 1);
        CHECK(certs.first().toObject()[QStringLiteral("state")].toString() == QLatin1String("installed"));
        firstCert = certs.first().toObject()[QStringLiteral("serial")].toString();
    }
    // Back from rework, blank: the certificate on record is for a key that no longer exists.
    test::DevSim sim({ QStringLiteral("--serial"), QStringLiteral("RF-1"), QStringLiteral("--link-dir"), tmp.path() });
    auto prov
        = test::run(Ctl, QStringList { QStringLiteral("provision"), QStringLiteral("--json") } + dd + sim.portArgs());
    INFO(prov.err.toStdString());
    REQUIRE(prov.exitCode == 0);
    const auto certs = ctlJson(
        QStringList { QStringLiteral("show"), QStringLiteral("--device-serial"), QStringLiteral("RF-1") } + dd)
                           .object()[QStringLiteral("certificates")]
                           .toArray();
    REQUIRE(certs.size() == 2);
    QHash<QString, QString> stateOf;
    for (const auto& c : certs)
        stateOf.insert(
            c.toObject()[QStringLiteral("serial")].toString(), c.toObject()[QStringLiteral("state")].toString());
    CHECK(stateOf.value(firstCert) == QLatin1String("superseded"));
    CHECK(stateOf.values().count(QStringLiteral("verified")) == 1);
    bool revocation = false;
    for (const auto& row :
        ctlJson(QStringList { QStringLiteral("outbox") } + dd).object()[QStringLiteral("rows")].toArray())
        revocation |= row.toObject()[QStringLiteral("kind")].toString() == QLatin1String("revocation")
            && row.toObject()[QStringLiteral("subject")].toString() == firstCert;
    CHECK(revocation);
}

TEST_CASE("Devices with no serial take the labels scanned on standard input, in the order they wait")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    test::initQuickStation(dataDir);
    const QStringList dd { QStringLiteral("--data-dir"), dataDir };
    test::DevSim sim({ QStringLiteral("--count"), QStringLiteral("2"), QStringLiteral("--unassigned"),
        QStringLiteral("--serial-prefix"), QStringLiteral("NOSN"), QStringLiteral("--link-dir"), tmp.path() });
    // Without a scanner, a device with no serial fails and says what to do.
    auto without
        = test::run(Ctl, QStringList { QStringLiteral("provision"), QStringLiteral("--json") } + dd + sim.portArgs());
    CHECK(without.exitCode == 1);
    for (const QJsonObject& r : test::jsonLines(without.out))
        CHECK(r[QStringLiteral("code")].toString() == QLatin1String("serial-unassigned"));
    // A label that is no serial is refused; the next one is used.
    auto with = test::run(Ctl,
        QStringList { QStringLiteral("provision"), QStringLiteral("--scan"), QStringLiteral("--json") } + dd
            + sim.portArgs(),
        "SCANNED-1\nnot a serial!\nSCANNED-2\n");
    INFO(with.err.toStdString());
    CHECK(with.exitCode == 0);
    CHECK(with.err.contains("is not a serial"));
    QSet<QString> serials;
    for (const QJsonObject& r : test::jsonLines(with.out)) {
        CHECK(r[QStringLiteral("status")].toString() == QLatin1String("passed"));
        serials.insert(r[QStringLiteral("serial")].toString());
    }
    CHECK(serials == QSet<QString> { QStringLiteral("SCANNED-1"), QStringLiteral("SCANNED-2") });
}

TEST_CASE("A change to the station's settings between two starts is in the audit log, once")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    test::initQuickStation(dataDir);
    const QStringList dd { QStringLiteral("--data-dir"), dataDir };
    auto settingEntries = [&] {
        int n = 0;
        for (const auto& e : ctlJson(QStringList { QStringLiteral("audit"), QStringLiteral("show"),
                                         QStringLiteral("--limit"), QStringLiteral("1000") }
                 + dd)
                                 .array())
            n += e.toObject()[QStringLiteral("subject")].toString() == QLatin1String("station-settings");
        return n;
    };
    auto start = [&] {
        test::DevSim sim({ QStringLiteral("--count"), QStringLiteral("1"), QStringLiteral("--link-dir"), tmp.path() });
        REQUIRE(test::run(Ctl, QStringList { QStringLiteral("provision") } + dd + sim.portArgs()).exitCode == 0);
    };
    start();
    CHECK(settingEntries() == 1);
    start();
    CHECK(settingEntries() == 1); // nothing changed
    {
        QSettings s(dataDir + QStringLiteral("/station.ini"), QSettings::IniFormat);
        s.setValue(QStringLiteral("timeouts/attempts"), 3); // an edit by hand
    }
    start();
    CHECK(settingEntries() == 2);
}

TEST_CASE("A blank device under the serial of one that passed is refused, its certificate stays, scrapping frees it")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    test::initQuickStation(dataDir);
    const QStringList dd { QStringLiteral("--data-dir"), dataDir };
    auto provision = [&] {
        test::DevSim sim(
            { QStringLiteral("--serial"), QStringLiteral("DUP-1"), QStringLiteral("--link-dir"), tmp.path() });
        return test::jsonLines(
            test::run(Ctl, QStringList { QStringLiteral("provision"), QStringLiteral("--json") } + dd + sim.portArgs())
                .out);
    };
    auto first = provision();
    REQUIRE(first.size() == 1);
    REQUIRE(first.first()[QStringLiteral("status")].toString() == QLatin1String("passed"));
    const QString shipped
        = first.first()[QStringLiteral("certificate")].toObject()[QStringLiteral("serial")].toString();

    auto second = provision(); // another blank board with the same label
    REQUIRE(second.size() == 1);
    CHECK(second.first()[QStringLiteral("code")].toString() == QLatin1String("serial-in-use"));
    auto device = ctlJson(
        QStringList { QStringLiteral("show"), QStringLiteral("--device-serial"), QStringLiteral("DUP-1") } + dd)
                      .object();
    CHECK(device[QStringLiteral("status")].toString() == QLatin1String("passed")); // the record is as it was
    REQUIRE(device[QStringLiteral("certificates")].toArray().size() == 1);
    CHECK(device[QStringLiteral("certificates")].toArray().first().toObject()[QStringLiteral("state")].toString()
        == QLatin1String("verified"));
    CHECK(ctlJson(QStringList { QStringLiteral("outbox") } + dd).object()[QStringLiteral("pending")].toInt() == 1);

    // Reworked for real: scrap the old record (its certificate is revoked), then provision.
    REQUIRE(test::run(Ctl,
                QStringList { QStringLiteral("scrap"), QStringLiteral("--device-serial"), QStringLiteral("DUP-1"),
                    QStringLiteral("--reason"), QStringLiteral("reworked board") }
                    + dd)
                .exitCode
        == 0);
    auto third = provision();
    REQUIRE(third.size() == 1);
    CHECK(third.first()[QStringLiteral("status")].toString() == QLatin1String("passed"));
    CHECK(third.first()[QStringLiteral("certificate")].toObject()[QStringLiteral("serial")].toString() != shipped);
}
