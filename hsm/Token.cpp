#include "Token.h"

#include <vector>

#include "TokenImpl.h"

#include "pki/OpenSsl.h"

#include <QElapsedTimer>
#include <QFile>
#include <QLoggingCategory>

#include <atomic>
#include <thread>

#include <openssl/core_names.h>
#include <openssl/param_build.h>

Q_LOGGING_CATEGORY(IMPRINT_HSM, "imprint.hsm", QtInfoMsg)

namespace imprint::hsm {

using core::Error;
using core::ErrorCode;
using core::fail;
using core::Result;

namespace {

Result<std::shared_ptr<Token::Impl>> loadModule(const QString& modulePath)
{
    auto impl = std::make_shared<Token::Impl>();
    impl->ctx = PKCS11_CTX_new();
    if (!impl->ctx)
        return fail(ErrorCode::Hsm, QStringLiteral("Could not start the PKCS#11 library."));
    const QByteArray path = QFile::encodeName(modulePath);
    if (PKCS11_CTX_load(impl->ctx, path.constData()) != 0) {
        // The module did not start (C_Initialize failed: a token directory that is not
        // there, a file that is not a PKCS#11 module): there is nothing to unload, and
        // libp11 crashes if asked to.
        QString why = core::ossl::drainErrors();
        return fail(ErrorCode::Hsm,
            QStringLiteral("The PKCS#11 module %1 could not be started: it is missing, not a PKCS#11 module, or its "
                           "configuration (for SoftHSM2, the softhsm2.conf of the data directory and the token "
                           "directory it names) is wrong.")
                .arg(modulePath),
            why);
    }
    impl->loaded = true;
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

Token::Impl::~Impl()
{
    if (anchor != CK_INVALID_HANDLE && fn)
        fn->C_CloseSession(anchor);
    if (slotList)
        PKCS11_release_all_slots(ctx, slotList, slotCount);
    if (ctx) {
        if (loaded)
            PKCS11_CTX_unload(ctx);
        PKCS11_CTX_free(ctx);
    }
    if (module)
        dlclose(module);
}

Result<void> Token::Impl::enumerate()
{
    if (slotList)
        PKCS11_release_all_slots(ctx, slotList, slotCount);
    slotList = nullptr;
    if (PKCS11_enumerate_slots(ctx, &slotList, &slotCount) != 0)
        return hsmFail("C_GetSlotList", lastLibp11Rv(), QStringLiteral("The HSM's slots could not be listed."));
    return {};
}

Result<void> Token::Impl::select(const QString& wanted)
{
    for (unsigned int i = 0; i < slotCount; ++i) {
        PKCS11_TOKEN* t = slotList[i].token;
        if (t && t->initialized && QString::fromUtf8(t->label).trimmed() == wanted) {
            slot = PKCS11_get_slotid_from_slot(&slotList[i]);
            label = wanted;
            return {};
        }
    }
    return fail(
        ErrorCode::NotFound, QStringLiteral("The HSM has no token labelled \"%1\"; is it plugged in?").arg(wanted));
}

Result<CK_SLOT_ID> Token::Impl::findSlot() const
{
    CK_ULONG count = 0;
    CK_RV rv = fn->C_GetSlotList(CK_TRUE, nullptr, &count);
    std::vector<CK_SLOT_ID> ids(count);
    if (rv == CKR_OK && count > 0)
        rv = fn->C_GetSlotList(CK_TRUE, ids.data(), &count);
    if (rv != CKR_OK)
        return hsmFail("C_GetSlotList", rv, QStringLiteral("The HSM's slots could not be listed."));
    ids.resize(count);
    for (CK_SLOT_ID id : ids) {
        CK_TOKEN_INFO info {};
        if (fn->C_GetTokenInfo(id, &info) != CKR_OK)
            continue;
        // Blank-padded by the standard; some writers (libp11's C_InitToken) pad with NULs.
        const auto* raw = reinterpret_cast<const char*>(info.label);
        const QString l = QString::fromUtf8(raw, static_cast<qsizetype>(qstrnlen(raw, sizeof info.label))).trimmed();
        if (l == label)
            return id;
    }
    return fail(ErrorCode::Hsm, QStringLiteral("The token \"%1\" is not present.").arg(label),
        QStringLiteral("C_GetSlotList lists no slot with this token"));
}

QString Token::Impl::pinState() const
{
    CK_TOKEN_INFO info {};
    if (!fn || fn->C_GetTokenInfo(slot, &info) != CKR_OK)
        return {};
    if (info.flags & CKF_USER_PIN_LOCKED)
        return QStringLiteral("The user PIN is now locked: a Security Officer must unblock it.");
    if (info.flags & CKF_USER_PIN_FINAL_TRY)
        return QStringLiteral("The token says one try is left: one more wrong PIN locks it.");
    // PKCS#11: COUNT_LOW is "a wrong PIN since the last right one"; no token says how many tries remain.
    if (info.flags & CKF_USER_PIN_COUNT_LOW)
        return QStringLiteral("A wrong PIN was entered since the last right one; the token does not say how many "
                              "tries are left before it locks.");
    return {};
}

Result<CK_OBJECT_HANDLE> Token::Impl::findObject(
    CK_SESSION_HANDLE session, CK_OBJECT_CLASS cls, const QByteArray& objectLabel, const QByteArray& id) const
{
    std::vector<CK_ATTRIBUTE> tmpl {
        { CKA_CLASS, &cls, sizeof cls },
        { CKA_LABEL, const_cast<char*>(objectLabel.constData()), static_cast<CK_ULONG>(objectLabel.size()) },
    };
    if (!id.isEmpty())
        tmpl.push_back({ CKA_ID, const_cast<char*>(id.constData()), static_cast<CK_ULONG>(id.size()) });
    CK_RV rv = fn->C_FindObjectsInit(session, tmpl.data(), static_cast<CK_ULONG>(tmpl.size()));
    if (rv != CKR_OK)
        return hsmFail("C_FindObjectsInit", rv, QStringLiteral("The token could not be searched."));
    // Two asked for: a label names one key. A second object under it (a public key anyone
    // may write to the token without logging in) is refused, never used in its place.
    CK_OBJECT_HANDLE handles[2] = { 0, 0 };
    CK_ULONG count = 0;
    rv = fn->C_FindObjects(session, handles, 2, &count);
    fn->C_FindObjectsFinal(session);
    if (rv != CKR_OK)
        return hsmFail("C_FindObjects", rv, QStringLiteral("The token could not be searched."));
    if (count == 0)
        return fail(ErrorCode::NotFound,
            QStringLiteral("The token holds no key labelled \"%1\".").arg(QString::fromUtf8(objectLabel)));
    if (count > 1)
        return fail(ErrorCode::Hsm,
            QStringLiteral("The token holds more than one %1 labelled \"%2\": one was added to it besides the "
                           "station's own. The station uses neither. A PKI admin must remove the one that does not "
                           "belong (pkcs11-tool --list-objects shows them).")
                .arg(cls == CKO_PUBLIC_KEY ? QStringLiteral("public key") : QStringLiteral("key"),
                    QString::fromUtf8(objectLabel)),
            QStringLiteral("C_FindObjects found several objects with this class and label"));
    return handles[0];
}

QByteArray Token::Impl::objectId(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object) const
{
    CK_ATTRIBUTE a { CKA_ID, nullptr, 0 };
    if (fn->C_GetAttributeValue(session, object, &a, 1) != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
        return {};
    QByteArray id(static_cast<qsizetype>(a.ulValueLen), '\0');
    a.pValue = id.data();
    if (fn->C_GetAttributeValue(session, object, &a, 1) != CKR_OK)
        return {};
    return id;
}

Result<void> Token::Impl::login(CK_SESSION_HANDLE session, const core::Secret& pin) const
{
    const CK_RV rv = fn->C_Login(session, CKU_USER, reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(pin.data())),
        static_cast<CK_ULONG>(pin.size()));
    if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
        return {};
    const QString state = pinState();
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

Result<QByteArray> Token::Impl::publicKeyInfo(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE publicKey) const
{
    auto readAttr = [&](CK_ATTRIBUTE_TYPE t) -> Result<QByteArray> {
        CK_ATTRIBUTE a { t, nullptr, 0 };
        CK_RV r = fn->C_GetAttributeValue(session, publicKey, &a, 1);
        if (r != CKR_OK)
            return hsmFail("C_GetAttributeValue", r, QStringLiteral("The public key could not be read."));
        QByteArray v(static_cast<qsizetype>(a.ulValueLen), Qt::Uninitialized);
        a.pValue = v.data();
        r = fn->C_GetAttributeValue(session, publicKey, &a, 1);
        if (r != CKR_OK)
            return hsmFail("C_GetAttributeValue", r, QStringLiteral("The public key could not be read."));
        return v;
    };
    CK_KEY_TYPE keyType = 0;
    CK_ATTRIBUTE typeAttr { CKA_KEY_TYPE, &keyType, sizeof keyType };
    if (const CK_RV rv = fn->C_GetAttributeValue(session, publicKey, &typeAttr, 1); rv != CKR_OK)
        return hsmFail("C_GetAttributeValue", rv, QStringLiteral("The public key could not be read."));

    std::unique_ptr<OSSL_PARAM_BLD, core::ossl::Deleter<OSSL_PARAM_BLD_free>> bld { OSSL_PARAM_BLD_new() };
    core::ossl::BigNum n, e;
    QByteArray point;
    const bool rsa = keyType == CKK_RSA;
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
    } else if (keyType == CKK_EC) {
        auto params = readAttr(CKA_EC_PARAMS);
        auto ecPoint = readAttr(CKA_EC_POINT);
        if (!params)
            return std::unexpected(params.error());
        if (!ecPoint)
            return std::unexpected(ecPoint.error());
        const char* group = *params == P256Oid ? "prime256v1" : *params == P384Oid ? "secp384r1" : nullptr;
        if (!group)
            return fail(ErrorCode::Hsm, QStringLiteral("The token key is on a curve the station does not use."));
        // CKA_EC_POINT is the DER OCTET STRING holding the point (PKCS#11 2.40, 2.3.3).
        const auto* p = reinterpret_cast<const unsigned char*>(ecPoint->constData());
        core::ossl::OctetString os { d2i_ASN1_OCTET_STRING(nullptr, &p, ecPoint->size()) };
        if (!os)
            return core::ossl::cryptoFail(QStringLiteral("The token returned a malformed EC point."));
        point
            = QByteArray(reinterpret_cast<const char*>(ASN1_STRING_get0_data(os.get())), ASN1_STRING_length(os.get()));
        OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
        OSSL_PARAM_BLD_push_octet_string(
            bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.constData(), static_cast<size_t>(point.size()));
    } else {
        return fail(ErrorCode::Hsm, QStringLiteral("The token key is neither EC nor RSA."));
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

namespace {

/// Opens the session that holds the login for as long as the Token lives.
Result<void> openAnchor(Token::Impl& impl)
{
    const CK_RV rv = impl.fn->C_OpenSession(impl.slot, CKF_SERIAL_SESSION, nullptr, nullptr, &impl.anchor);
    if (rv != CKR_OK) {
        impl.anchor = CK_INVALID_HANDLE;
        return hsmFail("C_OpenSession", rv, QStringLiteral("A session with the token could not be opened."));
    }
    return {};
}

} // namespace

Token::Token(std::shared_ptr<Impl> impl)
    : d(std::move(impl))
{
}

Token::~Token() = default;

QString Token::label() const
{
    return d->label;
}

QString Token::pinState() const
{
    std::lock_guard lock(d->mutex);
    return d->pinState();
}

Result<std::unique_ptr<Token>> Token::open(const QString& modulePath, const QString& label)
{
    auto impl = loadModule(modulePath);
    if (!impl)
        return std::unexpected(impl.error());
    if (auto r = (*impl)->select(label); !r)
        return std::unexpected(r.error());
    if (auto r = openAnchor(**impl); !r)
        return std::unexpected(r.error());
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
    // A token label is a 32-byte field padded with blanks (PKCS#11 2.40, C_InitToken): the
    // module reads all 32 bytes, whatever the string's length. Checked before the PINs are
    // copied: every way out after the copies cleanses them.
    const QByteArray utf8 = label.toUtf8();
    if (utf8.size() > 32)
        return fail(ErrorCode::BadInput, QStringLiteral("A token label is at most 32 bytes: \"%1\".").arg(label));
    const QByteArray lbl = utf8.leftJustified(32, ' ');
    const std::string so(soPin.data(), static_cast<size_t>(soPin.size()));
    const std::string user(userPin.data(), static_cast<size_t>(userPin.size()));
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
    PKCS11_SLOT* initialised = nullptr;
    for (unsigned int i = 0; i < impl->slotCount; ++i) {
        if (PKCS11_get_slotid_from_slot(&impl->slotList[i]) == impl->slot)
            initialised = &impl->slotList[i];
    }
    if (!initialised || PKCS11_open_session(initialised, 1) != 0 || PKCS11_login(initialised, 1, so.c_str()) != 0) {
        cleanup();
        return hsmFail("C_Login", lastLibp11Rv(), QStringLiteral("The Security Officer login failed."));
    }
    const int initPin = PKCS11_init_pin(initialised->token, user.c_str());
    cleanup();
    PKCS11_logout(initialised);
    if (initPin != 0)
        return hsmFail("C_InitPIN", lastLibp11Rv(), QStringLiteral("The user PIN could not be set."));
    if (auto r = openAnchor(*impl); !r)
        return std::unexpected(r.error());
    return std::unique_ptr<Token>(new Token(std::move(impl)));
}

Result<void> Token::login(const core::Secret& pin)
{
    std::lock_guard lock(d->mutex);
    return d->login(d->anchor, pin);
}

Result<QByteArray> Token::generateKey(const QString& label, const QByteArray& id, KeyType type, bool fixedPublicKey)
{
    std::lock_guard lock(d->mutex);
    RawSession session(d->fn, d->slot, true);
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
    if (fixedPublicKey) {
        // Anyone may touch a token's public objects without logging in: a public key that
        // checks signatures (the audit key's) can be neither changed nor destroyed.
        pub.push_back({ CKA_MODIFIABLE, &no, sizeof no });
        pub.push_back({ CKA_DESTROYABLE, &no, sizeof no });
    }
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

    return d->publicKeyInfo(session.handle(), pubHandle);
}

Result<QByteArray> Token::publicKey(const QString& label) const
{
    std::lock_guard lock(d->mutex);
    RawSession session(d->fn, d->slot, false);
    if (session.rv() != CKR_OK)
        return hsmFail("C_OpenSession", session.rv(), QStringLiteral("A session with the token could not be opened."));
    auto handle = d->findObject(session.handle(), CKO_PUBLIC_KEY, label.toUtf8());
    if (!handle)
        return std::unexpected(handle.error());
    return d->publicKeyInfo(session.handle(), *handle);
}

Result<KeyAttributes> Token::keyAttributes(const QString& label) const
{
    std::lock_guard lock(d->mutex);
    RawSession session(d->fn, d->slot, false);
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

Result<double> Token::measureRawSignRate(const QString& label, int count, int threads)
{
    threads = std::max(1, threads);
    std::vector<std::unique_ptr<RawSession>> sessions;
    std::vector<CK_OBJECT_HANDLE> keys;
    CK_MECHANISM mech { CKM_ECDSA, nullptr, 0 };
    {
        std::lock_guard lock(d->mutex);
        for (int t = 0; t < threads; ++t) {
            sessions.push_back(std::make_unique<RawSession>(d->fn, d->slot, false));
            if (sessions.back()->rv() != CKR_OK)
                return hsmFail("C_OpenSession", sessions.back()->rv(),
                    QStringLiteral("A session with the token could not be opened."));
            auto key = d->findObject(sessions.back()->handle(), CKO_PRIVATE_KEY, label.toUtf8());
            if (!key)
                return std::unexpected(key.error());
            keys.push_back(*key);
        }
        CK_KEY_TYPE type = CKK_EC;
        CK_ATTRIBUTE attr { CKA_KEY_TYPE, &type, sizeof type };
        d->fn->C_GetAttributeValue(sessions.front()->handle(), keys.front(), &attr, 1);
        if (type == CKK_RSA)
            mech.mechanism = CKM_RSA_PKCS;
    }
    std::atomic<CK_RV> failure { CKR_OK };
    auto work = [&](int t) {
        // An RSA PKCS#1 signature takes a DigestInfo; ECDSA takes the bare digest.
        CK_BYTE input[51] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
            0x05, 0x00, 0x04, 0x20 };
        const bool rsa = mech.mechanism == CKM_RSA_PKCS;
        CK_BYTE sig[1024];
        for (int i = t; i < count; i += threads) {
            input[19] = static_cast<CK_BYTE>(i);
            CK_ULONG len = sizeof sig;
            CK_MECHANISM m = mech;
            CK_RV rv = d->fn->C_SignInit(sessions[static_cast<size_t>(t)]->handle(), &m, keys[static_cast<size_t>(t)]);
            if (rv == CKR_OK)
                rv = d->fn->C_Sign(
                    sessions[static_cast<size_t>(t)]->handle(), rsa ? input : input + 19, rsa ? 51 : 32, sig, &len);
            if (rv != CKR_OK) {
                failure = rv;
                return;
            }
        }
    };
    QElapsedTimer timer;
    timer.start();
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t)
        pool.emplace_back(work, t);
    work(0);
    for (auto& th : pool)
        th.join();
    const double elapsed = static_cast<double>(timer.nsecsElapsed()) / 1e9;
    if (failure != CKR_OK)
        return hsmFail("C_Sign", failure, QStringLiteral("The token did not sign."));
    return count / elapsed;
}

} // namespace imprint::hsm
