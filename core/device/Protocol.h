#pragma once

// The station <-> device message layer, version 1. The one place that knows message
// names and keys; core/device/PROTOCOL.md documents it for firmware authors.

#include "Error.h"
#include "device/DeviceIdentity.h"

#include <QByteArray>
#include <QCborMap>
#include <QString>

namespace imprint::core::protocol {

inline constexpr int Version = 1;

namespace op {
inline const QString Identify = QStringLiteral("identify");
inline const QString GenerateKey = QStringLiteral("generate-key");
inline const QString InstallCertificate = QStringLiteral("install-cert");
inline const QString ReadCertificate = QStringLiteral("read-cert");
inline const QString SignChallenge = QStringLiteral("sign-challenge");
inline const QString Lock = QStringLiteral("lock");
} // namespace op

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
[[nodiscard]] Result<DeviceIdentity> identityFromCbor(const QCborMap& body);

/// Reads a byte string field; fails when missing, of another type, or larger than maxSize.
[[nodiscard]] Result<QByteArray> bytesField(const QCborMap& map, const QString& key, qsizetype maxSize);

} // namespace imprint::core::protocol
