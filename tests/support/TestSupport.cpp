#include "TestSupport.h"

#include "StationSetup.h"
#include "pki/CertificateBuilder.h"
#include "pki/OpenSsl.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSettings>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QSqlRecord>
#include <QTemporaryDir>

#include <catch2/catch.hpp>

namespace imprint::test {

FreshSoftHsm::FreshSoftHsm()
{
    REQUIRE(QDir().mkpath(tmp.filePath(QStringLiteral("tokens"))));
    QFile conf(tmp.filePath(QStringLiteral("softhsm2.conf")));
    REQUIRE(conf.open(QIODevice::WriteOnly));
    conf.write("directories.tokendir = " + QFile::encodeName(tmp.filePath(QStringLiteral("tokens")))
        + "\nobjectstore.backend = file\nlog.level = ERROR\n");
    conf.close();
    hsm::useSoftHsmConfig(conf.fileName());
}

DemoStation::DemoStation()
    : m_dir(m_tmp.path())
{
    REQUIRE(m_tmp.isValid());
    hsm::InitOptions options;
    options.modulePath = QStringLiteral(IMPRINT_DEFAULT_PKCS11_MODULE);
    options.stationName = QStringLiteral("test-station");
    auto r = hsm::initDemoStation(m_dir, options);
    INFO((r ? QString() : r.error().text()).toStdString());
    REQUIRE(r.has_value());
}

QStringList query(const QString& dataDir, const QString& sql)
{
    QStringList rows;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("peek"));
        db.setDatabaseName(dataDir + QStringLiteral("/imprint.sqlite"));
        REQUIRE(db.open());
        QSqlQuery q(db);
        REQUIRE(q.exec(sql));
        while (q.next()) {
            QStringList cols;
            for (int i = 0; i < q.record().count(); ++i)
                cols << q.value(i).toString();
            rows << cols.join(u'|');
        }
    }
    QSqlDatabase::removeDatabase(QStringLiteral("peek"));
    return rows;
}

void tamper(const QString& databasePath, const QString& sql)
{
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("tamper"));
        db.setDatabaseName(databasePath);
        REQUIRE(db.open());
        QSqlQuery q(db);
        for (const QString& statement : sql.split(u';', Qt::SkipEmptyParts)) {
            INFO(statement.toStdString());
            REQUIRE(q.exec(statement));
        }
    }
    QSqlDatabase::removeDatabase(QStringLiteral("tamper"));
}

void initQuickStation(const QString& dataDir)
{
    REQUIRE(run(QStringLiteral(IMPRINT_CTL), { QStringLiteral("init"), QStringLiteral("--data-dir"), dataDir }).exitCode
        == 0);
    QSettings s(dataDir + QStringLiteral("/station.ini"), QSettings::IniFormat);
    s.setValue(QStringLiteral("timeouts/identify-ms"), 1500);
    s.setValue(QStringLiteral("timeouts/keygen-ms"), 2500);
    s.setValue(QStringLiteral("timeouts/exchange-ms"), 1500);
    s.setValue(QStringLiteral("timeouts/attempts"), 2);
    s.setValue(QStringLiteral("timeouts/reconnect-ms"), 800);
    s.sync();
}

QString quickStation(const QTemporaryDir& tmp)
{
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    initQuickStation(dataDir);
    return dataDir;
}

DevSim::DevSim(const QStringList& args, const QStringList& as)
{
    if (as.isEmpty()) {
        m_process.setProgram(QStringLiteral(IMPRINT_DEVSIM));
        m_process.setArguments(args);
    } else {
        m_process.setProgram(as.first());
        m_process.setArguments(as.mid(1) + QStringList { QStringLiteral(IMPRINT_DEVSIM) } + args);
    }
    m_process.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    m_process.start();
    REQUIRE(m_process.waitForStarted(10000));
    int expected = 1;
    const int countAt = static_cast<int>(args.indexOf(QStringLiteral("--count")));
    if (countAt >= 0)
        expected = args.at(countAt + 1).toInt();
    while (m_ports.size() < expected) {
        if (!m_process.canReadLine())
            REQUIRE(m_process.waitForReadyRead(10000));
        while (m_process.canReadLine())
            m_ports << QString::fromLocal8Bit(m_process.readLine()).trimmed();
    }
}

DevSim::~DevSim()
{
    m_process.terminate();
    if (!m_process.waitForFinished(5000))
        m_process.kill();
    m_process.waitForFinished(5000);
}

QStringList DevSim::portArgs() const
{
    QStringList out;
    for (const auto& p : m_ports)
        out << QStringLiteral("--port") << p;
    return out;
}

ProcessResult run(const QString& program, const QStringList& args, const QByteArray& input)
{
    QProcess p;
    p.start(program, args);
    if (!p.waitForStarted(10000))
        return {};
    if (!input.isEmpty())
        p.write(input);
    p.closeWriteChannel();
    if (!p.waitForFinished(60000)) {
        p.kill();
        p.waitForFinished();
    }
    return { p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, p.readAllStandardOutput(),
        p.readAllStandardError() };
}

const QList<DeviceScenario>& deviceScenarios()
{
    static const QList<DeviceScenario> list {
        { "none", "", 1, "verified" },
        { "no-reply", "timeout", 0 },
        { "disconnect-at:generate-key", "disconnected", 0 },
        { "disconnect-at:install-cert", "disconnected", 1, "issued" },
        { "corrupt-frame", "bad-frames", 0 },
        { "truncated-frame", "bad-frames", 0 },
        { "oversized-frame", "bad-frames", 0 },
        { "header-flood", "bad-frames", 0 },
        { "silent", "timeout", 0 },
        { "bad-csr-signature", "bad-signature", 0 },
        { "csr-other-serial", "serial-mismatch", 0 },
        { "refuse-cert", "refused", 1, "issued" },
        { "readback-mismatch", "readback-mismatch", 1, "installed" },
        { "bad-challenge", "challenge-failed", 1, "installed" },
        // Frame sizes: version 3 takes the certificate and chain (about 1.5 KB) in parts and
        // reads it back in parts; version 2 at its largest frames as before; version 2 with
        // frames too small is refused before anything is signed.
        { "none", "", 1, "verified", 512, 3 },
        { "none", "", 1, "verified", 1024, 3 },
        { "readback-mismatch", "readback-mismatch", 1, "installed", 512, 3 },
        { "none", "", 1, "verified", 65536, 2 },
        { "none", "frame-too-large", 0, "", 1024, 2 },
    };
    return list;
}

QString DeviceScenario::name() const
{
    QString n = QString::fromLatin1(fault).section(u':', -1);
    if (maxFrame != 65536 || protocol != 3)
        n += QStringLiteral("-%1v%2").arg(maxFrame).arg(protocol);
    return n;
}

QList<QJsonObject> jsonLines(const QByteArray& out)
{
    QList<QJsonObject> objects;
    for (const QByteArray& line : out.split('\n')) {
        if (line.trimmed().isEmpty())
            continue;
        QJsonParseError e {};
        const QJsonDocument doc = QJsonDocument::fromJson(line, &e);
        INFO(line.toStdString());
        REQUIRE(e.error == QJsonParseError::NoError);
        objects << doc.object();
    }
    return objects;
}

ProcessResult ctl(const QString& dataDir, QStringList args)
{
    args << QStringLiteral("--data-dir") << dataDir;
    return run(QStringLiteral(IMPRINT_CTL), args);
}

QList<QByteArray> bundleCertificates(const QString& path)
{
    auto printed = run(QStringLiteral("openssl"),
        { QStringLiteral("pkcs7"), QStringLiteral("-inform"), QStringLiteral("DER"), QStringLiteral("-in"), path,
            QStringLiteral("-print_certs") });
    INFO(printed.err.toStdString());
    REQUIRE(printed.exitCode == 0);
    auto certs = core::ossl::certsDerFromPem(printed.out);
    REQUIRE(certs.has_value());
    return *certs;
}

QByteArray makeCsr(EVP_PKEY* key, const QString& serial, EVP_PKEY* signingKey)
{
    EVP_PKEY* signer = signingKey ? signingKey : key;
    REQUIRE(EVP_PKEY_up_ref(signer) == 1);
    core::EvpSigner evp { core::ossl::PKey(signer) };
    auto der = core::makeRequest(
        { { QStringLiteral("CN"), QStringLiteral("Test Device") }, { QStringLiteral("serialNumber"), serial } }, key,
        evp);
    REQUIRE(der.has_value());
    return *der;
}

ProcessResult openssl(const QStringList& args)
{
    auto r = test::run(QStringLiteral("openssl"), args);
    INFO("openssl " << args.join(u' ').toStdString() << "\n" << r.err.toStdString());
    REQUIRE(r.exitCode == 0);
    return r;
}

UpstreamPki::UpstreamPki(const QString& where)
    : dir(where)
{
    QFile ext(file(QStringLiteral("ee.ext")));
    REQUIRE(ext.open(QIODevice::WriteOnly));
    ext.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\n"
              "authorityKeyIdentifier=keyid\n");
    ext.close();
    openssl({ QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"), QStringLiteral("ec"),
        QStringLiteral("-pkeyopt"), QStringLiteral("ec_paramgen_curve:P-256"), QStringLiteral("-nodes"),
        QStringLiteral("-keyout"), key(), QStringLiteral("-out"), cert(), QStringLiteral("-subj"),
        QStringLiteral("/O=Corp/CN=Corp Device CA"), QStringLiteral("-days"), QStringLiteral("3650"),
        QStringLiteral("-addext"), QStringLiteral("basicConstraints=critical,CA:TRUE"), QStringLiteral("-addext"),
        QStringLiteral("keyUsage=critical,keyCertSign,cRLSign,digitalSignature") });
}

QString UpstreamPki::certify(const QString& request, const QString& out, bool der) const
{
    openssl({ QStringLiteral("x509"), QStringLiteral("-req"), QStringLiteral("-in"), request, QStringLiteral("-inform"),
        der ? QStringLiteral("DER") : QStringLiteral("PEM"), QStringLiteral("-CA"), cert(), QStringLiteral("-CAkey"),
        key(), QStringLiteral("-CAcreateserial"), QStringLiteral("-out"), out, QStringLiteral("-days"),
        QStringLiteral("365"), QStringLiteral("-extfile"), file(QStringLiteral("ee.ext")) });
    return out;
}

void enrollStation(const QString& dataDir, const UpstreamPki& pki, const QString& url)
{
    test::initQuickStation(dataDir);
    REQUIRE(test::ctl(dataDir, { QStringLiteral("ra"), QStringLiteral("keygen") }).exitCode == 0);
    const QString csr = pki.file(QStringLiteral("ra.csr"));
    REQUIRE(test::ctl(dataDir,
                { QStringLiteral("ra"), QStringLiteral("csr"), QStringLiteral("--subject"),
                    QStringLiteral("/O=Acme/CN=Line 3 RA"), QStringLiteral("--out"), csr })
                .exitCode
        == 0);
    const QString raCert = pki.certify(csr, pki.file(QStringLiteral("ra.pem")));
    auto imported = test::ctl(dataDir,
        { QStringLiteral("ra"), QStringLiteral("import"), QStringLiteral("--cert"), raCert, QStringLiteral("--chain"),
            pki.cert() });
    INFO(imported.err.toStdString());
    REQUIRE(imported.exitCode == 0);
    REQUIRE(test::ctl(dataDir,
                { QStringLiteral("upstream"), QStringLiteral("configure"), QStringLiteral("--url"), url,
                    QStringLiteral("--trusted"), pki.cert() })
                .exitCode
        == 0);
    QSettings s(dataDir + QStringLiteral("/station.ini"), QSettings::IniFormat);
    s.setValue(QStringLiteral("upstream/retry-min-s"), 1);
    s.setValue(QStringLiteral("upstream/retry-max-s"), 2);
    s.setValue(QStringLiteral("upstream/message-timeout-s"), 5);
    s.setValue(QStringLiteral("upstream/total-timeout-s"), 30);
    s.sync();
}

namespace {

bool cmsVerifies(const QString& content, const QString& anchors)
{
    return test::run(QStringLiteral("openssl"),
               { QStringLiteral("cms"), QStringLiteral("-verify"), QStringLiteral("-binary"), QStringLiteral("-inform"),
                   QStringLiteral("DER"), QStringLiteral("-in"), content + QStringLiteral(".p7s"),
                   QStringLiteral("-content"), content, QStringLiteral("-CAfile"), anchors, QStringLiteral("-out"),
                   QStringLiteral("/dev/null") })
               .exitCode
        == 0;
}

QString fileSha256(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? core::ossl::sha256Hex(f.readAll()) : QString();
}

} // namespace

bool partVerifies(const QString& batch, const QString& part, const QString& anchors)
{
    // As the upstream's side checks it, with openssl and tar alone: the manifest's signature,
    // the archive's SHA-256, then every file in it against the manifest.
    const QString manifestPath = batch + u'/' + part + QStringLiteral(".json");
    if (!cmsVerifies(manifestPath, anchors))
        return false;
    QFile m(manifestPath);
    if (!m.open(QIODevice::ReadOnly))
        return false;
    const QJsonObject manifest = QJsonDocument::fromJson(m.readAll()).object();
    const QJsonObject archive = manifest[QStringLiteral("archive")].toObject();
    const QString tar = batch + u'/' + archive[QStringLiteral("name")].toString();
    if (archive[QStringLiteral("name")].toString() != part + QStringLiteral(".tar")
        || fileSha256(tar) != archive[QStringLiteral("sha256")].toString())
        return false;
    QTemporaryDir unpacked;
    if (test::run(QStringLiteral("tar"), { QStringLiteral("-xf"), tar, QStringLiteral("-C"), unpacked.path() }).exitCode
        != 0)
        return false;
    const QJsonObject files = manifest[QStringLiteral("files")].toObject();
    if (files.isEmpty())
        return false;
    for (auto it = files.begin(); it != files.end(); ++it) {
        if (fileSha256(unpacked.filePath(it.key())) != it.value().toString())
            return false;
    }
    return true;
}

bool batchVerifies(const QString& batch, const QString& anchors)
{
    const QString index = batch + QStringLiteral("/batch.json");
    if (!cmsVerifies(index, anchors))
        return false;
    QFile f(index);
    if (!f.open(QIODevice::ReadOnly))
        return false;
    const QJsonArray parts = QJsonDocument::fromJson(f.readAll()).object()[QStringLiteral("parts")].toArray();
    if (parts.isEmpty())
        return false;
    for (const QJsonValue& v : parts) {
        const QJsonObject part = v.toObject();
        const QString name = part[QStringLiteral("manifest")].toString().chopped(5); // "part-NNNN"
        if (fileSha256(batch + u'/' + part[QStringLiteral("manifest")].toString())
                != part[QStringLiteral("manifest_sha256")].toString()
            || !partVerifies(batch, name, anchors))
            return false;
    }
    return true;
}

} // namespace imprint::test
