// sign-batch, the contract-manufacturer case: a folder of requests in, one PKCS#7 bundle
// and a report out; every request checked, the good ones issued and recorded, the bad
// ones listed with their codes and never recorded.

#include "TestSupport.h"
#include "pki/CertificateBuilder.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRandomGenerator>
#include <QSet>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QThread>

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
    auto ctl = [&](QStringList args) { return test::ctl(dataDir, std::move(args)); };
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

    // The same folder again (a batch run twice, or continued after a stop): nothing new is
    // signed; every request recorded before is given again with its certificate on record.
    const QString againBundle = tmp.filePath(QStringLiteral("again.p7b"));
    auto again = ctl({ QStringLiteral("sign-batch"), QStringLiteral("--in"), in, QStringLiteral("--out"), againBundle,
        QStringLiteral("--report"), reportFile, QStringLiteral("--profile"), QStringLiteral("sensor") });
    INFO(again.out.toStdString() + again.err.toStdString());
    CHECK(again.exitCode == 1);
    QFile rf2(reportFile);
    REQUIRE(rf2.open(QIODevice::ReadOnly));
    const QJsonObject report2 = QJsonDocument::fromJson(rf2.readAll()).object();
    CHECK(report2[QStringLiteral("issued")].toInt() == 0);
    CHECK(report2[QStringLiteral("recorded_earlier")].toInt() == Good);
    QMap<QString, QString> codes2;
    for (const auto& r : report2[QStringLiteral("refusals")].toArray())
        codes2[r.toObject()[QStringLiteral("file")].toString()] = r.toObject()[QStringLiteral("code")].toString();
    // The same refusals as the first time: SN-05's second request still meets the first.
    CHECK(codes2 == expected);
    CHECK(test::bundleCertificates(againBundle) == test::bundleCertificates(bundle));
}

TEST_CASE("sign-batch reads a PEM file of requests and a tar.gz of request files, and splits a large bundle")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    auto ctl = [&](QStringList args) { return test::ctl(dataDir, std::move(args)); };
    REQUIRE(ctl({ QStringLiteral("init") }).exitCode == 0);
    std::vector<ossl::PKey> keys;
    QByteArray pem;
    const QString folder = tmp.filePath(QStringLiteral("files"));
    QDir().mkpath(folder);
    for (int i = 0; i < 12; ++i) {
        keys.push_back(ecKey("P-256"));
        const QByteArray der = test::makeCsr(keys.back().get(), QStringLiteral("PEM-%1").arg(i));
        pem += pemRequest(der);
    }
    // A cut-off request at the end is refused, not lost.
    pem += "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n";
    const QString pemFile = tmp.filePath(QStringLiteral("requests.pem"));
    writeAll(pemFile, pem);
    const QString pemBundle = tmp.filePath(QStringLiteral("pem.p7b"));
    const QString pemReport = tmp.filePath(QStringLiteral("pem.json"));
    auto fromPem = ctl({ QStringLiteral("sign-batch"), QStringLiteral("--in"), pemFile, QStringLiteral("--out"),
        pemBundle, QStringLiteral("--report"), pemReport, QStringLiteral("--bundle-size"), QStringLiteral("5") });
    INFO(fromPem.out.toStdString() + fromPem.err.toStdString());
    CHECK(fromPem.exitCode == 1);
    QFile rf(pemReport);
    REQUIRE(rf.open(QIODevice::ReadOnly));
    const QJsonObject report = QJsonDocument::fromJson(rf.readAll()).object();
    CHECK(report[QStringLiteral("issued")].toInt() == 12);
    CHECK(report[QStringLiteral("refused")].toInt() == 1);
    CHECK(report[QStringLiteral("refusals")].toArray().first().toObject()[QStringLiteral("file")].toString()
        == QLatin1String("requests.pem#13"));
    // 12 certificates in parts of 5: pem.p7b, pem.2.p7b, pem.3.p7b, each with the chain, and an index.
    const QStringList parts { pemBundle, tmp.filePath(QStringLiteral("pem.2.p7b")),
        tmp.filePath(QStringLiteral("pem.3.p7b")) };
    QSet<QByteArray> all;
    QList<int> sizes;
    for (const QString& part : parts) {
        const auto certs = test::bundleCertificates(part);
        sizes << static_cast<int>(certs.size());
        for (const QByteArray& c : certs)
            all.insert(c);
    }
    CHECK(sizes == QList<int> { 5 + 2, 5 + 2, 2 + 2 });
    CHECK(all.size() == 12 + 2);
    QFile index(pemBundle + QStringLiteral(".index.json"));
    REQUIRE(index.open(QIODevice::ReadOnly));
    const QJsonObject idx = QJsonDocument::fromJson(index.readAll()).object();
    CHECK(idx[QStringLiteral("certificates")].toInt() == 12);
    CHECK(idx[QStringLiteral("parts")].toArray().size() == 3);
    // Run again into one part: the earlier run's other parts and index are gone.
    auto onePart
        = ctl({ QStringLiteral("sign-batch"), QStringLiteral("--in"), pemFile, QStringLiteral("--out"), pemBundle });
    CHECK(onePart.exitCode == 1);
    CHECK(onePart.out.contains("recorded earlier: 12"));
    CHECK(test::bundleCertificates(pemBundle).size() == 12 + 2);
    CHECK_FALSE(QFile::exists(parts[1]));
    CHECK_FALSE(QFile::exists(pemBundle + QStringLiteral(".index.json")));

    // Request files in a tar.gz (with a file that is not a request, skipped).
    std::vector<ossl::PKey> tarKeys;
    for (int i = 0; i < 6; ++i) {
        tarKeys.push_back(ecKey("P-256"));
        writeAll(folder + QStringLiteral("/TAR-%1.der").arg(i),
            test::makeCsr(tarKeys.back().get(), QStringLiteral("TAR-%1").arg(i)));
    }
    writeAll(folder + QStringLiteral("/README.txt"), "not a request: skipped");
    const QString tarFile = tmp.filePath(QStringLiteral("requests.tar.gz"));
    REQUIRE(test::run(QStringLiteral("tar"),
                { QStringLiteral("-C"), folder, QStringLiteral("-czf"), tarFile, QStringLiteral(".") })
                .exitCode
        == 0);
    auto fromTar = ctl({ QStringLiteral("sign-batch"), QStringLiteral("--in"), tarFile, QStringLiteral("--out"),
        tmp.filePath(QStringLiteral("tar.p7b")) });
    INFO(fromTar.out.toStdString() + fromTar.err.toStdString());
    CHECK(fromTar.exitCode == 0);
    CHECK(fromTar.out.contains("issued: 6"));
    CHECK(test::bundleCertificates(tmp.filePath(QStringLiteral("tar.p7b"))).size() == 6 + 2);
    // The same member twice in one archive (tar -r): the second is a duplicate, and the
    // certificate is in the bundle once.
    const QString twice = tmp.filePath(QStringLiteral("twice.tar"));
    writeAll(folder + QStringLiteral("/TWICE.der"), test::makeCsr(ecKey("P-256").get(), QStringLiteral("TWICE-1")));
    for (const char* mode : { "-cf", "-rf" })
        REQUIRE(test::run(QStringLiteral("tar"),
                    { QStringLiteral("-C"), folder, QString::fromLatin1(mode), twice, QStringLiteral("TWICE.der") })
                    .exitCode
            == 0);
    auto fromTwice = ctl({ QStringLiteral("sign-batch"), QStringLiteral("--in"), twice, QStringLiteral("--out"),
        tmp.filePath(QStringLiteral("twice.p7b")), QStringLiteral("--chunk"), QStringLiteral("1") });
    INFO(fromTwice.out.toStdString() + fromTwice.err.toStdString());
    CHECK(fromTwice.exitCode == 1);
    CHECK(fromTwice.out.contains("duplicate-serial"));
    CHECK(test::bundleCertificates(tmp.filePath(QStringLiteral("twice.p7b"))).size() == 1 + 2);

    // Neither a folder, nor PEM, nor an archive: refused in plain words.
    writeAll(tmp.filePath(QStringLiteral("junk.bin")), QByteArray(3000, '\x01'));
    auto junk = ctl({ QStringLiteral("sign-batch"), QStringLiteral("--in"), tmp.filePath(QStringLiteral("junk.bin")),
        QStringLiteral("--out"), tmp.filePath(QStringLiteral("junk.p7b")) });
    CHECK(junk.exitCode == 2);
    CHECK(junk.err.contains("is not a folder, a PEM file of requests or an archive"));
    CHECK_FALSE(QFile::exists(tmp.filePath(QStringLiteral("junk.p7b"))));
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

TEST_CASE("A batch killed at random moments and run again ends as one uninterrupted run would")
{
    constexpr int Requests = 3000;
    constexpr int Kills = 10;
    QTemporaryDir tmp;
    const QString in = tmp.filePath(QStringLiteral("requests"));
    REQUIRE(test::run(QStringLiteral(IMPRINT_MAKECSR),
                { QStringLiteral("--out"), in, QStringLiteral("--count"), QString::number(Requests),
                    QStringLiteral("--serial-prefix"), QStringLiteral("KB") })
                .exitCode
        == 0);
    auto batchArgs = [&](const QString& dataDir, const QString& out) {
        return QStringList { QStringLiteral("sign-batch"), QStringLiteral("--data-dir"), dataDir,
            QStringLiteral("--in"), in, QStringLiteral("--out"), out, QStringLiteral("--chunk"), QStringLiteral("100"),
            QStringLiteral("--report"), out + QStringLiteral(".json") };
    };

    // One uninterrupted run, on a station of its own: the devices it gives, and how long it takes.
    const QString reference = tmp.filePath(QStringLiteral("reference"));
    REQUIRE(test::run(Ctl, { QStringLiteral("init"), QStringLiteral("--data-dir"), reference }).exitCode == 0);
    QElapsedTimer timer;
    timer.start();
    const QString referenceOut = tmp.filePath(QStringLiteral("reference.p7b"));
    auto whole = test::run(Ctl, batchArgs(reference, referenceOut));
    const qint64 fullRunMs = timer.elapsed();
    REQUIRE(whole.exitCode == 0);
    auto subjects = [](const QList<QByteArray>& certs) {
        QStringList serials;
        for (const QByteArray& der : certs) {
            auto c = ossl::certFromDer(der);
            REQUIRE(c.has_value());
            serials << ossl::nameToString(X509_get_subject_name(c->get()));
        }
        serials.sort();
        return serials;
    };
    const QStringList expected = subjects(test::bundleCertificates(referenceOut));
    REQUIRE(expected.size() == Requests + 2);

    // The station under test: killed again and again, then let finish.
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    REQUIRE(test::run(Ctl, { QStringLiteral("init"), QStringLiteral("--data-dir"), dataDir }).exitCode == 0);
    const QString out = tmp.filePath(QStringLiteral("out.p7b"));
    auto* rng = QRandomGenerator::global();
    int killedMidway = 0;
    for (int kill = 0; kill < Kills; ++kill) {
        QProcess batch;
        batch.setProcessChannelMode(QProcess::SeparateChannels);
        timer.restart();
        batch.start(Ctl, batchArgs(dataDir, out));
        REQUIRE(batch.waitForStarted(10000));
        // Anywhere from start-up to the end of the batch (it shortens as the batch advances).
        const qint64 killAt = rng->bounded(static_cast<int>(std::max<qint64>(fullRunMs, 200)));
        while (timer.elapsed() < killAt && batch.state() != QProcess::NotRunning)
            QThread::msleep(2);
        killedMidway += batch.state() != QProcess::NotRunning;
        batch.kill(); // SIGKILL
        batch.waitForFinished(10000);
        // After each kill: no device holds two certificates, and the store is whole. A kill
        // in the first moments lands before the store exists, or before its first migration
        // committed (each runs in a transaction of its own): then there is nothing to check,
        // and the file is not made here (opening it would create it).
        const QString storeFile = dataDir + QStringLiteral("/imprint.sqlite");
        if (!QFileInfo::exists(storeFile))
            continue;
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("after-kill"));
        db.setDatabaseName(storeFile);
        db.setConnectOptions(QStringLiteral("QSQLITE_OPEN_READONLY"));
        REQUIRE(db.open());
        {
            QSqlQuery q(db);
            REQUIRE(q.exec(QStringLiteral("PRAGMA integrity_check")));
            REQUIRE(q.next());
            CHECK(q.value(0).toString() == QLatin1String("ok"));
            REQUIRE(q.exec(QStringLiteral("SELECT COUNT(*) FROM sqlite_schema WHERE name = 'certificates'")));
            REQUIRE(q.next());
            const bool migrated = q.value(0).toInt() == 1;
            q.finish();
            if (migrated)
                REQUIRE(q.exec(QStringLiteral("SELECT COUNT(*) FROM (SELECT device_serial FROM certificates GROUP BY "
                                              "device_serial HAVING COUNT(*) > 1)")));
            if (migrated) {
                REQUIRE(q.next());
                CHECK(q.value(0).toInt() == 0);
            }
        }
        db.close();
        db = QSqlDatabase();
        QSqlDatabase::removeDatabase(QStringLiteral("after-kill"));
    }
    CHECK(killedMidway >= Kills / 2);

    auto last = test::run(Ctl, batchArgs(dataDir, out));
    INFO(last.err.toStdString());
    REQUIRE(last.exitCode == 0);
    const QList<QByteArray> certs = test::bundleCertificates(out);
    CHECK(subjects(certs) == expected);
    // The bundle's certificates are exactly those on record, one per device.
    QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("final"));
    db.setDatabaseName(dataDir + QStringLiteral("/imprint.sqlite"));
    REQUIRE(db.open());
    {
        QSqlQuery q(db);
        QSet<QByteArray> recorded;
        REQUIRE(q.exec(QStringLiteral("SELECT der FROM certificates")));
        while (q.next())
            recorded.insert(q.value(0).toByteArray());
        CHECK(recorded.size() == Requests);
        int inBundle = 0;
        for (const QByteArray& der : certs)
            inBundle += recorded.contains(der);
        CHECK(inBundle == Requests);
    }
    db.close();
    db = QSqlDatabase();
    QSqlDatabase::removeDatabase(QStringLiteral("final"));
    // Every one verifies, strictly, to the station's root.
    const QString certDir = tmp.filePath(QStringLiteral("certs"));
    QDir().mkpath(certDir);
    QStringList verifyArgs { QStringLiteral("verify"), QStringLiteral("-x509_strict"), QStringLiteral("-CAfile"),
        dataDir + QStringLiteral("/ca/root.pem"), QStringLiteral("-untrusted"),
        dataDir + QStringLiteral("/ca/issuing-ca.pem") };
    for (qsizetype i = 0; i < certs.size(); ++i) {
        const QString file = certDir + QStringLiteral("/%1.pem").arg(i);
        writeAll(file, ossl::derToPem(certs[i]));
        verifyArgs << file;
    }
    auto verified = test::run(QStringLiteral("openssl"), verifyArgs);
    CHECK(verified.exitCode == 0);
    CHECK(verified.out.count(": OK\n") == certs.size());
    auto audit
        = test::run(Ctl, { QStringLiteral("audit"), QStringLiteral("verify"), QStringLiteral("--data-dir"), dataDir });
    INFO(audit.out.toStdString());
    CHECK(audit.exitCode == 0);
}
