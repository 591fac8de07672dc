#include "device/Frame.h"

#include <QtEndian>

#include <array>

namespace imprint::core::frame {

namespace {

constexpr std::array<std::uint32_t, 256> makeCrcTable()
{
    std::array<std::uint32_t, 256> table {};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k)
            c = (c & 1U) ? 0xEDB88320U ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    return table;
}

constexpr auto CrcTable = makeCrcTable();

} // namespace

std::uint32_t crc32(const char* data, qsizetype size)
{
    std::uint32_t c = 0xFFFFFFFFU;
    for (qsizetype i = 0; i < size; ++i)
        c = CrcTable[(c ^ static_cast<std::uint8_t>(data[i])) & 0xFFU] ^ (c >> 8);
    return c ^ 0xFFFFFFFFU;
}

QByteArray encode(const QByteArray& payload)
{
    Q_ASSERT(payload.size() <= MaxPayload);
    QByteArray out;
    out.reserve(HeaderSize + payload.size() + TrailerSize);
    out += static_cast<char>(Magic0);
    out += static_cast<char>(Magic1);
    out += static_cast<char>(Version);
    out += '\0';
    char len[4];
    qToBigEndian(static_cast<quint32>(payload.size()), len);
    out.append(len, 4);
    out += payload;
    char crc[4];
    qToBigEndian(crc32(out.constData(), out.size()), crc);
    out.append(crc, 4);
    return out;
}

QList<Decoder::Event> Decoder::feed(const QByteArray& bytes)
{
    QList<Event> events;
    if (m_gaveUp)
        return events;
    m_buffer += bytes;
    qsizetype skipped = 0;
    auto flushSkipped = [&] {
        if (skipped > 0)
            events.append({ {}, QStringLiteral("%1 byte(s) of noise between frames were dropped").arg(skipped) });
        m_stats.noiseBytes += skipped;
        skipped = 0;
    };
    // A frame was dropped (its event appended): true when that was one too many.
    auto dropped = [&] {
        ++m_stats.droppedFrames;
        if (m_dropLimit <= 0 || m_stats.droppedFrames < m_dropLimit)
            return false;
        m_gaveUp = true;
        events.back().giveUp = true;
        return true;
    };

    qsizetype pos = 0;
    while (true) {
        // Find the next magic.
        while (pos < m_buffer.size()
            && !(static_cast<std::uint8_t>(m_buffer[pos]) == Magic0
                && (pos + 1 >= m_buffer.size() || static_cast<std::uint8_t>(m_buffer[pos + 1]) == Magic1))) {
            ++pos;
            ++skipped;
        }
        if (m_buffer.size() - pos < HeaderSize)
            break;
        const char* h = m_buffer.constData() + pos;
        const auto length = static_cast<qsizetype>(qFromBigEndian<quint32>(h + 4));
        if (static_cast<std::uint8_t>(h[2]) != Version) {
            // Another framing version, or a magic by chance in noise: noise, not a frame.
            flushSkipped();
            ++m_stats.noiseBytes;
            events.append({ {},
                QStringLiteral("a frame of unknown protocol version %1 was dropped")
                    .arg(static_cast<std::uint8_t>(h[2])) });
            ++pos; // resynchronise after this false header
            continue;
        }
        if (length == 0 || length > m_maxPayload) {
            // Dropped on its header alone: none of the bytes it announces is waited for or checked.
            flushSkipped();
            events.append({ {},
                QStringLiteral("a frame announcing %1 payload bytes was dropped (at most %2)")
                    .arg(length)
                    .arg(m_maxPayload),
                true });
            ++pos;
            if (dropped())
                break;
            continue;
        }
        const qsizetype total = HeaderSize + length + TrailerSize;
        if (m_buffer.size() - pos < total)
            break;
        const auto expected = qFromBigEndian<quint32>(h + HeaderSize + length);
        ++m_stats.crcs;
        m_stats.crcBytes += HeaderSize + length;
        if (crc32(h, HeaderSize + length) != expected) {
            flushSkipped();
            events.append({ {}, QStringLiteral("a frame with a bad checksum was dropped"), true });
            ++pos;
            if (dropped())
                break;
            continue;
        }
        flushSkipped();
        events.append({ m_buffer.mid(pos + HeaderSize, length), {} });
        pos += total;
    }
    flushSkipped();
    if (m_gaveUp)
        m_buffer.clear();
    else
        m_buffer.remove(0, pos);
    return events;
}

void Decoder::countDropped()
{
    ++m_stats.droppedFrames;
    if (m_dropLimit > 0 && m_stats.droppedFrames >= m_dropLimit) {
        m_gaveUp = true;
        m_buffer.clear();
    }
}

} // namespace imprint::core::frame
