#include "pki/CertificateBuilder.h"

#include "pki/Der.h"

#include <openssl/objects.h>
#include <openssl/rand.h>

namespace imprint::core {

namespace {

// SEQUENCE { tbs, signatureAlgorithm, BIT STRING signature } -- the outer shape shared
// by Certificate (RFC 5280 4.1) and CertificationRequest (RFC 2986 4.2).
Result<QByteArray> assembleSigned(const QByteArray& tbs, int sigNid, Signer& signer)
{
    auto signature = signer.signSha256(tbs);
    if (!signature)
        return std::unexpected(signature.error());
    return signedDer(tbs, signatureAlgorithmDer(sigNid), *signature);
}

} // namespace

QByteArray signatureAlgorithmDer(int sigNid)
{
    // RSA signature algorithms carry an explicit NULL parameter; ECDSA ones none (RFC 5758 3.2).
    if (sigNid == NID_sha256WithRSAEncryption)
        return der::tlv(der::Sequence, der::oid("1.2.840.113549.1.1.11") + QByteArray::fromHex("0500"));
    return der::tlv(der::Sequence, der::oid("1.2.840.10045.4.3.2"));
}

QByteArray signedDer(const QByteArray& tbs, const QByteArray& algorithm, const QByteArray& signature)
{
    QByteArray bits;
    bits.reserve(signature.size() + 1);
    bits += '\0'; // no unused bits
    bits += signature;
    return der::tlv(der::Sequence, tbs + algorithm + der::tlv(der::BitString, bits));
}

Result<int> sha256SignatureNid(const QByteArray& spki)
{
    auto key = ossl::publicKeyFromDer(spki);
    if (!key)
        return std::unexpected(key.error());
    switch (EVP_PKEY_get_base_id(key->get())) {
    case EVP_PKEY_EC: return NID_ecdsa_with_SHA256;
    case EVP_PKEY_RSA: return NID_sha256WithRSAEncryption;
    default: return fail(ErrorCode::Crypto, QStringLiteral("The signing key's algorithm is not supported."));
    }
}

Result<ossl::Name> makeName(const QList<NameEntry>& entries)
{
    ossl::Name name { X509_NAME_new() };
    for (const auto& [field, value] : entries) {
        const QByteArray utf8 = value.toUtf8();
        if (X509_NAME_add_entry_by_txt(name.get(), field.toLatin1().constData(), MBSTRING_UTF8,
                reinterpret_cast<const unsigned char*>(utf8.constData()), static_cast<int>(utf8.size()), -1, 0)
            != 1)
            return ossl::cryptoFail(QStringLiteral("The name attribute %1 is not valid.").arg(field));
    }
    return name;
}

Result<QList<NameEntry>> parseName(const QString& text)
{
    const QString t = text.trimmed();
    const bool slashes = t.startsWith(QLatin1Char('/'));
    const QStringList parts = t.split(slashes ? QLatin1Char('/') : QLatin1Char(','), Qt::SkipEmptyParts);
    QList<NameEntry> out;
    for (const QString& part : parts) {
        const qsizetype eq = part.indexOf(QLatin1Char('='));
        const QString key = part.left(eq).trimmed();
        const QString value = part.mid(eq + 1).trimmed();
        if (eq <= 0 || value.isEmpty())
            return fail(ErrorCode::BadInput,
                QStringLiteral("\"%1\" is not NAME=VALUE; write a subject like /O=Acme/CN=Acme Line 3 CA.").arg(part));
        if (OBJ_txt2nid(key.toLatin1().constData()) == NID_undef)
            return fail(
                ErrorCode::BadInput, QStringLiteral("\"%1\" is not a name attribute (C, O, OU, CN, ...).").arg(key));
        out.append({ key, value });
    }
    if (out.isEmpty())
        return fail(
            ErrorCode::BadInput, QStringLiteral("The subject is empty; write one like /O=Acme/CN=Acme Line 3 CA."));
    return out;
}

CertificateBuilder::CertificateBuilder()
    : m_cert(X509_new())
{
    if (!m_cert || X509_set_version(m_cert.get(), X509_VERSION_3) != 1)
        setError(QStringLiteral("Could not create a certificate."));
}

void CertificateBuilder::setError(QString message)
{
    if (!m_failed) {
        m_failed = true;
        m_firstError = Error { ErrorCode::Crypto, std::move(message), ossl::drainErrors(), {} };
    }
}

CertificateBuilder& CertificateBuilder::subject(const X509_NAME* name)
{
    if (X509_set_subject_name(m_cert.get(), name) != 1)
        setError(QStringLiteral("Could not set the certificate subject."));
    return *this;
}

CertificateBuilder& CertificateBuilder::issuer(const X509* issuerCert)
{
    m_issuer = issuerCert;
    return *this;
}

CertificateBuilder& CertificateBuilder::publicKey(EVP_PKEY* key)
{
    if (X509_set_pubkey(m_cert.get(), key) != 1)
        setError(QStringLiteral("Could not set the certificate public key."));
    return *this;
}

CertificateBuilder& CertificateBuilder::validity(const QDateTime& notBefore, const QDateTime& notAfter)
{
    std::unique_ptr<ASN1_TIME, ossl::Deleter<ASN1_TIME_free>> from { ASN1_TIME_set(
        nullptr, notBefore.toSecsSinceEpoch()) };
    std::unique_ptr<ASN1_TIME, ossl::Deleter<ASN1_TIME_free>> to { ASN1_TIME_set(
        nullptr, notAfter.toSecsSinceEpoch()) };
    if (!from || !to || X509_set1_notBefore(m_cert.get(), from.get()) != 1
        || X509_set1_notAfter(m_cert.get(), to.get()) != 1)
        setError(QStringLiteral("Could not set the certificate validity."));
    return *this;
}

CertificateBuilder& CertificateBuilder::validForever(const QDateTime& notBefore)
{
    std::unique_ptr<ASN1_TIME, ossl::Deleter<ASN1_TIME_free>> from { ASN1_TIME_set(
        nullptr, notBefore.toSecsSinceEpoch()) };
    std::unique_ptr<ASN1_TIME, ossl::Deleter<ASN1_TIME_free>> to { ASN1_TIME_new() };
    if (!from || !to || ASN1_TIME_set_string_X509(to.get(), "99991231235959Z") != 1
        || X509_set1_notBefore(m_cert.get(), from.get()) != 1 || X509_set1_notAfter(m_cert.get(), to.get()) != 1)
        setError(QStringLiteral("Could not set the certificate validity."));
    return *this;
}

CertificateBuilder& CertificateBuilder::extension(int nid, const char* value)
{
    m_extensions.append({ nid, QByteArray(value) });
    return *this;
}

Result<void> CertificateBuilder::randomSerial()
{
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof bytes) != 1)
        return ossl::cryptoFail(QStringLiteral("The random generator failed."));
    bytes[0] &= 0x7f; // positive
    bytes[0] |= 0x40; // and a fixed length of 16 octets, so every serial has 127 bits
    ossl::BigNum bn { BN_bin2bn(bytes, sizeof bytes, nullptr) };
    if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(m_cert.get())))
        return ossl::cryptoFail(QStringLiteral("Could not set the certificate serial number."));
    return {};
}

Result<ossl::Cert> CertificateBuilder::sign(Signer& signer)
{
    const X509* issuerCert = m_issuer ? m_issuer : m_cert.get();
    if (X509_set_issuer_name(m_cert.get(), X509_get_subject_name(issuerCert)) != 1)
        setError(QStringLiteral("Could not set the certificate issuer."));

    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, const_cast<X509*>(issuerCert), m_cert.get(), nullptr, nullptr, 0);
    for (const auto& [nid, value] : m_extensions) {
        ossl::Extension ext { X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.constData()) };
        if (!ext || X509_add_ext(m_cert.get(), ext.get(), -1) != 1)
            setError(QStringLiteral("Could not add the %1 extension.").arg(QString::fromLatin1(OBJ_nid2sn(nid))));
    }
    if (m_failed)
        return std::unexpected(m_firstError);

    auto nid = sha256SignatureNid(signer.publicKey());
    if (!nid)
        return std::unexpected(nid.error());
    // The TBSCertificate carries its own copy of the signature algorithm (RFC 5280 4.1.2.3);
    // OpenSSL exposes it read-only, but the object is ours and not yet encoded.
    auto* tbsAlg = const_cast<X509_ALGOR*>(X509_get0_tbs_sigalg(m_cert.get()));
    X509_ALGOR_set0(
        tbsAlg, OBJ_nid2obj(*nid), *nid == NID_sha256WithRSAEncryption ? V_ASN1_NULL : V_ASN1_UNDEF, nullptr);

    unsigned char* tbsBuf = nullptr;
    const int tbsLen = i2d_re_X509_tbs(m_cert.get(), &tbsBuf);
    if (tbsLen <= 0)
        return ossl::cryptoFail(QStringLiteral("Could not encode the certificate."));
    const QByteArray tbs(reinterpret_cast<const char*>(tbsBuf), tbsLen);
    OPENSSL_free(tbsBuf);

    auto der = assembleSigned(tbs, *nid, signer);
    if (!der)
        return std::unexpected(der.error());
    return ossl::certFromDer(*der);
}

Result<QByteArray> makeRequest(const QList<NameEntry>& subject, EVP_PKEY* publicKey, Signer& signer)
{
    auto name = makeName(subject);
    if (!name)
        return std::unexpected(name.error());
    ossl::Req req { X509_REQ_new() };
    if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1
        || X509_REQ_set_subject_name(req.get(), name->get()) != 1 || X509_REQ_set_pubkey(req.get(), publicKey) != 1)
        return ossl::cryptoFail(QStringLiteral("Could not build the certificate request."));
    auto nid = sha256SignatureNid(signer.publicKey());
    if (!nid)
        return std::unexpected(nid.error());
    unsigned char* buf = nullptr;
    const int len = i2d_re_X509_REQ_tbs(req.get(), &buf);
    if (len <= 0)
        return ossl::cryptoFail(QStringLiteral("Could not encode the certificate request."));
    const QByteArray tbs(reinterpret_cast<const char*>(buf), len);
    OPENSSL_free(buf);
    return assembleSigned(tbs, *nid, signer);
}

} // namespace imprint::core
