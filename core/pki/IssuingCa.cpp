#include "pki/IssuingCa.h"

#include "pki/CertificateBuilder.h"

#include <QDateTime>

namespace imprint::core {

CertificateProfile CertificateProfile::idevid()
{
    CertificateProfile p;
    p.name = QStringLiteral("idevid");
    p.organization = QStringLiteral("Imprint Demo Devices");
    p.organizationalUnit = QStringLiteral("Manufacturing");
    return p;
}

IssuingCa::IssuingCa(std::shared_ptr<Signer> signer, ossl::Cert cert, QList<QByteArray> chain)
    : m_signer(std::move(signer))
    , m_cert(std::move(cert))
    , m_chain(std::move(chain))
{
}

Result<IssuingCa> IssuingCa::create(std::shared_ptr<Signer> signer, const QList<QByteArray>& chain)
{
    if (chain.isEmpty())
        return fail(ErrorCode::NotInitialized, QStringLiteral("The issuing CA has no certificate yet."));
    auto cert = ossl::certFromDer(chain.first());
    if (!cert)
        return std::unexpected(cert.error());
    if (ossl::publicKeyDer(X509_get0_pubkey(cert->get())) != signer->publicKey())
        return fail(
            ErrorCode::BadInput, QStringLiteral("The issuing CA certificate does not belong to the key in the token."));
    return IssuingCa(std::move(signer), std::move(*cert), chain);
}

Result<IssuedCertificate> IssuingCa::issue(
    const DeviceIdentity& device, EVP_PKEY* devicePublicKey, const CertificateProfile& profile) const
{
    QList<NameEntry> subject;
    if (!profile.organization.isEmpty())
        subject << NameEntry { QStringLiteral("O"), profile.organization };
    if (!profile.organizationalUnit.isEmpty())
        subject << NameEntry { QStringLiteral("OU"), profile.organizationalUnit };
    if (!device.model.isEmpty())
        subject << NameEntry { QStringLiteral("CN"), device.model };
    subject << NameEntry { QStringLiteral("serialNumber"), device.serial };
    auto name = makeName(subject);
    if (!name)
        return std::unexpected(name.error());

    CertificateBuilder builder;
    builder.subject(name->get())
        .issuer(m_cert.get())
        .publicKey(devicePublicKey)
        .validForever(QDateTime::currentDateTimeUtc())
        .extension(NID_basic_constraints, "critical,CA:FALSE")
        .extension(NID_key_usage, "critical,digitalSignature")
        .extension(NID_subject_key_identifier, "hash")
        .extension(NID_authority_key_identifier, "keyid:always");
    if (auto serial = builder.randomSerial(); !serial)
        return std::unexpected(serial.error());
    auto cert = builder.sign(*m_signer);
    if (!cert)
        return std::unexpected(cert.error());

    IssuedCertificate out;
    out.der = ossl::certToDer(cert->get());
    out.serialHex = ossl::serialHex(cert->get());
    out.sha256 = ossl::sha256Hex(out.der);
    return out;
}

} // namespace imprint::core
