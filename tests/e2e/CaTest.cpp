// The issuing CA as outside tools see it: pkcs11-tool reads the key's attributes from the
// token, and openssl, GnuTLS certtool and python3-cryptography check what it issues.

#include "TestSupport.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include <catch2/catch.hpp>

using namespace imprint;

namespace {

const QString Ctl = QStringLiteral(IMPRINT_CTL);
const QString Peers = QStringLiteral(IMPRINT_TEST_PEERS);
// Debian's interpreter, which has Debian's python3-cryptography.
const QString Python = QStringLiteral("/usr/bin/python3");

QString writeFile(const QTemporaryDir& tmp, const QString& name, const QByteArray& data)
{
    QFile f(tmp.filePath(name));
    REQUIRE(f.open(QIODevice::WriteOnly));
    f.write(data);
    return f.fileName();
}

} // namespace

TEST_CASE("The CA key is sensitive, never extractable and sign-only, as the token itself reports")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    REQUIRE(test::run(Ctl, { QStringLiteral("init"), QStringLiteral("--data-dir"), dataDir }).exitCode == 0);

    auto show = test::run(Ctl,
        { QStringLiteral("ca"), QStringLiteral("show"), QStringLiteral("--data-dir"), dataDir,
            QStringLiteral("--json") });
    INFO(show.err.toStdString());
    REQUIRE(show.exitCode == 0);
    const QJsonObject o = QJsonDocument::fromJson(show.out).object();
    const QJsonObject attrs = o[QStringLiteral("key")].toObject()[QStringLiteral("attributes")].toObject();
    CHECK(attrs[QStringLiteral("sensitive")].toBool());
    CHECK_FALSE(attrs[QStringLiteral("extractable")].toBool());
    CHECK(attrs[QStringLiteral("never_extractable")].toBool());
    CHECK(o[QStringLiteral("key")].toObject()[QStringLiteral("algorithm")].toString() == QLatin1String("EC-P256"));
    CHECK(o[QStringLiteral("key_matches_certificate")].toBool());

    // An independent reader: OpenSC's pkcs11-tool, logged in with the PIN typed at its prompt.
    qputenv("SOFTHSM2_CONF", QFile::encodeName(dataDir + QStringLiteral("/softhsm2.conf")));
    auto list = test::run(Python,
        { Peers + QStringLiteral("/pkcs11_tool_pty.py"), dataDir + QStringLiteral("/secrets/user.pin"),
            QStringLiteral("--"), QStringLiteral("pkcs11-tool"), QStringLiteral("--module"),
            QStringLiteral(IMPRINT_DEFAULT_PKCS11_MODULE), QStringLiteral("--token-label"), QStringLiteral("Imprint"),
            QStringLiteral("--login"), QStringLiteral("--list-objects"), QStringLiteral("--type"),
            QStringLiteral("privkey") });
    INFO(list.out.toStdString());
    REQUIRE(list.exitCode == 0);
    CHECK(list.out.contains("imprint-issuing-ca"));
    CHECK(list.out.contains("Access:     sensitive, always sensitive, never extractable, local"));
    CHECK(list.out.contains("Usage:      sign\r\n"));

    // Getting the key out, through the module's own C API and no Imprint code: reading its
    // value and wrapping it under a fresh AES key are both refused by the token.
    auto exported = test::run(Python,
        { Peers + QStringLiteral("/try_export.py"), QStringLiteral(IMPRINT_DEFAULT_PKCS11_MODULE),
            QStringLiteral("Imprint"), QStringLiteral("imprint-issuing-ca"),
            dataDir + QStringLiteral("/secrets/user.pin") });
    INFO(exported.out.toStdString() + exported.err.toStdString());
    CHECK(exported.exitCode == 0);
    CHECK(exported.out.contains("read CKA_VALUE: CKR_ATTRIBUTE_SENSITIVE"));
    CHECK(exported.out.contains("wrap under AES: CKR_KEY_UNEXTRACTABLE"));
}

TEST_CASE("Certificates issued from a request file pass openssl, certtool and python3-cryptography")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    REQUIRE(test::run(Ctl, { QStringLiteral("init"), QStringLiteral("--data-dir"), dataDir }).exitCode == 0);

    // A request made by the openssl command line, not by Imprint.
    const QString csr = tmp.filePath(QStringLiteral("dev.csr"));
    auto req = test::run(QStringLiteral("openssl"),
        { QStringLiteral("req"), QStringLiteral("-new"), QStringLiteral("-newkey"), QStringLiteral("ec"),
            QStringLiteral("-pkeyopt"), QStringLiteral("ec_paramgen_curve:P-256"), QStringLiteral("-nodes"),
            QStringLiteral("-keyout"), tmp.filePath(QStringLiteral("dev.key")), QStringLiteral("-subj"),
            QStringLiteral("/CN=asked-for-name/serialNumber=PEER-1/O=Not From The CSR"), QStringLiteral("-addext"),
            QStringLiteral("basicConstraints=critical,CA:TRUE"), QStringLiteral("-out"), csr });
    REQUIRE(req.exitCode == 0);
    const QString cert = tmp.filePath(QStringLiteral("dev.pem"));
    auto issued = test::run(Ctl,
        { QStringLiteral("issue"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--csr"), csr,
            QStringLiteral("--device-serial"), QStringLiteral("PEER-1"), QStringLiteral("--out"), cert });
    INFO(issued.err.toStdString());
    REQUIRE(issued.exitCode == 0);

    const QString root = dataDir + QStringLiteral("/ca/root.pem");
    const QString ca = dataDir + QStringLiteral("/ca/issuing-ca.pem");
    auto ossl = test::run(QStringLiteral("openssl"),
        { QStringLiteral("verify"), QStringLiteral("-x509_strict"), QStringLiteral("-CAfile"), root,
            QStringLiteral("-untrusted"), ca, cert });
    INFO(ossl.out.toStdString() + ossl.err.toStdString());
    CHECK(ossl.exitCode == 0);

    QFile c(cert), i(ca), r(root);
    REQUIRE(c.open(QIODevice::ReadOnly));
    REQUIRE(i.open(QIODevice::ReadOnly));
    REQUIRE(r.open(QIODevice::ReadOnly));
    const QString bundle = writeFile(tmp, QStringLiteral("bundle.pem"), c.readAll() + i.readAll() + r.readAll());
    auto gnutls = test::run(
        QStringLiteral("certtool"), { QStringLiteral("--verify-chain"), QStringLiteral("--infile"), bundle });
    INFO(gnutls.out.toStdString() + gnutls.err.toStdString());
    CHECK(gnutls.exitCode == 0);
    CHECK(gnutls.out.contains("Chain verification output: Verified."));

    auto py = test::run(Python, { Peers + QStringLiteral("/check_idevid.py"), cert, ca, QStringLiteral("PEER-1") });
    INFO(py.out.toStdString() + py.err.toStdString());
    CHECK(py.exitCode == 0);

    // Nothing but the key came from the request: no CA:TRUE, no O from the CSR.
    auto text = test::run(QStringLiteral("openssl"),
        { QStringLiteral("x509"), QStringLiteral("-in"), cert, QStringLiteral("-noout"), QStringLiteral("-text") });
    CHECK_FALSE(text.out.contains("CA:TRUE"));
    CHECK_FALSE(text.out.contains("Not From The CSR"));
    CHECK_FALSE(text.out.contains("asked-for-name"));

    // The same device with the same key may be issued again (a re-run after an interrupted job).
    auto again = test::run(Ctl,
        { QStringLiteral("issue"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--csr"), csr,
            QStringLiteral("--device-serial"), QStringLiteral("PEER-1") });
    CHECK(again.exitCode == 0);

    // The same key presented by another device is a broken RNG: refused, and no certificate is recorded.
    const QString csr2 = tmp.filePath(QStringLiteral("dev2.csr"));
    REQUIRE(test::run(QStringLiteral("openssl"),
                { QStringLiteral("req"), QStringLiteral("-new"), QStringLiteral("-key"),
                    tmp.filePath(QStringLiteral("dev.key")), QStringLiteral("-subj"),
                    QStringLiteral("/serialNumber=PEER-2"), QStringLiteral("-out"), csr2 })
                .exitCode
        == 0);
    auto reused = test::run(Ctl,
        { QStringLiteral("issue"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--csr"), csr2,
            QStringLiteral("--device-serial"), QStringLiteral("PEER-2") });
    CHECK(reused.exitCode == 1);
    CHECK(reused.err.contains("key-reused"));
    CHECK(reused.out.isEmpty());
    auto record = test::run(Ctl,
        { QStringLiteral("show"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--device-serial"),
            QStringLiteral("PEER-2"), QStringLiteral("--json") });
    REQUIRE(record.exitCode == 0);
    const QJsonObject peer2 = QJsonDocument::fromJson(record.out).object();
    CHECK(peer2[QStringLiteral("status")].toString() == QLatin1String("failed"));
    CHECK(peer2[QStringLiteral("certificates")].toArray().isEmpty());
}
