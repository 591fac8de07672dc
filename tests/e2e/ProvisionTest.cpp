// End to end: imprintctl and imprint-devsim as separate processes, real ptys, the real
// SoftHSM2 token, and the issued chain checked by the openssl command line.

#include "TestSupport.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include <catch2/catch.hpp>

using namespace imprint;

namespace {

const QString Ctl = QStringLiteral(IMPRINT_CTL);

QJsonObject show(const QString& dataDir, const QString& serial)
{
    auto r = test::run(Ctl,
        { QStringLiteral("show"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--device-serial"), serial,
            QStringLiteral("--json") });
    INFO(r.err.toStdString());
    REQUIRE(r.exitCode == 0);
    return QJsonDocument::fromJson(r.out).object();
}

} // namespace

TEST_CASE("imprintctl init, provision and show: the issued chain verifies with openssl")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    auto init = test::run(Ctl, { QStringLiteral("init"), QStringLiteral("--data-dir"), dataDir });
    INFO(init.err.toStdString());
    REQUIRE(init.exitCode == 0);

    // Running init again refuses and changes nothing.
    auto again = test::run(Ctl, { QStringLiteral("init"), QStringLiteral("--data-dir"), dataDir });
    CHECK(again.exitCode != 0);
    CHECK(again.err.contains("already set up"));

    test::DevSim sim(
        { QStringLiteral("--count"), QStringLiteral("2"), QStringLiteral("--serial-prefix"), QStringLiteral("E2E") });
    auto prov = test::run(Ctl,
        QStringList { QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--json"),
            QStringLiteral("--operator"), QStringLiteral("qa-bot") }
            + sim.portArgs());
    INFO(prov.err.toStdString());
    REQUIRE(prov.exitCode == 0);
    const auto results = test::jsonLines(prov.out);
    REQUIRE(results.size() == 2);

    for (const QJsonObject& r : results) {
        CHECK(r[QStringLiteral("status")].toString() == QLatin1String("passed"));
        const QString serial = r[QStringLiteral("serial")].toString();
        CHECK(serial.startsWith(QLatin1String("E2E-")));
        const QString certSerial = r[QStringLiteral("certificate")].toObject()[QStringLiteral("serial")].toString();
        CHECK(certSerial.size() >= 16); // at least 64 bits

        const QJsonObject record = show(dataDir, serial);
        CHECK(record[QStringLiteral("status")].toString() == QLatin1String("passed"));
        const QJsonArray certs = record[QStringLiteral("certificates")].toArray();
        REQUIRE(certs.size() == 1);
        const QJsonObject cert = certs.first().toObject();
        CHECK(cert[QStringLiteral("serial")].toString() == certSerial);
        CHECK(cert[QStringLiteral("state")].toString() == QLatin1String("verified"));
        CHECK(record[QStringLiteral("chain")].toArray().size() == 2);

        const QString certFile = tmp.filePath(serial + QStringLiteral(".pem"));
        QFile f(certFile);
        REQUIRE(f.open(QIODevice::WriteOnly));
        f.write(cert[QStringLiteral("pem")].toString().toLatin1());
        f.close();

        auto verify = test::run(QStringLiteral("openssl"),
            { QStringLiteral("verify"), QStringLiteral("-x509_strict"), QStringLiteral("-CAfile"),
                dataDir + QStringLiteral("/ca/root.pem"), QStringLiteral("-untrusted"),
                dataDir + QStringLiteral("/ca/issuing-ca.pem"), certFile });
        INFO(verify.out.toStdString() + verify.err.toStdString());
        CHECK(verify.exitCode == 0);

        auto text = test::run(QStringLiteral("openssl"),
            { QStringLiteral("x509"), QStringLiteral("-in"), certFile, QStringLiteral("-noout"),
                QStringLiteral("-subject"), QStringLiteral("-enddate") });
        CHECK(text.out.contains(QByteArray("serialNumber = ") + serial.toLatin1()));
        CHECK(text.out.contains("notAfter=Dec 31 23:59:59 9999 GMT"));
    }

    // QA: the list, a shift's counts, and a device scrapped with a reason.
    auto ctl = [&](QStringList args) {
        args << QStringLiteral("--data-dir") << dataDir;
        return test::run(Ctl, args);
    };
    auto listed = ctl({ QStringLiteral("list"), QStringLiteral("--json") });
    REQUIRE(listed.exitCode == 0);
    CHECK(QJsonDocument::fromJson(listed.out).array().size() == 2);
    auto counted = ctl({ QStringLiteral("list"), QStringLiteral("--counts"), QStringLiteral("--json") });
    REQUIRE(counted.exitCode == 0);
    CHECK(QJsonDocument::fromJson(counted.out).object()[QStringLiteral("passed")].toInt() == 2);
    auto scrapped = ctl({ QStringLiteral("scrap"), QStringLiteral("--device-serial"), QStringLiteral("E2E-0002"),
        QStringLiteral("--reason"), QStringLiteral("cracked housing"), QStringLiteral("--operator"),
        QStringLiteral("qa-carol") });
    CHECK(scrapped.exitCode == 0);
    auto onlyScrapped = ctl(
        { QStringLiteral("list"), QStringLiteral("--status"), QStringLiteral("scrapped"), QStringLiteral("--json") });
    const QJsonArray scrappedRows = QJsonDocument::fromJson(onlyScrapped.out).array();
    REQUIRE(scrappedRows.size() == 1);
    CHECK(scrappedRows.first().toObject()[QStringLiteral("serial")].toString() == QLatin1String("E2E-0002"));
    CHECK(scrappedRows.first().toObject()[QStringLiteral("reason")].toString() == QLatin1String("cracked housing"));
    // The audit log holds every issuance, verification and the scrap, and is intact.
    auto verified = ctl({ QStringLiteral("audit"), QStringLiteral("verify") });
    INFO(verified.out.toStdString() + verified.err.toStdString());
    CHECK(verified.exitCode == 0);
    CHECK(verified.out.contains("intact"));
    auto shown = ctl({ QStringLiteral("audit"), QStringLiteral("show"), QStringLiteral("--json") });
    QStringList kinds;
    for (const auto& e : QJsonDocument::fromJson(shown.out).array())
        kinds << e.toObject()[QStringLiteral("kind")].toString();
    CHECK(kinds.count(QStringLiteral("issued")) == 2);
    CHECK(kinds.count(QStringLiteral("verified")) == 2);
    CHECK(kinds.count(QStringLiteral("scrapped")) == 1);
    CHECK(ctl({ QStringLiteral("scrap"), QStringLiteral("--device-serial"), QStringLiteral("NOPE"),
                  QStringLiteral("--reason"), QStringLiteral("x") })
              .exitCode
        == 3);

    // The devices are locked now. The one that passed is done earlier (its certificate read back
    // is the one on record; nothing is done to it); the scrapped one is refused.
    auto second = test::run(Ctl,
        QStringList { QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--json") }
            + sim.portArgs());
    CHECK(second.exitCode == 1);
    QHash<QString, QJsonObject> back;
    for (const QJsonObject& r : test::jsonLines(second.out))
        back.insert(r[QStringLiteral("serial")].toString(), r);
    REQUIRE(back.size() == 2);
    CHECK(back[QStringLiteral("E2E-0001")][QStringLiteral("status")].toString() == QLatin1String("done-earlier"));
    CHECK(back[QStringLiteral("E2E-0001")][QStringLiteral("certificate")].toObject()[QStringLiteral("serial")]
        == show(dataDir, QStringLiteral("E2E-0001"))[QStringLiteral("certificates")]
               .toArray()
               .first()
               .toObject()[QStringLiteral("serial")]);
    CHECK_FALSE(back[QStringLiteral("E2E-0001")][QStringLiteral("passed_at")].toString().isEmpty());
    CHECK(back[QStringLiteral("E2E-0002")][QStringLiteral("status")].toString() == QLatin1String("failed"));
    CHECK(back[QStringLiteral("E2E-0002")][QStringLiteral("code")].toString() == QLatin1String("scrapped"));
    // Only the passed device back: no failure, exit 0.
    auto third = test::run(Ctl,
        QStringList { QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--port"),
            sim.ports().first() });
    CHECK(third.exitCode == 0);
    CHECK(third.out.startsWith("DONE EARLIER  E2E-0001"));
    CHECK(show(dataDir, QStringLiteral("E2E-0001"))[QStringLiteral("status")].toString() == QLatin1String("passed"));
    CHECK(show(dataDir, QStringLiteral("E2E-0001"))[QStringLiteral("certificates")].toArray().size() == 1);
    CHECK(show(dataDir, QStringLiteral("E2E-0002"))[QStringLiteral("status")].toString() != QLatin1String("passed"));
}

TEST_CASE("A device that fails a check gets no certificate and is recorded as failed")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    REQUIRE(test::run(Ctl, { QStringLiteral("init"), QStringLiteral("--data-dir"), dataDir }).exitCode == 0);

    struct Case {
        const char* fault;
        const char* code;
        int certificates; // recorded certificates afterwards
    };
    const Case cases[] = {
        { "bad-csr-signature", "bad-signature", 0 },
        { "csr-other-serial", "serial-mismatch", 0 },
        // Issued and recorded before injection, but never counted as verified.
        { "readback-mismatch", "readback-mismatch", 1 },
        { "bad-challenge", "challenge-failed", 1 },
    };
    for (const Case& c : cases) {
        DYNAMIC_SECTION(c.fault)
        {
            const QString serial = QStringLiteral("F-%1").arg(QString::fromLatin1(c.fault));
            test::DevSim sim(
                { QStringLiteral("--serial"), serial, QStringLiteral("--fault"), QString::fromLatin1(c.fault) });
            auto prov = test::run(Ctl,
                QStringList {
                    QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--json") }
                    + sim.portArgs());
            CHECK(prov.exitCode == 1);
            const auto results = test::jsonLines(prov.out);
            REQUIRE(results.size() == 1);
            CHECK(results.first()[QStringLiteral("status")].toString() == QLatin1String("failed"));
            CHECK(results.first()[QStringLiteral("code")].toString() == QLatin1String(c.code));
            CHECK_FALSE(results.first()[QStringLiteral("reason")].toString().isEmpty());

            const QJsonObject record = show(dataDir, serial);
            CHECK(record[QStringLiteral("status")].toString() == QLatin1String("failed"));
            const QJsonArray certs = record[QStringLiteral("certificates")].toArray();
            CHECK(certs.size() == c.certificates);
            for (const auto& cert : certs)
                CHECK(cert.toObject()[QStringLiteral("state")].toString() != QLatin1String("verified"));
        }
    }
}

TEST_CASE("A port with no device behind it fails with a reason that names the port")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    REQUIRE(test::run(Ctl, { QStringLiteral("init"), QStringLiteral("--data-dir"), dataDir }).exitCode == 0);
    auto missing = test::run(Ctl,
        { QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--json"),
            QStringLiteral("--port"), QStringLiteral("/dev/nonexistent-tty") });
    CHECK(missing.exitCode == 1);
    const auto results = test::jsonLines(missing.out);
    REQUIRE(results.size() == 1);
    CHECK(results.first()[QStringLiteral("status")].toString() == QLatin1String("failed"));
    CHECK(results.first()[QStringLiteral("reason")].toString().contains(QStringLiteral("/dev/nonexistent-tty")));
}

TEST_CASE("show refuses an unknown serial and an uninitialised data directory")
{
    QTemporaryDir tmp;
    auto r = test::run(Ctl,
        { QStringLiteral("show"), QStringLiteral("--data-dir"), tmp.path(), QStringLiteral("--device-serial"),
            QStringLiteral("X") });
    CHECK(r.exitCode == 2);
    CHECK(r.err.contains("not set up"));
    auto p = test::run(Ctl,
        { QStringLiteral("provision"), QStringLiteral("--data-dir"), tmp.path(), QStringLiteral("--port"),
            QStringLiteral("/dev/null") });
    CHECK(p.exitCode == 2);
    CHECK(p.err.contains("imprintctl init"));
}
