#pragma once

#include "pki/OpenSsl.h"
#include "pki/Signer.h"

#include <QDateTime>
#include <QList>
#include <QPair>

namespace imprint::core {

/// One relative distinguished name attribute, by OpenSSL short name ("CN", "O", "serialNumber").
using NameEntry = QPair<QString, QString>;

[[nodiscard]] Result<ossl::Name> makeName(const QList<NameEntry>& entries);

/// A subject typed by a person: "/O=Acme/OU=Line 3/CN=Acme Line 3 CA" (OpenSSL style) or
/// "O=Acme,CN=Acme Line 3 CA". Attribute names are checked when the name is built.
[[nodiscard]] Result<QList<NameEntry>> parseName(const QString& text);

/// Builds an X.509 v3 certificate and has a Signer sign it. The signature is computed
/// over the DER TBSCertificate and assembled here, so any Signer works: a token key
/// signs without OpenSSL ever holding the private key.
class CertificateBuilder {
public:
    CertificateBuilder();

    CertificateBuilder& subject(const X509_NAME* name);
    /// The issuer's certificate; leave unset for a self-signed certificate.
    CertificateBuilder& issuer(const X509* issuerCert);
    CertificateBuilder& publicKey(EVP_PKEY* key);
    CertificateBuilder& validity(const QDateTime& notBefore, const QDateTime& notAfter);
    /// notAfter = 99991231235959Z, the "no well-defined expiration" value of RFC 5280 4.1.2.5.
    CertificateBuilder& validForever(const QDateTime& notBefore);
    /// Adds an extension in OpenSSL's configuration syntax, e.g. "critical,CA:TRUE".
    CertificateBuilder& extension(int nid, const char* value);

    /// Random positive serial of 127 bits (RFC 5280 allows 20 octets; CA/B asks for >= 64 random bits).
    [[nodiscard]] Result<void> randomSerial();

    [[nodiscard]] Result<ossl::Cert> sign(Signer& signer);

private:
    ossl::Cert m_cert;
    const X509* m_issuer = nullptr;
    QList<QPair<int, QByteArray>> m_extensions;
    Error m_firstError { ErrorCode::Crypto, {}, {}, {} };
    bool m_failed = false;
    void setError(QString message);
};

/// A DER PKCS#10 request for `publicKey`, signed by any Signer (normally the key's own;
/// tests pass another to forge one).
[[nodiscard]] Result<QByteArray> makeRequest(const QList<NameEntry>& subject, EVP_PKEY* publicKey, Signer& signer);

/// The DER AlgorithmIdentifier of a SHA-256 signature algorithm (ECDSA or RSA PKCS#1 v1.5).
[[nodiscard]] QByteArray signatureAlgorithmDer(int sigNid);

/// SEQUENCE { tbs, algorithm, BIT STRING signature }: the outer shape shared by
/// Certificate (RFC 5280 4.1) and CertificationRequest (RFC 2986 4.2).
[[nodiscard]] QByteArray signedDer(const QByteArray& tbs, const QByteArray& algorithm, const QByteArray& signature);

/// The signature algorithm nid for "SHA-256 with this key's algorithm".
[[nodiscard]] Result<int> sha256SignatureNid(const QByteArray& spki);

} // namespace imprint::core
