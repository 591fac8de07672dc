#include "pki/CsrCheck.h"
#include "TestSupport.h"

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
