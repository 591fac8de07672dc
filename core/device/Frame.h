#pragma once

#include <QByteArray>
#include <QList>
#include <QString>

#include <algorithm>
#include <cstdint>

namespace imprint::core::frame {

// Frame layout (all integers big-endian), see core/device/PROTOCOL.md:
//   0  2  magic "IM" (0x49 0x4D)
//   2  1  protocol version (2)
//   3  1  flags (0; reserved)
//   4  4  payload length n (0 < n <= MaxPayload)
//   8  n  payload: one CBOR map
//   8+n 4 CRC-32 (IEEE 802.3, reflected, as zlib's crc32) over bytes 0 .. 8+n-1
inline constexpr std::uint8_t Magic0 = 0x49;
inline constexpr std::uint8_t Magic1 = 0x4D;
inline constexpr std::uint8_t Version = 2;
inline constexpr qsizetype HeaderSize = 8;
inline constexpr qsizetype TrailerSize = 4;
inline constexpr qsizetype MaxPayload = 64 * 1024;

[[nodiscard]] std::uint32_t crc32(const char* data, qsizetype size);

/// Wraps a payload in a frame. The payload must not exceed MaxPayload.
[[nodiscard]] QByteArray encode(const QByteArray& payload);

/// Incremental frame decoder over a byte stream. Garbage before a frame, frames with a
/// bad CRC and frames announcing an oversized payload are skipped (and counted as
/// errors); decoding resumes at the next magic.
class Decoder {
public:
    struct Event {
        QByteArray payload; ///< set for a good frame
        QString error; ///< set for a dropped frame or garbage
        bool frameDropped = false; ///< the error is a frame dropped (not noise between frames)
        bool giveUp = false; ///< the drop limit was reached: nothing more is decoded
    };
    /// What the decoder has done so far: the work a sender can cause is bounded by these.
    struct Stats {
        qint64 crcs = 0; ///< checksums computed
        qint64 crcBytes = 0; ///< bytes they covered
        qint64 droppedFrames = 0; ///< frames dropped: a bad length, a bad checksum (see countDropped)
        qint64 noiseBytes = 0; ///< bytes between frames, and headers of other versions
    };

    /// `maxPayload`: the largest payload this receiver accepts (at most MaxPayload); a
    /// device announces its own as `max-frame`.
    explicit Decoder(qsizetype maxPayload = MaxPayload)
        : m_maxPayload(std::min(maxPayload, MaxPayload))
    {
    }

    /// Feeds bytes and returns the good frames and errors found, in stream order. Once
    /// `dropLimit` frames were dropped, the last event says so (giveUp) and every later
    /// byte is ignored: a sender of broken frames cannot keep the receiver checksumming.
    [[nodiscard]] QList<Event> feed(const QByteArray& bytes);

    /// The largest payload accepted from now on: a header announcing more is dropped
    /// before any of its bytes are checked.
    void setMaxPayload(qsizetype maxPayload) { m_maxPayload = std::clamp<qsizetype>(maxPayload, 1, MaxPayload); }
    qsizetype maxPayload() const { return m_maxPayload; }
    /// How many dropped frames end the decoding (0: no limit).
    void setDropLimit(qint64 limit) { m_dropLimit = limit; }
    /// A frame dropped after decoding (its payload was not a message): counted as dropped.
    void countDropped();
    bool gaveUp() const { return m_gaveUp; }
    const Stats& stats() const { return m_stats; }

    void reset() { m_buffer.clear(); }
    qsizetype buffered() const { return m_buffer.size(); }

private:
    QByteArray m_buffer;
    qsizetype m_maxPayload;
    qint64 m_dropLimit = 0;
    bool m_gaveUp = false;
    Stats m_stats;
};

} // namespace imprint::core::frame
