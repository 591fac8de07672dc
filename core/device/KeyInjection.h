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

/// A key pair from a 32-byte big-endian private scalar, which must lie in 1 .. n-1
/// (code Crypto otherwise). For test vectors, and for the device opening a sealed key.
[[nodiscard]] Result<Ephemeral> keyFromScalar(QByteArrayView scalar);

/// The step in the middle, K = HKDF-SHA256(IKM = ECDH(own, peer) X coordinate,
/// salt = devicePoint || stationPoint, info = Info || serial), exposed for the test vector.
/// A peer point that is not on P-256 fails with code Protocol.
[[nodiscard]] Result<Secret> sessionKey(const Ephemeral& own, const QByteArray& peerPoint,
    const QByteArray& devicePoint, const QByteArray& stationPoint, const QString& serial);

/// sealNewKey with every random input given: the station's one-time key, the device's
/// private scalar and the nonce. For the test vector in PROTOCOL.md and the conformance kit.
[[nodiscard]] Result<Sealed> sealKey(const QByteArray& deviceEphemeral, const QString& deviceSerial,
    const Ephemeral& stationEphemeral, QByteArrayView deviceScalar, const QByteArray& nonce);
/// sealKey without checking that `scalar` is a private key (0, or the group order): what a
/// device must refuse with `crypto`. For the tests and the conformance kit only.
[[nodiscard]] Result<QByteArray> sealScalarUnchecked(const QByteArray& deviceEphemeral, const QString& deviceSerial,
    const Ephemeral& stationEphemeral, QByteArrayView scalar, const QByteArray& nonce);

/// The inputs of the test vector in PROTOCOL.md 8.3: fixed private keys and nonce, never
/// used on a line (the conformance kit seals with them so a device can be compared with it).
struct TestVector {
    QByteArray e; ///< the device's one-time private key
    QByteArray s; ///< the station's one-time private key
    QByteArray d; ///< the injected private key
    QByteArray nonce;
    QString serial;
};
[[nodiscard]] const TestVector& testVector();

/// Device side: opens what sealNewKey made; fails with code Crypto on any tampering, a wrong
/// serial, a wrong one-time key or a scalar outside 1 .. n-1, and with code Protocol when
/// the station's point is not on P-256 (the device answers bad-args). Returns the injected
/// key pair.
[[nodiscard]] Result<ossl::PKey> openSealedKey(const Ephemeral& ephemeral, const QString& deviceSerial,
    const QByteArray& stationEphemeral, const QByteArray& nonce, const QByteArray& ciphertext);

} // namespace imprint::core::injection
