#include "pki/EvpSigner.h"

namespace imprint::core {

EvpSigner::EvpSigner(ossl::PKey key)
    : m_key(std::move(key))
{
}

Result<EvpSigner> EvpSigner::generateP256()
{
    ossl::PKey key { EVP_EC_gen("P-256") };
    if (!key)
        return ossl::cryptoFail(QStringLiteral("Could not generate a P-256 key."));
    return EvpSigner(std::move(key));
}

Result<QByteArray> EvpSigner::signSha256(const QByteArray& data)
{
    ossl::MdCtx ctx { EVP_MD_CTX_new() };
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, m_key.get()) != 1)
        return ossl::cryptoFail(QStringLiteral("Could not start a signature."));
    size_t len = 0;
    const auto* in = reinterpret_cast<const unsigned char*>(data.constData());
    if (EVP_DigestSign(ctx.get(), nullptr, &len, in, static_cast<size_t>(data.size())) != 1)
        return ossl::cryptoFail(QStringLiteral("Could not size the signature."));
    QByteArray sig(static_cast<qsizetype>(len), Qt::Uninitialized);
    if (EVP_DigestSign(
            ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, static_cast<size_t>(data.size()))
        != 1)
        return ossl::cryptoFail(QStringLiteral("Signing failed."));
    sig.truncate(static_cast<qsizetype>(len));
    return sig;
}

Result<QByteArray> EvpSigner::signDigest(const QByteArray& digest)
{
    if (EVP_PKEY_get_base_id(m_key.get()) != EVP_PKEY_EC)
        return fail(ErrorCode::Crypto, QStringLiteral("Only an EC key signs a digest given to it."));
    ossl::PKeyCtx ctx { EVP_PKEY_CTX_new(m_key.get(), nullptr) };
    size_t len = 0;
    const auto* in = reinterpret_cast<const unsigned char*>(digest.constData());
    const auto inLen = static_cast<size_t>(digest.size());
    if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 || EVP_PKEY_sign(ctx.get(), nullptr, &len, in, inLen) != 1)
        return ossl::cryptoFail(QStringLiteral("Could not start a signature."));
    QByteArray sig(static_cast<qsizetype>(len), Qt::Uninitialized);
    if (EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, inLen) != 1)
        return ossl::cryptoFail(QStringLiteral("Signing failed."));
    sig.truncate(static_cast<qsizetype>(len));
    return sig;
}

QByteArray EvpSigner::publicKey() const
{
    return ossl::publicKeyDer(m_key.get());
}

} // namespace imprint::core
