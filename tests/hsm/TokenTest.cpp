#include "Token.h"
#include "Pkcs11Uri.h"
#include "SigningService.h"
#include "StationSetup.h"
#include "TestSupport.h"

#include <QFile>
#include <QTemporaryDir>

#include <catch2/catch.hpp>

using namespace imprint;
using namespace imprint::core;

namespace {

const QString Module = QStringLiteral(IMPRINT_DEFAULT_PKCS11_MODULE);

Secret secret(const char* s)
{
    return Secret(QByteArray(s));
}

} // namespace

TEST_CASE("A key generated in the token is sensitive and never extractable, and signs")
{
    test::FreshSoftHsm softhsm;
    auto token = hsm::Token::initialize(Module, QStringLiteral("T1"), secret("so-pin-1234"), secret("user-1234"));
    REQUIRE(token.has_value());
    REQUIRE((*token)->login(secret("user-1234")).has_value());
    auto spki = (*token)->generateKey(QStringLiteral("ca"), QByteArray("\x07", 1), hsm::KeyType::EcP256);
    INFO((spki ? QString() : spki.error().text()).toStdString());
    REQUIRE(spki.has_value());

    auto attrs = (*token)->keyAttributes(QStringLiteral("ca"));
    REQUIRE(attrs.has_value());
    CHECK(attrs->sensitive);
    CHECK_FALSE(attrs->extractable);
    CHECK(attrs->alwaysSensitive);
    CHECK(attrs->neverExtractable);
    CHECK(attrs->isPrivate);

    auto service = hsm::SigningService::create(std::move(*token));
    REQUIRE(service->unlock(secret("user-1234")).has_value());
    auto signer = service->signer(QStringLiteral("ca"));
    REQUIRE(signer.has_value());
    CHECK((*signer)->publicKey() == *spki);
    auto sig = (*signer)->signSha256("data to sign");
    REQUIRE(sig.has_value());
    auto pub = ossl::publicKeyFromDer(*spki);
    REQUIRE(pub.has_value());
    CHECK(ossl::verifySha256(pub->get(), "data to sign", *sig));
    CHECK_FALSE(ossl::verifySha256(pub->get(), "other data", *sig));
}

TEST_CASE("A wrong PIN is refused once, in plain words, and not retried")
{
    test::FreshSoftHsm softhsm;
    {
        auto token = hsm::Token::initialize(Module, QStringLiteral("T2"), secret("so-pin-1234"), secret("user-1234"));
        REQUIRE(token.has_value());
    }
    auto token = hsm::Token::open(Module, QStringLiteral("T2"));
    REQUIRE(token.has_value());
    auto r = (*token)->login(secret("wrong-pin"));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::PinRejected);
    CHECK(r.error().message.contains(QStringLiteral("refused the PIN")));
    CHECK(r.error().detail.contains(QStringLiteral("CKR_PIN_INCORRECT")));
    // The right PIN still works: one wrong try did not lock the token.
    CHECK((*token)->login(secret("user-1234")).has_value());
}

TEST_CASE("A missing token is reported by name")
{
    test::FreshSoftHsm softhsm;
    auto token = hsm::Token::open(Module, QStringLiteral("NoSuchToken"));
    REQUIRE_FALSE(token.has_value());
    CHECK(token.error().code == ErrorCode::NotFound);
    CHECK(token.error().message.contains(QStringLiteral("NoSuchToken")));
}

TEST_CASE("A PIN file others can read is refused")
{
    QTemporaryDir tmp;
    const QString path = tmp.filePath(QStringLiteral("pin"));
    REQUIRE(DataDir::writePrivateFile(path, "1234\n").has_value());
    auto ok = DataDir::readSecretFile(path);
    REQUIRE(ok.has_value());
    CHECK(QByteArray(ok->data(), ok->size()) == "1234");

    QFile::setPermissions(
        path, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ReadGroup | QFileDevice::ReadOther);
    auto loose = DataDir::readSecretFile(path);
    REQUIRE_FALSE(loose.has_value());
    CHECK(loose.error().message.contains(QStringLiteral("chmod 600")));
}

TEST_CASE("PKCS#11 URIs are parsed as RFC 7512 says")
{
    auto uri = hsm::Pkcs11Uri::parse(QStringLiteral(
        "pkcs11:token=My%20Token;object=ca-key;id=%01%02?module-path=/usr/lib/x.so&pin-source=file:/etc/pin"));
    REQUIRE(uri.has_value());
    CHECK(uri->token == QLatin1String("My Token"));
    CHECK(uri->object == QLatin1String("ca-key"));
    CHECK(uri->id == QByteArray("\x01\x02", 2));
    CHECK(uri->modulePath == QLatin1String("/usr/lib/x.so"));
    CHECK(uri->pinFile() == QLatin1String("/etc/pin"));
    auto again = hsm::Pkcs11Uri::parse(uri->toString());
    REQUIRE(again.has_value());
    CHECK(again->token == uri->token);
    CHECK(again->id == uri->id);
    // Ids are written fully escaped, the form every reader (libp11's engine too) accepts.
    hsm::Pkcs11Uri withId;
    withId.token = QStringLiteral("T");
    withId.id = QByteArray("\xb4"
                           "BP",
        3);
    CHECK(withId.toString() == QLatin1String("pkcs11:token=T;id=%B4%42%50"));

    CHECK_FALSE(hsm::Pkcs11Uri::parse(QStringLiteral("file:/x")).has_value());
    CHECK_FALSE(hsm::Pkcs11Uri::parse(QStringLiteral("pkcs11:token=%zz")).has_value());
    auto pinValue = hsm::Pkcs11Uri::parse(QStringLiteral("pkcs11:token=a?pin-value=1234"));
    REQUIRE_FALSE(pinValue.has_value());
    CHECK(pinValue.error().message.contains(QStringLiteral("pin-source")));
}

TEST_CASE("The demo set-up certifies the token key, and keeps the PIN out of the settings")
{
    test::DemoStation station;
    auto config = station.dir().loadConfig();
    REQUIRE(config.has_value());
    auto key = hsm::openCaKey(*config);
    INFO((key ? QString() : key.error().text()).toStdString());
    REQUIRE(key.has_value());
    auto signer = key->signer();
    INFO((signer ? QString() : signer.error().text()).toStdString());
    REQUIRE(signer.has_value());
    // The CA certificate on disk belongs to the token key.
    auto chain = station.dir().loadChain();
    REQUIRE(chain.has_value());
    auto ca = ossl::certFromDer(chain->first());
    REQUIRE(ca.has_value());
    CHECK(ossl::publicKeyDer(X509_get0_pubkey(ca->get())) == (*signer)->publicKey());
    // No secret in the settings file.
    QFile ini(station.dir().configFile());
    REQUIRE(ini.open(QIODevice::ReadOnly));
    auto pin = DataDir::readSecretFile(station.dir().pinFile());
    REQUIRE(pin.has_value());
    CHECK_FALSE(ini.readAll().contains(QByteArray(pin->data(), pin->size())));
}
