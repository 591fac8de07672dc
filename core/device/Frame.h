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
    };

    /// `maxPayload`: the largest payload this receiver accepts (at most MaxPayload); a
    /// device announces its own as `max-frame`.
    explicit Decoder(qsizetype maxPayload = MaxPayload)
        : m_maxPayload(std::min(maxPayload, MaxPayload))
    {
    }

    /// Feeds bytes and returns the good frames and errors found, in stream order.
    [[nodiscard]] QList<Event> feed(const QByteArray& bytes);

    void reset() { m_buffer.clear(); }
    qsizetype buffered() const { return m_buffer.size(); }

private:
    QByteArray m_buffer;
    qsizetype m_maxPayload;
};

} // namespace imprint::core::frame
