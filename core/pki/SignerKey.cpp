// OpenSSL 3 signs with a "foreign" key, one whose EC_KEY_METHOD is not OpenSSL's own, through
// that method (the way libp11 and engines hook keys in). The method's sign callbacks hand the
// digest to the Signer; everything else (public-key checks, comparisons) is OpenSSL's.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "pki/SignerKey.h"

#include <openssl/ec.h>
#include <openssl/err.h>

#include <cstring>

namespace imprint::core {

namespace {

struct Holder {
    std::shared_ptr<Signer> signer;
};

int holderIndex()
{
    // A copy of the key (EC_KEY_dup, EVP_PKEY_dup) gets a Holder of its own, sharing the Signer.
    static const int index = CRYPTO_get_ex_new_index(
        CRYPTO_EX_INDEX_EC_KEY, 0, nullptr, nullptr,
        [](CRYPTO_EX_DATA*, const CRYPTO_EX_DATA*, void** data, int, long, void*) -> int {
            auto** slot = reinterpret_cast<Holder**>(data);
            if (*slot)
                *slot = new Holder { (*slot)->signer };
            return 1;
        },
        [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<Holder*>(ptr); });
    return index;
}

/// The signature as DER, or empty after a failure (left on OpenSSL's error queue).
QByteArray signWith(const unsigned char* digest, int digestLen, EC_KEY* key)
{
    auto* holder = static_cast<Holder*>(EC_KEY_get_ex_data(key, holderIndex()));
    if (!holder || !holder->signer)
        return {};
    auto sig = holder->signer->signDigest(
        QByteArray(reinterpret_cast<const char*>(digest), static_cast<qsizetype>(digestLen)));
    if (!sig) {
        ERR_raise_data(ERR_LIB_EC, ERR_R_EC_LIB, "%s", sig.error().text().toUtf8().constData());
        return {};
    }
    return *sig;
}

int signCallback(int, const unsigned char* digest, int digestLen, unsigned char* out, unsigned int* outLen,
    const BIGNUM*, const BIGNUM*, EC_KEY* key)
{
    const QByteArray sig = signWith(digest, digestLen, key);
    if (sig.isEmpty() || sig.size() > ECDSA_size(key))
        return 0;
    std::memcpy(out, sig.constData(), static_cast<size_t>(sig.size()));
    *outLen = static_cast<unsigned int>(sig.size());
    return 1;
}

ECDSA_SIG* signSigCallback(const unsigned char* digest, int digestLen, const BIGNUM*, const BIGNUM*, EC_KEY* key)
{
    const QByteArray sig = signWith(digest, digestLen, key);
    const auto* p = reinterpret_cast<const unsigned char*>(sig.constData());
    return sig.isEmpty() ? nullptr : d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
}

const EC_KEY_METHOD* signerMethod()
{
    static EC_KEY_METHOD* method = [] {
        EC_KEY_METHOD* m = EC_KEY_METHOD_new(EC_KEY_OpenSSL());
        int (*setup)(EC_KEY*, BN_CTX*, BIGNUM**, BIGNUM**) = nullptr;
        EC_KEY_METHOD_get_sign(m, nullptr, &setup, nullptr);
        EC_KEY_METHOD_set_sign(m, signCallback, setup, signSigCallback);
        return m;
    }();
    return method;
}

} // namespace

Result<ossl::PKey> signerKey(std::shared_ptr<Signer> signer)
{
    const QByteArray spki = signer->publicKey();
    const auto* p = reinterpret_cast<const unsigned char*>(spki.constData());
    EC_KEY* ec = d2i_EC_PUBKEY(nullptr, &p, static_cast<long>(spki.size()));
    if (!ec)
        return fail(ErrorCode::Crypto,
            QStringLiteral("The key is not an EC key; CMP and CMS signatures need an EC key (P-256 or P-384)."));
    auto holder = std::make_unique<Holder>(Holder { std::move(signer) });
    if (EC_KEY_set_method(ec, signerMethod()) != 1 || EC_KEY_set_ex_data(ec, holderIndex(), holder.get()) != 1) {
        EC_KEY_free(ec);
        return ossl::cryptoFail(QStringLiteral("Could not hand the key to OpenSSL."));
    }
    (void)holder.release(); // the EC_KEY's now
    ossl::PKey key { EVP_PKEY_new() };
    if (!key || EVP_PKEY_assign_EC_KEY(key.get(), ec) != 1) {
        EC_KEY_free(ec);
        return ossl::cryptoFail(QStringLiteral("Could not hand the key to OpenSSL."));
    }
    return key;
}

} // namespace imprint::core
