#include "pki/CsrCheck.h"

#include "pki/Der.h"

#include <openssl/core_names.h>
#include <openssl/objects.h>

namespace imprint::core {

namespace {

std::unexpected<Error> reject(const char* reason, QString message, QString detail = {})
{
    return fail(ErrorCode::CsrRejected, std::move(message), std::move(detail), QString::fromLatin1(reason));
}

std::unexpected<Error> malformed(const char* what)
{
    return reject("malformed", QStringLiteral("The device sent something that is not a certificate request."),
        QString::fromLatin1(what));
}

// AlgorithmIdentifiers of the named-curve keys the fast path decodes (RFC 5480 2.1.1).
const QByteArray EcP256Alg = QByteArray::fromHex("301306072a8648ce3d020106082a8648ce3d030107");
const QByteArray EcP384Alg = QByteArray::fromHex("301006072a8648ce3d020106052b81040022");
const QByteArray EcPublicKeyOid = QByteArray::fromHex("06072a8648ce3d0201"); // id-ecPublicKey, 1.2.840.10045.2.1
const QByteArray SerialNumberOid = QByteArray::fromHex("0603550405"); // X.520 serialNumber, 2.5.4.5

struct SignatureAlgorithm {
    QByteArray oid;
    const char* digest;
    bool rsa;
};

// RFC 5758 3.2 (ECDSA, no parameters) and RFC 4055 5 (RSA, NULL parameters).
const SignatureAlgorithm SignatureAlgorithms[] = {
    { QByteArray::fromHex("06082a8648ce3d040302"), "SHA256", false },
    { QByteArray::fromHex("06082a8648ce3d040303"), "SHA384", false },
    { QByteArray::fromHex("06082a8648ce3d040304"), "SHA512", false },
    { QByteArray::fromHex("06092a864886f70d01010b"), "SHA256", true },
    { QByteArray::fromHex("06092a864886f70d01010c"), "SHA384", true },
    { QByteArray::fromHex("06092a864886f70d01010d"), "SHA512", true },
};

/// A public key with only the curve set, to copy from: building a key from a template is
/// a quarter of the cost of building the curve again for every request.
const EVP_PKEY* curveTemplate(const char* group)
{
    auto make = [](const char* g) -> EVP_PKEY* {
        ossl::PKeyCtx ctx { EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr) };
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(g), 0),
            OSSL_PARAM_construct_end(),
        };
        EVP_PKEY* key = nullptr;
        if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1
            || EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_KEY_PARAMETERS, params) != 1)
            return nullptr;
        return key;
    };
    // Built once, then only read (EVP_PKEY_dup), which OpenSSL allows from any thread.
    static const ossl::PKey p256 { make("prime256v1") };
    static const ossl::PKey p384 { make("secp384r1") };
    return qstrcmp(group, "prime256v1") == 0 ? p256.get() : p384.get();
}

struct DecodedKey {
    ossl::PKey key;
    QByteArray spki; ///< canonical DER
    QString type;
};

/// Whether an EC key's AlgorithmIdentifier names its curve. RFC 5480 2.1.1: in PKIX the
/// parameters MUST be a namedCurve OID; specifiedCurve (explicit parameters) and
/// implicitCurve MUST NOT be used. OpenSSL decodes explicit P-256 parameters into a key
/// that reports the group "prime256v1", so this is read from the request's own bytes.
bool namesItsCurve(const der::Element& algorithm)
{
    der::Reader fields(algorithm.content);
    auto oid = fields.next(der::Oid);
    if (!oid || oid->whole != EcPublicKeyOid)
        return true; // not an EC key: its type is judged by the policy
    return fields.next(der::Oid).has_value() && fields.atEnd();
}

/// Decodes a SubjectPublicKeyInfo. Uncompressed P-256/P-384 points take the fast path,
/// where the request's own bytes are already the canonical encoding; anything else goes
/// through OpenSSL's decoder and is re-encoded (CsrCheck::canonicalPublicKey), so one key
/// always hashes the same.
Result<DecodedKey> decodeKey(const der::Element& spki)
{
    der::Reader r(spki.content);
    auto alg = r.next(der::Sequence);
    auto bits = r.next(der::BitString);
    if (alg && !namesItsCurve(*alg))
        return reject("key-not-allowed",
            QStringLiteral("The device's key gives its curve as a list of parameters instead of by name; the "
                           "station accepts only named curves."));
    if (alg && bits && r.atEnd() && !bits->content.isEmpty() && bits->content[0] == 0) {
        const QByteArrayView point = bits->content.sliced(1);
        const char* group = nullptr;
        if (alg->whole == EcP256Alg && point.size() == 65 && point[0] == 0x04)
            group = "prime256v1";
        else if (alg->whole == EcP384Alg && point.size() == 97 && point[0] == 0x04)
            group = "secp384r1";
        if (group) {
            const EVP_PKEY* tmpl = curveTemplate(group);
            ossl::PKey key { tmpl ? EVP_PKEY_dup(const_cast<EVP_PKEY*>(tmpl)) : nullptr };
            // set1_encoded_public_key refuses points that are not on the curve.
            if (!key
                || EVP_PKEY_set1_encoded_public_key(key.get(), reinterpret_cast<const unsigned char*>(point.data()),
                       static_cast<size_t>(point.size()))
                    != 1)
                return malformed("the public key is not a point on its curve");
            return DecodedKey { std::move(key), spki.whole.toByteArray(),
                group[0] == 'p' ? QStringLiteral("EC-P256") : QStringLiteral("EC-P384") };
        }
    }
    const auto* p = reinterpret_cast<const unsigned char*>(spki.whole.data());
    ossl::PKey key { d2i_PUBKEY(nullptr, &p, spki.whole.size()) };
    if (!key)
        return reject(
            "malformed", QStringLiteral("The certificate request has no usable public key."), ossl::drainErrors());
    QByteArray canonical = CsrCheck::canonicalPublicKey(key.get());
    if (canonical.isEmpty())
        return reject("malformed", QStringLiteral("The certificate request has no usable public key."),
            QStringLiteral("the key has no canonical SubjectPublicKeyInfo: ") + ossl::drainErrors());
    QString type = CsrCheck::describeKey(key.get());
    return DecodedKey { std::move(key), std::move(canonical), std::move(type) };
}

QString stringValue(const der::Element& e)
{
    switch (e.tag) {
    case der::PrintableString:
    case der::Utf8String:
    case 0x16: // IA5String
        return QString::fromUtf8(e.content.data(), e.content.size());
    default: return {};
    }
}

} // namespace

Error CsrCheck::aboutFile(Error error, const QString& file)
{
    if (error.reason == QLatin1String("malformed"))
        error.message = QStringLiteral("The file %1 is not a certificate request (PKCS#10, in PEM or DER).").arg(file);
    else
        error.message = QStringLiteral("The request in %1 is refused: %2")
                            .arg(file, error.message.replace(QStringLiteral("The device's "), QStringLiteral("Its ")));
    return error;
}

CsrCheck::CsrCheck(CsrPolicy policy)
    : m_policy(std::move(policy))
{
}

QByteArray CsrCheck::canonicalPublicKey(const EVP_PKEY* key)
{
    if (!key)
        return {};
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
        return ossl::publicKeyDer(key);
    // On a copy: the caller's key stays as it came. A curve OpenSSL recognises (explicit
    // parameters of a named curve included) is then written by its OID, and the point
    // uncompressed (RFC 5480 2.1.1, 2.2); a curve with no name has no such form: empty.
    ossl::PKey copy { EVP_PKEY_dup(const_cast<EVP_PKEY*>(key)) };
    if (!copy
        || EVP_PKEY_set_utf8_string_param(copy.get(), OSSL_PKEY_PARAM_EC_ENCODING, OSSL_PKEY_EC_ENCODING_GROUP) != 1
        || EVP_PKEY_set_utf8_string_param(copy.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
               OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED)
            != 1)
        return {};
    return ossl::publicKeyDer(copy.get());
}

QString CsrCheck::publicKeySha256(const EVP_PKEY* key)
{
    const QByteArray spki = canonicalPublicKey(key);
    return spki.isEmpty() ? QString() : ossl::sha256Hex(spki);
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

    // CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature }
    der::Reader top(der);
    auto outer = top.next(der::Sequence);
    if (!outer)
        return malformed("no DER SEQUENCE at the start");
    if (!top.atEnd())
        return reject("trailing-bytes", QStringLiteral("The certificate request has extra bytes after its end."));
    der::Reader req(outer->content);
    auto info = req.next(der::Sequence);
    auto sigAlg = req.next(der::Sequence);
    auto signature = req.next(der::BitString);
    if (!info || !sigAlg || !signature || !req.atEnd())
        return malformed("CertificationRequest is not {info, algorithm, signature}");

    // CertificationRequestInfo ::= SEQUENCE { version INTEGER (0), subject Name,
    //     subjectPKInfo SubjectPublicKeyInfo, attributes [0] IMPLICIT SET OF Attribute }
    der::Reader fields(info->content);
    auto version = fields.next(der::Integer);
    auto subject = fields.next(der::Sequence);
    auto spki = fields.next(der::Sequence);
    auto attributes = fields.next(der::Context0);
    if (!version || !subject || !spki || !attributes || !fields.atEnd())
        return malformed("CertificationRequestInfo is not {version, subject, key, attributes}");
    if (version->content != QByteArrayView("\x00", 1))
        return malformed("the request version is not 1");

    auto key = decodeKey(*spki);
    if (!key)
        return std::unexpected(key.error());
    // The key type first: a key the profile refuses is never worth verifying.
    if (key->type.isEmpty() || !m_policy.allowedKeys.contains(key->type))
        return reject("key-not-allowed",
            QStringLiteral("The device's key type (%1) is not allowed; allowed: %2.")
                .arg(key->type.isEmpty() ? QStringLiteral("unknown") : key->type,
                    m_policy.allowedKeys.join(QStringLiteral(", "))));

    // Proof of possession: the request must be signed by the key it asks us to certify.
    der::Reader algFields(sigAlg->content);
    auto algOid = algFields.next(der::Oid);
    const SignatureAlgorithm* algorithm = nullptr;
    for (const auto& a : SignatureAlgorithms) {
        if (algOid && algOid->whole == a.oid)
            algorithm = &a;
    }
    const bool paramsOk = algorithm
        && (algFields.atEnd() || (algorithm->rsa && algFields.next(der::Null).has_value() && algFields.atEnd()));
    if (!algorithm || !paramsOk || signature->content.isEmpty() || signature->content[0] != 0)
        return reject("bad-signature",
            QStringLiteral("The certificate request is signed with an algorithm the station does not accept."));
    const QByteArrayView sig = signature->content.sliced(1);
    ossl::MdCtx ctx { EVP_MD_CTX_new() };
    if (!ctx
        || EVP_DigestVerifyInit_ex(ctx.get(), nullptr, algorithm->digest, nullptr, nullptr, key->key.get(), nullptr)
            != 1
        || EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()),
               static_cast<size_t>(sig.size()), reinterpret_cast<const unsigned char*>(info->whole.data()),
               static_cast<size_t>(info->whole.size()))
            != 1)
        return reject("bad-signature",
            QStringLiteral("The certificate request's signature is wrong: the device did not prove it "
                           "holds the key."),
            ossl::drainErrors());

    // Name ::= SEQUENCE OF SET OF AttributeTypeAndValue ::= SEQUENCE { type, value }
    QStringList serials;
    der::Reader rdns(subject->content);
    while (!rdns.atEnd()) {
        auto rdn = rdns.next(der::Set);
        if (!rdn)
            return malformed("the subject is not a Name");
        der::Reader atvs(rdn->content);
        while (!atvs.atEnd()) {
            auto atv = atvs.next(der::Sequence);
            if (!atv)
                return malformed("the subject is not a Name");
            der::Reader parts(atv->content);
            auto type = parts.next(der::Oid);
            auto value = parts.next();
            if (!type || !value || !parts.atEnd())
                return malformed("the subject is not a Name");
            if (type->whole == SerialNumberOid)
                serials << stringValue(*value);
        }
    }
    if (serials.isEmpty() || serials.first().isEmpty())
        return reject("serial-missing", QStringLiteral("The certificate request does not name the device serial."));
    if (serials.size() > 1)
        return reject("serial-mismatch", QStringLiteral("The certificate request names more than one serial."));
    if (!deviceSerial.isEmpty() && serials.first() != deviceSerial)
        return reject("serial-mismatch",
            QStringLiteral("The certificate request is for serial %1, but the device is %2.")
                .arg(serials.first(), deviceSerial));

    CheckedCsr out;
    out.subjectSerial = serials.first();
    out.publicKeyDer = key->spki; // canonical: the same bytes for every form of one key
    out.publicKeySha256 = ossl::sha256Hex(out.publicKeyDer);
    out.keyType = key->type;

    if (keyOwner) {
        auto owner = keyOwner(out.publicKeySha256);
        if (!owner)
            return std::unexpected(owner.error());
        if (owner->has_value() && **owner != out.subjectSerial)
            return reject("key-reused",
                QStringLiteral("This key was already certified for device %1: the device's random "
                               "generator may be broken. Set the device aside.")
                    .arg(**owner));
    }

    out.publicKey = std::move(key->key);
    return out;
}

} // namespace imprint::core
