#pragma once

#include "Error.h"
#include "Secret.h"

#include <QByteArray>
#include <QString>

#include <memory>

namespace imprint::hsm {

/// Attributes of a private key as the token reports them.
struct KeyAttributes {
    bool sensitive = false;
    bool extractable = true;
    bool alwaysSensitive = false;
    bool neverExtractable = false;
    bool isPrivate = false;
};

/// Key types the station can make inside a token.
enum class KeyType { EcP256, EcP384, Rsa3072 };

/// One PKCS#11 module loaded through libp11, and the token on it that the station uses:
/// set-up, key generation and attribute reads. Signing goes through SigningService, which
/// takes the Token over. Ownership runs context -> module -> slot -> session/login, and is
/// released in reverse. One Token per module per process: two libp11 contexts on one
/// module invalidate each other's sessions.
class Token {
public:
    ~Token();
    Token(const Token&) = delete;
    Token& operator=(const Token&) = delete;

    /// Loads `modulePath` and finds the token labelled `label`.
    [[nodiscard]] static core::Result<std::unique_ptr<Token>> open(const QString& modulePath, const QString& label);

    /// Initialises the first uninitialised token (SoftHSM2 keeps a free slot) with
    /// `label`, a Security Officer PIN and a user PIN, and returns it opened.
    [[nodiscard]] static core::Result<std::unique_ptr<Token>> initialize(
        const QString& modulePath, const QString& label, const core::Secret& soPin, const core::Secret& userPin);

    /// User login. A refused PIN is reported once, with the token's PIN flags in plain
    /// words, and never retried here: tokens lock.
    [[nodiscard]] core::Result<void> login(const core::Secret& pin);

    /// Generates a key pair inside the token: the private key sensitive, private and never
    /// extractable; returns the public key (SubjectPublicKeyInfo DER).
    /// `fixedPublicKey`: the public key object can be neither modified nor destroyed.
    [[nodiscard]] core::Result<QByteArray> generateKey(
        const QString& label, const QByteArray& id, KeyType type, bool fixedPublicKey = false);

    [[nodiscard]] core::Result<KeyAttributes> keyAttributes(const QString& label) const;
    /// The public key labelled `label` (DER SubjectPublicKeyInfo); needs no login.
    [[nodiscard]] core::Result<QByteArray> publicKey(const QString& label) const;

    QString label() const;
    /// The token's PIN state in plain words (count low, final try, locked), or empty.
    QString pinState() const;

    /// Benchmark baseline: signs `count` SHA-256 digests with the key labelled `label` by
    /// raw C_SignInit/C_Sign on one session per thread, `threads` threads at once, and
    /// returns signatures per second.
    [[nodiscard]] core::Result<double> measureRawSignRate(const QString& label, int count, int threads = 1);

    struct Impl; ///< the libp11 context, module and slot (TokenImpl.h)
    const std::shared_ptr<Impl>& impl() const { return d; }

private:
    explicit Token(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> d;
};

} // namespace imprint::hsm
