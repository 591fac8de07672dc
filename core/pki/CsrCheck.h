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
    ossl::Req request;
    ossl::PKey publicKey;
    QByteArray publicKeyDer;
    QString publicKeySha256;
    QString keyType;
};

/// Checks a device's PKCS#10 request before anything is signed. Each rejection is an
/// Error with code CsrRejected and a stable `reason`:
///   too-large, malformed, trailing-bytes, bad-signature, key-not-allowed,
///   serial-missing, serial-mismatch, key-reused.
class CsrCheck {
public:
    /// Returns the device serial that already holds a certificate for this public key
    /// (SHA-256 of its SubjectPublicKeyInfo), if any.
    using KeyOwnerLookup = std::function<Result<std::optional<QString>>(const QString& publicKeySha256)>;

    explicit CsrCheck(CsrPolicy policy = {});

    [[nodiscard]] Result<CheckedCsr> check(
        const QByteArray& der, const QString& deviceSerial, const KeyOwnerLookup& keyOwner) const;

    /// "EC-P256", "EC-P384", "RSA-2048", ... or an empty string for anything else.
    [[nodiscard]] static QString describeKey(const EVP_PKEY* key);

private:
    CsrPolicy m_policy;
};

} // namespace imprint::core
