// sign-batch, the contract-manufacturer case: a folder of requests in, one PKCS#7 bundle
// and a report out; every request checked, the good ones issued and recorded, the bad
// ones listed with their codes and never recorded.

#include "TestSupport.h"
#include "pki/CertificateBuilder.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include <catch2/catch.hpp>

using namespace imprint;
using namespace imprint::core;

namespace {

const QString Ctl = QStringLiteral(IMPRINT_CTL);

void writeAll(const QString& path, const QByteArray& data)
{
    QFile f(path);
    REQUIRE(f.open(QIODevice::WriteOnly));
    f.write(data);
}

ossl::PKey ecKey(const char* curve)
{
    ossl::PKey k { EVP_EC_gen(curve) };
    REQUIRE(k);
    return k;
}

QByteArray pemRequest(const QByteArray& der)
{
    QByteArray b64 = der.toBase64(), out = "-----BEGIN CERTIFICATE REQUEST-----\n";
    for (qsizetype i = 0; i < b64.size(); i += 64)
        out += b64.mid(i, 64) + '\n';
    return out + "-----END CERTIFICATE REQUEST-----\n";
}

} // namespace

TEST_CASE("sign-batch issues a folder of requests under a profile file and refuses the bad ones by code")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    auto ctl = [&](QStringList args) {
        args << QStringLiteral("--data-dir") << dataDir;
        return test::run(Ctl, args);
    };
    REQUIRE(ctl({ QStringLiteral("init") }).exitCode == 0);
    QDir().mkpath(dataDir + QStringLiteral("/profiles"));
    writeAll(dataDir + QStringLiteral("/profiles/sensor.json"), R"({
        "name": "sensor",
        "subject": { "O": "Acme Devices", "OU": "Sensors" },
        "extended_key_usage": ["clientAuth"],
        "hardware_module_name": { "type": "1.3.6.1.4.1.55555.1" },
        "keys": ["EC-P256"]
    })");

    const QString in = tmp.filePath(QStringLiteral("requests"));
    QDir().mkpath(in);
    constexpr int Good = 20;
    std::vector<ossl::PKey> keys;
    for (int i = 0; i < Good; ++i) {
        keys.push_back(ecKey("P-256"));
        const QString sn = QStringLiteral("SN-%1").arg(i, 2, 10, QLatin1Char('0'));
        const QByteArray der = test::makeCsr(keys.back().get(), sn);
        // Half DER, half PEM, as manufacturers send both.
        if (i % 2)
            writeAll(in + QLatin1Char('/') + sn + QStringLiteral(".der"), der);
        else
            writeAll(in + QLatin1Char('/') + sn + QStringLiteral(".csr"), pemRequest(der));
    }
    const QByteArray good = test::makeCsr(keys[3].get(), QStringLiteral("SN-03"));
    auto other = ecKey("P-256");
    auto p384 = ecKey("P-384");
    const QMap<QString, QByteArray> bad {
        { QStringLiteral("x-forged.der"), test::makeCsr(other.get(), QStringLiteral("X-1"), keys[0].get()) },
        { QStringLiteral("x-p384.der"), test::makeCsr(p384.get(), QStringLiteral("X-2")) },
        { QStringLiteral("x-truncated.der"), good.left(good.size() - 9) },
        { QStringLiteral("x-trailing.der"), good + QByteArray("\0\0", 2) },
        { QStringLiteral("x-garbage.der"), QByteArray("this is not a certificate request") },
        { QStringLiteral("x-oversized.der"), QByteArray(70 * 1024, '\x30') },
        { QStringLiteral("x-duplicate-serial.der"), test::makeCsr(other.get(), QStringLiteral("SN-05")) },
        { QStringLiteral("x-reused-key.der"), test::makeCsr(keys[2].get(), QStringLiteral("SN-99")) },
    };
    const QMap<QString, QString> expected {
        { QStringLiteral("x-forged.der"), QStringLiteral("bad-signature") },
        { QStringLiteral("x-p384.der"), QStringLiteral("key-not-allowed") },
        { QStringLiteral("x-truncated.der"), QStringLiteral("malformed") },
        { QStringLiteral("x-trailing.der"), QStringLiteral("trailing-bytes") },
        { QStringLiteral("x-garbage.der"), QStringLiteral("malformed") },
        { QStringLiteral("x-oversized.der"), QStringLiteral("too-large") },
        { QStringLiteral("x-duplicate-serial.der"), QStringLiteral("duplicate-serial") },
        { QStringLiteral("x-reused-key.der"), QStringLiteral("key-reused") },
    };
    for (auto it = bad.cbegin(); it != bad.cend(); ++it)
        writeAll(in + QLatin1Char('/') + it.key(), it.value());

    const QString bundle = tmp.filePath(QStringLiteral("out.p7b"));
    const QString reportFile = tmp.filePath(QStringLiteral("report.json"));
    auto batch = ctl({ QStringLiteral("sign-batch"), QStringLiteral("--in"), in, QStringLiteral("--out"), bundle,
        QStringLiteral("--report"), reportFile, QStringLiteral("--profile"), QStringLiteral("sensor") });
    INFO(batch.out.toStdString() + batch.err.toStdString());
    CHECK(batch.exitCode == 1); // some were refused

    QFile rf(reportFile);
    REQUIRE(rf.open(QIODevice::ReadOnly));
    const QJsonObject report = QJsonDocument::fromJson(rf.readAll()).object();
    CHECK(report[QStringLiteral("issued")].toInt() == Good);
    CHECK(report[QStringLiteral("refused")].toInt() == bad.size());
    QMap<QString, QString> codes;
    for (const auto& r : report[QStringLiteral("refusals")].toArray())
        codes[r.toObject()[QStringLiteral("file")].toString()] = r.toObject()[QStringLiteral("code")].toString();
    CHECK(codes == expected);

    // The bundle, as openssl reads it: the 20 certificates and the CA chain.
    auto printed = test::run(QStringLiteral("openssl"),
        { QStringLiteral("pkcs7"), QStringLiteral("-inform"), QStringLiteral("DER"), QStringLiteral("-in"), bundle,
            QStringLiteral("-print_certs") });
    INFO(printed.err.toStdString());
    REQUIRE(printed.exitCode == 0);
    auto certs = ossl::certsDerFromPem(printed.out);
    REQUIRE(certs.has_value());
    CHECK(certs->size() == Good + 2);
    QByteArray sn07;
    for (const QByteArray& der : *certs) {
        auto c = ossl::certFromDer(der);
        REQUIRE(c.has_value());
        if (ossl::nameToString(X509_get_subject_name(c->get())).contains(QStringLiteral("serialNumber=SN-07")))
            sn07 = ossl::derToPem(der);
    }
    REQUIRE_FALSE(sn07.isEmpty());
    const QString certFile = tmp.filePath(QStringLiteral("sn07.pem"));
    writeAll(certFile, sn07);
    const QString ca = dataDir + QStringLiteral("/ca/issuing-ca.pem");
    auto strict = test::run(QStringLiteral("openssl"),
        { QStringLiteral("verify"), QStringLiteral("-x509_strict"), QStringLiteral("-CAfile"),
            dataDir + QStringLiteral("/ca/root.pem"), QStringLiteral("-untrusted"), ca, certFile });
    INFO(strict.out.toStdString() + strict.err.toStdString());
    CHECK(strict.exitCode == 0);
    // Every profile field, read by python3-cryptography.
    auto py = test::run(QStringLiteral("/usr/bin/python3"),
        { QStringLiteral(IMPRINT_TEST_PEERS) + QStringLiteral("/check_idevid.py"), certFile, ca,
            QStringLiteral("SN-07"), QStringLiteral("--eku"), QStringLiteral("1.3.6.1.5.5.7.3.2"),
            QStringLiteral("--hwmn-type"), QStringLiteral("1.3.6.1.4.1.55555.1"), QStringLiteral("--subject-o"),
            QStringLiteral("Acme Devices"), QStringLiteral("--subject-ou"), QStringLiteral("Sensors") });
    INFO(py.out.toStdString() + py.err.toStdString());
    CHECK(py.exitCode == 0);

    // Recorded: the issued devices are in the store; the refused ones are not.
    auto shown = ctl({ QStringLiteral("show"), QStringLiteral("--device-serial"), QStringLiteral("SN-07"),
        QStringLiteral("--json") });
    REQUIRE(shown.exitCode == 0);
    const QJsonObject dev = QJsonDocument::fromJson(shown.out).object();
    CHECK(dev[QStringLiteral("status")].toString() == QLatin1String("issued"));
    CHECK(dev[QStringLiteral("certificates")].toArray().size() == 1);
    CHECK(ctl({ QStringLiteral("show"), QStringLiteral("--device-serial"), QStringLiteral("SN-99") }).exitCode == 3);

    // The same folder again: every device already holds its certificate, nothing new is issued.
    auto again = ctl({ QStringLiteral("sign-batch"), QStringLiteral("--in"), in, QStringLiteral("--out"),
        tmp.filePath(QStringLiteral("again.p7b")), QStringLiteral("--report"), reportFile, QStringLiteral("--profile"),
        QStringLiteral("sensor") });
    CHECK(again.exitCode == 1);
    QFile rf2(reportFile);
    REQUIRE(rf2.open(QIODevice::ReadOnly));
    const QJsonObject report2 = QJsonDocument::fromJson(rf2.readAll()).object();
    CHECK(report2[QStringLiteral("issued")].toInt() == 0);
    int alreadyCertified = 0;
    for (const auto& r : report2[QStringLiteral("refusals")].toArray())
        alreadyCertified += r.toObject()[QStringLiteral("code")].toString() == QLatin1String("already-certified");
    // The 20, and the second request for SN-05, which now meets SN-05's certificate.
    CHECK(alreadyCertified == Good + 1);
}

TEST_CASE("A profile file with a mistake is refused in plain words")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    REQUIRE(test::run(Ctl, { QStringLiteral("init"), QStringLiteral("--data-dir"), dataDir }).exitCode == 0);
    const QString profile = tmp.filePath(QStringLiteral("typo.json"));
    writeAll(profile, R"({ "name": "typo", "extended_key_usge": ["clientAuth"] })");
    QDir().mkpath(tmp.filePath(QStringLiteral("in")));
    auto r = test::run(Ctl,
        { QStringLiteral("sign-batch"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--in"),
            tmp.filePath(QStringLiteral("in")), QStringLiteral("--out"), tmp.filePath(QStringLiteral("o.p7b")),
            QStringLiteral("--profile"), profile });
    CHECK(r.exitCode == 2);
    CHECK(r.err.contains("unknown key \"extended_key_usge\""));
    CHECK_FALSE(QFile::exists(tmp.filePath(QStringLiteral("o.p7b"))));
}
