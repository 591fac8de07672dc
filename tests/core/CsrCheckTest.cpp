#include "pki/CsrCheck.h"
#include "TestSupport.h"

#include <QSet>

#include <openssl/core_names.h>

#include <catch2/catch.hpp>

using namespace imprint;
using namespace imprint::core;

namespace {

ossl::PKey ecKey(const char* curve)
{
    ossl::PKey k { EVP_EC_gen(curve) };
    REQUIRE(k);
    return k;
}

CsrCheck::KeyOwnerLookup noOwner()
{
    return [](const QString&) -> Result<std::optional<QString>> { return std::optional<QString> {}; };
}

QString rejection(const Result<CheckedCsr>& r)
{
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::CsrRejected);
    CHECK_FALSE(r.error().message.isEmpty());
    return r.error().reason;
}

/// A copy of `key` that OpenSSL writes another way: `param` (EC encoding or point format)
/// set to `value`. One key, other bytes on the wire.
ossl::PKey writtenAs(const EVP_PKEY* key, const char* param, const char* value)
{
    ossl::PKey copy { EVP_PKEY_dup(const_cast<EVP_PKEY*>(key)) };
    REQUIRE(copy);
    REQUIRE(EVP_PKEY_set_utf8_string_param(copy.get(), param, value) == 1);
    return copy;
}

ossl::PKey withExplicitCurve(const EVP_PKEY* key)
{
    return writtenAs(key, OSSL_PKEY_PARAM_EC_ENCODING, OSSL_PKEY_EC_ENCODING_EXPLICIT);
}

ossl::PKey withCompressedPoint(const EVP_PKEY* key)
{
    return writtenAs(key, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED);
}

/// The prime256v1 OID (1.2.840.10045.3.1.7), as a named-curve key carries it.
const QByteArray P256Oid = QByteArray::fromHex("06082a8648ce3d030107");

/// A request as a device's own OpenSSL makes it from a key with explicit curve parameters:
///   openssl ecparam -name prime256v1 -param_enc explicit -genkey -noout -out k.pem
///   openssl req -new -key k.pem -subj "/CN=Test Device/serialNumber=SN-1" -outform DER | base64
/// Its signature is good, and OpenSSL reads its key as a P-256 key ("prime256v1").
const char ExplicitCurveCsr[] = "MIIB1jCCAXsCAQAwJTEUMBIGA1UEAwwLVGVzdCBEZXZpY2UxDTALBgNVBAUTBFNO"
                                "LTEwggFLMIIBAwYHKoZIzj0CATCB9wIBATAsBgcqhkjOPQEBAiEA/////wAAAAEA"
                                "AAAAAAAAAAAAAAD///////////////8wWwQg/////wAAAAEAAAAAAAAAAAAAAAD/"
                                "//////////////wEIFrGNdiqOpPns+u9VXaYhrxlHQawzFOw9jvOPD4n0mBLAxUA"
                                "xJ02CIbnBJNqZnjhE50mt4GffpAEQQRrF9Hy4SxCR/i85uVjpEDydwN9gS3rM6D0"
                                "oTlF2JjClk/jQuL+Gn+bjufrSnwPnhYrzjNXazFezsu2QGg3v1H1AiEA/////wAA"
                                "AAD//////////7zm+q2nF56E87nKwvxjJVECAQEDQgAE6Rb5dT6Q4NxVC2zHPDA9"
                                "+niGA6jt/LAetHUSfxQvzCTdBcJCSh0x5Lbv7j+rBvc7l9muAeDlnSWJJcAadDmC"
                                "MKAAMAoGCCqGSM49BAMCA0kAMEYCIQDRYH5Rr+idbV1vcrzqGSWEPjMyqXICWpZc"
                                "ZO+4j7FSswIhAI8L5v01ssoyRtUxrQMQkp4O1ysr8SaBCEK79CV37qMN";

} // namespace

TEST_CASE("A good P-256 request passes and yields its public key")
{
    auto key = ecKey("P-256");
    const QByteArray csr = test::makeCsr(key.get(), QStringLiteral("SN-1"));
    auto r = CsrCheck().check(csr, QStringLiteral("SN-1"), noOwner());
    REQUIRE(r.has_value());
    CHECK(r->keyType == QLatin1String("EC-P256"));
    CHECK(r->publicKeyDer == ossl::publicKeyDer(key.get()));
}

TEST_CASE("Bad requests are refused with their reason")
{
    auto key = ecKey("P-256");
    const QByteArray good = test::makeCsr(key.get(), QStringLiteral("SN-1"));
    CsrCheck check;

    SECTION("signed by another key (no proof of possession)")
    {
        auto other = ecKey("P-256");
        CHECK(rejection(check.check(
                  test::makeCsr(key.get(), QStringLiteral("SN-1"), other.get()), QStringLiteral("SN-1"), noOwner()))
            == QLatin1String("bad-signature"));
    }
    SECTION("corrupted signature")
    {
        QByteArray bad = good;
        bad[bad.size() - 3] = static_cast<char>(bad[bad.size() - 3] ^ 0x11);
        const QString reason = rejection(check.check(bad, QStringLiteral("SN-1"), noOwner()));
        CHECK((reason == QLatin1String("bad-signature") || reason == QLatin1String("malformed")));
    }
    SECTION("another curve")
    {
        auto p384 = ecKey("P-384");
        CHECK(
            rejection(check.check(test::makeCsr(p384.get(), QStringLiteral("SN-1")), QStringLiteral("SN-1"), noOwner()))
            == QLatin1String("key-not-allowed"));
    }
    SECTION("RSA-1024")
    {
        ossl::PKey rsa { EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(1024)) };
        REQUIRE(rsa);
        CHECK(
            rejection(check.check(test::makeCsr(rsa.get(), QStringLiteral("SN-1")), QStringLiteral("SN-1"), noOwner()))
            == QLatin1String("key-not-allowed"));
    }
    SECTION("wrong serial")
    {
        CHECK(rejection(check.check(good, QStringLiteral("SN-2"), noOwner())) == QLatin1String("serial-mismatch"));
    }
    SECTION("key already certified for another device")
    {
        auto owner = [](const QString&) -> Result<std::optional<QString>> {
            return std::optional<QString> { QStringLiteral("SN-OTHER") };
        };
        CHECK(rejection(check.check(good, QStringLiteral("SN-1"), owner)) == QLatin1String("key-reused"));
    }
    SECTION("truncated")
    {
        CHECK(rejection(check.check(good.left(good.size() - 10), QStringLiteral("SN-1"), noOwner()))
            == QLatin1String("malformed"));
    }
    SECTION("trailing bytes")
    {
        CHECK(rejection(check.check(good + QByteArray(3, '\0'), QStringLiteral("SN-1"), noOwner()))
            == QLatin1String("trailing-bytes"));
    }
    SECTION("oversized")
    {
        CHECK(rejection(check.check(QByteArray(9000, '\x30'), QStringLiteral("SN-1"), noOwner()))
            == QLatin1String("too-large"));
    }
    SECTION("not a CSR at all")
    {
        CHECK(rejection(check.check("hello, I am a device", QStringLiteral("SN-1"), noOwner()))
            == QLatin1String("malformed"));
    }
}

TEST_CASE("The same device presenting its own key again is not a reuse")
{
    auto key = ecKey("P-256");
    auto owner = [](const QString&) -> Result<std::optional<QString>> {
        return std::optional<QString> { QStringLiteral("SN-1") };
    };
    CHECK(
        CsrCheck().check(test::makeCsr(key.get(), QStringLiteral("SN-1")), QStringLiteral("SN-1"), owner).has_value());
}

TEST_CASE("A key whose curve is given by explicit parameters instead of its name is refused (RFC 5480 2.1.1)")
{
    SECTION("a request made by openssl req")
    {
        const QByteArray csr = QByteArray::fromBase64(ExplicitCurveCsr);
        REQUIRE(csr.size() == 474);
        REQUIRE_FALSE(csr.contains(P256Oid));
        CHECK(rejection(CsrCheck().check(csr, QStringLiteral("SN-1"), noOwner())) == QLatin1String("key-not-allowed"));
    }
    SECTION("a fresh P-256 key: refused in explicit form, its named form passes")
    {
        auto key = ecKey("P-256");
        auto spelt = withExplicitCurve(key.get());
        const QByteArray csr = test::makeCsr(spelt.get(), QStringLiteral("SN-1"));
        REQUIRE_FALSE(csr.contains(P256Oid));
        CHECK(rejection(CsrCheck().check(csr, QStringLiteral("SN-1"), noOwner())) == QLatin1String("key-not-allowed"));
        CHECK(CsrCheck()
                  .check(test::makeCsr(key.get(), QStringLiteral("SN-1")), QStringLiteral("SN-1"), noOwner())
                  .has_value());
    }
    SECTION("compressed point and explicit parameters together")
    {
        auto key = ecKey("P-256");
        auto spelt = withCompressedPoint(withExplicitCurve(key.get()).get());
        CHECK(rejection(CsrCheck().check(
                  test::makeCsr(spelt.get(), QStringLiteral("SN-1")), QStringLiteral("SN-1"), noOwner()))
            == QLatin1String("key-not-allowed"));
    }
}

TEST_CASE("One key has one hash: named or explicit curve, compressed or uncompressed point")
{
    auto key = ecKey("P-256");
    const QByteArray named = ossl::publicKeyDer(key.get());
    REQUIRE(named.contains(P256Oid));
    const QByteArray spelt = ossl::publicKeyDer(withExplicitCurve(key.get()).get());
    const QByteArray compressed = ossl::publicKeyDer(withCompressedPoint(key.get()).get());
    const QByteArray speltCompressed
        = ossl::publicKeyDer(withCompressedPoint(withExplicitCurve(key.get()).get()).get());
    // Four encodings on the wire...
    REQUIRE(QSet<QByteArray> { named, spelt, compressed, speltCompressed }.size() == 4);
    // ...of one key, read back as a request brings it.
    for (const QByteArray& der : { named, spelt, compressed, speltCompressed }) {
        auto back = ossl::publicKeyFromDer(der);
        REQUIRE(back.has_value());
        CHECK(CsrCheck::canonicalPublicKey(back->get()) == named);
        CHECK(CsrCheck::publicKeySha256(back->get()) == ossl::sha256Hex(named));
    }

    // Through the check: a request with the compressed point is known by the named key's hash,
    // so a key certified for another device is caught whichever form it comes in.
    auto fromNamed
        = CsrCheck().check(test::makeCsr(key.get(), QStringLiteral("SN-1")), QStringLiteral("SN-1"), noOwner());
    REQUIRE(fromNamed.has_value());
    auto compressedKey = withCompressedPoint(key.get());
    const QByteArray compressedCsr = test::makeCsr(compressedKey.get(), QStringLiteral("SN-1"));
    auto fromCompressed = CsrCheck().check(compressedCsr, QStringLiteral("SN-1"), noOwner());
    REQUIRE(fromCompressed.has_value());
    CHECK(fromCompressed->publicKeyDer == named);
    CHECK(fromCompressed->publicKeySha256 == fromNamed->publicKeySha256);
    const QString namedHash = fromNamed->publicKeySha256;
    auto owner = [namedHash](const QString& hash) -> Result<std::optional<QString>> {
        return hash == namedHash ? std::optional<QString> { QStringLiteral("SN-OTHER") } : std::optional<QString> {};
    };
    CHECK(rejection(CsrCheck().check(compressedCsr, QStringLiteral("SN-1"), owner)) == QLatin1String("key-reused"));
}
