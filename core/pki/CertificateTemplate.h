#pragma once

#include "domain/DeviceIdentity.h"
#include "pki/CertificateProfile.h"
#include "pki/OpenSsl.h"

namespace imprint::core {

/// A device certificate for one profile and one issuing CA, precomputed as DER: version,
/// signature algorithm, issuer, fixed subject attributes and fixed extensions are encoded
/// once; per certificate only the serial, validity, device subject attributes, public key,
/// SKI and hardwareModuleName are written. This is what makes issuance cost little more
/// than the HSM's signature (X509_new/X509V3_EXT_conf/i2d spend four times that).
/// Immutable once made: safe to share between threads.
class CertificateTemplate {
public:
    /// `signerSpki` is the CA key's SubjectPublicKeyInfo, which fixes the signature algorithm.
    [[nodiscard]] static Result<CertificateTemplate> create(
        const CertificateProfile& profile, const X509* caCert, const QByteArray& signerSpki);

    /// The DER TBSCertificate (RFC 5280 4.1) for `device` and its public key.
    /// `serial` is the positive serial number's big-endian octets; `now` seconds since 1970.
    [[nodiscard]] Result<QByteArray> tbs(
        const DeviceIdentity& device, const QByteArray& spki, const QByteArray& serial, qint64 now) const;

    /// The DER Certificate: the TBSCertificate, the algorithm, and the CA's signature.
    [[nodiscard]] QByteArray certificate(const QByteArray& tbs, const QByteArray& signature) const;

    const CertificateProfile& profile() const { return m_profile; }

private:
    CertificateTemplate() = default;

    CertificateProfile m_profile;
    QByteArray m_signatureAlgorithm;
    QByteArray m_issuer;
    QByteArray m_subjectFixed; ///< the RDNs before the CN (O, OU)
    QByteArray m_commonName; ///< the CN RDN when the profile fixes it
    QByteArray m_extensionsFixed; ///< basicConstraints, keyUsage
    QByteArray m_authorityKeyId;
    QByteArray m_extendedKeyUsage;
    QByteArray m_hardwareModuleType;
};

} // namespace imprint::core
