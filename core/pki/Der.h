#pragma once

// Just enough DER (X.690) for the station's hot paths: reading certificate requests strictly
// and assembling certificates from precomputed parts. Anything richer goes through OpenSSL.

#include <QByteArray>
#include <QByteArrayView>
#include <QList>

#include <optional>

namespace imprint::core::der {

// Universal and context tags the station reads or writes.
inline constexpr unsigned char Integer = 0x02;
inline constexpr unsigned char BitString = 0x03;
inline constexpr unsigned char OctetString = 0x04;
inline constexpr unsigned char Null = 0x05;
inline constexpr unsigned char Oid = 0x06;
inline constexpr unsigned char Utf8String = 0x0c;
inline constexpr unsigned char PrintableString = 0x13;
inline constexpr unsigned char UtcTime = 0x17;
inline constexpr unsigned char GeneralizedTime = 0x18;
inline constexpr unsigned char Sequence = 0x30;
inline constexpr unsigned char Set = 0x31;
inline constexpr unsigned char Context0 = 0xa0; ///< [0], constructed
inline constexpr unsigned char Context3 = 0xa3; ///< [3], constructed

/// Tag and definite, minimal length octets for `length` bytes of content.
[[nodiscard]] QByteArray header(unsigned char tag, qsizetype length);
/// A whole element: header and content.
[[nodiscard]] QByteArray tlv(unsigned char tag, QByteArrayView content);
/// An OBJECT IDENTIFIER from its dotted form ("2.5.4.5"); empty if the text is not one.
[[nodiscard]] QByteArray oid(const char* dotted);

/// A degenerate PKCS#7 SignedData holding only certificates (RFC 2315 9.1; the .p7b
/// bundle every PKI tool reads), DER. The SET OF is sorted as DER requires (X.690 11.6).
[[nodiscard]] QByteArray certificateBundle(QList<QByteArray> certificates);
/// The same bundle as three parts to write one after another (head, each certificate in
/// order, tail): a large bundle is written without being assembled in memory.
struct BundleLayout {
    QByteArray head;
    QList<QByteArray> certificates; ///< sorted as DER requires
    QByteArray tail;
};
[[nodiscard]] BundleLayout certificateBundleLayout(QList<QByteArray> certificates);

/// One element read from a buffer.
struct Element {
    unsigned char tag = 0;
    QByteArrayView content;
    QByteArrayView whole; ///< header and content, as encoded
};

/// Reads consecutive elements, strictly: low tag numbers only, definite lengths in their
/// shortest form, nothing running past the buffer. Any violation ends reading (nullopt).
class Reader {
public:
    explicit Reader(QByteArrayView data)
        : m_data(data)
    {
    }

    [[nodiscard]] std::optional<Element> next();
    /// The next element, only if it has `tag`.
    [[nodiscard]] std::optional<Element> next(unsigned char tag);
    [[nodiscard]] bool atEnd() const { return m_pos == m_data.size(); }
    /// The next tag without consuming it, or 0 at the end.
    [[nodiscard]] unsigned char peekTag() const;

private:
    QByteArrayView m_data;
    qsizetype m_pos = 0;
};

} // namespace imprint::core::der
