#pragma once

// Internals shared by Token and SigningService: the loaded module, its raw function list,
// and PKCS#11 error naming. Not part of the hsm library's interface.

#include "Token.h"

#include <QString>

#include "Error.h"
#include "Secret.h"

#include <libp11.h>
#include <p11-kit/pkcs11.h>

#include <openssl/err.h>

#include <dlfcn.h>

#include <mutex>

namespace imprint::hsm {

using core::Result;

inline QString ckrName(CK_RV rv)
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

inline std::unexpected<core::Error> hsmFail(const char* function, CK_RV rv, QString message)
{
    return core::fail(core::ErrorCode::Hsm, std::move(message),
        QStringLiteral("%1 returned %2").arg(QLatin1String(function), ckrName(rv)));
}

// libp11 reports PKCS#11 return values as the reason of its OpenSSL errors.
inline CK_RV lastLibp11Rv()
{
    const unsigned long e = ERR_peek_last_error();
    return e == 0 ? CKR_GENERAL_ERROR : static_cast<CK_RV>(ERR_GET_REASON(e));
}

// DER OIDs of the named curves (RFC 5480 2.1.1.1), as CKA_EC_PARAMS takes them.
inline const QByteArray P256Oid = QByteArray::fromHex("06082a8648ce3d030107");
inline const QByteArray P384Oid = QByteArray::fromHex("06052b81040022");

struct Token::Impl {
    PKCS11_CTX* ctx = nullptr;
    bool loaded = false; ///< PKCS11_CTX_load succeeded: only then may the context be unloaded
    PKCS11_SLOT* slotList = nullptr;
    unsigned int slotCount = 0;
    void* module = nullptr;
    CK_FUNCTION_LIST_PTR fn = nullptr;
    QString label; ///< the token's label: how it is found again after a replug
    CK_SLOT_ID slot = 0;
    /// A session kept open for the login: PKCS#11 logs an application out when its last
    /// session closes (PKCS#11 2.40, 5.6).
    CK_SESSION_HANDLE anchor = CK_INVALID_HANDLE;
    std::mutex mutex; ///< serialises Token's own calls (SigningService has its own pool)

    ~Impl();

    /// Lists the slots through libp11.
    [[nodiscard]] Result<void> enumerate();
    /// Picks the initialised token labelled `label` from the libp11 slot list.
    [[nodiscard]] Result<void> select(const QString& label);
    /// Finds the token by label among the slots that have one present, straight from the
    /// module: what a reconnect uses, since libp11's slot list is stale after a replug.
    [[nodiscard]] Result<CK_SLOT_ID> findSlot() const;
    /// Plain words for the token's PIN state (count low, final try, locked), read fresh.
    [[nodiscard]] QString pinState() const;
    /// The one object of this class and label (and CKA_ID, when given); two are refused.
    [[nodiscard]] Result<CK_OBJECT_HANDLE> findObject(
        CK_SESSION_HANDLE session, CK_OBJECT_CLASS cls, const QByteArray& label, const QByteArray& id = {}) const;
    /// An object's CKA_ID (empty when it has none).
    [[nodiscard]] QByteArray objectId(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object) const;
    /// The DER SubjectPublicKeyInfo of a public key object (EC or RSA).
    [[nodiscard]] Result<QByteArray> publicKeyInfo(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE publicKey) const;
    /// C_Login as the user on `session`; refusals in plain words with the PIN flags.
    [[nodiscard]] Result<void> login(CK_SESSION_HANDLE session, const core::Secret& pin) const;
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

} // namespace imprint::hsm
