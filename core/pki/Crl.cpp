#include "pki/Crl.h"

#include "domain/States.h"

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

Result<QList<RevokedCertificate>> crlEntries(const QByteArray& crlDer, const X509* caCert)
{
    const auto* p = reinterpret_cast<const unsigned char*>(crlDer.constData());
    std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)> crl(
        d2i_X509_CRL(nullptr, &p, static_cast<long>(crlDer.size())), &X509_CRL_free);
    if (!crl)
        return ossl::cryptoFail(QStringLiteral("The station's last CRL on record could not be read."));
    if (X509_CRL_verify(crl.get(), X509_get0_pubkey(caCert)) != 1)
        return ossl::cryptoFail(QStringLiteral("The station's last CRL on record is not signed by its CA."));
    QList<RevokedCertificate> out;
    STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(crl.get());
    for (int i = 0; i < sk_X509_REVOKED_num(entries); ++i) {
        const X509_REVOKED* r = sk_X509_REVOKED_value(entries, i);
        RevokedCertificate e;
        e.serialHex = ossl::serialHex(X509_REVOKED_get0_serialNumber(r));
        e.revokedAt = QDateTime::fromString(ossl::timeToIso(X509_REVOKED_get0_revocationDate(r)), Qt::ISODate);
        e.reason = crl_reason::CessationOfOperation;
        int critical = 0;
        std::unique_ptr<ASN1_ENUMERATED, decltype(&ASN1_ENUMERATED_free)> reason(
            static_cast<ASN1_ENUMERATED*>(X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &critical, nullptr)),
            &ASN1_ENUMERATED_free);
        if (reason)
            e.reason = static_cast<int>(ASN1_ENUMERATED_get(reason.get()));
        out << e;
    }
    return out;
}

} // namespace imprint::core
