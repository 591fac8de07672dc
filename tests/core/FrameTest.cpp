#include "device/Frame.h"

#include <catch2/catch.hpp>

using namespace imprint::core;

namespace {
QList<QByteArray> payloads(const QList<frame::Decoder::Event>& events)
{
    QList<QByteArray> out;
    for (const auto& e : events)
        if (e.error.isEmpty())
            out << e.payload;
    return out;
}
int errors(const QList<frame::Decoder::Event>& events)
{
    int n = 0;
    for (const auto& e : events)
        n += e.error.isEmpty() ? 0 : 1;
    return n;
}
} // namespace

TEST_CASE("CRC-32 matches the IEEE 802.3 check value")
{
    // The standard check: CRC-32 of "123456789" is 0xCBF43926.
    CHECK(frame::crc32("123456789", 9) == 0xCBF43926U);
}

TEST_CASE("A frame round-trips through the decoder")
{
    const QByteArray payload("\xa1\x62op\x68identify", 12);
    const QByteArray wire = frame::encode(payload);
    CHECK(wire.size() == frame::HeaderSize + payload.size() + frame::TrailerSize);
    CHECK(wire.startsWith("IM\x02\x00"));
    frame::Decoder d;
    auto events = d.feed(wire);
    REQUIRE(payloads(events) == QList<QByteArray> { payload });
    CHECK(errors(events) == 0);
    CHECK(d.buffered() == 0);
}

TEST_CASE("Frames split at every byte boundary are reassembled")
{
    const QByteArray wire = frame::encode("hello") + frame::encode("world");
    frame::Decoder d;
    QList<QByteArray> got;
    for (char c : wire)
        got += payloads(d.feed(QByteArray(1, c)));
    CHECK(got == QList<QByteArray> { "hello", "world" });
}

TEST_CASE("A corrupted frame is dropped and the next one still decodes")
{
    QByteArray bad = frame::encode("first");
    bad[10] = static_cast<char>(bad[10] ^ 0x01);
    frame::Decoder d;
    auto events = d.feed(bad + frame::encode("second"));
    CHECK(payloads(events) == QList<QByteArray> { "second" });
    CHECK(errors(events) >= 1);
}

TEST_CASE("Noise before a frame is skipped and reported")
{
    frame::Decoder d;
    auto events = d.feed(QByteArray("garbage\x00\xff\x49zz", 12) + frame::encode("ok"));
    CHECK(payloads(events) == QList<QByteArray> { "ok" });
    CHECK(errors(events) >= 1);
}

TEST_CASE("A header announcing an oversized payload is dropped without waiting for it")
{
    QByteArray huge("IM\x02\x00\x7f\xff\xff\xff", 8);
    frame::Decoder d;
    auto events = d.feed(huge + frame::encode("after"));
    CHECK(payloads(events) == QList<QByteArray> { "after" });
    CHECK(errors(events) >= 1);
    CHECK(d.buffered() == 0);
}

TEST_CASE("A frame of another protocol version (the first, 1) is refused")
{
    QByteArray v1 = frame::encode("x");
    v1[2] = 1;
    frame::Decoder d;
    auto events = d.feed(v1);
    CHECK(payloads(events).isEmpty());
    CHECK(errors(events) >= 1);
}
