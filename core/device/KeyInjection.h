#pragma once

// Key injection for devices that cannot make keys (PROTOCOL.md, "Key injection"): the
// station makes the device's P-256 key in memory and seals its private scalar to a
// one-time key of the device: ECDH P-256, HKDF-SHA256, AES-256-GCM. Both sides are here:
// the station's, and the device's as the reference for firmware (and the simulator).

#include "Error.h"
#include "Secret.h"
#include "pki/OpenSsl.h"

#include <QByteArray>
#include <QString>

namespace imprint::core::injection {

/// HKDF info prefix; the device serial follows it.
inline constexpr char Info[] = "IMPRINT-INJECT-V1";
inline constexpr qsizetype PointSize = 65; ///< uncompressed P-256 point
inline constexpr qsizetype NonceSize = 12;
inline constexpr qsizetype TagSize = 16;
inline constexpr qsizetype ScalarSize = 32;

/// What the station sends in inject-key, and the public half it keeps.
struct Sealed {
    QByteArray stationEphemeral; ///< the station's one-time public point
    QByteArray nonce;
    QByteArray ciphertext; ///< AES-256-GCM of the 32-byte scalar, then the 16-byte tag
    QByteArray publicKey; ///< SubjectPublicKeyInfo of the injected key
};

/// Station side: a new P-256 key for the device, sealed to `deviceEphemeral` (the point
/// from inject-begin) and bound to `deviceSerial`. The private scalar exists only inside
/// this call and is cleansed before it returns; it never touches the disk.
[[nodiscard]] Result<Sealed> sealNewKey(const QByteArray& deviceEphemeral, const QString& deviceSerial);

/// Device side: a one-time key pair for one inject-begin.
struct Ephemeral {
    ossl::PKey key;
    QByteArray point; ///< uncompressed
};
[[nodiscard]] Result<Ephemeral> makeEphemeral();

/// Device side: opens what sealNewKey made; fails (code Crypto) on any tampering, a wrong
/// serial or a wrong one-time key. Returns the injected key pair.
[[nodiscard]] Result<ossl::PKey> openSealedKey(const Ephemeral& ephemeral, const QString& deviceSerial,
    const QByteArray& stationEphemeral, const QByteArray& nonce, const QByteArray& ciphertext);

} // namespace imprint::core::injection
