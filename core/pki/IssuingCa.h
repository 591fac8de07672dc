#pragma once

#include "device/DeviceIdentity.h"
#include "pki/CertificateProfile.h"
#include "pki/OpenSsl.h"
#include "pki/Signer.h"

#include <QList>

#include <memory>

namespace imprint::core {

struct IssuedCertificate {
    QByteArray der;
    QString serialHex;
    QString sha256;
};

/// The station's issuing CA: a Signer (the key in the token) and its certificate chain.
class IssuingCa {
public:
    /// `chain` is the issuing CA certificate first, then up to and including the root.
    static Result<IssuingCa> create(std::shared_ptr<Signer> signer, const QList<QByteArray>& chain);

    [[nodiscard]] Result<IssuedCertificate> issue(
        const DeviceIdentity& device, EVP_PKEY* devicePublicKey, const CertificateProfile& profile) const;

    const QList<QByteArray>& chain() const { return m_chain; }
    const X509* certificate() const { return m_cert.get(); }

private:
    IssuingCa(std::shared_ptr<Signer> signer, ossl::Cert cert, QList<QByteArray> chain);

    std::shared_ptr<Signer> m_signer;
    ossl::Cert m_cert;
    QList<QByteArray> m_chain;
};

} // namespace imprint::core
