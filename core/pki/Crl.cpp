#include "pki/Crl.h"

#include "pki/SignerKey.h"

namespace imprint::core {

namespace {

using Crl = std::unique_ptr<X509_CRL, ossl::Deleter<X509_CRL_free>>;
using Revoked = std::unique_ptr<X509_REVOKED, ossl::Deleter<X509_REVOKED_free>>;
using Time = std::unique_ptr<ASN1_TIME, ossl::Deleter<ASN1_TIME_free>>;
using Enumerated = std::unique_ptr<ASN1_ENUMERATED, ossl::Deleter<ASN1_ENUMERATED_free>>;

Time asn1Time(const QDateTime& t)
{
    return Time { ASN1_TIME_set(nullptr, static_cast<time_t>(t.toSecsSinceEpoch())) };
}

} // namespace

Result<QByteArray> makeCrl(std::shared_ptr<Signer> caKey, const X509* caCert, qint64 number,
    const QList<RevokedCertificate>& revoked, const QDateTime& thisUpdate, const QDateTime& nextUpdate)
{
    auto key = signerKey(std::move(caKey));
    if (!key)
        return fail(ErrorCode::Crypto, QStringLiteral("The CRL is signed by an EC CA key; this CA key is not one."),
            key.error().message);
    Crl crl { X509_CRL_new() };
    Time last = asn1Time(thisUpdate);
    Time next = asn1Time(nextUpdate);
    if (!crl || !last || !next || X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1
        || X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(caCert)) != 1
        || X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1 || X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1)
        return ossl::cryptoFail(QStringLiteral("Could not build the CRL."));
    for (const RevokedCertificate& r : revoked) {
        Revoked entry { X509_REVOKED_new() };
        const QByteArray serial = QByteArray::fromHex(r.serialHex.toLatin1());
        ossl::BigNum bn { BN_bin2bn(
            reinterpret_cast<const unsigned char*>(serial.constData()), static_cast<int>(serial.size()), nullptr) };
        ossl::Integer serialInt { bn ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr };
        Time when = asn1Time(r.revokedAt);
        Enumerated reason { ASN1_ENUMERATED_new() };
        if (!entry || !serialInt || !when || !reason || X509_REVOKED_set_serialNumber(entry.get(), serialInt.get()) != 1
            || X509_REVOKED_set_revocationDate(entry.get(), when.get()) != 1
            || ASN1_ENUMERATED_set(reason.get(), r.reason) != 1
            || X509_REVOKED_add1_ext_i2d(entry.get(), NID_crl_reason, reason.get(), 0, 0) != 1
            || X509_CRL_add0_revoked(crl.get(), entry.get()) != 1)
            return ossl::cryptoFail(QStringLiteral("Could not add certificate %1 to the CRL.").arg(r.serialHex));
        (void)entry.release();
    }
    ossl::Integer crlNumber { ASN1_INTEGER_new() };
    if (!crlNumber || ASN1_INTEGER_set_int64(crlNumber.get(), number) != 1
        || X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, crlNumber.get(), 0, 0) != 1)
        return ossl::cryptoFail(QStringLiteral("Could not set the CRL number."));
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, const_cast<X509*>(caCert), nullptr, nullptr, crl.get(), 0);
    ossl::Extension aki { X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always") };
    if (!aki || X509_CRL_add_ext(crl.get(), aki.get(), -1) != 1)
        return ossl::cryptoFail(QStringLiteral("Could not set the CRL's authority key identifier."));
    X509_CRL_sort(crl.get());
    if (X509_CRL_sign(crl.get(), key->get(), EVP_sha256()) <= 0)
        return ossl::cryptoFail(QStringLiteral("The HSM did not sign the CRL."));
    unsigned char* buf = nullptr;
    const int len = i2d_X509_CRL(crl.get(), &buf);
    if (len <= 0)
        return ossl::cryptoFail(QStringLiteral("Could not encode the CRL."));
    QByteArray der(reinterpret_cast<const char*>(buf), len);
    OPENSSL_free(buf);
    return der;
}

} // namespace imprint::core
