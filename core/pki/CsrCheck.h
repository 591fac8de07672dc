#pragma once

#include "pki/OpenSsl.h"

#include <QStringList>

#include <functional>
#include <optional>

namespace imprint::core {

/// What the station allows in a certificate request.
struct CsrPolicy {
    qsizetype maxDerSize = 8 * 1024;
    QStringList allowedKeys { QStringLiteral("EC-P256") }; ///< see CsrCheck::describeKey
};

/// A request that passed every check, with what issuance needs from it.
struct CheckedCsr {
    QString subjectSerial;
    ossl::PKey publicKey;
    QByteArray publicKeyDer; ///< SubjectPublicKeyInfo, canonical DER
    QString publicKeySha256;
    QString keyType;
};

/// Checks a device's PKCS#10 request (RFC 2986) before anything is signed. Each rejection is
/// an Error with code CsrRejected and a stable `reason`:
///   too-large, malformed, trailing-bytes, key-not-allowed (also: an EC key whose curve is
///   given by explicit parameters, not by name), bad-signature, serial-missing,
///   serial-mismatch, key-reused.
/// The request is read with a strict DER reader rather than OpenSSL's d2i (whose provider
/// key decoders cost twice the signature check); only the key and the signature go to
/// OpenSSL. Safe to use from several threads at once.
class CsrCheck {
public:
    /// Returns the device serial that already holds a certificate for this public key
    /// (publicKeySha256: SHA-256 of its canonical SubjectPublicKeyInfo), if any.
    using KeyOwnerLookup = std::function<Result<std::optional<QString>>(const QString& publicKeySha256)>;

    explicit CsrCheck(CsrPolicy policy = {});

    /// `deviceSerial` is the serial the station identified; empty when there is no device
    /// to ask (a batch of request files), and the request's own serial is taken.
    [[nodiscard]] Result<CheckedCsr> check(
        const QByteArray& der, const QString& deviceSerial, const KeyOwnerLookup& keyOwner) const;

    /// The same refusal for a request read from `file`: it speaks of the file, not of a device.
    [[nodiscard]] static Error aboutFile(Error error, const QString& file);

    /// The one SubjectPublicKeyInfo of a key, however it was encoded: an EC key with its
    /// curve's OID (never explicit parameters) and its point uncompressed (RFC 5480 2.1.1,
    /// 2.2), any other key as i2d_PUBKEY writes it. Empty for an EC key on a curve with no
    /// name.
    [[nodiscard]] static QByteArray canonicalPublicKey(const EVP_PKEY* key);
    /// SHA-256 of canonicalPublicKey, lower-case hex (empty if there is none): what the
    /// repeated-key check and the ledger's spki_sha256 know a key by.
    [[nodiscard]] static QString publicKeySha256(const EVP_PKEY* key);

    /// "EC-P256", "EC-P384", "RSA-2048", ... or an empty string for anything else.
    [[nodiscard]] static QString describeKey(const EVP_PKEY* key);

private:
    CsrPolicy m_policy;
};

} // namespace imprint::core
