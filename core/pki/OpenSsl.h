#pragma once

// Move-only owners for OpenSSL handles, and the few conversions every caller needs.
// Business logic never calls *_free by hand: it holds one of these.

#include "Error.h"

#include <QByteArray>
#include <QList>
#include <QString>
#include <QStringList>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace imprint::core::ossl {

template <auto FreeFn> struct Deleter {
    template <typename T> void operator()(T* p) const noexcept { FreeFn(p); }
};

using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using PKeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509_free>>;
using Req = std::unique_ptr<X509_REQ, Deleter<X509_REQ_free>>;
using Name = std::unique_ptr<X509_NAME, Deleter<X509_NAME_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using Extension = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using Store = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using StoreCtx = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;
using Integer = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER_free>>;
using OctetString = std::unique_ptr<ASN1_OCTET_STRING, Deleter<ASN1_OCTET_STRING_free>>;
using BigNum = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
inline void freeCertStack(STACK_OF(X509) * s)
{
    sk_X509_pop_free(s, X509_free);
}
using CertStack = std::unique_ptr<STACK_OF(X509), Deleter<freeCertStack>>; ///< owns its certificates

/// Drains the OpenSSL error queue into one line for Error::detail.
[[nodiscard]] QString drainErrors();

/// Shorthand for a Crypto error that carries the OpenSSL queue.
[[nodiscard]] std::unexpected<Error> cryptoFail(QString message);

[[nodiscard]] Result<Cert> certFromDer(const QByteArray& der);
/// A PKCS#10 request read to be passed on (into a CMP p10cr), not checked: its public key is
/// kept as read (algorithm and bits), never decoded into a key object, in a library context
/// with no algorithms, so that the copies OpenSSL makes of it (X509_REQ_dup, twice per p10cr)
/// are not decoded either. OpenSSL 3.0 builds a key decoder for every request it reads and
/// for every copy of a decoded one: about 0.7 ms of each p10cr. Encodes to the very bytes
/// read (checked). Its signature cannot be verified here (no key): it was checked when the
/// request was signed.
[[nodiscard]] Result<Req> requestToPassOn(const QByteArray& der);
[[nodiscard]] Result<Cert> certFromPem(const QByteArray& pem);
[[nodiscard]] Result<QList<QByteArray>> certsDerFromPem(const QByteArray& pem);
[[nodiscard]] QByteArray certToDer(const X509* cert);
[[nodiscard]] QByteArray certToPem(const X509* cert);
/// DER as PEM under `label` (RFC 7468): a certificate by default, or "X509 CRL",
/// "CERTIFICATE REQUEST".
[[nodiscard]] QByteArray derToPem(const QByteArray& der, const char* label = "CERTIFICATE");
[[nodiscard]] QByteArray publicKeyDer(const EVP_PKEY* key); ///< SubjectPublicKeyInfo
/// The SubjectPublicKeyInfo of a certificate or request as read (X509_get_X509_PUBKEY), cheaper than
/// encoding its EVP_PKEY again.
[[nodiscard]] QByteArray publicKeyDer(const X509_PUBKEY* key);
[[nodiscard]] Result<PKey> publicKeyFromDer(const QByteArray& spki);

/// A name in RFC 2253 form, e.g. "CN=Imprint Demo Issuing CA,O=Imprint Demo".
[[nodiscard]] QString nameToString(const X509_NAME* name);
/// A certificate time as ISO 8601 UTC.
[[nodiscard]] QString timeToIso(const ASN1_TIME* time);

/// Hex of the certificate serial number, upper case, no separators.
[[nodiscard]] QString serialHex(const X509* cert);
[[nodiscard]] QString serialHex(const ASN1_INTEGER* serial);
/// SHA-256 over the DER, lower-case hex.
[[nodiscard]] QString sha256Hex(const QByteArray& data);

/// Verifies `data` signed by `key` (ECDSA/RSA with SHA-256, DER signature).
[[nodiscard]] bool verifySha256(EVP_PKEY* key, const QByteArray& data, const QByteArray& signature);

} // namespace imprint::core::ossl
