#include "pki/CertificateTemplate.h"

#include "pki/CertificateBuilder.h"
#include "pki/Der.h"

#include <openssl/sha.h>

#include <ctime>

namespace imprint::core {

namespace {

using der::tlv;

// Encoded once: OIDs written into every certificate.
const QByteArray CommonNameOid = der::oid("2.5.4.3");
const QByteArray SerialNumberOid = der::oid("2.5.4.5");
const QByteArray OrganizationOid = der::oid("2.5.4.10");
const QByteArray OrganizationalUnitOid = der::oid("2.5.4.11");
const QByteArray SubjectKeyIdOid = der::oid("2.5.29.14");
const QByteArray SubjectAltNameOid = der::oid("2.5.29.17");
const QByteArray HardwareModuleNameOid = der::oid("1.3.6.1.5.5.7.8.4"); // RFC 4108 5

QByteArray rdn(const QByteArray& oid, unsigned char stringTag, const QString& value)
{
    const QByteArray utf8 = value.toUtf8();
    return tlv(der::Set, tlv(der::Sequence, oid + tlv(stringTag, utf8)));
}

// X.680 PrintableString: the only string type X.520 allows for serialNumber.
bool isPrintableString(const QString& s)
{
    for (const QChar c : s) {
        const char16_t u = c.unicode();
        const bool ok = (u >= u'A' && u <= u'Z') || (u >= u'a' && u <= u'z') || (u >= u'0' && u <= u'9')
            || QStringView(u" '()+,-./:=?").contains(c);
        if (!ok)
            return false;
    }
    return true;
}

/// UTCTime through 2049, GeneralizedTime after (RFC 5280 4.1.2.5).
QByteArray certificateTime(qint64 secs)
{
    const auto t = static_cast<time_t>(secs);
    struct tm tm { };
    gmtime_r(&t, &tm);
    char buf[48];
    const int year = tm.tm_year + 1900;
    if (year < 2050) {
        std::snprintf(buf, sizeof buf, "%02d%02d%02d%02d%02d%02dZ", year % 100, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
            tm.tm_min, tm.tm_sec);
        return tlv(der::UtcTime, QByteArrayView(buf, 13));
    }
    std::snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02dZ", year, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
        tm.tm_sec);
    return tlv(der::GeneralizedTime, QByteArrayView(buf, 15));
}

QByteArray extension(const QByteArray& oid, bool critical, const QByteArray& value)
{
    QByteArray body = oid;
    if (critical)
        body += QByteArray::fromHex("0101ff");
    body += tlv(der::OctetString, value);
    return tlv(der::Sequence, body);
}

/// RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING's value.
std::optional<QByteArray> keyIdentifier(const QByteArray& spki)
{
    der::Reader top(spki);
    auto seq = top.next(der::Sequence);
    if (!seq || !top.atEnd())
        return std::nullopt;
    der::Reader fields(seq->content);
    auto alg = fields.next(der::Sequence);
    auto bits = fields.next(der::BitString);
    if (!alg || !bits || !fields.atEnd() || bits->content.isEmpty())
        return std::nullopt;
    const QByteArrayView key = bits->content.sliced(1);
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(key.data()), static_cast<size_t>(key.size()), digest);
    return QByteArray(reinterpret_cast<const char*>(digest), sizeof digest);
}

} // namespace

Result<CertificateTemplate> CertificateTemplate::create(
    const CertificateProfile& profile, const X509* caCert, const QByteArray& signerSpki)
{
    CertificateTemplate t;
    t.m_profile = profile;

    auto nid = sha256SignatureNid(signerSpki);
    if (!nid)
        return std::unexpected(nid.error());
    t.m_signatureAlgorithm = signatureAlgorithmDer(*nid);

    // The issuer is the CA certificate's subject exactly as that certificate encodes it.
    unsigned char* issuer = nullptr;
    const int issuerLen = i2d_X509_NAME(X509_get_subject_name(caCert), &issuer);
    if (issuerLen <= 0)
        return ossl::cryptoFail(QStringLiteral("The issuing CA's name could not be encoded."));
    t.m_issuer = QByteArray(reinterpret_cast<const char*>(issuer), issuerLen);
    OPENSSL_free(issuer);

    if (!profile.organization.isEmpty())
        t.m_subjectFixed += rdn(OrganizationOid, der::Utf8String, profile.organization);
    if (!profile.organizationalUnit.isEmpty())
        t.m_subjectFixed += rdn(OrganizationalUnitOid, der::Utf8String, profile.organizationalUnit);
    if (!profile.commonName.isEmpty())
        t.m_commonName = rdn(CommonNameOid, der::Utf8String, profile.commonName);

    t.m_extensionsFixed = extension(der::oid("2.5.29.19"), true, tlv(der::Sequence, {})) // basicConstraints CA:FALSE
        + extension(der::oid("2.5.29.15"), true, QByteArray::fromHex("03020780")); // keyUsage digitalSignature

    // AKI: the CA's own SKI when it has one, else computed the way the SKI would be.
    QByteArray caKeyId;
    if (const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(const_cast<X509*>(caCert)))
        caKeyId = QByteArray(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski)), ASN1_STRING_length(ski));
    else if (auto id = keyIdentifier(ossl::publicKeyDer(X509_get0_pubkey(caCert))))
        caKeyId = *id;
    if (caKeyId.isEmpty())
        return fail(ErrorCode::Crypto, QStringLiteral("The issuing CA's key identifier could not be computed."));
    t.m_authorityKeyId
        = extension(der::oid("2.5.29.35"), false, tlv(der::Sequence, der::tlv(0x80, caKeyId))); // [0] keyIdentifier

    if (!profile.extendedKeyUsage.isEmpty()) {
        QByteArray purposes;
        for (const QString& oid : profile.extendedKeyUsage) {
            const QByteArray encoded = der::oid(oid.toLatin1().constData());
            if (encoded.isEmpty())
                return fail(ErrorCode::BadInput, QStringLiteral("The key purpose %1 is not an OID.").arg(oid));
            purposes += encoded;
        }
        t.m_extendedKeyUsage = extension(der::oid("2.5.29.37"), false, tlv(der::Sequence, purposes));
    }
    if (!profile.hardwareModuleType.isEmpty()) {
        t.m_hardwareModuleType = der::oid(profile.hardwareModuleType.toLatin1().constData());
        if (t.m_hardwareModuleType.isEmpty())
            return fail(ErrorCode::BadInput,
                QStringLiteral("The hardware module type %1 is not an OID.").arg(profile.hardwareModuleType));
    }
    return t;
}

Result<QByteArray> CertificateTemplate::tbs(
    const DeviceIdentity& device, const QByteArray& spki, const QByteArray& serial, qint64 now) const
{
    if (serial.isEmpty() || (static_cast<unsigned char>(serial[0]) & 0x80) != 0 || serial[0] == 0)
        return fail(ErrorCode::Crypto, QStringLiteral("A certificate serial must be positive and minimally encoded."));
    if (device.serial.isEmpty() || device.serial.size() > 64 || !isPrintableString(device.serial))
        return fail(ErrorCode::BadInput,
            QStringLiteral("The device serial \"%1\" cannot be a certificate serialNumber (1 to 64 letters, digits "
                           "and - . : = ( ) + , / ? space).")
                .arg(device.serial));
    auto ski = keyIdentifier(spki);
    if (!ski)
        return fail(ErrorCode::BadInput, QStringLiteral("The device public key is not a SubjectPublicKeyInfo."));

    QByteArray subject = m_subjectFixed;
    if (!m_commonName.isEmpty())
        subject += m_commonName;
    else if (!device.model.isEmpty())
        subject += rdn(CommonNameOid, der::Utf8String, device.model.left(64));
    subject += rdn(SerialNumberOid, der::PrintableString, device.serial);

    const QByteArray notAfter = m_profile.validityDays == 0
        ? tlv(der::GeneralizedTime, QByteArrayView("99991231235959Z"))
        : certificateTime(now + static_cast<qint64>(m_profile.validityDays) * 86400);

    QByteArray extensions = m_extensionsFixed;
    extensions += extension(SubjectKeyIdOid, false, tlv(der::OctetString, *ski)); // subjectKeyIdentifier
    extensions += m_authorityKeyId;
    extensions += m_extendedKeyUsage;
    if (!m_hardwareModuleType.isEmpty()) {
        // GeneralNames { otherName [0] { id-on-hardwareModuleName, [0] EXPLICIT
        //     HardwareModuleName { hwType, hwSerialNum OCTET STRING } } } (RFC 4108 5)
        const QByteArray hwmn
            = tlv(der::Sequence, m_hardwareModuleType + tlv(der::OctetString, device.serial.toUtf8()));
        const QByteArray otherName = tlv(der::Context0, HardwareModuleNameOid + tlv(der::Context0, hwmn));
        extensions += extension(SubjectAltNameOid, false, tlv(der::Sequence, otherName));
    }

    QByteArray body;
    body.reserve(512 + spki.size());
    body += QByteArray::fromHex("a003020102"); // [0] EXPLICIT version v3
    body += tlv(der::Integer, serial);
    body += m_signatureAlgorithm;
    body += m_issuer;
    body += tlv(der::Sequence, certificateTime(now) + notAfter);
    body += tlv(der::Sequence, subject);
    body += spki;
    body += tlv(der::Context3, tlv(der::Sequence, extensions));
    return tlv(der::Sequence, body);
}

QByteArray CertificateTemplate::certificate(const QByteArray& tbs, const QByteArray& signature) const
{
    return signedDer(tbs, m_signatureAlgorithm, signature);
}

} // namespace imprint::core
