#pragma once

#include "pki/OpenSsl.h"
#include "pki/Signer.h"

namespace imprint::core {

/// A Signer over an OpenSSL key held in memory. Used for the demo root, whose key
/// is thrown away once the issuing CA certificate is signed, and by the simulator.
class EvpSigner final : public Signer {
public:
    explicit EvpSigner(ossl::PKey key);

    /// Generates a fresh P-256 key.
    [[nodiscard]] static Result<EvpSigner> generateP256();

    Result<QByteArray> signSha256(const QByteArray& data) override;
    Result<QByteArray> signDigest(const QByteArray& digest) override;
    QByteArray publicKey() const override;
    EVP_PKEY* key() const { return m_key.get(); }

private:
    ossl::PKey m_key;
};

} // namespace imprint::core
