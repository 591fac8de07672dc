#include "device/KeyInjection.h"
#include "TestSupport.h"
#include "pki/CsrCheck.h"

#include <QFile>
#include <QMap>

#include <cstdio>

#include <openssl/core_names.h>

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

TEST_CASE("The device opens a sealed key as the document says: a point off the curve is bad-args, a scalar out of "
          "range is crypto")
{
    auto device = injection::makeEphemeral();
    REQUIRE(device.has_value());
    auto station = injection::makeEphemeral();
    REQUIRE(station.has_value());
    SECTION("the station's point is not on P-256: code Protocol (the device answers bad-args)")
    {
        QByteArray bogus = station->point;
        bogus[40] = static_cast<char>(bogus[40] ^ 0x55);
        auto r = injection::openSealedKey(
            *device, QStringLiteral("INJ-1"), bogus, QByteArray(12, 'n'), QByteArray(48, 'c'));
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == ErrorCode::Protocol);
    }
    SECTION("a sealed scalar of 0, or of the group order: code Crypto")
    {
        const QByteArray order
            = QByteArray::fromHex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
        for (const QByteArray& scalar : { QByteArray(32, '\0'), order }) {
            // Sealed properly, so that only the scalar is wrong.
            const QByteArray nonce(12, 'n');
            auto sealed
                = injection::sealScalarUnchecked(device->point, QStringLiteral("INJ-1"), *station, scalar, nonce);
            REQUIRE(sealed.has_value());
            const QByteArray ct = *sealed;
            auto r = injection::openSealedKey(*device, QStringLiteral("INJ-1"), station->point, nonce, ct);
            REQUIRE_FALSE(r.has_value());
            CHECK(r.error().code == ErrorCode::Crypto);
        }
    }
}

namespace {

/// The ```vector block of PROTOCOL.md: "name: hex" lines (a value may go on over several lines).
QMap<QString, QByteArray> documentedVector()
{
    QFile doc(QStringLiteral(IMPRINT_SOURCE_DIR "/core/device/PROTOCOL.md"));
    REQUIRE(doc.open(QIODevice::ReadOnly));
    QMap<QString, QByteArray> values;
    bool in = false;
    QString name;
    for (const QByteArray& line : doc.readAll().split('\n')) {
        if (line.startsWith("```vector")) {
            in = true;
        } else if (in && line.startsWith("```")) {
            break;
        } else if (in) {
            const qsizetype colon = line.indexOf(':');
            QByteArray hex = line;
            if (colon > 0 && !line.startsWith(' ')) {
                name = QString::fromLatin1(line.left(colon).trimmed());
                hex = line.mid(colon + 1);
            }
            values[name] += QByteArray::fromHex(hex.simplified().replace(' ', ""));
        }
    }
    return values;
}

/// The test vector's inputs: fixed scalars and nonce, so that firmware can check itself offline.
struct VectorInputs {
    QByteArray e = injection::testVector().e;
    QByteArray s = injection::testVector().s;
    QByteArray d = injection::testVector().d;
    QByteArray nonce = injection::testVector().nonce;
    QString serial = injection::testVector().serial;
};

QByteArray ecdhX(const injection::Ephemeral& own, const QByteArray& peerPoint)
{
    auto peerKey = injection::keyFromScalar(QByteArray(32, '\x01')); // a key object to fill with the peer point
    REQUIRE(peerKey.has_value());
    ossl::PKey peer { EVP_PKEY_dup(peerKey->key.get()) };
    REQUIRE(
        EVP_PKEY_set1_encoded_public_key(peer.get(), reinterpret_cast<const unsigned char*>(peerPoint.constData()), 65)
        == 1);
    ossl::PKeyCtx dh { EVP_PKEY_CTX_new(own.key.get(), nullptr) };
    size_t len = 32;
    QByteArray z(32, '\0');
    REQUIRE(EVP_PKEY_derive_init(dh.get()) == 1);
    REQUIRE(EVP_PKEY_derive_set_peer(dh.get(), peer.get()) == 1);
    REQUIRE(EVP_PKEY_derive(dh.get(), reinterpret_cast<unsigned char*>(z.data()), &len) == 1);
    return z;
}

} // namespace

TEST_CASE("The key-injection test vector in PROTOCOL.md is what the station and the device compute")
{
    const VectorInputs in;
    const QMap<QString, QByteArray> doc = documentedVector();
    REQUIRE(doc.value(QStringLiteral("e")) == in.e);
    REQUIRE(doc.value(QStringLiteral("s")) == in.s);
    REQUIRE(doc.value(QStringLiteral("d")) == in.d);
    REQUIRE(doc.value(QStringLiteral("nonce")) == in.nonce);
    REQUIRE(doc.value(QStringLiteral("serial")) == in.serial.toUtf8());

    auto deviceOneTime = injection::keyFromScalar(in.e);
    auto stationOneTime = injection::keyFromScalar(in.s);
    REQUIRE(deviceOneTime.has_value());
    REQUIRE(stationOneTime.has_value());
    CHECK(doc.value(QStringLiteral("E")).toHex() == deviceOneTime->point.toHex());
    CHECK(doc.value(QStringLiteral("S")).toHex() == stationOneTime->point.toHex());
    CHECK(doc.value(QStringLiteral("Z")).toHex() == ecdhX(*stationOneTime, deviceOneTime->point).toHex());
    CHECK(doc.value(QStringLiteral("Z")).toHex() == ecdhX(*deviceOneTime, stationOneTime->point).toHex());
    CHECK(doc.value(QStringLiteral("salt")) == deviceOneTime->point + stationOneTime->point);
    CHECK(doc.value(QStringLiteral("info")) == QByteArray(injection::Info) + in.serial.toUtf8());

    // Both sides derive K alike.
    auto kStation = injection::sessionKey(
        *stationOneTime, deviceOneTime->point, deviceOneTime->point, stationOneTime->point, in.serial);
    auto kDevice = injection::sessionKey(
        *deviceOneTime, stationOneTime->point, deviceOneTime->point, stationOneTime->point, in.serial);
    REQUIRE(kStation.has_value());
    REQUIRE(kDevice.has_value());
    const QByteArray k(kStation->data(), kStation->size());
    CHECK(doc.value(QStringLiteral("K")).toHex() == k.toHex());
    CHECK(QByteArray(kDevice->data(), kDevice->size()) == k);

    auto sealed = injection::sealKey(deviceOneTime->point, in.serial, *stationOneTime, in.d, in.nonce);
    REQUIRE(sealed.has_value());
    CHECK(doc.value(QStringLiteral("ciphertext")).toHex() == sealed->ciphertext.toHex());
    auto injected = injection::keyFromScalar(in.d);
    REQUIRE(injected.has_value());
    CHECK(doc.value(QStringLiteral("public key")).toHex() == injected->point.toHex());

    // And the device opens it to that key.
    auto opened
        = injection::openSealedKey(*deviceOneTime, in.serial, stationOneTime->point, in.nonce, sealed->ciphertext);
    REQUIRE(opened.has_value());
    CHECK(ossl::publicKeyDer(opened->get()) == sealed->publicKey);
}

// Prints the test vector for PROTOCOL.md. Hidden; run by hand: test_keyinjection "[.vector]".
TEST_CASE("Print the key-injection test vector", "[.vector]")
{
    const VectorInputs in;
    auto e = injection::keyFromScalar(in.e);
    auto s = injection::keyFromScalar(in.s);
    auto d = injection::keyFromScalar(in.d);
    REQUIRE((e && s && d));
    auto k = injection::sessionKey(*s, e->point, e->point, s->point, in.serial);
    auto sealed = injection::sealKey(e->point, in.serial, *s, in.d, in.nonce);
    REQUIRE((k && sealed));
    auto line = [](const char* name, const QByteArray& v) {
        QByteArray out = QByteArray(name) + ":";
        for (qsizetype i = 0; i < v.size(); i += 32)
            out += (i == 0 ? " " : "\n    ") + v.mid(i, 32).toHex(' ');
        std::puts(out.constData());
    };
    line("serial", in.serial.toUtf8());
    line("e", in.e);
    line("E", e->point);
    line("s", in.s);
    line("S", s->point);
    line("Z", ecdhX(*s, e->point));
    line("salt", e->point + s->point);
    line("info", QByteArray(injection::Info) + in.serial.toUtf8());
    line("K", QByteArray(k->data(), k->size()));
    line("d", in.d);
    line("nonce", in.nonce);
    line("ciphertext", sealed->ciphertext);
    line("public key", d->point);
}

TEST_CASE("The public key kept for an injected key is the one the device's request for it yields, in any form")
{
    // The station refuses the device's request when its key is not the one injected
    // (injected-key-mismatch): both sides must be one encoding, CsrCheck::canonicalPublicKey.
    auto device = injection::makeEphemeral();
    REQUIRE(device.has_value());
    auto sealed = injection::sealNewKey(device->point, QStringLiteral("INJ-1"));
    REQUIRE(sealed.has_value());
    auto opened = injection::openSealedKey(
        *device, QStringLiteral("INJ-1"), sealed->stationEphemeral, sealed->nonce, sealed->ciphertext);
    REQUIRE(opened.has_value());
    CHECK(sealed->publicKey == CsrCheck::canonicalPublicKey(opened->get()));

    auto noOwner = [](const QString&) -> Result<std::optional<QString>> { return std::optional<QString> {}; };
    auto request = CsrCheck().check(
        imprint::test::makeCsr(opened->get(), QStringLiteral("INJ-1")), QStringLiteral("INJ-1"), noOwner);
    REQUIRE(request.has_value());
    CHECK(request->publicKeyDer == sealed->publicKey);

    // A device whose library writes the point compressed asks for the same key.
    ossl::PKey compressed { EVP_PKEY_dup(opened->get()) };
    REQUIRE(compressed);
    REQUIRE(EVP_PKEY_set_utf8_string_param(compressed.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED)
        == 1);
    auto compressedRequest = CsrCheck().check(
        imprint::test::makeCsr(compressed.get(), QStringLiteral("INJ-1")), QStringLiteral("INJ-1"), noOwner);
    REQUIRE(compressedRequest.has_value());
    CHECK(compressedRequest->publicKeyDer == sealed->publicKey);
}
