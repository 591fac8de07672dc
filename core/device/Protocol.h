#pragma once

// The station <-> device message layer, version 2. The one place that knows message
// names and keys; core/device/PROTOCOL.md documents it for firmware authors.

#include "Error.h"
#include "domain/DeviceIdentity.h"

#include <QByteArray>
#include <QCborMap>
#include <QList>
#include <QString>

namespace imprint::core::protocol {

inline constexpr int Version = 2;
/// Versions the station offers in identify, newest first.
inline const QList<int> SupportedVersions { 2 };

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
/// A device's identity; an empty serial is allowed only on a blank device (not assigned yet,
/// see set-serial).
[[nodiscard]] Result<DeviceIdentity> identityFromCbor(const QCborMap& body);
/// Whether `serial` is a device serial: 1-64 of A-Z a-z 0-9 - _ . (a plain reason if not).
[[nodiscard]] Result<void> checkSerial(const QString& serial);

/// Reads a byte string field; fails when missing, of another type, or larger than maxSize.
[[nodiscard]] Result<QByteArray> bytesField(const QCborMap& map, const QString& key, qsizetype maxSize);

} // namespace imprint::core::protocol
