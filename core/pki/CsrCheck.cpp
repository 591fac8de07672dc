#include "pki/CsrCheck.h"

#include <openssl/core_names.h>
#include <openssl/objects.h>

namespace imprint::core {

namespace {

std::unexpected<Error> reject(const char* reason, QString message, QString detail = {})
{
    return fail(ErrorCode::CsrRejected, std::move(message), std::move(detail), QString::fromLatin1(reason));
}

QString subjectSerial(X509_REQ* req)
{
    const X509_NAME* name = X509_REQ_get_subject_name(req);
    const int idx = X509_NAME_get_index_by_NID(name, NID_serialNumber, -1);
    if (idx < 0)
        return {};
    const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, value);
    if (len < 0)
        return {};
    QString out = QString::fromUtf8(reinterpret_cast<const char*>(utf8), len);
    OPENSSL_free(utf8);
    return out;
}

} // namespace

CsrCheck::CsrCheck(CsrPolicy policy)
    : m_policy(std::move(policy))
{
}

QString CsrCheck::describeKey(const EVP_PKEY* key)
{
    switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC: {
        char group[64] = {};
        size_t len = 0;
        if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) != 1)
            return {};
        const QString g = QString::fromLatin1(group, static_cast<qsizetype>(len));
        if (g == QLatin1String("prime256v1"))
            return QStringLiteral("EC-P256");
        if (g == QLatin1String("secp384r1"))
            return QStringLiteral("EC-P384");
        return QStringLiteral("EC-") + g;
    }
    case EVP_PKEY_RSA: return QStringLiteral("RSA-%1").arg(EVP_PKEY_get_bits(key));
    default: return {};
    }
}

Result<CheckedCsr> CsrCheck::check(
    const QByteArray& der, const QString& deviceSerial, const KeyOwnerLookup& keyOwner) const
{
    if (der.size() > m_policy.maxDerSize)
        return reject("too-large",
            QStringLiteral("The certificate request is too large (%1 bytes, at most %2).")
                .arg(der.size())
                .arg(m_policy.maxDerSize));

    const auto* begin = reinterpret_cast<const unsigned char*>(der.constData());
    const auto* p = begin;
    ossl::Req req { d2i_X509_REQ(nullptr, &p, der.size()) };
    if (!req)
        return reject("malformed", QStringLiteral("The device sent something that is not a certificate request."),
            ossl::drainErrors());
    if (p != begin + der.size())
        return reject("trailing-bytes", QStringLiteral("The certificate request has extra bytes after its end."));

    ossl::PKey key { X509_REQ_get_pubkey(req.get()) };
    if (!key)
        return reject(
            "malformed", QStringLiteral("The certificate request has no usable public key."), ossl::drainErrors());

    // Proof of possession: the request must be signed by the key it asks us to certify.
    if (X509_REQ_verify(req.get(), key.get()) != 1)
        return reject("bad-signature",
            QStringLiteral("The certificate request's signature is wrong: the device did not prove it "
                           "holds the key."),
            ossl::drainErrors());

    const QString keyType = describeKey(key.get());
    if (keyType.isEmpty() || !m_policy.allowedKeys.contains(keyType))
        return reject("key-not-allowed",
            QStringLiteral("The device's key type (%1) is not allowed; allowed: %2.")
                .arg(keyType.isEmpty() ? QStringLiteral("unknown") : keyType,
                    m_policy.allowedKeys.join(QStringLiteral(", "))));

    const QString serial = subjectSerial(req.get());
    if (serial.isEmpty())
        return reject("serial-missing", QStringLiteral("The certificate request does not name the device serial."));
    if (serial != deviceSerial)
        return reject("serial-mismatch",
            QStringLiteral("The certificate request is for serial %1, but the device is %2.")
                .arg(serial, deviceSerial));

    CheckedCsr out;
    out.publicKeyDer = ossl::publicKeyDer(key.get());
    out.publicKeySha256 = ossl::sha256Hex(out.publicKeyDer);
    out.keyType = keyType;

    if (keyOwner) {
        auto owner = keyOwner(out.publicKeySha256);
        if (!owner)
            return std::unexpected(owner.error());
        if (owner->has_value() && **owner != deviceSerial)
            return reject("key-reused",
                QStringLiteral("This key was already certified for device %1: the device's random "
                               "generator may be broken. Set the device aside.")
                    .arg(**owner));
    }

    out.request = std::move(req);
    out.publicKey = std::move(key);
    return out;
}

} // namespace imprint::core
