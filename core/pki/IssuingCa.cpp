#include "pki/IssuingCa.h"

#include <openssl/rand.h>

#include <QDateTime>

namespace imprint::core {

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

Result<QList<QByteArray>> checkIssuingCaChain(
    const QByteArray& caCert, const QList<QByteArray>& others, const QByteArray& tokenKey)
{
    auto refuse = [](QString why, QString detail = {}) {
        return fail(ErrorCode::BadInput,
            QStringLiteral("The CA certificate was not imported: %1. Nothing was changed.").arg(why), std::move(detail),
            QStringLiteral("ca-import-refused"));
    };
    auto cert = ossl::certFromDer(caCert);
    if (!cert)
        return refuse(QStringLiteral("the file holds no certificate"));
    if (ossl::publicKeyDer(X509_get0_pubkey(cert->get())) != tokenKey)
        return refuse(QStringLiteral("its public key is not the CA key in the token"));
    const uint32_t flags = X509_get_extension_flags(cert->get());
    if (!(flags & EXFLAG_BCONS) || !(flags & EXFLAG_CA))
        return refuse(QStringLiteral("it is not a CA certificate (basicConstraints CA:TRUE is missing)"));
    if (!(flags & EXFLAG_KUSAGE) || !(X509_get_key_usage(cert->get()) & KU_KEY_CERT_SIGN))
        return refuse(QStringLiteral("its keyUsage does not allow signing certificates (keyCertSign)"));

    auto verified = verifyChain(caCert, others, true);
    if (!verified)
        return refuse(verified.error().message, verified.error().detail);
    return verified;
}

Result<QList<QByteArray>> verifyChain(const QByteArray& der, const QList<QByteArray>& others, bool mayBeRoot)
{
    QList<QByteArray> roots;
    QList<QByteArray> intermediates;
    for (const QByteArray& otherDer : others) {
        auto other = ossl::certFromDer(otherDer);
        if (!other)
            return fail(ErrorCode::VerificationFailed,
                QStringLiteral("the chain file holds something that is not a certificate"), {},
                QStringLiteral("chain"));
        if (X509_check_issued(other->get(), other->get()) == X509_V_OK)
            roots << otherDer;
        else
            intermediates << otherDer;
    }
    // Only a CA certificate being checked may be its own root: a device's self-signed
    // certificate verifies to nothing.
    if (auto cert = ossl::certFromDer(der);
        mayBeRoot && cert && X509_check_issued(cert->get(), cert->get()) == X509_V_OK)
        roots << der;
    if (roots.isEmpty()) {
        // Name the certificate the chain lacks: the issuer of the topmost one that is there.
        auto top = ossl::certFromDer(der);
        for (int hops = 0; top && hops < 8; ++hops) {
            std::optional<ossl::Cert> next;
            for (const QByteArray& otherDer : intermediates) {
                auto other = ossl::certFromDer(otherDer);
                if (other && otherDer != der
                    && X509_NAME_cmp(X509_get_subject_name(other->get()), X509_get_issuer_name(top->get())) == 0)
                    next = std::move(*other);
            }
            if (!next)
                break;
            top = std::move(*next);
        }
        return fail(ErrorCode::VerificationFailed,
            top ? QStringLiteral("the chain does not reach a root: the certificate of its issuer \"%1\" is missing; "
                                 "add it (and its issuers up to the self-signed root) to the --chain file")
                      .arg(ossl::nameToString(X509_get_issuer_name(top->get())))
                : QStringLiteral("no root (self-signed) certificate was given; pass the chain with --chain"),
            {}, QStringLiteral("chain"));
    }
    return verifyToAnchors(der, roots, intermediates);
}

Result<QList<QByteArray>> verifyToAnchors(
    const QByteArray& der, const QList<QByteArray>& anchors, const QList<QByteArray>& intermediates)
{
    auto reject = [](QString why, QString detail = {}) {
        return fail(ErrorCode::VerificationFailed, std::move(why), std::move(detail), QStringLiteral("chain"));
    };
    auto cert = ossl::certFromDer(der);
    if (!cert)
        return reject(QStringLiteral("the file holds no certificate"));
    ossl::Store store { X509_STORE_new() };
    ossl::CertStack untrusted { sk_X509_new_null() };
    for (const QByteArray& anchorDer : anchors) {
        auto anchor = ossl::certFromDer(anchorDer);
        if (!anchor)
            return reject(QStringLiteral("a trust anchor is not a certificate"));
        X509_STORE_add_cert(store.get(), anchor->get()); // takes its own reference
    }
    for (const QByteArray& otherDer : intermediates) {
        auto other = ossl::certFromDer(otherDer);
        if (!other)
            return reject(QStringLiteral("the chain file holds something that is not a certificate"));
        if (otherDer != der)
            sk_X509_push(untrusted.get(), other->release());
    }
    X509_STORE_set_flags(store.get(), X509_V_FLAG_X509_STRICT);
    ossl::StoreCtx ctx { X509_STORE_CTX_new() };
    if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), cert->get(), untrusted.get()) != 1)
        return ossl::cryptoFail(QStringLiteral("Could not prepare the chain check."));
    if (X509_verify_cert(ctx.get()) != 1) {
        const int err = X509_STORE_CTX_get_error(ctx.get());
        X509* at = X509_STORE_CTX_get_current_cert(ctx.get());
        if (at
            && (err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT || err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
                || err == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE))
            return reject(
                QStringLiteral("its chain does not verify to the given root: the certificate of \"%1\", "
                               "issuer of \"%2\", is missing; add it to the --chain file")
                    .arg(ossl::nameToString(X509_get_issuer_name(at)), ossl::nameToString(X509_get_subject_name(at))),
                QString::fromLatin1(X509_verify_cert_error_string(err)));
        return reject(QStringLiteral("its chain does not verify to the given root"),
            QString::fromLatin1(X509_verify_cert_error_string(err)));
    }
    QList<QByteArray> chain;
    STACK_OF(X509)* verified = X509_STORE_CTX_get0_chain(ctx.get());
    for (int i = 0; i < sk_X509_num(verified); ++i)
        chain << ossl::certToDer(sk_X509_value(verified, i));
    return chain;
}

Result<CertificateTemplate> IssuingCa::prepare(const CertificateProfile& profile) const
{
    return CertificateTemplate::create(profile, m_cert.get(), m_signer->publicKey());
}

Result<QByteArray> IssuingCa::newSerial()
{
    unsigned char bytes[16];
    if (RAND_bytes(bytes + 4, sizeof bytes - 4) != 1)
        return ossl::cryptoFail(QStringLiteral("The random generator failed."));
    constexpr qint64 Since = 1704067200; // 2024-01-01T00:00:00Z; 30 bits of seconds last until 2058
    const auto t = static_cast<quint32>(std::clamp<qint64>(QDateTime::currentSecsSinceEpoch() - Since, 0, 0x3fffffff));
    bytes[0] = static_cast<unsigned char>(0x40 | (t >> 24));
    bytes[1] = static_cast<unsigned char>(t >> 16);
    bytes[2] = static_cast<unsigned char>(t >> 8);
    bytes[3] = static_cast<unsigned char>(t);
    return QByteArray(reinterpret_cast<const char*>(bytes), sizeof bytes);
}

Result<qsizetype> IssuingCa::certificateSizeBound(
    const CertificateTemplate& profile, const DeviceIdentity& device, const QByteArray& publicKey) const
{
    // newSerial() always gives 16 octets with the top bit clear.
    auto tbs = profile.tbs(device, publicKey, QByteArray(16, '\x7f'), QDateTime::currentSecsSinceEpoch());
    if (!tbs)
        return std::unexpected(tbs.error());
    // The CA certificate's key is the signer's (create() checks it). EVP_PKEY_get_size: the
    // largest signature the key gives (ECDSA: the longest DER).
    const int maxSignature = EVP_PKEY_get_size(X509_get0_pubkey(m_cert.get()));
    return profile.certificate(*tbs, QByteArray(maxSignature, '\x7f')).size();
}

Result<IssuedCertificate> IssuingCa::issue(
    const CertificateTemplate& profile, const DeviceIdentity& device, const QByteArray& publicKey) const
{
    // The store refuses a certificate whose serial it holds (UNIQUE), so a repeat can never be
    // recorded twice.
    auto serial = newSerial();
    if (!serial)
        return std::unexpected(serial.error());
    return issue(profile, device, publicKey, *serial);
}

Result<IssuedCertificate> IssuingCa::issue(const CertificateTemplate& profile, const DeviceIdentity& device,
    const QByteArray& publicKey, const QByteArray& serial) const
{
    auto tbs = profile.tbs(device, publicKey, serial, QDateTime::currentSecsSinceEpoch());
    if (!tbs)
        return std::unexpected(tbs.error());
    auto signature = m_signer->signSha256(*tbs);
    if (!signature)
        return std::unexpected(signature.error());

    IssuedCertificate out;
    out.der = profile.certificate(*tbs, *signature);
    out.serialHex = QString::fromLatin1(serial.toHex().toUpper());
    out.sha256 = ossl::sha256Hex(out.der);
    return out;
}

} // namespace imprint::core
