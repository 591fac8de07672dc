#pragma once

#include "Error.h"

#include <QByteArray>

namespace imprint::core {

/// A private key that can sign, wherever it lives (an HSM token, or memory for a
/// demo root). Implementations must be usable from the thread that calls them.
class Signer {
public:
    virtual ~Signer() = default;

    /// Signs `data` with SHA-256 and returns the signature as X.509 carries it:
    /// a DER ECDSA-Sig-Value for EC keys, PKCS#1 v1.5 bytes for RSA keys.
    [[nodiscard]] virtual Result<QByteArray> signSha256(const QByteArray& data) = 0;

    /// Signs a digest someone else computed (an OpenSSL API signing through signerKey());
    /// EC keys only: returns a DER ECDSA-Sig-Value. An RSA key refuses.
    [[nodiscard]] virtual Result<QByteArray> signDigest(const QByteArray& digest) = 0;

    /// The matching public key as a DER SubjectPublicKeyInfo.
    [[nodiscard]] virtual QByteArray publicKey() const = 0;
};

} // namespace imprint::core
