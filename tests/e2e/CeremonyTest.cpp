// The CA ceremony as a PKI administrator runs it: a new key inside the token, a request to
// an upstream root made by the openssl command line, and the import of what comes back --
// refused, with nothing changed, unless it is a CA certificate for the token key that
// verifies to a root.

#include "TestSupport.h"

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include <catch2/catch.hpp>

using namespace imprint;

namespace {

const QString Python = QStringLiteral("/usr/bin/python3");

QByteArray readAll(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

void writeAll(const QString& path, const QByteArray& data)
{
    QFile f(path);
    REQUIRE(f.open(QIODevice::WriteOnly));
    f.write(data);
}

test::ProcessResult openssl(const QStringList& args)
{
    auto r = test::run(QStringLiteral("openssl"), args);
    INFO(r.err.toStdString());
    REQUIRE(r.exitCode == 0);
    return r;
}

/// The upstream root signs `csr` with the extensions in `ext` (openssl x509 -req).
QString rootSigns(const QTemporaryDir& tmp, const QString& csr, const QString& root, const QString& rootKey,
    const QByteArray& ext, const QString& name)
{
    const QString extFile = tmp.filePath(name + QStringLiteral(".ext"));
    writeAll(extFile, ext);
    const QString out = tmp.filePath(name + QStringLiteral(".pem"));
    openssl({ QStringLiteral("x509"), QStringLiteral("-req"), QStringLiteral("-in"), csr, QStringLiteral("-CA"), root,
        QStringLiteral("-CAkey"), rootKey, QStringLiteral("-set_serial"), QStringLiteral("0x1001"),
        QStringLiteral("-days"), QStringLiteral("3650"), QStringLiteral("-extfile"), extFile, QStringLiteral("-out"),
        out });
    return out;
}

QString makeRoot(const QTemporaryDir& tmp, const QString& name, QString* key)
{
    *key = tmp.filePath(name + QStringLiteral(".key"));
    const QString pem = tmp.filePath(name + QStringLiteral(".pem"));
    openssl({ QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"), QStringLiteral("ec"),
        QStringLiteral("-pkeyopt"), QStringLiteral("ec_paramgen_curve:P-256"), QStringLiteral("-nodes"),
        QStringLiteral("-keyout"), *key, QStringLiteral("-subj"), QStringLiteral("/O=Upstream/CN=") + name,
        QStringLiteral("-days"), QStringLiteral("7300"), QStringLiteral("-addext"),
        QStringLiteral("basicConstraints=critical,CA:TRUE"), QStringLiteral("-addext"),
        QStringLiteral("keyUsage=critical,keyCertSign,cRLSign"), QStringLiteral("-out"), pem });
    return pem;
}

const QByteArray CaExtensions = "basicConstraints=critical,CA:TRUE,pathlen:0\n"
                                "keyUsage=critical,keyCertSign,cRLSign\n"
                                "subjectKeyIdentifier=hash\n"
                                "authorityKeyIdentifier=keyid\n";

} // namespace

TEST_CASE("CA ceremony: keygen in the token, CSR to an upstream root, import of the signed chain")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    auto ctl = [&](QStringList args) { return test::ctl(dataDir, std::move(args)); };
    REQUIRE(ctl({ QStringLiteral("init") }).exitCode == 0);

    auto keygen = ctl({ QStringLiteral("ca"), QStringLiteral("keygen"), QStringLiteral("--label"),
        QStringLiteral("line-ca-2"), QStringLiteral("--type"), QStringLiteral("ec-p384") });
    INFO(keygen.err.toStdString());
    REQUIRE(keygen.exitCode == 0);
    CHECK(readAll(dataDir + QStringLiteral("/station.ini")).contains("object=line-ca-2"));
    // The same label twice is refused: a key is never replaced by accident.
    auto twice = ctl(
        { QStringLiteral("ca"), QStringLiteral("keygen"), QStringLiteral("--label"), QStringLiteral("line-ca-2") });
    CHECK(twice.exitCode == 2);
    CHECK(twice.err.contains("already holds a key"));

    // Until its certificate is imported, the new key issues nothing.
    const QString devCsr = tmp.filePath(QStringLiteral("dev.csr"));
    openssl({ QStringLiteral("req"), QStringLiteral("-new"), QStringLiteral("-newkey"), QStringLiteral("ec"),
        QStringLiteral("-pkeyopt"), QStringLiteral("ec_paramgen_curve:P-256"), QStringLiteral("-nodes"),
        QStringLiteral("-keyout"), tmp.filePath(QStringLiteral("dev.key")), QStringLiteral("-subj"),
        QStringLiteral("/serialNumber=CER-1"), QStringLiteral("-out"), devCsr });
    auto early = ctl({ QStringLiteral("issue"), QStringLiteral("--csr"), devCsr, QStringLiteral("--device-serial"),
        QStringLiteral("CER-1") });
    CHECK(early.exitCode != 0);
    CHECK(early.err.contains("does not belong to the key in the token"));

    const QString caCsr = tmp.filePath(QStringLiteral("ca.csr"));
    auto csr = ctl({ QStringLiteral("ca"), QStringLiteral("csr"), QStringLiteral("--subject"),
        QStringLiteral("/O=Acme/OU=Plant 2/CN=Acme Line 3 Issuing CA"), QStringLiteral("--out"), caCsr });
    INFO(csr.err.toStdString());
    REQUIRE(csr.exitCode == 0);
    auto verified = openssl({ QStringLiteral("req"), QStringLiteral("-in"), caCsr, QStringLiteral("-noout"),
        QStringLiteral("-verify"), QStringLiteral("-subject") });
    CHECK(verified.out.contains("CN = Acme Line 3 Issuing CA"));
    CHECK((verified.err + verified.out).contains("verify OK"));

    QString rootKey, otherRootKey;
    const QString root = makeRoot(tmp, QStringLiteral("Upstream Root"), &rootKey);
    const QString otherRoot = makeRoot(tmp, QStringLiteral("Other Root"), &otherRootKey);
    const QByteArray chainBefore = readAll(dataDir + QStringLiteral("/ca/chain.pem"));

    auto import = [&](const QString& cert, const QString& chain) {
        QStringList args { QStringLiteral("ca"), QStringLiteral("import"), QStringLiteral("--cert"), cert };
        if (!chain.isEmpty())
            args << QStringLiteral("--chain") << chain;
        return ctl(args);
    };

    SECTION("refusals change nothing")
    {
        const QString leaf = rootSigns(tmp, caCsr, root, rootKey,
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n", QStringLiteral("leaf"));
        auto notCa = import(leaf, root);
        CHECK(notCa.exitCode == 2);
        CHECK(notCa.err.contains("not a CA certificate"));

        const QString noCertSign = rootSigns(tmp, caCsr, root, rootKey,
            "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature\n", QStringLiteral("nocertsign"));
        auto noKu = import(noCertSign, root);
        CHECK(noKu.exitCode == 2);
        CHECK(noKu.err.contains("keyCertSign"));

        // A CA certificate for some other key.
        const QString otherCsr = tmp.filePath(QStringLiteral("other.csr"));
        openssl({ QStringLiteral("req"), QStringLiteral("-new"), QStringLiteral("-newkey"), QStringLiteral("ec"),
            QStringLiteral("-pkeyopt"), QStringLiteral("ec_paramgen_curve:P-256"), QStringLiteral("-nodes"),
            QStringLiteral("-keyout"), tmp.filePath(QStringLiteral("other.key")), QStringLiteral("-subj"),
            QStringLiteral("/CN=Not Ours"), QStringLiteral("-out"), otherCsr });
        const QString otherCa = rootSigns(tmp, otherCsr, root, rootKey, CaExtensions, QStringLiteral("otherca"));
        auto wrongKey = import(otherCa, root);
        CHECK(wrongKey.exitCode == 2);
        CHECK(wrongKey.err.contains("not the CA key in the token"));

        // Ours, but presented with a root that did not sign it, or with no root at all.
        const QString good = rootSigns(tmp, caCsr, root, rootKey, CaExtensions, QStringLiteral("good"));
        auto wrongRoot = import(good, otherRoot);
        CHECK(wrongRoot.exitCode == 2);
        CHECK(wrongRoot.err.contains("does not verify"));
        auto noRoot = import(good, QString());
        CHECK(noRoot.exitCode == 2);
        // The issuer the chain lacks is named.
        CHECK(noRoot.err.contains("does not reach a root"));
        CHECK(noRoot.err.contains("O=Upstream"));

        CHECK(readAll(dataDir + QStringLiteral("/ca/chain.pem")) == chainBefore);
    }

    SECTION("the signed chain is imported and the station issues under it")
    {
        const QString good = rootSigns(tmp, caCsr, root, rootKey, CaExtensions, QStringLiteral("good"));
        auto imported = import(good, root);
        INFO(imported.err.toStdString());
        REQUIRE(imported.exitCode == 0);
        CHECK(readAll(dataDir + QStringLiteral("/ca/chain.pem")) == readAll(good) + readAll(root));

        auto show = ctl({ QStringLiteral("ca"), QStringLiteral("show"), QStringLiteral("--json") });
        REQUIRE(show.exitCode == 0);
        const QJsonObject o = QJsonDocument::fromJson(show.out).object();
        CHECK(o[QStringLiteral("key")].toObject()[QStringLiteral("algorithm")].toString() == QLatin1String("EC-P384"));
        CHECK(o[QStringLiteral("key_matches_certificate")].toBool());
        CHECK(o[QStringLiteral("key")]
                  .toObject()[QStringLiteral("attributes")]
                  .toObject()[QStringLiteral("never_extractable")]
                  .toBool());

        const QString devCert = tmp.filePath(QStringLiteral("dev.pem"));
        auto issued = ctl({ QStringLiteral("issue"), QStringLiteral("--csr"), devCsr, QStringLiteral("--device-serial"),
            QStringLiteral("CER-1"), QStringLiteral("--out"), devCert });
        INFO(issued.err.toStdString());
        REQUIRE(issued.exitCode == 0);
        auto strict = test::run(QStringLiteral("openssl"),
            { QStringLiteral("verify"), QStringLiteral("-x509_strict"), QStringLiteral("-CAfile"), root,
                QStringLiteral("-untrusted"), good, devCert });
        INFO(strict.out.toStdString() + strict.err.toStdString());
        CHECK(strict.exitCode == 0);
        auto py = test::run(Python,
            { QStringLiteral(IMPRINT_TEST_PEERS) + QStringLiteral("/check_idevid.py"), devCert, good,
                QStringLiteral("CER-1") });
        INFO(py.out.toStdString() + py.err.toStdString());
        CHECK(py.exitCode == 0);
    }
}
