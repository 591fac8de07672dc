#pragma once

#include "TokenStatus.h"

#include "Error.h"
#include "Secret.h"
#include "Token.h"
#include "pki/Signer.h"

#include <QString>

#include <memory>

namespace imprint::hsm {

/// Signs with the keys of one token for any number of threads at once. It owns the Token
/// and its PKCS#11 sessions: a pool with one session per concurrent caller, under one
/// login. When the module reports the token gone (removed, a dead session, a device error),
/// every call fails at once with ErrorCode::Hsm and a plain message naming the PKCS#11
/// function and CKR code; the next call after that looks for the token again and, once it
/// is back, logs in with the PIN it was unlocked with and carries on. A PIN the token
/// refuses is never tried again: the service then waits to be unlocked by a person.
class SigningService : public std::enable_shared_from_this<SigningService> {
public:
    ~SigningService();
    SigningService(const SigningService&) = delete;
    SigningService& operator=(const SigningService&) = delete;

    [[nodiscard]] static std::shared_ptr<SigningService> create(std::unique_ptr<Token> token);

    /// Logs in. The PIN is kept (in a buffer cleansed on destruction) only to log in again
    /// after the token comes back.
    [[nodiscard]] core::Result<void> unlock(const core::Secret& pin);

    /// Whether `pin` is the token's PIN: compared with the one the service was unlocked with
    /// (which the token accepted). Never reaches the token: when the service is locked it is
    /// an error (reason token-locked); unlocking is an act of its own (unlock()).
    [[nodiscard]] core::Result<bool> pinMatches(const core::Secret& pin);
    /// The token's PIN counters in plain words (count low, final try, locked), or empty.
    [[nodiscard]] QString pinState() const;

    /// Logs out and forgets the PIN (end of shift): every call then fails until unlock().
    void lock();

    /// A Signer over the private key labelled `label`, usable from any thread.
    [[nodiscard]] core::Result<std::shared_ptr<core::Signer>> signer(const QString& label);

    /// The token, for administrative calls (key generation, attribute reads).
    Token& token() { return *m_token; }

    /// False between the token disappearing and the next successful reconnect.
    [[nodiscard]] bool isAvailable() const;

    /// Looks at the token now (a session query, no signature): a token found gone is marked
    /// lost, one that is back is logged in again with the kept PIN. Any thread.
    [[nodiscard]] core::TokenStatus health();

    struct Pool; ///< sessions, login state, key handles (SigningService.cpp)

private:
    explicit SigningService(std::unique_ptr<Token> token);
    friend class PooledSigner;

    std::unique_ptr<Token> m_token;
    std::unique_ptr<Pool> m_pool;
};

} // namespace imprint::hsm
