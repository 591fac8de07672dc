// Every way the simulated device can misbehave, over real ptys: each fault ends its slot
// with its documented code, nothing hangs, and no such device is recorded as passed or
// holds a verified certificate. Timeouts are shortened in station.ini so the run is quick.

#include "TestSupport.h"

#include <QDir>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSet>
#include <QSettings>
#include <QTemporaryDir>

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

using namespace imprint;

namespace {

const QString Ctl = QStringLiteral(IMPRINT_CTL);

/// The device's record, or an empty object when the station never identified it.
QJsonObject record(const QString& dataDir, const QString& serial)
{
    auto r = test::run(Ctl,
        { QStringLiteral("show"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--device-serial"), serial,
            QStringLiteral("--json") });
    if (r.exitCode == 3)
        return {};
    REQUIRE(r.exitCode == 0);
    return QJsonDocument::fromJson(r.out).object();
}

} // namespace

TEST_CASE("Over ptys, each device fault ends its slot with its documented code, and nothing unproven passes")
{
    QTemporaryDir tmp;
    const QString dataDir = test::quickStation(tmp);

    for (const test::DeviceScenario& c : test::deviceScenarios()) {
        DYNAMIC_SECTION(c.name().toStdString())
        {
            const QString serial = QStringLiteral("F-%1").arg(c.name());
            // A port name of this test's own: pty numbers are reused at once by other processes,
            // and a slot waiting for its device to come back must not find someone else's.
            test::DevSim sim({ QStringLiteral("--serial"), serial, QStringLiteral("--fault"),
                QString::fromLatin1(c.fault), QStringLiteral("--link-dir"), tmp.path(), QStringLiteral("--max-frame"),
                QString::number(c.maxFrame), QStringLiteral("--protocol"), QString::number(c.protocol) });
            QElapsedTimer timer;
            timer.start();
            auto prov = test::run(Ctl,
                QStringList {
                    QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--json") }
                    + sim.portArgs());
            INFO(prov.err.toStdString());
            const bool passes = QByteArray(c.code).isEmpty();
            CHECK(prov.exitCode == (passes ? 0 : 1));
            CHECK(timer.elapsed() < 20000); // nothing hangs (the station gave up on its own)
            const auto results = test::jsonLines(prov.out);
            REQUIRE(results.size() == 1);
            CHECK(results.first()[QStringLiteral("status")].toString() == QLatin1String(passes ? "passed" : "failed"));
            CHECK(results.first()[QStringLiteral("code")].toString() == QLatin1String(c.code));

            const QJsonObject device = record(dataDir, serial);
            CHECK((device[QStringLiteral("status")].toString() == QLatin1String("passed")) == passes);
            const QJsonArray certs = device[QStringLiteral("certificates")].toArray();
            CHECK(certs.size() == c.certificates);
            for (const auto& cert : certs)
                CHECK(cert.toObject()[QStringLiteral("state")].toString() == QLatin1String(c.certificateState));
        }
    }
}

TEST_CASE("A model or firmware one past its limit, or a serial outside the alphabet, is refused at identify, and the "
          "device stays blank")
{
    QTemporaryDir tmp;
    const QString dataDir = test::quickStation(tmp);
    struct Case {
        const char* name;
        QStringList args;
        const char* code; ///< empty: at the limit, it passes
    };
    const QList<Case> cases {
        { "model of 64 characters", { QStringLiteral("--model"), QString(64, u'M') }, "" },
        // Its request (which names the model) is larger than its max-frame: a request comes in
        // one frame, whatever the device's max-frame.
        { "model of 64 four-byte characters, version 3, max-frame 512",
            { QStringLiteral("--model"), QString::fromUcs4(std::u32string(64, U'\U0001D544').c_str(), 64),
                QStringLiteral("--serial"), QStringLiteral("W-") + QString(62, u'7'), QStringLiteral("--protocol"),
                QStringLiteral("3"), QStringLiteral("--max-frame"), QStringLiteral("512") },
            "" },
        { "model of 65 characters", { QStringLiteral("--model"), QString(65, u'M') }, "bad-model" },
        { "firmware of 64 characters", { QStringLiteral("--firmware"), QString(64, u'1') }, "" },
        { "firmware of 65 characters", { QStringLiteral("--firmware"), QString(65, u'1') }, "bad-firmware" },
        { "serial with '_'", { QStringLiteral("--serial"), QStringLiteral("LIM_1") }, "bad-serial" },
        { "serial of 64 characters", { QStringLiteral("--serial"), QStringLiteral("L-") + QString(62, u'9') }, "" },
        { "serial of 65 characters", { QStringLiteral("--serial"), QStringLiteral("L-") + QString(63, u'9') },
            "bad-serial" },
    };
    int n = 0;
    for (const Case& c : cases) {
        ++n;
        DYNAMIC_SECTION(c.name)
        {
            QStringList args = c.args;
            if (!args.contains(QStringLiteral("--serial")))
                args << QStringLiteral("--serial") << QStringLiteral("LIM-%1").arg(n);
            test::DevSim sim(args);
            auto prov = test::run(Ctl,
                QStringList {
                    QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--json") }
                    + sim.portArgs());
            const auto results = test::jsonLines(prov.out);
            REQUIRE(results.size() == 1);
            CHECK(results.first()[QStringLiteral("code")].toString() == QLatin1String(c.code));
            CHECK(prov.exitCode == (QByteArray(c.code).isEmpty() ? 0 : 1));
            // The device was asked for nothing after identify: it is blank, with no key.
            auto id = test::run(QStringLiteral(IMPRINT_DEVCHECK),
                { QStringLiteral("--port"), sim.ports().first(), QStringLiteral("--identify") });
            REQUIRE(id.exitCode == 0);
            CHECK(QJsonDocument::fromJson(id.out).object()[QStringLiteral("state")].toString()
                == QLatin1String(QByteArray(c.code).isEmpty() ? "locked" : "blank"));
        }
    }
}

TEST_CASE("Two devices with one key (a broken RNG): the second is refused as key-reused")
{
    QTemporaryDir tmp;
    const QString dataDir = test::quickStation(tmp);
    test::DevSim sim({ QStringLiteral("--count"), QStringLiteral("2"), QStringLiteral("--serial-prefix"),
        QStringLiteral("RNG"), QStringLiteral("--fault"), QStringLiteral("same-key") });
    // One at a time, so which one comes second is known.
    auto first = test::run(Ctl,
        { QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--json"),
            QStringLiteral("--port"), sim.ports().at(0) });
    CHECK(first.exitCode == 0);
    auto second = test::run(Ctl,
        { QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--json"),
            QStringLiteral("--port"), sim.ports().at(1) });
    CHECK(second.exitCode == 1);
    const auto results = test::jsonLines(second.out);
    REQUIRE(results.size() == 1);
    CHECK(results.first()[QStringLiteral("code")].toString() == QLatin1String("key-reused"));
    CHECK(record(dataDir, QStringLiteral("RNG-0002"))[QStringLiteral("certificates")].toArray().isEmpty());
}

TEST_CASE("Noise on the line and injected keys: the station gets through")
{
    QTemporaryDir tmp;
    const QString dataDir = test::quickStation(tmp);
    SECTION("a flood of garbage before every answer is skipped")
    {
        test::DevSim sim({ QStringLiteral("--serial"), QStringLiteral("NOISY-1"), QStringLiteral("--fault"),
            QStringLiteral("garbage-flood") });
        auto prov = test::run(Ctl,
            QStringList { QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--json") }
                + sim.portArgs());
        INFO(prov.err.toStdString());
        CHECK(prov.exitCode == 0);
    }
    SECTION("a certificate and chain larger than a version-2 device's frames are refused before signing")
    {
        test::DevSim sim({ QStringLiteral("--serial"), QStringLiteral("SMALL-1"), QStringLiteral("--max-frame"),
            QStringLiteral("1024"), QStringLiteral("--protocol"), QStringLiteral("2"), QStringLiteral("--link-dir"),
            tmp.path() });
        auto prov = test::run(Ctl,
            QStringList { QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--json") }
                + sim.portArgs());
        CHECK(prov.exitCode == 1);
        const auto results = test::jsonLines(prov.out);
        REQUIRE(results.size() == 1);
        CHECK(results.first()[QStringLiteral("code")].toString() == QLatin1String("frame-too-large"));
        // Nothing was signed: no certificate issued and never shipped is left on record.
        CHECK(record(dataDir, QStringLiteral("SMALL-1"))[QStringLiteral("certificates")].toArray().isEmpty());
    }
    SECTION("a device that holds only P-384 keys and cannot receive one is refused as unsupported")
    {
        test::DevSim sim({ QStringLiteral("--serial"), QStringLiteral("P384-1"), QStringLiteral("--key-types"),
            QStringLiteral("p384"), QStringLiteral("--link-dir"), tmp.path() });
        auto prov = test::run(Ctl,
            QStringList { QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--json") }
                + sim.portArgs());
        CHECK(prov.exitCode == 1);
        const auto results = test::jsonLines(prov.out);
        REQUIRE(results.size() == 1);
        CHECK(results.first()[QStringLiteral("code")].toString() == QLatin1String("unsupported"));
    }
    SECTION("line settings on the port are applied (a pty takes any)")
    {
        test::DevSim sim(
            { QStringLiteral("--serial"), QStringLiteral("LINE-9600"), QStringLiteral("--link-dir"), tmp.path() });
        auto prov = test::run(Ctl,
            { QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--port"),
                sim.ports().first() + QStringLiteral("@9600,8N1,none") });
        INFO(prov.err.toStdString());
        CHECK(prov.exitCode == 0);
        auto bad = test::run(Ctl,
            { QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--port"),
                sim.ports().first() + QStringLiteral("@9600,9Q1") });
        CHECK(bad.exitCode == 2);
        CHECK(bad.err.contains("not valid"));
    }
    SECTION("a device that cannot make keys receives one, sealed, and proves it holds it")
    {
        test::DevSim sim({ QStringLiteral("--count"), QStringLiteral("2"), QStringLiteral("--serial-prefix"),
            QStringLiteral("INJ"), QStringLiteral("--key-mode"), QStringLiteral("inject") });
        auto prov = test::run(Ctl,
            QStringList { QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--json") }
                + sim.portArgs());
        INFO(prov.err.toStdString());
        CHECK(prov.exitCode == 0);
        for (const QJsonObject& r : test::jsonLines(prov.out))
            CHECK(r[QStringLiteral("status")].toString() == QLatin1String("passed"));
        const QJsonObject device = record(dataDir, QStringLiteral("INJ-0001"));
        CHECK(device[QStringLiteral("status")].toString() == QLatin1String("passed"));
        CHECK(device[QStringLiteral("certificates")].toArray().first().toObject()[QStringLiteral("state")].toString()
            == QLatin1String("verified"));
    }
}

TEST_CASE("A device that goes away and comes back is resumed where it is")
{
    QTemporaryDir tmp;
    const QString dataDir = test::quickStation(tmp);
    QSettings(dataDir + QStringLiteral("/station.ini"), QSettings::IniFormat)
        .setValue(QStringLiteral("timeouts/reconnect-ms"), 5000);

    struct Case {
        const char* at;
        bool blank; // comes back reflashed, its key gone
        int superseded;
        int maxFrame = 65536; // 512: the certificate goes in parts (version 3)
    };
    const Case cases[] = {
        { "generate-key", false, 0 }, // nothing issued yet: a key is made again
        { "install-cert", false, 0 }, // issued for the key it still has: installed again
        { "sign-challenge", false, 0 }, // certificate on the device: verified
        { "read-cert", true, 1 }, // came back without the key: superseded, new key, new certificate
        // Gone in the middle of a transfer in parts: the transfer starts over; or, blank, superseded.
        { "stage-chunk", false, 0, 512 },
        { "stage-chunk", true, 1, 512 },
        { "stage-begin", true, 1, 512 },
    };
    for (const Case& c : cases) {
        DYNAMIC_SECTION(c.at << (c.blank ? " (comes back blank)" : ""))
        {
            const QString serial = QStringLiteral("BACK-%1%2")
                                       .arg(QString::fromLatin1(c.at), c.blank ? QStringLiteral("-B") : QString());
            QStringList args { QStringLiteral("--serial"), serial, QStringLiteral("--fault"),
                QStringLiteral("disconnect-at:") + QString::fromLatin1(c.at), QStringLiteral("--come-back-ms"),
                QStringLiteral("600"), QStringLiteral("--link-dir"), tmp.path(), QStringLiteral("--max-frame"),
                QString::number(c.maxFrame) };
            if (c.blank)
                args << QStringLiteral("--come-back-blank");
            test::DevSim sim(args);
            REQUIRE(sim.ports().first() == tmp.filePath(serial));
            auto prov = test::run(Ctl,
                QStringList {
                    QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--json") }
                    + sim.portArgs());
            INFO(prov.out.toStdString() + prov.err.toStdString());
            CHECK(prov.exitCode == 0);
            const QJsonObject device = record(dataDir, serial);
            CHECK(device[QStringLiteral("status")].toString() == QLatin1String("passed"));
            int verified = 0, superseded = 0;
            QStringList supersededSerials;
            for (const auto& cert : device[QStringLiteral("certificates")].toArray()) {
                const QString state = cert.toObject()[QStringLiteral("state")].toString();
                verified += state == QLatin1String("verified");
                superseded += state == QLatin1String("superseded");
                if (state == QLatin1String("superseded"))
                    supersededSerials << cert.toObject()[QStringLiteral("serial")].toString();
            }
            CHECK(verified == 1);
            CHECK(superseded == c.superseded);
            // A superseded certificate is on the CRL the station signed as it happened.
            if (c.superseded) {
                auto crl = test::run(QStringLiteral("openssl"),
                    { QStringLiteral("crl"), QStringLiteral("-in"), dataDir + QStringLiteral("/ca/crl.pem"),
                        QStringLiteral("-noout"), QStringLiteral("-text") });
                REQUIRE(crl.exitCode == 0);
                for (const QString& s : supersededSerials)
                    CHECK(crl.out.contains(s.toLatin1()));
                CHECK(crl.out.contains("Superseded"));
            }
            QStringList steps;
            for (const auto& step : device[QStringLiteral("steps")].toArray())
                steps << step.toObject()[QStringLiteral("step")].toString();
            CHECK(steps.contains(QStringLiteral("disconnect")));
            CHECK(steps.contains(QStringLiteral("reconnect")));
        }
    }
}

TEST_CASE("imprint-devsim on emulated USB, imprintctl beside it: the device is found by its ids and provisioned")
{
    QTemporaryDir tmp;
    const QString dataDir = test::quickStation(tmp);
    // Two processes, as on a line: the simulator serves the emulated device, the station
    // runs with umockdev's preload library and finds it through libusb's hotplug.
    auto run = test::run(QStringLiteral(IMPRINT_DEVSIM),
        { QStringLiteral("--usb"), QStringLiteral("1209:0001"), QStringLiteral("--serial"), QStringLiteral("USBX-1"),
            QStringLiteral("--"), Ctl, QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir,
            QStringLiteral("--usb"), QStringLiteral("1209:0001"), QStringLiteral("--count"), QStringLiteral("1"),
            QStringLiteral("--json") });
    INFO(run.out.toStdString() + run.err.toStdString());
    CHECK(run.exitCode == 0);
    CHECK(run.out.contains("usb:1209:0001:USBX-1"));
    const QJsonObject device = record(dataDir, QStringLiteral("USBX-1"));
    CHECK(device[QStringLiteral("status")].toString() == QLatin1String("passed"));
}

TEST_CASE("Every attempt is a record: slots that fail before a device's job starts are listed, counted and in the "
          "Pareto by cause, and a header flood ends its slot with one log line")
{
    QTemporaryDir tmp;
    const QString dataDir = test::quickStation(tmp);
    // A device that passes, so that a second one under its serial is a label that does not match.
    test::DevSim first(
        { QStringLiteral("--serial"), QStringLiteral("ATT-OK"), QStringLiteral("--link-dir"), tmp.path() });
    auto ok = test::run(
        Ctl, QStringList { QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir } + first.portArgs());
    REQUIRE(ok.exitCode == 0);
    CHECK(ok.out.contains("1 device: 1 passed, 0 done earlier, 0 failed."));

    struct Case {
        QStringList args;
        const char* code;
    };
    const QList<Case> cases {
        { { QStringLiteral("--fault"), QStringLiteral("silent") }, "timeout" },
        { { QStringLiteral("--fault"), QStringLiteral("corrupt-frame") }, "bad-frames" },
        { { QStringLiteral("--fault"), QStringLiteral("header-flood") }, "bad-frames" },
        { { QStringLiteral("--serial"), QStringLiteral("ATT_BAD") }, "bad-serial" },
        { { QStringLiteral("--unassigned") }, "serial-unassigned" },
        { { QStringLiteral("--serial"), QStringLiteral("ATT-OK") }, "serial-in-use" },
    };
    std::vector<std::unique_ptr<test::DevSim>> sims;
    QStringList ports;
    int n = 0;
    for (const Case& c : cases) {
        QStringList args = c.args;
        if (!args.contains(QStringLiteral("--serial")) && !args.contains(QStringLiteral("--unassigned")))
            args << QStringLiteral("--serial") << QStringLiteral("ATT-%1").arg(++n);
        args << QStringLiteral("--link-dir") << tmp.path();
        sims.push_back(std::make_unique<test::DevSim>(args));
        ports << sims.back()->portArgs();
    }
    // And a port that is not there, given as a relative path (a path, not a name under /dev).
    const QString missing = QStringLiteral("no-such-folder/ttyNONE");
    ports << QStringLiteral("--port") << missing;
    auto prov = test::run(Ctl,
        QStringList { QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--json") }
            + ports);
    INFO(prov.err.toStdString());
    CHECK(prov.exitCode == 1);
    QMap<QString, int> codes;
    for (const QJsonObject& r : test::jsonLines(prov.out))
        ++codes[r[QStringLiteral("code")].toString()];
    CHECK(codes.value(QStringLiteral("bad-frames")) == 2);
    CHECK(codes.value(QStringLiteral("no-port")) == 1);
    CHECK(prov.err.contains("7 devices: 0 passed, 0 done earlier, 7 failed"));
    // The missing port is said as such, at the path it was given as.
    CHECK(prov.err.contains(
        (QStringLiteral("There is no port ") + QDir(QDir::currentPath()).filePath(missing)).toUtf8()));
    CHECK_FALSE(prov.err.contains("is gone"));
    // The flood: one line for its slot (its failure, saying how many frames were dropped), no noise line each.
    const QString floodPort = sims.at(2)->ports().first();
    int floodLines = 0;
    for (const QByteArray& line : prov.err.split('\n'))
        floodLines += line.contains(floodPort.toUtf8()) ? 1 : 0;
    CHECK(floodLines == 1);
    CHECK(prov.err.contains("broken frames"));

    // Listed, as "no device identified", with the port and the cause.
    auto listed
        = test::run(Ctl, { QStringLiteral("list"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--json") });
    REQUIRE(listed.exitCode == 0);
    QMap<QString, int> listedCodes;
    QJsonObject flood;
    for (const QJsonValue& v : QJsonDocument::fromJson(listed.out).array()) {
        const QJsonObject row = v.toObject();
        if (row[QStringLiteral("device_identified")].toBool(true))
            continue;
        ++listedCodes[row[QStringLiteral("code")].toString()];
        if (row[QStringLiteral("port")].toString() == floodPort)
            flood = row;
    }
    CHECK(listedCodes
        == QMap<QString, int> { { QStringLiteral("timeout"), 1 }, { QStringLiteral("bad-frames"), 2 },
            { QStringLiteral("bad-serial"), 1 }, { QStringLiteral("serial-unassigned"), 1 },
            { QStringLiteral("serial-in-use"), 1 }, { QStringLiteral("no-port"), 1 } });
    CHECK(flood[QStringLiteral("dropped_frames")].toInteger() == 32);
    auto text = test::run(Ctl, { QStringLiteral("list"), QStringLiteral("--data-dir"), dataDir });
    CHECK(text.out.count("(no device identified)") == 7);
    // A page at a time, devices and attempts together: every row once, in order.
    QStringList seen;
    QString before;
    for (int page = 0; page < 10; ++page) {
        QStringList args { QStringLiteral("list"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--limit"),
            QStringLiteral("3") };
        if (!before.isEmpty())
            args << QStringLiteral("--before") << before;
        auto r = test::run(Ctl, args);
        REQUIRE(r.exitCode == 0);
        before.clear();
        for (const QByteArray& line : r.out.split('\n')) {
            if (line.startsWith("(more: --before "))
                before = QString::fromUtf8(line.mid(16).chopped(1));
            else if (!line.isEmpty())
                seen << QString::fromUtf8(line);
        }
        CHECK(r.out.count('\n') <= 4);
        if (before.isEmpty())
            break;
    }
    CHECK(seen.size() == 8); // ATT-OK and the seven attempts
    CHECK(QSet<QString>(seen.begin(), seen.end()).size() == 8);

    // Counted in the figures and the Pareto by cause; the device that passed stays passed.
    auto counts = test::run(Ctl,
        { QStringLiteral("list"), QStringLiteral("--counts"), QStringLiteral("--data-dir"), dataDir,
            QStringLiteral("--json") });
    REQUIRE(counts.exitCode == 0);
    const QJsonObject f = QJsonDocument::fromJson(counts.out).object();
    CHECK(f[QStringLiteral("passed")].toInt() == 1);
    CHECK(f[QStringLiteral("failed")].toInt() == 0);
    CHECK(f[QStringLiteral("no_device")].toInt() == 7);
    QMap<QString, int> pareto;
    for (const QJsonValue& v : f[QStringLiteral("failures")].toArray())
        pareto[v.toObject()[QStringLiteral("code")].toString()] = v.toObject()[QStringLiteral("count")].toInt();
    CHECK(pareto == listedCodes);
    CHECK(record(dataDir, QStringLiteral("ATT-OK"))[QStringLiteral("status")].toString() == QLatin1String("passed"));
}

namespace {
/// The device's timeline as "step/status" words, from show --json.
QStringList timelineOf(const QString& dataDir, const QString& serial)
{
    QStringList steps;
    for (const QJsonValue& s : record(dataDir, serial)[QStringLiteral("steps")].toArray())
        steps << s.toObject()[QStringLiteral("step")].toString() + u'/'
                + s.toObject()[QStringLiteral("status")].toString();
    return steps;
}
} // namespace

TEST_CASE("The timeline is as it happened: who made the key, install, read-back, challenge and lock")
{
    QTemporaryDir tmp;
    const QString dataDir = test::quickStation(tmp);
    test::DevSim made({ QStringLiteral("--serial"), QStringLiteral("TL-KEYGEN") });
    test::DevSim given({ QStringLiteral("--serial"), QStringLiteral("TL-INJECT"), QStringLiteral("--key-mode"),
        QStringLiteral("inject") });
    auto prov = test::run(Ctl,
        QStringList { QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir } + made.portArgs()
            + given.portArgs());
    INFO(prov.err.toStdString());
    REQUIRE(prov.exitCode == 0);
    const QStringList tail { QStringLiteral("check-csr/done"), QStringLiteral("issue/intent"),
        QStringLiteral("issue/done"), QStringLiteral("install/done"), QStringLiteral("read-back/done"),
        QStringLiteral("challenge/done"), QStringLiteral("lock/done"), QStringLiteral("finish/passed") };
    CHECK(timelineOf(dataDir, QStringLiteral("TL-KEYGEN"))
        == QStringList { QStringLiteral("identify/done"), QStringLiteral("keygen/done") } + tail);
    CHECK(timelineOf(dataDir, QStringLiteral("TL-INJECT"))
        == QStringList { QStringLiteral("identify/done"), QStringLiteral("inject-key/done") } + tail);
}

TEST_CASE("A retry without --lot keeps the device in its lot, and with --lot it moves")
{
    QTemporaryDir tmp;
    const QString dataDir = test::quickStation(tmp);
    for (const char* id : { "WO-A", "WO-B" })
        REQUIRE(test::ctl(dataDir,
                    { QStringLiteral("lot"), QStringLiteral("create"), QStringLiteral("--id"), QString::fromLatin1(id),
                        QStringLiteral("--expected"), QStringLiteral("5") })
                    .exitCode
            == 0);
    auto lotOf = [&] { return record(dataDir, QStringLiteral("LOT-1"))[QStringLiteral("lot")].toString(); };
    {
        test::DevSim failing({ QStringLiteral("--serial"), QStringLiteral("LOT-1"), QStringLiteral("--fault"),
            QStringLiteral("bad-challenge") });
        auto first = test::run(Ctl,
            QStringList { QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--lot"),
                QStringLiteral("WO-A") }
                + failing.portArgs());
        CHECK(first.exitCode == 1);
    }
    CHECK(lotOf() == QLatin1String("WO-A"));
    {
        test::DevSim again({ QStringLiteral("--serial"), QStringLiteral("LOT-1"), QStringLiteral("--fault"),
            QStringLiteral("bad-challenge") });
        auto retry = test::run(
            Ctl, QStringList { QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir } + again.portArgs());
        CHECK(retry.exitCode == 1);
    }
    CHECK(lotOf() == QLatin1String("WO-A")); // kept
    {
        test::DevSim moved({ QStringLiteral("--serial"), QStringLiteral("LOT-1"), QStringLiteral("--fault"),
            QStringLiteral("bad-challenge") });
        auto other = test::run(Ctl,
            QStringList { QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--lot"),
                QStringLiteral("WO-B") }
                + moved.portArgs());
        CHECK(other.exitCode == 1);
    }
    CHECK(lotOf() == QLatin1String("WO-B")); // told otherwise
}
