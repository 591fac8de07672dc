#include "pki/Cms.h"

#include "pki/SignerKey.h"

#include <openssl/cms.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>

namespace imprint::core {

namespace {
using CmsContent = std::unique_ptr<CMS_ContentInfo, ossl::Deleter<CMS_ContentInfo_free>>;
using Pkcs7 = std::unique_ptr<PKCS7, ossl::Deleter<PKCS7_free>>;
} // namespace

Result<QByteArray> signDetached(const QByteArray& data, std::shared_ptr<Signer> key, const QList<QByteArray>& chain)
{
    if (chain.isEmpty())
        return fail(ErrorCode::NotInitialized, QStringLiteral("There is no certificate to sign with."));
    auto pkey = signerKey(std::move(key));
    if (!pkey)
        return std::unexpected(pkey.error());
    auto signerCert = ossl::certFromDer(chain.first());
    if (!signerCert)
        return std::unexpected(signerCert.error());
    ossl::CertStack others { sk_X509_new_null() };
    // The issuers the verifier needs to reach its anchors; the anchor itself (self-signed)
    // it has already, and a copy here would be a part of the file nothing checks.
    for (qsizetype i = 1; i < chain.size(); ++i) {
        auto c = ossl::certFromDer(chain[i]);
        if (c && X509_check_issued(c->get(), c->get()) != X509_V_OK)
            sk_X509_push(others.get(), c->release());
    }
    ossl::Bio in { BIO_new_mem_buf(data.constData(), static_cast<int>(data.size())) };
    CmsContent cms { CMS_sign(signerCert->get(), pkey->get(), others.get(), in.get(), CMS_DETACHED | CMS_BINARY) };
    if (!cms)
        return ossl::cryptoFail(QStringLiteral("Could not sign the manifest."));
    unsigned char* buf = nullptr;
    const int len = i2d_CMS_ContentInfo(cms.get(), &buf);
    if (len <= 0)
        return ossl::cryptoFail(QStringLiteral("Could not encode the manifest's signature."));
    QByteArray der(reinterpret_cast<const char*>(buf), len);
    OPENSSL_free(buf);
    return der;
}

Result<QList<QByteArray>> certificatesIn(const QByteArray& file)
{
    Pkcs7 p7;
    if (file.contains("-----BEGIN PKCS7-----")) {
        ossl::Bio bio { BIO_new_mem_buf(file.constData(), static_cast<int>(file.size())) };
        p7.reset(PEM_read_bio_PKCS7(bio.get(), nullptr, nullptr, nullptr));
    } else if (!file.contains("-----BEGIN")) {
        const auto* p = reinterpret_cast<const unsigned char*>(file.constData());
        p7.reset(d2i_PKCS7(nullptr, &p, static_cast<long>(file.size())));
    }
    if (p7) {
        if (!PKCS7_type_is_signed(p7.get()) || !p7->d.sign)
            return fail(ErrorCode::BadInput, QStringLiteral("The PKCS#7 file holds no certificates."));
        QList<QByteArray> out;
        STACK_OF(X509)* certs = p7->d.sign->cert;
        for (int i = 0; certs && i < sk_X509_num(certs); ++i)
            out << ossl::certToDer(sk_X509_value(certs, i));
        return out;
    }
    auto pem = ossl::certsDerFromPem(file);
    if (!pem || pem->isEmpty())
        return fail(ErrorCode::BadInput, QStringLiteral("The file is neither a PKCS#7 bundle nor PEM certificates."),
            ossl::drainErrors());
    return pem;
}

} // namespace imprint::core
