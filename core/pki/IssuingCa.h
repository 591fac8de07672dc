#pragma once

#include "domain/DeviceIdentity.h"
#include "pki/CertificateProfile.h"
#include "pki/CertificateTemplate.h"
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
/// issue() may be called from several threads at once when the Signer allows it.
class IssuingCa {
public:
    /// `chain` is the issuing CA certificate first, then up to and including the root.
    static Result<IssuingCa> create(std::shared_ptr<Signer> signer, const QList<QByteArray>& chain);

    /// The precomputed certificate for a profile under this CA; make it once, issue many.
    [[nodiscard]] Result<CertificateTemplate> prepare(const CertificateProfile& profile) const;

    /// A certificate for `device` and its public key (DER SubjectPublicKeyInfo, as checked
    /// by CsrCheck), with a fresh serial (newSerial()), signed by the CA key.
    [[nodiscard]] Result<IssuedCertificate> issue(
        const CertificateTemplate& profile, const DeviceIdentity& device, const QByteArray& publicKey) const;
    /// The same with a serial drawn by newSerial() beforehand (and reserved in the store).
    [[nodiscard]] Result<IssuedCertificate> issue(const CertificateTemplate& profile, const DeviceIdentity& device,
        const QByteArray& publicKey, const QByteArray& serial) const;

    /// 16 octets, positive, top bits 01 so every serial has the same length (127 bits): 30
    /// bits of the time of issue (seconds since 2024) then 96 random bits, well over the 64
    /// random bits CA/B and 802.1AR practice ask for. The time in front keeps the store's
    /// indexes on serials growing at one end, as a batch of a million writes them, instead
    /// of at random pages all over a large index.
    [[nodiscard]] static Result<QByteArray> newSerial();

    const QList<QByteArray>& chain() const { return m_chain; }

    /// The largest certificate issue() can make for `device` and `publicKey` under `profile`:
    /// the real TBSCertificate with a serial of full length and the longest signature the
    /// CA's key can give. Nothing is signed.
    [[nodiscard]] Result<qsizetype> certificateSizeBound(
        const CertificateTemplate& profile, const DeviceIdentity& device, const QByteArray& publicKey) const;
    const X509* certificate() const { return m_cert.get(); }
    /// The CA key (for the CRL, which the same key signs).
    const std::shared_ptr<Signer>& signer() const { return m_signer; }

private:
    IssuingCa(std::shared_ptr<Signer> signer, ossl::Cert cert, QList<QByteArray> chain);

    std::shared_ptr<Signer> m_signer;
    ossl::Cert m_cert;
    QList<QByteArray> m_chain;
};

/// Checks a CA certificate offered for import before anything changes: its public key is
/// `tokenKey` (DER SubjectPublicKeyInfo of the key in the HSM), it is a CA (basicConstraints
/// CA:TRUE, keyUsage keyCertSign), and it verifies strictly (X509_V_FLAG_X509_STRICT) up to a
/// self-signed root among `others`. Returns the chain in order, issuing CA first, root last.
[[nodiscard]] Result<QList<QByteArray>> checkIssuingCaChain(
    const QByteArray& caCert, const QList<QByteArray>& others, const QByteArray& tokenKey);

/// Verifies `der` strictly (X509_V_FLAG_X509_STRICT) up to a self-signed root among
/// `others` (or itself, when `mayBeRoot`: a CA certificate being imported); returns the
/// verified chain, `der` first, root last.
[[nodiscard]] Result<QList<QByteArray>> verifyChain(
    const QByteArray& der, const QList<QByteArray>& others, bool mayBeRoot = false);

/// Verifies `der` strictly up to one of `anchors` (trusted whatever they are), through
/// `intermediates` (trusted for nothing); returns the verified chain, `der` first.
[[nodiscard]] Result<QList<QByteArray>> verifyToAnchors(
    const QByteArray& der, const QList<QByteArray>& anchors, const QList<QByteArray>& intermediates);

} // namespace imprint::core
