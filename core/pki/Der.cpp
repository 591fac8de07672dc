#include "pki/Der.h"

#include <algorithm>
#include <cstring>

namespace imprint::core::der {

QByteArray header(unsigned char tag, qsizetype length)
{
    QByteArray out;
    out.reserve(6);
    out += static_cast<char>(tag);
    if (length < 0x80) {
        out += static_cast<char>(length);
        return out;
    }
    char bytes[8];
    int n = 0;
    for (auto v = static_cast<quint64>(length); v != 0; v >>= 8)
        bytes[n++] = static_cast<char>(v & 0xff);
    out += static_cast<char>(0x80 | n);
    while (n > 0)
        out += bytes[--n];
    return out;
}

QByteArray tlv(unsigned char tag, QByteArrayView content)
{
    QByteArray out = header(tag, content.size());
    out.append(content.data(), content.size());
    return out;
}

QByteArray oid(const char* dotted)
{
    QList<quint64> arcs;
    for (const QByteArray& part : QByteArray(dotted).split('.')) {
        bool ok = false;
        arcs << part.toULongLong(&ok);
        if (!ok)
            return {};
    }
    if (arcs.size() < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39))
        return {};
    QByteArray body;
    auto base128 = [&body](quint64 v) {
        char bytes[10];
        int n = 0;
        do {
            bytes[n++] = static_cast<char>(v & 0x7f);
            v >>= 7;
        } while (v != 0);
        while (n > 0) {
            --n;
            body += static_cast<char>(bytes[n] | (n > 0 ? 0x80 : 0));
        }
    };
    base128(arcs[0] * 40 + arcs[1]);
    for (qsizetype i = 2; i < arcs.size(); ++i)
        base128(arcs[i]);
    return tlv(Oid, body);
}

BundleLayout certificateBundleLayout(QList<QByteArray> certificates)
{
    // X.690 11.6: ascending order of the encodings compared as octet strings, the shorter
    // one padded with zero octets at its end.
    std::sort(certificates.begin(), certificates.end(), [](const QByteArray& a, const QByteArray& b) {
        const qsizetype n = std::min(a.size(), b.size());
        const int c = std::memcmp(a.constData(), b.constData(), static_cast<size_t>(n));
        if (c != 0)
            return c < 0;
        const QByteArray& longer = a.size() > b.size() ? a : b;
        const bool longerHasNonZero = std::any_of(longer.cbegin() + n, longer.cend(), [](char ch) { return ch != 0; });
        return a.size() < b.size() ? longerHasNonZero : false;
    });
    qsizetype total = 0;
    for (const QByteArray& c : certificates)
        total += c.size();
    // SignedData ::= SEQUENCE { version 1, digestAlgorithms {}, contentInfo { data },
    //     certificates [0] IMPLICIT SET OF Certificate, signerInfos {} }
    // The lengths are known before any certificate is written, so the certificates follow
    // the head as they are, without being copied into one buffer.
    const QByteArray before = QByteArray::fromHex("020101") + tlv(Set, {}) + tlv(Sequence, oid("1.2.840.113549.1.7.1"))
        + header(Context0, total);
    const QByteArray after = tlv(Set, {});
    const qsizetype signedData = before.size() + total + after.size();
    const QByteArray signedDataHead = header(Sequence, signedData);
    // ContentInfo ::= SEQUENCE { contentType signedData, content [0] EXPLICIT SignedData }
    const QByteArray type = oid("1.2.840.113549.1.7.2");
    const QByteArray explicitHead = header(Context0, signedDataHead.size() + signedData);
    BundleLayout layout;
    layout.head = header(Sequence, type.size() + explicitHead.size() + signedDataHead.size() + signedData) + type
        + explicitHead + signedDataHead + before;
    layout.certificates = std::move(certificates);
    layout.tail = after;
    return layout;
}

QByteArray certificateBundle(QList<QByteArray> certificates)
{
    const BundleLayout layout = certificateBundleLayout(std::move(certificates));
    QByteArray out = layout.head;
    for (const QByteArray& c : layout.certificates)
        out += c;
    return out + layout.tail;
}

unsigned char Reader::peekTag() const
{
    return m_pos < m_data.size() ? static_cast<unsigned char>(m_data[m_pos]) : 0;
}

std::optional<Element> Reader::next()
{
    const qsizetype start = m_pos;
    const qsizetype size = m_data.size();
    if (size - m_pos < 2)
        return std::nullopt;
    const auto tag = static_cast<unsigned char>(m_data[m_pos++]);
    if ((tag & 0x1f) == 0x1f) // high tag numbers: nothing the station reads uses them
        return std::nullopt;
    const auto first = static_cast<unsigned char>(m_data[m_pos++]);
    qsizetype length = 0;
    if (first < 0x80) {
        length = first;
    } else {
        const int n = first & 0x7f;
        // 0x80 is BER's indefinite length; more than 4 octets is more than any frame allows.
        if (n == 0 || n > 4 || size - m_pos < n)
            return std::nullopt;
        for (int i = 0; i < n; ++i)
            length = (length << 8) | static_cast<unsigned char>(m_data[m_pos++]);
        // DER: the shortest form, so no leading zero octet and no long form below 128.
        if (length < 0x80 || static_cast<unsigned char>(m_data[m_pos - n]) == 0)
            return std::nullopt;
    }
    if (length > size - m_pos)
        return std::nullopt;
    Element e;
    e.tag = tag;
    e.content = m_data.sliced(m_pos, length);
    m_pos += length;
    e.whole = m_data.sliced(start, m_pos - start);
    return e;
}

std::optional<Element> Reader::next(unsigned char tag)
{
    if (peekTag() != tag)
        return std::nullopt;
    return next();
}

} // namespace imprint::core::der
