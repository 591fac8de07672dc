#include "Token.h"

#include "pki/OpenSsl.h"

#include <QElapsedTimer>
#include <QFile>
#include <QLoggingCategory>

#include <libp11.h>
#include <p11-kit/pkcs11.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include <dlfcn.h>

#include <mutex>

Q_LOGGING_CATEGORY(IMPRINT_HSM, "imprint.hsm", QtInfoMsg)

namespace imprint::hsm {

using core::Error;
using core::ErrorCode;
using core::fail;
using core::Result;

namespace {

QString ckrName(CK_RV rv)
{
    switch (rv) {
    case CKR_OK: return QStringLiteral("CKR_OK");
    case CKR_GENERAL_ERROR: return QStringLiteral("CKR_GENERAL_ERROR");
    case CKR_FUNCTION_FAILED: return QStringLiteral("CKR_FUNCTION_FAILED");
    case CKR_ARGUMENTS_BAD: return QStringLiteral("CKR_ARGUMENTS_BAD");
    case CKR_ATTRIBUTE_VALUE_INVALID: return QStringLiteral("CKR_ATTRIBUTE_VALUE_INVALID");
    case CKR_DEVICE_ERROR: return QStringLiteral("CKR_DEVICE_ERROR");
    case CKR_DEVICE_REMOVED: return QStringLiteral("CKR_DEVICE_REMOVED");
    case CKR_KEY_HANDLE_INVALID: return QStringLiteral("CKR_KEY_HANDLE_INVALID");
    case CKR_MECHANISM_INVALID: return QStringLiteral("CKR_MECHANISM_INVALID");
    case CKR_OBJECT_HANDLE_INVALID: return QStringLiteral("CKR_OBJECT_HANDLE_INVALID");
    case CKR_PIN_INCORRECT: return QStringLiteral("CKR_PIN_INCORRECT");
    case CKR_PIN_INVALID: return QStringLiteral("CKR_PIN_INVALID");
    case CKR_PIN_LEN_RANGE: return QStringLiteral("CKR_PIN_LEN_RANGE");
    case CKR_PIN_LOCKED: return QStringLiteral("CKR_PIN_LOCKED");
    case CKR_SESSION_HANDLE_INVALID: return QStringLiteral("CKR_SESSION_HANDLE_INVALID");
    case CKR_SESSION_CLOSED: return QStringLiteral("CKR_SESSION_CLOSED");
    case CKR_TEMPLATE_INCONSISTENT: return QStringLiteral("CKR_TEMPLATE_INCONSISTENT");
    case CKR_TEMPLATE_INCOMPLETE: return QStringLiteral("CKR_TEMPLATE_INCOMPLETE");
    case CKR_TOKEN_NOT_PRESENT: return QStringLiteral("CKR_TOKEN_NOT_PRESENT");
    case CKR_TOKEN_NOT_RECOGNIZED: return QStringLiteral("CKR_TOKEN_NOT_RECOGNIZED");
    case CKR_USER_NOT_LOGGED_IN: return QStringLiteral("CKR_USER_NOT_LOGGED_IN");
    case CKR_USER_ALREADY_LOGGED_IN: return QStringLiteral("CKR_USER_ALREADY_LOGGED_IN");
    case CKR_ATTRIBUTE_SENSITIVE: return QStringLiteral("CKR_ATTRIBUTE_SENSITIVE");
    case CKR_CRYPTOKI_NOT_INITIALIZED: return QStringLiteral("CKR_CRYPTOKI_NOT_INITIALIZED");
    default: return QStringLiteral("CKR 0x%1").arg(rv, 0, 16);
    }
}

std::unexpected<Error> hsmFail(const char* function, CK_RV rv, QString message)
{
    return fail(
        ErrorCode::Hsm, std::move(message), QStringLiteral("%1 returned %2").arg(QLatin1String(function), ckrName(rv)));
}

// libp11 reports PKCS#11 return values as the reason of its OpenSSL errors.
CK_RV lastLibp11Rv()
{
    const unsigned long e = ERR_peek_last_error();
    return e == 0 ? CKR_GENERAL_ERROR : static_cast<CK_RV>(ERR_GET_REASON(e));
}

// DER OIDs of the named curves (RFC 5480 2.1.1.1), as CKA_EC_PARAMS takes them.
const QByteArray P256Oid = QByteArray::fromHex("06082a8648ce3d030107");
const QByteArray P384Oid = QByteArray::fromHex("06052b81040022");

} // namespace

struct Token::Impl {
    PKCS11_CTX* ctx = nullptr;
    PKCS11_SLOT* slotList = nullptr;
    unsigned int slotCount = 0;
    PKCS11_SLOT* slot = nullptr;
    void* module = nullptr;
    CK_FUNCTION_LIST_PTR fn = nullptr;
    std::mutex mutex; ///< serialises use of this token's sessions

    ~Impl()
    {
        if (slotList)
            PKCS11_release_all_slots(ctx, slotList, slotCount);
        if (ctx) {
            PKCS11_CTX_unload(ctx);
            PKCS11_CTX_free(ctx);
        }
        if (module)
            dlclose(module);
    }

    CK_SLOT_ID slotId() const { return PKCS11_get_slotid_from_slot(slot); }

    Result<void> enumerate()
    {
        if (slotList)
            PKCS11_release_all_slots(ctx, slotList, slotCount);
        slotList = nullptr;
        slot = nullptr;
        if (PKCS11_enumerate_slots(ctx, &slotList, &slotCount) != 0)
            return hsmFail("C_GetSlotList", lastLibp11Rv(), QStringLiteral("The HSM's slotList could not be listed."));
        return {};
    }

    Result<void> select(const QString& label)
    {
        for (unsigned int i = 0; i < slotCount; ++i) {
            PKCS11_TOKEN* t = slotList[i].token;
            if (t && t->initialized && QString::fromUtf8(t->label).trimmed() == label) {
                slot = &slotList[i];
                return {};
            }
        }
        return fail(
            ErrorCode::NotFound, QStringLiteral("The HSM has no token labelled \"%1\"; is it plugged in?").arg(label));
    }

    /// Plain words for the token's PIN state, read fresh from the token.
    QString pinState() const
    {
        CK_TOKEN_INFO info {};
        if (!fn || fn->C_GetTokenInfo(slotId(), &info) != CKR_OK)
            return {};
        if (info.flags & CKF_USER_PIN_LOCKED)
            return QStringLiteral("The user PIN is now locked: a Security Officer must unblock it.");
        if (info.flags & CKF_USER_PIN_FINAL_TRY)
            return QStringLiteral("Careful: one more wrong PIN will lock the token.");
        if (info.flags & CKF_USER_PIN_COUNT_LOW)
            return QStringLiteral("Several wrong PINs have been entered; few tries are left.");
        return {};
    }

    Result<CK_OBJECT_HANDLE> findObject(CK_SESSION_HANDLE session, CK_OBJECT_CLASS cls, const QByteArray& label) const
    {
        CK_ATTRIBUTE tmpl[] = {
            { CKA_CLASS, &cls, sizeof cls },
            { CKA_LABEL, const_cast<char*>(label.constData()), static_cast<CK_ULONG>(label.size()) },
        };
        CK_RV rv = fn->C_FindObjectsInit(session, tmpl, 2);
        if (rv != CKR_OK)
            return hsmFail("C_FindObjectsInit", rv, QStringLiteral("The token could not be searched."));
        CK_OBJECT_HANDLE handle = 0;
        CK_ULONG count = 0;
        rv = fn->C_FindObjects(session, &handle, 1, &count);
        fn->C_FindObjectsFinal(session);
        if (rv != CKR_OK)
            return hsmFail("C_FindObjects", rv, QStringLiteral("The token could not be searched."));
        if (count == 0)
            return fail(ErrorCode::NotFound,
                QStringLiteral("The token holds no key labelled \"%1\".").arg(QString::fromUtf8(label)));
        return handle;
    }
};

/// A raw PKCS#11 session, closed on scope exit.
class RawSession {
public:
    RawSession(CK_FUNCTION_LIST_PTR fn, CK_SLOT_ID slot, bool rw)
        : m_fn(fn)
    {
        m_rv = fn->C_OpenSession(slot, CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0), nullptr, nullptr, &m_handle);
    }
    ~RawSession()
    {
        if (m_rv == CKR_OK)
            m_fn->C_CloseSession(m_handle);
    }
    RawSession(const RawSession&) = delete;
    RawSession& operator=(const RawSession&) = delete;
    CK_RV rv() const { return m_rv; }
    CK_SESSION_HANDLE handle() const { return m_handle; }

private:
    CK_FUNCTION_LIST_PTR m_fn;
    CK_SESSION_HANDLE m_handle = 0;
    CK_RV m_rv = CKR_GENERAL_ERROR;
};

namespace {

Result<std::shared_ptr<Token::Impl>> loadModule(const QString& modulePath)
{
    auto impl = std::make_shared<Token::Impl>();
    impl->ctx = PKCS11_CTX_new();
    if (!impl->ctx)
        return fail(ErrorCode::Hsm, QStringLiteral("Could not start the PKCS#11 library."));
    const QByteArray path = QFile::encodeName(modulePath);
    if (PKCS11_CTX_load(impl->ctx, path.constData()) != 0)
        return fail(ErrorCode::Hsm, QStringLiteral("The PKCS#11 module %1 could not be loaded.").arg(modulePath),
            core::ossl::drainErrors());
    // libp11 0.4 offers neither EC key generation nor attribute reads, so those calls use
    // the module's own function list: the same module libp11 initialised, not a second one.
    impl->module = dlopen(path.constData(), RTLD_NOW | RTLD_NOLOAD);
    if (impl->module) {
        auto getList = reinterpret_cast<CK_C_GetFunctionList>(dlsym(impl->module, "C_GetFunctionList"));
        if (getList)
            getList(&impl->fn);
    }
    if (!impl->fn)
        return fail(ErrorCode::Hsm, QStringLiteral("The PKCS#11 module %1 has no function list.").arg(modulePath));
    if (auto r = impl->enumerate(); !r)
        return std::unexpected(r.error());
    return impl;
}

} // namespace

Token::Token(std::shared_ptr<Impl> impl)
    : d(std::move(impl))
{
}

Token::~Token() = default;

QString Token::label() const
{
    return d->slot && d->slot->token ? QString::fromUtf8(d->slot->token->label).trimmed() : QString();
}

Result<std::unique_ptr<Token>> Token::open(const QString& modulePath, const QString& label)
{
    auto impl = loadModule(modulePath);
    if (!impl)
        return std::unexpected(impl.error());
    if (auto r = (*impl)->select(label); !r)
        return std::unexpected(r.error());
    if (PKCS11_open_session((*impl)->slot, 1) != 0)
        return hsmFail(
            "C_OpenSession", lastLibp11Rv(), QStringLiteral("A session with the token could not be opened."));
    return std::unique_ptr<Token>(new Token(std::move(*impl)));
}

Result<std::unique_ptr<Token>> Token::initialize(
    const QString& modulePath, const QString& label, const core::Secret& soPin, const core::Secret& userPin)
{
    auto loaded = loadModule(modulePath);
    if (!loaded)
        return std::unexpected(loaded.error());
    auto impl = *loaded;
    if (impl->select(label))
        return fail(ErrorCode::BadInput, QStringLiteral("A token labelled \"%1\" already exists.").arg(label));
    PKCS11_TOKEN* blank = nullptr;
    for (unsigned int i = 0; i < impl->slotCount; ++i) {
        if (impl->slotList[i].token && !impl->slotList[i].token->initialized) {
            blank = impl->slotList[i].token;
            break;
        }
    }
    if (!blank)
        return fail(ErrorCode::Hsm, QStringLiteral("The HSM has no free (uninitialised) token."));
    const std::string so(soPin.data(), static_cast<size_t>(soPin.size()));
    const std::string user(userPin.data(), static_cast<size_t>(userPin.size()));
    const QByteArray lbl = label.toUtf8();
    auto cleanup = [&] {
        OPENSSL_cleanse(const_cast<char*>(so.data()), so.size());
        OPENSSL_cleanse(const_cast<char*>(user.data()), user.size());
    };
    if (PKCS11_init_token(blank, so.c_str(), lbl.constData()) != 0) {
        cleanup();
        return hsmFail("C_InitToken", lastLibp11Rv(), QStringLiteral("The token could not be initialised."));
    }
    // SoftHSM2 moves a newly initialised token to a new slot: list the slotList again.
    if (auto r = impl->enumerate(); !r) {
        cleanup();
        return std::unexpected(r.error());
    }
    if (auto r = impl->select(label); !r) {
        cleanup();
        return std::unexpected(r.error());
    }
    if (PKCS11_open_session(impl->slot, 1) != 0 || PKCS11_login(impl->slot, 1, so.c_str()) != 0) {
        cleanup();
        return hsmFail("C_Login", lastLibp11Rv(), QStringLiteral("The Security Officer login failed."));
    }
    const int initPin = PKCS11_init_pin(impl->slot->token, user.c_str());
    cleanup();
    PKCS11_logout(impl->slot);
    if (initPin != 0)
        return hsmFail("C_InitPIN", lastLibp11Rv(), QStringLiteral("The user PIN could not be set."));
    return std::unique_ptr<Token>(new Token(std::move(impl)));
}

Result<void> Token::login(const core::Secret& pin)
{
    std::lock_guard lock(d->mutex);
    int loggedIn = 0;
    if (PKCS11_is_logged_in(d->slot, 0, &loggedIn) == 0 && loggedIn)
        return {};
    const std::string p(pin.data(), static_cast<size_t>(pin.size()));
    const int rc = PKCS11_login(d->slot, 0, p.c_str());
    OPENSSL_cleanse(const_cast<char*>(p.data()), p.size());
    if (rc == 0)
        return {};
    const CK_RV rv = lastLibp11Rv();
    ERR_clear_error();
    const QString state = d->pinState();
    if (rv == CKR_PIN_INCORRECT)
        return fail(ErrorCode::PinRejected,
            (QStringLiteral("The token refused the PIN. It will not be tried again automatically. ") + state).trimmed(),
            QStringLiteral("C_Login returned CKR_PIN_INCORRECT"));
    if (rv == CKR_PIN_LOCKED)
        return fail(ErrorCode::PinRejected,
            QStringLiteral("The token's user PIN is locked: a Security Officer must unblock it."),
            QStringLiteral("C_Login returned CKR_PIN_LOCKED"));
    return hsmFail("C_Login", rv, QStringLiteral("Logging in to the token failed."));
}

Result<QByteArray> Token::generateKey(const QString& label, const QByteArray& id, KeyType type)
{
    std::lock_guard lock(d->mutex);
    RawSession session(d->fn, d->slotId(), true);
    if (session.rv() != CKR_OK)
        return hsmFail("C_OpenSession", session.rv(), QStringLiteral("A session with the token could not be opened."));

    const QByteArray lbl = label.toUtf8();
    CK_BBOOL yes = CK_TRUE;
    CK_BBOOL no = CK_FALSE;
    CK_ULONG bits = 3072;
    CK_BYTE exponent[] = { 0x01, 0x00, 0x01 };
    const bool rsa = type == KeyType::Rsa3072;
    const QByteArray& curve = type == KeyType::EcP384 ? P384Oid : P256Oid;

    std::vector<CK_ATTRIBUTE> pub {
        { CKA_TOKEN, &yes, sizeof yes },
        { CKA_VERIFY, &yes, sizeof yes },
        { CKA_LABEL, const_cast<char*>(lbl.constData()), static_cast<CK_ULONG>(lbl.size()) },
        { CKA_ID, const_cast<char*>(id.constData()), static_cast<CK_ULONG>(id.size()) },
    };
    if (rsa) {
        pub.push_back({ CKA_MODULUS_BITS, &bits, sizeof bits });
        pub.push_back({ CKA_PUBLIC_EXPONENT, exponent, sizeof exponent });
    } else {
        pub.push_back({ CKA_EC_PARAMS, const_cast<char*>(curve.constData()), static_cast<CK_ULONG>(curve.size()) });
    }
    // The issuing key must never leave the token: sensitive, private, not extractable.
    std::vector<CK_ATTRIBUTE> priv {
        { CKA_TOKEN, &yes, sizeof yes },
        { CKA_PRIVATE, &yes, sizeof yes },
        { CKA_SENSITIVE, &yes, sizeof yes },
        { CKA_EXTRACTABLE, &no, sizeof no },
        { CKA_SIGN, &yes, sizeof yes },
        // A CA key signs and does nothing else (modules default some of these to true).
        { CKA_DECRYPT, &no, sizeof no },
        { CKA_UNWRAP, &no, sizeof no },
        { CKA_DERIVE, &no, sizeof no },
        { CKA_LABEL, const_cast<char*>(lbl.constData()), static_cast<CK_ULONG>(lbl.size()) },
        { CKA_ID, const_cast<char*>(id.constData()), static_cast<CK_ULONG>(id.size()) },
    };
    CK_MECHANISM mech { rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, nullptr, 0 };
    CK_OBJECT_HANDLE pubHandle = 0;
    CK_OBJECT_HANDLE privHandle = 0;
    const CK_RV rv = d->fn->C_GenerateKeyPair(session.handle(), &mech, pub.data(), static_cast<CK_ULONG>(pub.size()),
        priv.data(), static_cast<CK_ULONG>(priv.size()), &pubHandle, &privHandle);
    if (rv != CKR_OK)
        return hsmFail("C_GenerateKeyPair", rv, QStringLiteral("The token could not generate the key."));

    // Read the public half back to build a SubjectPublicKeyInfo.
    auto readAttr = [&](CK_ATTRIBUTE_TYPE t) -> Result<QByteArray> {
        CK_ATTRIBUTE a { t, nullptr, 0 };
        CK_RV r = d->fn->C_GetAttributeValue(session.handle(), pubHandle, &a, 1);
        if (r != CKR_OK)
            return hsmFail("C_GetAttributeValue", r, QStringLiteral("The new public key could not be read."));
        QByteArray v(static_cast<qsizetype>(a.ulValueLen), Qt::Uninitialized);
        a.pValue = v.data();
        r = d->fn->C_GetAttributeValue(session.handle(), pubHandle, &a, 1);
        if (r != CKR_OK)
            return hsmFail("C_GetAttributeValue", r, QStringLiteral("The new public key could not be read."));
        return v;
    };

    std::unique_ptr<OSSL_PARAM_BLD, core::ossl::Deleter<OSSL_PARAM_BLD_free>> bld { OSSL_PARAM_BLD_new() };
    core::ossl::BigNum n, e;
    QByteArray point;
    if (rsa) {
        auto mod = readAttr(CKA_MODULUS);
        auto exp = readAttr(CKA_PUBLIC_EXPONENT);
        if (!mod)
            return std::unexpected(mod.error());
        if (!exp)
            return std::unexpected(exp.error());
        n.reset(BN_bin2bn(
            reinterpret_cast<const unsigned char*>(mod->constData()), static_cast<int>(mod->size()), nullptr));
        e.reset(BN_bin2bn(
            reinterpret_cast<const unsigned char*>(exp->constData()), static_cast<int>(exp->size()), nullptr));
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get());
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get());
    } else {
        auto ecPoint = readAttr(CKA_EC_POINT);
        if (!ecPoint)
            return std::unexpected(ecPoint.error());
        // CKA_EC_POINT is the DER OCTET STRING holding the point (PKCS#11 2.40, 2.3.3).
        const auto* p = reinterpret_cast<const unsigned char*>(ecPoint->constData());
        core::ossl::OctetString os { d2i_ASN1_OCTET_STRING(nullptr, &p, ecPoint->size()) };
        if (!os)
            return core::ossl::cryptoFail(QStringLiteral("The token returned a malformed EC point."));
        point
            = QByteArray(reinterpret_cast<const char*>(ASN1_STRING_get0_data(os.get())), ASN1_STRING_length(os.get()));
        OSSL_PARAM_BLD_push_utf8_string(
            bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, type == KeyType::EcP384 ? "secp384r1" : "prime256v1", 0);
        OSSL_PARAM_BLD_push_octet_string(
            bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.constData(), static_cast<size_t>(point.size()));
    }
    std::unique_ptr<OSSL_PARAM, core::ossl::Deleter<OSSL_PARAM_free>> params { OSSL_PARAM_BLD_to_param(bld.get()) };
    core::ossl::PKeyCtx pctx { EVP_PKEY_CTX_new_from_name(nullptr, rsa ? "RSA" : "EC", nullptr) };
    EVP_PKEY* raw = nullptr;
    if (!params || !pctx || EVP_PKEY_fromdata_init(pctx.get()) != 1
        || EVP_PKEY_fromdata(pctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
        return core::ossl::cryptoFail(QStringLiteral("The token's public key could not be decoded."));
    core::ossl::PKey key { raw };
    return core::ossl::publicKeyDer(key.get());
}

Result<KeyAttributes> Token::keyAttributes(const QString& label) const
{
    std::lock_guard lock(d->mutex);
    RawSession session(d->fn, d->slotId(), false);
    if (session.rv() != CKR_OK)
        return hsmFail("C_OpenSession", session.rv(), QStringLiteral("A session with the token could not be opened."));
    auto handle = d->findObject(session.handle(), CKO_PRIVATE_KEY, label.toUtf8());
    if (!handle)
        return std::unexpected(handle.error());
    CK_BBOOL sensitive = CK_FALSE, extractable = CK_TRUE, alwaysSensitive = CK_FALSE, neverExtractable = CK_FALSE,
             isPrivate = CK_FALSE;
    CK_ATTRIBUTE attrs[] = {
        { CKA_SENSITIVE, &sensitive, sizeof sensitive },
        { CKA_EXTRACTABLE, &extractable, sizeof extractable },
        { CKA_ALWAYS_SENSITIVE, &alwaysSensitive, sizeof alwaysSensitive },
        { CKA_NEVER_EXTRACTABLE, &neverExtractable, sizeof neverExtractable },
        { CKA_PRIVATE, &isPrivate, sizeof isPrivate },
    };
    const CK_RV rv = d->fn->C_GetAttributeValue(session.handle(), *handle, attrs, 5);
    if (rv != CKR_OK)
        return hsmFail("C_GetAttributeValue", rv, QStringLiteral("The key's attributes could not be read."));
    return KeyAttributes { sensitive == CK_TRUE, extractable == CK_TRUE, alwaysSensitive == CK_TRUE,
        neverExtractable == CK_TRUE, isPrivate == CK_TRUE };
}

Result<double> Token::measureRawSignRate(const QString& label, int count)
{
    std::lock_guard lock(d->mutex);
    RawSession session(d->fn, d->slotId(), false);
    if (session.rv() != CKR_OK)
        return hsmFail("C_OpenSession", session.rv(), QStringLiteral("A session with the token could not be opened."));
    auto key = d->findObject(session.handle(), CKO_PRIVATE_KEY, label.toUtf8());
    if (!key)
        return std::unexpected(key.error());
    CK_BYTE digest[32] = { 1, 2, 3 };
    CK_BYTE sig[512];
    CK_MECHANISM mech { CKM_ECDSA, nullptr, 0 };
    QElapsedTimer timer;
    timer.start();
    for (int i = 0; i < count; ++i) {
        digest[0] = static_cast<CK_BYTE>(i);
        CK_ULONG len = sizeof sig;
        CK_RV rv = d->fn->C_SignInit(session.handle(), &mech, *key);
        if (rv == CKR_OK)
            rv = d->fn->C_Sign(session.handle(), digest, sizeof digest, sig, &len);
        if (rv != CKR_OK)
            return hsmFail("C_Sign", rv, QStringLiteral("The token did not sign."));
    }
    return count / (static_cast<double>(timer.nsecsElapsed()) / 1e9);
}

namespace {

/// Signs with a token key through libp11's EVP_PKEY. Holds the token alive.
class TokenSigner final : public core::Signer {
public:
    TokenSigner(std::shared_ptr<Token::Impl> token, core::ossl::PKey privateKey, QByteArray publicKey)
        : m_token(std::move(token))
        , m_key(std::move(privateKey))
        , m_public(std::move(publicKey))
    {
    }

    Result<QByteArray> signSha256(const QByteArray& data) override
    {
        std::lock_guard lock(m_token->mutex);
        core::ossl::MdCtx ctx { EVP_MD_CTX_new() };
        if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, m_key.get()) != 1)
            return core::ossl::cryptoFail(QStringLiteral("The token key could not start a signature."));
        size_t len = 0;
        const auto* in = reinterpret_cast<const unsigned char*>(data.constData());
        if (EVP_DigestSign(ctx.get(), nullptr, &len, in, static_cast<size_t>(data.size())) != 1)
            return core::ossl::cryptoFail(QStringLiteral("The token key could not size its signature."));
        QByteArray sig(static_cast<qsizetype>(len), Qt::Uninitialized);
        if (EVP_DigestSign(
                ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, static_cast<size_t>(data.size()))
            != 1) {
            const CK_RV rv = lastLibp11Rv();
            return hsmFail(
                "C_Sign", rv, QStringLiteral("The HSM did not sign: is the token still there and unlocked?"));
        }
        sig.truncate(static_cast<qsizetype>(len));
        return sig;
    }

    QByteArray publicKey() const override { return m_public; }

private:
    std::shared_ptr<Token::Impl> m_token;
    core::ossl::PKey m_key;
    QByteArray m_public;
};

} // namespace

Result<std::shared_ptr<core::Signer>> Token::signer(const QString& label)
{
    std::lock_guard lock(d->mutex);
    PKCS11_KEY* keys = nullptr;
    unsigned int nkeys = 0;
    if (PKCS11_enumerate_keys(d->slot->token, &keys, &nkeys) != 0)
        return hsmFail("C_FindObjects", lastLibp11Rv(), QStringLiteral("The token's keys could not be listed."));
    for (unsigned int i = 0; i < nkeys; ++i) {
        if (!keys[i].isPrivate || QString::fromUtf8(keys[i].label) != label)
            continue;
        core::ossl::PKey priv { PKCS11_get_private_key(&keys[i]) };
        core::ossl::PKey pub { PKCS11_get_public_key(&keys[i]) };
        if (!priv || !pub)
            return core::ossl::cryptoFail(QStringLiteral("The token key \"%1\" could not be used.").arg(label));
        QByteArray spki = core::ossl::publicKeyDer(pub.get());
        return std::shared_ptr<core::Signer>(std::make_shared<TokenSigner>(d, std::move(priv), std::move(spki)));
    }
    return fail(ErrorCode::NotFound, QStringLiteral("The token holds no private key labelled \"%1\".").arg(label));
}

} // namespace imprint::hsm
