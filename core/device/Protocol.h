#pragma once

#include <algorithm>

// The station <-> device message layer, versions 2 and 3. The one place that knows message
// names, keys and limits; core/device/PROTOCOL.md documents it for firmware authors.

#include "Error.h"
#include "domain/DeviceIdentity.h"

#include <QByteArray>
#include <QCborMap>
#include <QList>
#include <QString>
#include <QStringView>

namespace imprint::core::protocol {

/// The newest version; version 3 adds transfers in parts (stage-begin, stage-chunk, read-cert
/// with offset and length) for devices whose frames cannot hold a certificate and its chain.
inline constexpr int Version = 3;
inline constexpr int ChunkedVersion = 3;
/// Versions the station offers in identify, newest first.
inline const QList<int> SupportedVersions { 3, 2 };

/// The limits PROTOCOL.md states; the station refuses what breaks them.
namespace limit {
inline constexpr qsizetype Text = 256; ///< op, error code, error message (UTF-8 bytes)
inline constexpr qsizetype Serial = 64;
inline constexpr qsizetype Model = 64;
inline constexpr qsizetype Firmware = 64;
inline constexpr qsizetype KeyTypes = 16; ///< entries in key-types
inline constexpr qsizetype KeyTypeName = 32;
inline constexpr qsizetype Csr = 16 * 1024;
inline constexpr qsizetype Certificate = 16 * 1024;
inline constexpr qsizetype ChainEntries = 4;
inline constexpr qsizetype Staged = 40 * 1024; ///< a staged install-cert (version 3)
inline constexpr qsizetype Signature = 1024;
inline constexpr int MaxFrame = 65536;
inline constexpr int MinFrameV2 = 1024;
inline constexpr int MinFrameV3 = 512;
/// Payload bytes a stage-chunk request or a read-cert answer spends besides its data.
inline constexpr int PartOverhead = 128;
} // namespace limit

/// The smallest max-frame a device of `version` may announce.
[[nodiscard]] constexpr int minFrame(int version)
{
    return version >= ChunkedVersion ? limit::MinFrameV3 : limit::MinFrameV2;
}
/// The largest payload the station takes from a device that announced `maxFrame`: its
/// largest legal answer. A device answers generate-key and inject-key with its whole request
/// in one frame (5.1, 5.4; version 3 splits only read-cert), and a version 2 device its whole
/// certificate too: a request or a certificate at its limit, with the answer's own fields.
[[nodiscard]] constexpr qsizetype receiveLimit(int version, int maxFrame)
{
    (void)version;
    return std::max<qsizetype>(maxFrame, std::max(limit::Csr, limit::Certificate) + 1024);
}
/// Data bytes one stage-chunk or read-cert part carries for a device of `maxFrame`.
[[nodiscard]] constexpr int partCapacity(int maxFrame)
{
    return maxFrame - limit::PartOverhead;
}

namespace op {
inline const QString Identify = QStringLiteral("identify");
inline const QString GenerateKey = QStringLiteral("generate-key");
inline const QString InstallCertificate = QStringLiteral("install-cert");
inline const QString ReadCertificate = QStringLiteral("read-cert");
inline const QString SignChallenge = QStringLiteral("sign-challenge");
inline const QString Lock = QStringLiteral("lock");
inline const QString InjectBegin = QStringLiteral("inject-begin");
inline const QString InjectKey = QStringLiteral("inject-key");
inline const QString Reset = QStringLiteral("reset");
inline const QString SetSerial = QStringLiteral("set-serial");
inline const QString StageBegin = QStringLiteral("stage-begin"); ///< version 3
inline const QString StageChunk = QStringLiteral("stage-chunk"); ///< version 3
} // namespace op

/// Device states (PROTOCOL.md, "States").
namespace state = device_state;

/// Error codes a device answers with (PROTOCOL.md, "Errors").
namespace error {
inline const QString BadArgs = QStringLiteral("bad-args");
inline const QString BadState = QStringLiteral("bad-state");
inline const QString Locked = QStringLiteral("locked");
inline const QString NoKey = QStringLiteral("no-key");
inline const QString NoCertificate = QStringLiteral("no-cert");
inline const QString Unsupported = QStringLiteral("unsupported");
inline const QString Refused = QStringLiteral("refused");
inline const QString Crypto = QStringLiteral("crypto");
inline const QString Internal = QStringLiteral("internal");
} // namespace error

/// What to do about a device's refusal with error `code`, as a sentence for the operator.
[[nodiscard]] QString refusalAdvice(const QString& code);

/// The bytes a device signs for sign-challenge: a fixed context string, then the nonce,
/// so that the signature cannot be replayed as anything else.
inline constexpr char ChallengeContext[] = "IMPRINT-CHALLENGE-V1";
inline constexpr qsizetype ChallengeSize = 32;

struct Request {
    QString op;
    quint64 seq = 0;
    QCborMap args;
};

struct Response {
    quint64 seq = 0;
    bool ok = false;
    QString errorCode; ///< when !ok
    QString errorMessage; ///< when !ok
    QCborMap body;
};

[[nodiscard]] QByteArray encode(const Request& request);
[[nodiscard]] QByteArray encode(const Response& response);
[[nodiscard]] Result<Request> decodeRequest(const QByteArray& payload);
[[nodiscard]] Result<Response> decodeResponse(const QByteArray& payload);

[[nodiscard]] QCborMap identityToCbor(const DeviceIdentity& identity);
/// A device's identity, every limit of PROTOCOL.md section 4 checked; an empty serial is
/// allowed only on a blank device (not assigned yet, see set-serial). A serial, model or
/// firmware that breaks its rule fails with reason bad-serial, bad-model or bad-firmware.
[[nodiscard]] Result<DeviceIdentity> identityFromCbor(const QCborMap& body);
/// Whether `serial` is a device serial: 1-64 of A-Z a-z 0-9 - . (a plain reason if not).
/// One alphabet for the protocol, set-serial and the certificate's serialNumber
/// (PrintableString).
[[nodiscard]] Result<void> checkSerial(const QString& serial);

/// Whether `text` is fit to be shown and to go into a certificate as it is: letters, marks,
/// digits, punctuation and symbols of any script, and U+0020 as the only space. Refused:
/// control characters (C0, DEL, C1: a terminal acts on ESC and CSI), format characters
/// (bidirectional embeddings, overrides, isolates and marks, zero-width characters: they
/// make a text read otherwise than it is), line and paragraph separators, other spaces,
/// private-use, unassigned and lone surrogate code points. The rule for identify's model
/// and firmware (PROTOCOL.md 4.2).
[[nodiscard]] bool isPrintableText(QStringView text);
/// `text` with every character isPrintableText refuses written as an escape ("\x1b",
/// "\u{202e}"): a device's own words, safe to show on a terminal, in a log or a window.
[[nodiscard]] QString escapeUnprintable(QStringView text);

/// install-cert's arguments: the certificate and its chain, issuing CA first.
[[nodiscard]] QCborMap installArgs(const QByteArray& cert, const QList<QByteArray>& chain);
/// The payload size of an install-cert request carrying a certificate of `certSize` bytes
/// and `chain`, at the largest seq: whether it fits one frame of the device.
[[nodiscard]] qsizetype installRequestSize(qsizetype certSize, const QList<QByteArray>& chain);

/// Reads a byte string field; fails when missing, of another type, or larger than maxSize.
[[nodiscard]] Result<QByteArray> bytesField(const QCborMap& map, const QString& key, qsizetype maxSize);

} // namespace imprint::core::protocol
