#include "SigningService.h"

#include "TokenImpl.h"
#include "pki/Der.h"

#include <QHash>
#include <QLoggingCategory>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <optional>
#include <vector>

Q_DECLARE_LOGGING_CATEGORY(IMPRINT_HSM)

namespace imprint::hsm {

using core::ErrorCode;
using core::fail;
using core::Result;

namespace {

/// Return values after which the session, the login or the token itself cannot be trusted:
/// the token was pulled, the module lost its device, or someone closed our sessions.
bool tokenLost(CK_RV rv)
{
    switch (rv) {
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_MEMORY:
    case CKR_GENERAL_ERROR:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_KEY_HANDLE_INVALID:
    case CKR_OBJECT_HANDLE_INVALID: return true;
    default: return false;
    }
}

// DigestInfo prefix for SHA-256 (RFC 8017 9.2 note 1): CKM_RSA_PKCS signs what it is given.
constexpr unsigned char Sha256DigestInfo[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
    0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };

/// PKCS#11 returns ECDSA signatures as r || s (PKCS#11 2.40, 2.3.1); X.509 carries the
/// DER ECDSA-Sig-Value SEQUENCE { r INTEGER, s INTEGER } (RFC 5480 2.2.3 / RFC 3279 2.2.3).
QByteArray ecdsaSignatureDer(const unsigned char* raw, CK_ULONG len)
{
    auto integer = [](const unsigned char* p, CK_ULONG n) {
        while (n > 1 && *p == 0) {
            ++p;
            --n;
        }
        QByteArray v;
        if (*p & 0x80)
            v += '\0';
        v.append(reinterpret_cast<const char*>(p), static_cast<qsizetype>(n));
        return core::der::tlv(core::der::Integer, v);
    };
    const CK_ULONG half = len / 2;
    return core::der::tlv(core::der::Sequence, integer(raw, half) + integer(raw + half, half));
}

} // namespace

struct SigningService::Pool {
    explicit Pool(Token::Impl& t)
        : token(t)
    {
    }

    Token::Impl& token;
    mutable std::mutex mutex;
    std::vector<CK_SESSION_HANDLE> idle;
    quint64 generation = 0;
    bool connected = false;
    std::optional<core::Secret> pin;
    QHash<QByteArray, CK_OBJECT_HANDLE> keys;

    struct Lease {
        CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
        CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
        quint64 generation = 0;
    };

    std::unexpected<core::Error> unavailable(const char* function, CK_RV rv) const
    {
        return fail(ErrorCode::Hsm,
            QStringLiteral("The HSM token \"%1\" is not available; nothing was signed. Signing resumes when it "
                           "is back.")
                .arg(token.label),
            QStringLiteral("%1 returned %2").arg(QLatin1String(function), ckrName(rv)), QStringLiteral("token-lost"));
    }

    /// Forgets every session of `lostGeneration` (once, whichever thread notices first).
    void markLost(quint64 lostGeneration, const char* function, CK_RV rv)
    {
        std::lock_guard lock(mutex);
        markLostLocked(lostGeneration, function, rv);
    }

    /// markLost with the mutex held.
    void markLostLocked(quint64 lostGeneration, const char* function, CK_RV rv)
    {
        if (lostGeneration != generation)
            return;
        qCWarning(IMPRINT_HSM) << "token" << token.label << "lost:" << function << "returned" << ckrName(rv);
        ++generation;
        connected = false;
        keys.clear();
        // Sessions one by one, not C_CloseAllSessions: another thread may be inside C_Sign
        // on its leased session right now; that one is closed when it comes back.
        for (CK_SESSION_HANDLE s : idle)
            token.fn->C_CloseSession(s);
        idle.clear();
        if (token.anchor != CK_INVALID_HANDLE)
            token.fn->C_CloseSession(token.anchor);
        token.anchor = CK_INVALID_HANDLE;
    }

    /// Finds the token again and logs in with the kept PIN. Called with the mutex held.
    Result<void> reconnect()
    {
        auto slot = token.findSlot();
        if (!slot)
            return unavailable("C_GetSlotList", CKR_TOKEN_NOT_PRESENT);
        token.slot = *slot;
        if (token.anchor == CK_INVALID_HANDLE) {
            const CK_RV rv = token.fn->C_OpenSession(token.slot, CKF_SERIAL_SESSION, nullptr, nullptr, &token.anchor);
            if (rv != CKR_OK) {
                token.anchor = CK_INVALID_HANDLE;
                return unavailable("C_OpenSession", rv);
            }
        }
        if (!pin)
            return fail(ErrorCode::PinRejected,
                QStringLiteral("The HSM token \"%1\" needs its PIN: unlock the station.").arg(token.label));
        if (auto r = token.login(token.anchor, *pin); !r) {
            if (r.error().code == ErrorCode::PinRejected)
                pin.reset(); // never tried twice: tokens lock
            return r;
        }
        connected = true;
        if (generation > 0)
            qCInfo(IMPRINT_HSM) << "token" << token.label << "is back; signing resumes";
        return {};
    }

    Result<Lease> acquire(const QByteArray& label)
    {
        std::lock_guard lock(mutex);
        if (!connected) {
            if (auto r = reconnect(); !r)
                return std::unexpected(r.error());
        }
        Lease lease;
        lease.generation = generation;
        if (!idle.empty()) {
            lease.session = idle.back();
            idle.pop_back();
        } else {
            const CK_RV rv = token.fn->C_OpenSession(token.slot, CKF_SERIAL_SESSION, nullptr, nullptr, &lease.session);
            if (rv != CKR_OK) {
                if (tokenLost(rv) || rv == CKR_SLOT_ID_INVALID)
                    return unavailable("C_OpenSession", rv);
                return hsmFail("C_OpenSession", rv, QStringLiteral("A session with the token could not be opened."));
            }
        }
        if (auto it = keys.constFind(label); it != keys.cend()) {
            lease.key = *it;
        } else {
            auto key = token.findObject(lease.session, CKO_PRIVATE_KEY, label);
            if (!key) {
                idle.push_back(lease.session);
                return std::unexpected(key.error());
            }
            lease.key = keys[label] = *key;
        }
        return lease;
    }

    void release(const Lease& lease)
    {
        std::lock_guard lock(mutex);
        if (lease.generation == generation && connected)
            idle.push_back(lease.session);
        else
            token.fn->C_CloseSession(lease.session); // from before a loss: already invalid, or soon
    }
};

/// A Signer whose every call borrows a pooled session.
class PooledSigner final : public core::Signer {
public:
    PooledSigner(std::shared_ptr<SigningService> service, QByteArray label, bool rsa, QByteArray publicKey)
        : m_service(std::move(service))
        , m_label(std::move(label))
        , m_rsa(rsa)
        , m_public(std::move(publicKey))
    {
    }

    Result<QByteArray> signSha256(const QByteArray& data) override
    {
        unsigned char input[sizeof Sha256DigestInfo + SHA256_DIGEST_LENGTH];
        std::memcpy(input, Sha256DigestInfo, sizeof Sha256DigestInfo);
        unsigned char* digest = input + sizeof Sha256DigestInfo;
        SHA256(reinterpret_cast<const unsigned char*>(data.constData()), static_cast<size_t>(data.size()), digest);
        if (m_rsa)
            return sign(input, sizeof input);
        return sign(digest, SHA256_DIGEST_LENGTH);
    }

    Result<QByteArray> signDigest(const QByteArray& digest) override
    {
        if (m_rsa)
            return fail(ErrorCode::Hsm,
                QStringLiteral("The key \"%1\" is an RSA key; only an EC key signs for CMP and CMS here.")
                    .arg(QString::fromUtf8(m_label)));
        return sign(reinterpret_cast<const unsigned char*>(digest.constData()), static_cast<CK_ULONG>(digest.size()));
    }

    QByteArray publicKey() const override { return m_public; }

private:
    /// One C_Sign over `input` (a DigestInfo for RSA, a bare digest for ECDSA) on a pooled session.
    Result<QByteArray> sign(const unsigned char* input, CK_ULONG inputLen)
    {
        SigningService::Pool& pool = *m_service->m_pool;
        auto lease = pool.acquire(m_label);
        if (!lease)
            return std::unexpected(lease.error());
        CK_MECHANISM mech { m_rsa ? CKM_RSA_PKCS : CKM_ECDSA, nullptr, 0 };
        unsigned char sig[1024];
        CK_ULONG len = sizeof sig;
        const char* function = "C_SignInit";
        CK_RV rv = pool.token.fn->C_SignInit(lease->session, &mech, lease->key);
        if (rv == CKR_OK) {
            function = "C_Sign";
            rv = pool.token.fn->C_Sign(lease->session, const_cast<unsigned char*>(input), inputLen, sig, &len);
        }
        if (rv != CKR_OK) {
            if (tokenLost(rv)) {
                pool.markLost(lease->generation, function, rv);
                pool.release(*lease);
                return pool.unavailable(function, rv);
            }
            pool.release(*lease);
            return hsmFail(function, rv, QStringLiteral("The HSM did not sign."));
        }
        pool.release(*lease);
        if (m_rsa)
            return QByteArray(reinterpret_cast<const char*>(sig), static_cast<qsizetype>(len));
        return ecdsaSignatureDer(sig, len);
    }

    std::shared_ptr<SigningService> m_service;
    QByteArray m_label;
    bool m_rsa;
    QByteArray m_public;
};

SigningService::SigningService(std::unique_ptr<Token> token)
    : m_token(std::move(token))
    , m_pool(std::make_unique<Pool>(*m_token->impl()))
{
}

SigningService::~SigningService()
{
    std::lock_guard lock(m_pool->mutex);
    for (CK_SESSION_HANDLE s : m_pool->idle)
        m_pool->token.fn->C_CloseSession(s);
}

std::shared_ptr<SigningService> SigningService::create(std::unique_ptr<Token> token)
{
    return std::shared_ptr<SigningService>(new SigningService(std::move(token)));
}

Result<void> SigningService::unlock(const core::Secret& pin)
{
    std::lock_guard lock(m_pool->mutex);
    // Unlocked already: the PIN is compared with the one the token was opened with, never
    // put in its place (the token, logged in, would take any PIN, and the right one would
    // then be refused).
    if (m_pool->pin) {
        const core::Secret& kept = *m_pool->pin;
        if (kept.size() == pin.size() && CRYPTO_memcmp(kept.data(), pin.data(), static_cast<size_t>(pin.size())) == 0)
            return {};
        return fail(ErrorCode::PinRejected, QStringLiteral("That is not the token's PIN."),
            QStringLiteral("compared with the PIN the token is unlocked with"));
    }
    // Kept only once the token took it.
    m_pool->pin.emplace(pin.copy());
    if (auto r = m_pool->reconnect(); !r) {
        m_pool->pin.reset();
        return r;
    }
    return {};
}

core::Result<bool> SigningService::pinMatches(const core::Secret& pin)
{
    // Compared with the PIN the unlocked token was opened with: a guess never reaches
    // C_Login (each wrong one there costs one of the token's tries). A locked token is
    // unlocked by an act of its own (unlock()), never by a check.
    std::lock_guard lock(m_pool->mutex);
    if (!m_pool->pin)
        return fail(ErrorCode::Hsm,
            QStringLiteral("The HSM is locked: a PIN can only be tried by unlocking it, which costs a try at the "
                           "token when it is wrong."),
            {}, QStringLiteral("token-locked"));
    const core::Secret& kept = *m_pool->pin;
    return kept.size() == pin.size() && CRYPTO_memcmp(kept.data(), pin.data(), static_cast<size_t>(pin.size())) == 0;
}

QString SigningService::pinState() const
{
    std::lock_guard lock(m_pool->mutex);
    return m_pool->token.pinState();
}

void SigningService::lock()
{
    std::lock_guard lock(m_pool->mutex);
    Token::Impl& t = m_pool->token;
    if (t.anchor != CK_INVALID_HANDLE)
        t.fn->C_Logout(t.anchor);
    m_pool->pin.reset();
    m_pool->connected = false;
    ++m_pool->generation; // sessions out on loan are closed when they come back
    m_pool->keys.clear();
    for (CK_SESSION_HANDLE s : m_pool->idle)
        t.fn->C_CloseSession(s);
    m_pool->idle.clear();
}

bool SigningService::isAvailable() const
{
    std::lock_guard lock(m_pool->mutex);
    return m_pool->connected;
}

core::TokenStatus SigningService::health()
{
    std::lock_guard lock(m_pool->mutex);
    Token::Impl& t = m_pool->token;
    if (m_pool->connected && t.anchor != CK_INVALID_HANDLE) {
        CK_SESSION_INFO info {};
        const CK_RV rv = t.fn->C_GetSessionInfo(t.anchor, &info);
        if (rv == CKR_OK && (info.state == CKS_RO_USER_FUNCTIONS || info.state == CKS_RW_USER_FUNCTIONS))
            return core::TokenStatus { true, true, {} };
        m_pool->markLostLocked(m_pool->generation, "C_GetSessionInfo", rv == CKR_OK ? CKR_USER_NOT_LOGGED_IN : rv);
    }
    if (m_pool->pin) {
        if (auto r = m_pool->reconnect(); r)
            return core::TokenStatus { true, true, {} };
        else if (r.error().code == ErrorCode::PinRejected)
            return core::TokenStatus { true, false, r.error().message };
    }
    if (!t.findSlot())
        return core::TokenStatus { false, false,
            QStringLiteral("The HSM token \"%1\" is not there: plug it in (signing waits for it).").arg(t.label) };
    return core::TokenStatus { true, false,
        QStringLiteral("The HSM token \"%1\" is locked: unlock it (Admin, Unlock) to sign.").arg(t.label) };
}

Result<std::shared_ptr<core::Signer>> SigningService::signer(const QString& label)
{
    const QByteArray lbl = label.toUtf8();
    std::lock_guard lock(m_pool->mutex);
    Token::Impl& t = m_pool->token;
    RawSession session(t.fn, t.slot, false);
    if (session.rv() != CKR_OK)
        return hsmFail("C_OpenSession", session.rv(), QStringLiteral("A session with the token could not be opened."));
    auto priv = t.findObject(session.handle(), CKO_PRIVATE_KEY, lbl);
    if (!priv)
        return std::unexpected(priv.error());
    // The public half is the one with the private key's CKA_ID: a public key anyone wrote
    // to the token under the same label is not taken for it.
    auto pub = t.findObject(session.handle(), CKO_PUBLIC_KEY, lbl, t.objectId(session.handle(), *priv));
    if (!pub)
        return fail(ErrorCode::NotFound,
            QStringLiteral("The token holds no public key labelled \"%1\" next to the private one.").arg(label));
    auto spki = t.publicKeyInfo(session.handle(), *pub);
    if (!spki)
        return std::unexpected(spki.error());
    CK_KEY_TYPE type = CKK_EC;
    CK_ATTRIBUTE attr { CKA_KEY_TYPE, &type, sizeof type };
    if (const CK_RV rv = t.fn->C_GetAttributeValue(session.handle(), *priv, &attr, 1); rv != CKR_OK)
        return hsmFail("C_GetAttributeValue", rv, QStringLiteral("The key's type could not be read."));
    return std::shared_ptr<core::Signer>(
        std::make_shared<PooledSigner>(shared_from_this(), lbl, type == CKK_RSA, std::move(*spki)));
}

} // namespace imprint::hsm
