#include "device/KeyInjection.h"

#include <catch2/catch.hpp>

using namespace imprint::core;

TEST_CASE("A sealed key opens on the device it was made for, and nowhere else")
{
    auto device = injection::makeEphemeral();
    REQUIRE(device.has_value());
    auto sealed = injection::sealNewKey(device->point, QStringLiteral("INJ-1"));
    REQUIRE(sealed.has_value());
    CHECK(sealed->stationEphemeral.size() == injection::PointSize);
    CHECK(sealed->ciphertext.size() == injection::ScalarSize + injection::TagSize);

    auto opened = injection::openSealedKey(
        *device, QStringLiteral("INJ-1"), sealed->stationEphemeral, sealed->nonce, sealed->ciphertext);
    REQUIRE(opened.has_value());
    // The device now holds the key whose public half the station kept: it signs, the station verifies.
    CHECK(ossl::publicKeyDer(opened->get()) == sealed->publicKey);
    ossl::MdCtx ctx { EVP_MD_CTX_new() };
    size_t len = 0;
    REQUIRE(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, opened->get()) == 1);
    REQUIRE(EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>("m"), 1) == 1);
    QByteArray sig(static_cast<qsizetype>(len), '\0');
    REQUIRE(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                reinterpret_cast<const unsigned char*>("m"), 1)
        == 1);
    sig.truncate(static_cast<qsizetype>(len));
    auto pub = ossl::publicKeyFromDer(sealed->publicKey);
    REQUIRE(pub.has_value());
    CHECK(ossl::verifySha256(pub->get(), "m", sig));

    SECTION("another serial")
    {
        auto r = injection::openSealedKey(
            *device, QStringLiteral("INJ-2"), sealed->stationEphemeral, sealed->nonce, sealed->ciphertext);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == ErrorCode::Crypto);
    }
    SECTION("a flipped bit")
    {
        QByteArray ct = sealed->ciphertext;
        ct[5] = static_cast<char>(ct[5] ^ 0x01);
        CHECK_FALSE(
            injection::openSealedKey(*device, QStringLiteral("INJ-1"), sealed->stationEphemeral, sealed->nonce, ct)
                .has_value());
    }
    SECTION("another one-time key")
    {
        auto other = injection::makeEphemeral();
        REQUIRE(other.has_value());
        CHECK_FALSE(injection::openSealedKey(
            *other, QStringLiteral("INJ-1"), sealed->stationEphemeral, sealed->nonce, sealed->ciphertext)
                        .has_value());
    }
    SECTION("a point that is not on the curve")
    {
        QByteArray bogus = device->point;
        bogus[40] = static_cast<char>(bogus[40] ^ 0x55);
        auto r = injection::sealNewKey(bogus, QStringLiteral("INJ-1"));
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == ErrorCode::Protocol);
    }
}
