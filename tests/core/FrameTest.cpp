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

namespace {
/// Headers 8 bytes apart, each announcing `length` payload bytes: a flood that makes a
/// receiver which waits for and checksums each announced frame work per byte received.
QByteArray headerFlood(quint32 length, int count)
{
    QByteArray header("IM\x02\x00\x00\x00\x00\x00", 8);
    header[4] = static_cast<char>(length >> 24);
    header[5] = static_cast<char>(length >> 16);
    header[6] = static_cast<char>(length >> 8);
    header[7] = static_cast<char>(length);
    return header.repeated(count);
}
} // namespace

TEST_CASE("A flood of frame headers costs a bounded number of checksums, then the decoder gives up")
{
    // 1 MiB of headers announcing 65520 bytes each, fed as a pty delivers it.
    const QByteArray flood = headerFlood(65520, 131072);
    frame::Decoder d;
    d.setDropLimit(32);
    bool gaveUp = false;
    for (qsizetype at = 0; at < flood.size(); at += 4096) {
        for (const auto& e : d.feed(flood.mid(at, 4096)))
            gaveUp = gaveUp || e.giveUp;
    }
    CHECK(gaveUp);
    CHECK(d.gaveUp());
    CHECK(d.stats().droppedFrames == 32);
    CHECK(d.stats().crcs <= 32); // without the limit: one per 8 bytes once 64 KiB are in, about 122,000
    CHECK(d.stats().crcBytes <= 32 * (8 + 65520));
    CHECK(d.buffered() == 0);
    CHECK(d.feed(frame::encode("late")).isEmpty()); // nothing more is decoded
}

TEST_CASE("Headers announcing more than the device may send are dropped before any checksum")
{
    frame::Decoder d;
    d.setMaxPayload(1024); // a device of protocol version 3 with max-frame 1024
    d.setDropLimit(32);
    auto events = d.feed(headerFlood(65520, 16) + frame::encode("after"));
    CHECK(payloads(events) == QList<QByteArray> { "after" });
    CHECK(d.stats().crcs == 1); // the good frame's own
    CHECK(d.stats().droppedFrames == 16);
}
