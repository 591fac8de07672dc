#include "device/Protocol.h"
#include "device/Frame.h"

#include <QCborArray>
#include <QCborValue>

#include <catch2/catch.hpp>

using namespace imprint::core;

TEST_CASE("Requests and responses round-trip")
{
    protocol::Request req { protocol::op::SignChallenge, 42, {} };
    req.args.insert(QStringLiteral("challenge"), QByteArray(32, 'x'));
    auto decoded = protocol::decodeRequest(protocol::encode(req));
    REQUIRE(decoded.has_value());
    CHECK(decoded->op == protocol::op::SignChallenge);
    CHECK(decoded->seq == 42);
    CHECK(decoded->args.value(QStringLiteral("challenge")).toByteArray() == QByteArray(32, 'x'));

    protocol::Response refused { 7, false, QStringLiteral("locked"), QStringLiteral("device is locked"), {} };
    auto r = protocol::decodeResponse(protocol::encode(refused));
    REQUIRE(r.has_value());
    CHECK_FALSE(r->ok);
    CHECK(r->errorCode == QLatin1String("locked"));
    CHECK(r->seq == 7);
}

TEST_CASE("Malformed messages are refused with a protocol error")
{
    SECTION("not CBOR")
    {
        auto r = protocol::decodeResponse(QByteArray("\xff\xff", 2));
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == ErrorCode::Protocol);
    }
    SECTION("not a map")
    {
        auto r = protocol::decodeResponse(QCborValue(QCborArray { 1, 2 }).toCbor());
        REQUIRE_FALSE(r.has_value());
    }
    SECTION("bytes after the message")
    {
        protocol::Response ok { 1, true, {}, {}, {} };
        auto r = protocol::decodeResponse(protocol::encode(ok) + '\0');
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().detail.contains(QStringLiteral("bytes after")));
    }
    SECTION("missing seq")
    {
        QCborMap m;
        m.insert(QStringLiteral("ok"), true);
        REQUIRE_FALSE(protocol::decodeResponse(m.toCborValue().toCbor()).has_value());
    }
    SECTION("error response without an error map")
    {
        QCborMap m;
        m.insert(QStringLiteral("seq"), 1);
        m.insert(QStringLiteral("ok"), false);
        REQUIRE_FALSE(protocol::decodeResponse(m.toCborValue().toCbor()).has_value());
    }
}

TEST_CASE("Identity is validated")
{
    DeviceIdentity id { QStringLiteral("SN-0001"), QStringLiteral("Model"), QStringLiteral("1.0"),
        QStringLiteral("blank"), { QStringLiteral("p256") } };
    auto back = protocol::identityFromCbor(protocol::identityToCbor(id));
    REQUIRE(back.has_value());
    CHECK(*back == id);

    QCborMap bad = protocol::identityToCbor(id);
    bad.insert(QStringLiteral("serial"), QStringLiteral("SN/../../etc"));
    CHECK_FALSE(protocol::identityFromCbor(bad).has_value());
    bad.insert(QStringLiteral("serial"), QString());
    CHECK_FALSE(protocol::identityFromCbor(bad).has_value());
    bad.insert(QStringLiteral("serial"), 12);
    CHECK_FALSE(protocol::identityFromCbor(bad).has_value());
}

TEST_CASE("Byte fields are bounded")
{
    QCborMap m;
    m.insert(QStringLiteral("csr"), QByteArray(100, 'a'));
    CHECK(protocol::bytesField(m, QStringLiteral("csr"), 100).has_value());
    CHECK_FALSE(protocol::bytesField(m, QStringLiteral("csr"), 99).has_value());
    CHECK_FALSE(protocol::bytesField(m, QStringLiteral("cert"), 100).has_value());
}

TEST_CASE("The worked example in PROTOCOL.md is what the station sends")
{
    // core/device/PROTOCOL.md, "Worked example": identify with seq 1.
    const QByteArray documented = QByteArray::fromHex("494d010000000012a2626f70686964656e7469667963736571"
                                                      "01eb8a7d4a");
    const QByteArray wire = frame::encode(protocol::encode(protocol::Request { protocol::op::Identify, 1, {} }));
    CHECK(wire.toHex() == documented.toHex());
}
