#include "pki/OpenSsl.h"

#include <QCryptographicHash>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/provider.h>

#include <cstring>

namespace imprint::core::ossl {

QString drainErrors()
{
    QStringList parts;
    unsigned long code = 0;
    while ((code = ERR_get_error()) != 0) {
        char buf[256];
        ERR_error_string_n(code, buf, sizeof buf);
        parts << QString::fromLatin1(buf);
    }
    return parts.join(QStringLiteral("; "));
}

std::unexpected<Error> cryptoFail(QString message)
{
    return fail(ErrorCode::Crypto, std::move(message), drainErrors());
}

Result<Cert> certFromDer(const QByteArray& der)
{
    const auto* p = reinterpret_cast<const unsigned char*>(der.constData());
    Cert cert { d2i_X509(nullptr, &p, der.size()) };
    if (!cert)
        return cryptoFail(QStringLiteral("The data is not a valid X.509 certificate."));
    if (p != reinterpret_cast<const unsigned char*>(der.constData()) + der.size())
        return fail(ErrorCode::BadInput, QStringLiteral("The certificate has trailing bytes after its DER encoding."));
    return cert;
}

namespace {

/// A library context with no algorithms at all (only the null provider): a key decoder
/// there finds nothing and costs nothing.
OSSL_LIB_CTX* noAlgorithms()
{
    static OSSL_LIB_CTX* const none = [] {
        OSSL_LIB_CTX* ctx = OSSL_LIB_CTX_new();
        if (ctx && !OSSL_PROVIDER_load(ctx, "null")) {
            OSSL_LIB_CTX_free(ctx);
            ctx = nullptr;
        }
        return ctx;
    }();
    return none;
}

/// `read` again as a request of the context with no algorithms, its fields set one by one
/// (the key as an algorithm and bits, never decoded): copies of it (X509_REQ_dup) are made in
/// that context too. Null when a field cannot be set.
Req rebuiltWithoutKey(const X509_REQ* read)
{
    auto* from = const_cast<X509_REQ*>(read); // OpenSSL 3.0's getters take non-const
    Req req { X509_REQ_new_ex(noAlgorithms(), nullptr) };
    ASN1_OBJECT* keyType = nullptr;
    const unsigned char* bits = nullptr;
    int bitsLength = 0;
    X509_ALGOR* keyAlgorithm = nullptr;
    if (!req || X509_REQ_set_version(req.get(), X509_REQ_get_version(from)) != 1
        || X509_REQ_set_subject_name(req.get(), X509_REQ_get_subject_name(from)) != 1
        || X509_PUBKEY_get0_param(&keyType, &bits, &bitsLength, &keyAlgorithm, X509_REQ_get_X509_PUBKEY(from)) != 1)
        return {};
    const ASN1_OBJECT* algorithm = nullptr;
    int parameterType = V_ASN1_UNDEF;
    const void* parameter = nullptr;
    X509_ALGOR_get0(&algorithm, &parameterType, &parameter, keyAlgorithm);
    void* parameterCopy = nullptr;
    if (parameterType == V_ASN1_OBJECT)
        parameterCopy = OBJ_dup(static_cast<const ASN1_OBJECT*>(parameter));
    else if (parameterType == V_ASN1_SEQUENCE)
        parameterCopy = ASN1_STRING_dup(static_cast<const ASN1_STRING*>(parameter));
    else if (parameterType != V_ASN1_UNDEF && parameterType != V_ASN1_NULL)
        return {}; // a parameter form not met in requests: read the usual way
    auto* bitsCopy = static_cast<unsigned char*>(OPENSSL_memdup(bits, static_cast<size_t>(bitsLength)));
    if (X509_PUBKEY_set0_param(X509_REQ_get_X509_PUBKEY(req.get()), OBJ_dup(algorithm), parameterType,
            parameterCopy, bitsCopy, bitsLength)
        != 1)
        return {};
    for (int i = 0; i < X509_REQ_get_attr_count(from); ++i) {
        if (X509_REQ_add1_attr(req.get(), X509_REQ_get_attr(from, i)) != 1)
            return {};
    }
    const ASN1_BIT_STRING* signature = nullptr;
    const X509_ALGOR* signatureAlgorithm = nullptr;
    X509_REQ_get0_signature(from, &signature, &signatureAlgorithm);
    ASN1_BIT_STRING* signatureCopy = ASN1_STRING_dup(signature);
    if (!signatureCopy || X509_REQ_set1_signature_algo(req.get(), const_cast<X509_ALGOR*>(signatureAlgorithm)) != 1)
        return {};
    X509_REQ_set0_signature(req.get(), signatureCopy);
    return req;
}

} // namespace

Result<Req> requestToPassOn(const QByteArray& der)
{
    const auto* p = reinterpret_cast<const unsigned char*>(der.constData());
    Req read { noAlgorithms() ? reinterpret_cast<X509_REQ*>(ASN1_item_d2i_ex(
                                    nullptr, &p, der.size(), ASN1_ITEM_rptr(X509_REQ), noAlgorithms(), nullptr))
                              : d2i_X509_REQ(nullptr, &p, der.size()) };
    if (!read) {
        ERR_clear_error();
        return fail(ErrorCode::BadInput, QStringLiteral("The data is not a PKCS#10 request."));
    }
    if (p != reinterpret_cast<const unsigned char*>(der.constData()) + der.size())
        return fail(ErrorCode::BadInput, QStringLiteral("The request has trailing bytes after its DER encoding."));
    // Taken only when it encodes to the very bytes read (its signature covers them).
    Req rebuilt = noAlgorithms() ? rebuiltWithoutKey(read.get()) : Req {};
    ERR_clear_error(); // the key not decoded is no error here
    if (rebuilt) {
        unsigned char* out = nullptr;
        const int length = i2d_X509_REQ(rebuilt.get(), &out);
        const bool same = length == der.size() && std::memcmp(out, der.constData(), static_cast<size_t>(length)) == 0;
        OPENSSL_free(out);
        if (same)
            return rebuilt;
    }
    return read;
}

Result<QList<QByteArray>> certsDerFromPem(const QByteArray& pem)
{
    Bio bio { BIO_new_mem_buf(pem.constData(), static_cast<int>(pem.size())) };
    QList<QByteArray> out;
    while (true) {
        Cert cert { PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) };
        if (!cert)
            break;
        out << certToDer(cert.get());
    }
    ERR_clear_error(); // the loop always ends on a "no start line" error
    if (out.isEmpty())
        return fail(ErrorCode::BadInput, QStringLiteral("No PEM certificate was found."));
    return out;
}

Result<Cert> certFromPem(const QByteArray& pem)
{
    auto ders = certsDerFromPem(pem);
    if (!ders)
        return std::unexpected(ders.error());
    return certFromDer(ders->first());
}

QByteArray certToDer(const X509* cert)
{
    const int len = i2d_X509(cert, nullptr);
    if (len <= 0)
        return {};
    QByteArray out(len, Qt::Uninitialized);
    auto* p = reinterpret_cast<unsigned char*>(out.data());
    i2d_X509(cert, &p);
    return out;
}

QByteArray derToPem(const QByteArray& der, const char* label)
{
    QByteArray out = QByteArray("-----BEGIN ") + label + "-----\n";
    const QByteArray b64 = der.toBase64();
    for (qsizetype i = 0; i < b64.size(); i += 64)
        out += b64.mid(i, 64) + '\n';
    out += QByteArray("-----END ") + label + "-----\n";
    return out;
}

QByteArray certToPem(const X509* cert)
{
    return derToPem(certToDer(cert));
}

QByteArray publicKeyDer(const EVP_PKEY* key)
{
    // One encoding (OpenSSL allocates): each i2d_PUBKEY builds an encoder context of its own.
    unsigned char* der = nullptr;
    const int len = i2d_PUBKEY(key, &der);
    if (len <= 0)
        return {};
    QByteArray out(reinterpret_cast<const char*>(der), len);
    OPENSSL_free(der);
    return out;
}

QByteArray publicKeyDer(const X509_PUBKEY* key)
{
    // The SubjectPublicKeyInfo as it was read: no key encoder is involved.
    unsigned char* der = nullptr;
    const int len = key ? i2d_X509_PUBKEY(key, &der) : 0;
    if (len <= 0)
        return {};
    QByteArray out(reinterpret_cast<const char*>(der), len);
    OPENSSL_free(der);
    return out;
}

Result<PKey> publicKeyFromDer(const QByteArray& spki)
{
    const auto* p = reinterpret_cast<const unsigned char*>(spki.constData());
    PKey key { d2i_PUBKEY(nullptr, &p, spki.size()) };
    if (!key)
        return cryptoFail(QStringLiteral("The public key could not be decoded."));
    return key;
}

QString nameToString(const X509_NAME* name)
{
    Bio bio { BIO_new(BIO_s_mem()) };
    X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return QString::fromUtf8(data, static_cast<qsizetype>(len));
}

QString timeToIso(const ASN1_TIME* time)
{
    struct tm t { };
    if (ASN1_TIME_to_tm(time, &t) != 1)
        return {};
    return QStringLiteral("%1-%2-%3T%4:%5:%6Z")
        .arg(t.tm_year + 1900, 4, 10, QLatin1Char('0'))
        .arg(t.tm_mon + 1, 2, 10, QLatin1Char('0'))
        .arg(t.tm_mday, 2, 10, QLatin1Char('0'))
        .arg(t.tm_hour, 2, 10, QLatin1Char('0'))
        .arg(t.tm_min, 2, 10, QLatin1Char('0'))
        .arg(t.tm_sec, 2, 10, QLatin1Char('0'));
}

QString serialHex(const X509* cert)
{
    return serialHex(X509_get0_serialNumber(cert));
}

QString serialHex(const ASN1_INTEGER* serial)
{
    BigNum bn { ASN1_INTEGER_to_BN(serial, nullptr) };
    if (!bn)
        return {};
    char* hex = BN_bn2hex(bn.get());
    QString out = QString::fromLatin1(hex);
    OPENSSL_free(hex);
    return out;
}

QString sha256Hex(const QByteArray& data)
{
    return QString::fromLatin1(QCryptographicHash::hash(data, QCryptographicHash::Sha256).toHex());
}

bool verifySha256(EVP_PKEY* key, const QByteArray& data, const QByteArray& signature)
{
    MdCtx ctx { EVP_MD_CTX_new() };
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
        ERR_clear_error();
        return false;
    }
    const int rc = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.constData()),
        static_cast<size_t>(signature.size()), reinterpret_cast<const unsigned char*>(data.constData()),
        static_cast<size_t>(data.size()));
    ERR_clear_error();
    return rc == 1;
}

} // namespace imprint::core::ossl
