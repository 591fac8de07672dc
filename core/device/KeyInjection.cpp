#include "device/KeyInjection.h"

#include "pki/CsrCheck.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

namespace imprint::core::injection {

namespace {

using KdfCtx = std::unique_ptr<EVP_KDF_CTX, ossl::Deleter<EVP_KDF_CTX_free>>;
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, ossl::Deleter<EVP_CIPHER_CTX_free>>;
using Group = std::unique_ptr<EC_GROUP, ossl::Deleter<EC_GROUP_free>>;
using Point = std::unique_ptr<EC_POINT, ossl::Deleter<EC_POINT_free>>;
using BnCtx = std::unique_ptr<BN_CTX, ossl::Deleter<BN_CTX_free>>;
/// A BIGNUM that holds a private scalar: its limbs are zeroed when it goes (ossl::BigNum's
/// BN_free leaves them in the freed memory).
using SecretBigNum = std::unique_ptr<BIGNUM, ossl::Deleter<BN_clear_free>>;

std::unexpected<Error> cryptoFail(const QString& message)
{
    return ossl::cryptoFail(message);
}

/// A P-256 key from an uncompressed point and, optionally, its private scalar.
Result<ossl::PKey> p256Key(const QByteArray& point, const BIGNUM* priv = nullptr)
{
    if (point.size() != PointSize || point[0] != 0x04)
        return fail(ErrorCode::Protocol, QStringLiteral("A one-time key is not an uncompressed P-256 point."));
    OSSL_PARAM params[4];
    int n = 0;
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>("prime256v1"), 0);
    params[n++] = OSSL_PARAM_construct_octet_string(
        OSSL_PKEY_PARAM_PUB_KEY, const_cast<char*>(point.constData()), static_cast<size_t>(point.size()));
    unsigned char scalar[ScalarSize];
    if (priv) {
        if (BN_bn2nativepad(priv, scalar, sizeof scalar) != sizeof scalar) {
            OPENSSL_cleanse(scalar, sizeof scalar);
            return cryptoFail(QStringLiteral("A private scalar does not fit P-256."));
        }
        params[n++] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, scalar, sizeof scalar);
    }
    params[n] = OSSL_PARAM_construct_end();
    ossl::PKeyCtx ctx { EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr) };
    EVP_PKEY* key = nullptr;
    const int ok = ctx && EVP_PKEY_fromdata_init(ctx.get()) == 1
        && EVP_PKEY_fromdata(ctx.get(), &key, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) == 1;
    OPENSSL_cleanse(scalar, sizeof scalar);
    if (!ok)
        return fail(
            ErrorCode::Protocol, QStringLiteral("A one-time key is not a point on P-256."), ossl::drainErrors());
    return ossl::PKey { key };
}

QByteArray encodedPoint(EVP_PKEY* key)
{
    unsigned char buf[PointSize];
    size_t len = 0;
    if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, buf, sizeof buf, &len) != 1)
        return {};
    return QByteArray(reinterpret_cast<const char*>(buf), static_cast<qsizetype>(len));
}

} // namespace

Result<Ephemeral> makeEphemeral()
{
    ossl::PKey key { EVP_EC_gen("P-256") };
    if (!key)
        return cryptoFail(QStringLiteral("Could not make a one-time key."));
    QByteArray point = encodedPoint(key.get());
    if (point.size() != PointSize)
        return cryptoFail(QStringLiteral("Could not encode a one-time key."));
    return Ephemeral { std::move(key), std::move(point) };
}

/// ECDH, then HKDF-SHA256(salt = device point || station point, info = Info || serial).
Result<Secret> sessionKey(const Ephemeral& own, const QByteArray& peerPoint, const QByteArray& devicePoint,
    const QByteArray& stationPoint, const QString& serial)
{
    auto peer = p256Key(peerPoint);
    if (!peer)
        return std::unexpected(peer.error());
    ossl::PKeyCtx dh { EVP_PKEY_CTX_new(own.key.get(), nullptr) };
    unsigned char z[32];
    size_t zLen = sizeof z;
    if (!dh || EVP_PKEY_derive_init(dh.get()) != 1 || EVP_PKEY_derive_set_peer(dh.get(), peer->get()) != 1
        || EVP_PKEY_derive(dh.get(), z, &zLen) != 1) {
        OPENSSL_cleanse(z, sizeof z);
        return cryptoFail(QStringLiteral("The key agreement failed."));
    }

    std::unique_ptr<EVP_KDF, ossl::Deleter<EVP_KDF_free>> kdf { EVP_KDF_fetch(nullptr, "HKDF", nullptr) };
    KdfCtx kctx { kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr };
    QByteArray salt = devicePoint + stationPoint;
    QByteArray info = QByteArray(Info) + serial.toUtf8();
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z, zLen),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt.data(), static_cast<size_t>(salt.size())),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), static_cast<size_t>(info.size())),
        OSSL_PARAM_construct_end(),
    };
    QByteArray key(32, Qt::Uninitialized);
    const bool ok = kctx && EVP_KDF_derive(kctx.get(), reinterpret_cast<unsigned char*>(key.data()), 32, params) == 1;
    OPENSSL_cleanse(z, sizeof z);
    Secret out(std::move(key));
    if (!ok)
        return cryptoFail(QStringLiteral("The key derivation failed."));
    return out;
}

Result<Ephemeral> keyFromScalar(QByteArrayView scalar)
{
    if (scalar.size() != ScalarSize)
        return cryptoFail(QStringLiteral("A private scalar is not 32 bytes."));
    Group group { EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1) };
    SecretBigNum d { BN_bin2bn(reinterpret_cast<const unsigned char*>(scalar.data()), ScalarSize, nullptr) };
    if (!group || !d)
        return cryptoFail(QStringLiteral("Out of memory."));
    // 1 <= d < n: zero and the order or above are not private keys.
    if (BN_is_zero(d.get()) || BN_cmp(d.get(), EC_GROUP_get0_order(group.get())) >= 0)
        return fail(ErrorCode::Crypto,
            QStringLiteral("The injected scalar is not a P-256 private key (0, or not below the group order)."));
    Point pub { EC_POINT_new(group.get()) };
    BnCtx bn { BN_CTX_new() };
    unsigned char point[PointSize];
    if (!pub || !bn || EC_POINT_mul(group.get(), pub.get(), d.get(), nullptr, nullptr, bn.get()) != 1
        || EC_POINT_point2oct(group.get(), pub.get(), POINT_CONVERSION_UNCOMPRESSED, point, sizeof point, bn.get())
            != PointSize)
        return cryptoFail(QStringLiteral("The injected key is not a P-256 key."));
    const QByteArray encoded(reinterpret_cast<const char*>(point), PointSize);
    auto key = p256Key(encoded, d.get());
    if (!key)
        return std::unexpected(key.error());
    return Ephemeral { std::move(*key), encoded };
}

Result<QByteArray> sealScalarUnchecked(const QByteArray& deviceEphemeral, const QString& deviceSerial,
    const Ephemeral& stationEphemeral, QByteArrayView scalar, const QByteArray& nonce)
{
    if (scalar.size() != ScalarSize || nonce.size() != NonceSize)
        return cryptoFail(QStringLiteral("A scalar or nonce of the wrong size."));
    auto key = sessionKey(stationEphemeral, deviceEphemeral, deviceEphemeral, stationEphemeral.point, deviceSerial);
    if (!key)
        return std::unexpected(key.error());
    QByteArray ciphertext(ScalarSize + TagSize, Qt::Uninitialized);
    const QByteArray aad = deviceSerial.toUtf8();
    auto* ct = reinterpret_cast<unsigned char*>(ciphertext.data());
    CipherCtx ctx { EVP_CIPHER_CTX_new() };
    int len = 0, finalLen = 0;
    const bool ok = ctx
        && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
               reinterpret_cast<const unsigned char*>(key->data()),
               reinterpret_cast<const unsigned char*>(nonce.constData()))
            == 1
        && EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.constData()),
               static_cast<int>(aad.size()))
            == 1
        && EVP_EncryptUpdate(ctx.get(), ct, &len, reinterpret_cast<const unsigned char*>(scalar.data()), ScalarSize)
            == 1
        && EVP_EncryptFinal_ex(ctx.get(), ct + len, &finalLen) == 1
        && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, TagSize, ct + ScalarSize) == 1;
    if (!ok)
        return cryptoFail(QStringLiteral("Could not seal the device key."));
    return ciphertext;
}

Result<Sealed> sealKey(const QByteArray& deviceEphemeral, const QString& deviceSerial,
    const Ephemeral& stationEphemeral, QByteArrayView deviceScalar, const QByteArray& nonce)
{
    auto deviceKey = keyFromScalar(deviceScalar);
    if (!deviceKey)
        return std::unexpected(deviceKey.error());
    auto ciphertext = sealScalarUnchecked(deviceEphemeral, deviceSerial, stationEphemeral, deviceScalar, nonce);
    if (!ciphertext)
        return std::unexpected(ciphertext.error());
    // The form CsrCheck gives the device's request for this key: the two are compared.
    return Sealed { stationEphemeral.point, nonce, *ciphertext, CsrCheck::canonicalPublicKey(deviceKey->key.get()) };
}

const TestVector& testVector()
{
    static const TestVector v { QByteArray(32, '\x11'), QByteArray(32, '\x22'), QByteArray(32, '\x33'),
        QByteArray::fromHex("000102030405060708090a0b"), QStringLiteral("SN-0001") };
    return v;
}

Result<Sealed> sealNewKey(const QByteArray& deviceEphemeral, const QString& deviceSerial)
{
    auto mine = makeEphemeral();
    if (!mine)
        return std::unexpected(mine.error());
    ossl::PKey deviceKey { EVP_EC_gen("P-256") };
    BIGNUM* d = nullptr;
    if (!deviceKey || EVP_PKEY_get_bn_param(deviceKey.get(), OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1)
        return cryptoFail(QStringLiteral("Could not make the device key."));
    unsigned char scalar[ScalarSize];
    const bool padded = BN_bn2binpad(d, scalar, sizeof scalar) == sizeof scalar;
    BN_clear_free(d);
    QByteArray nonce(NonceSize, Qt::Uninitialized);
    if (!padded || RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), static_cast<int>(NonceSize)) != 1) {
        OPENSSL_cleanse(scalar, sizeof scalar);
        return cryptoFail(QStringLiteral("Could not make the device key."));
    }
    auto sealed = sealKey(
        deviceEphemeral, deviceSerial, *mine, QByteArrayView(reinterpret_cast<const char*>(scalar), ScalarSize), nonce);
    // The station's copy of the device's private key ends here.
    OPENSSL_cleanse(scalar, sizeof scalar);
    return sealed;
}

Result<ossl::PKey> openSealedKey(const Ephemeral& ephemeral, const QString& deviceSerial,
    const QByteArray& stationEphemeral, const QByteArray& nonce, const QByteArray& ciphertext)
{
    if (nonce.size() != NonceSize || ciphertext.size() != ScalarSize + TagSize)
        return fail(ErrorCode::Protocol, QStringLiteral("The sealed key has the wrong size."));
    auto key = sessionKey(ephemeral, stationEphemeral, ephemeral.point, stationEphemeral, deviceSerial);
    if (!key)
        return std::unexpected(key.error());
    const QByteArray aad = deviceSerial.toUtf8();
    const auto* ct = reinterpret_cast<const unsigned char*>(ciphertext.constData());
    unsigned char out[ScalarSize + 16];
    CipherCtx ctx { EVP_CIPHER_CTX_new() };
    int len = 0, finalLen = 0;
    const bool ok = ctx
        && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
               reinterpret_cast<const unsigned char*>(key->data()),
               reinterpret_cast<const unsigned char*>(nonce.constData()))
            == 1
        && EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.constData()),
               static_cast<int>(aad.size()))
            == 1
        && EVP_DecryptUpdate(ctx.get(), out, &len, ct, ScalarSize) == 1
        && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, TagSize, const_cast<unsigned char*>(ct + ScalarSize))
            == 1
        && EVP_DecryptFinal_ex(ctx.get(), out + len, &finalLen) == 1;
    if (!ok) {
        OPENSSL_cleanse(out, sizeof out);
        return fail(
            ErrorCode::Crypto, QStringLiteral("The sealed key does not open: tampered, or not for this device."));
    }
    auto pair = keyFromScalar(QByteArrayView(reinterpret_cast<const char*>(out), ScalarSize));
    OPENSSL_cleanse(out, sizeof out);
    if (!pair)
        return std::unexpected(pair.error());
    return std::move(pair->key);
}

} // namespace imprint::core::injection
