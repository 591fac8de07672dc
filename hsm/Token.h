#pragma once

#include "Error.h"
#include "Secret.h"
#include "pki/Signer.h"

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

/// One PKCS#11 module loaded through libp11, and the token on it that the station uses.
/// Ownership runs context -> module -> slots -> session/login, and is released in reverse.
/// Not thread-safe itself: the signing service serialises access.
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

    /// User login. A refused PIN is reported once and never retried here: tokens lock.
    [[nodiscard]] core::Result<void> login(const core::Secret& pin);

    /// Generates a key pair inside the token: the private key sensitive, private and never
    /// extractable; returns the public key (SubjectPublicKeyInfo DER).
    [[nodiscard]] core::Result<QByteArray> generateKey(const QString& label, const QByteArray& id, KeyType type);

    [[nodiscard]] core::Result<KeyAttributes> keyAttributes(const QString& label) const;

    /// A signer over the private key labelled `label` (the token must be logged in).
    [[nodiscard]] core::Result<std::shared_ptr<core::Signer>> signer(const QString& label);

    QString label() const;

    /// Benchmark baseline: signs `count` SHA-256 digests with the key labelled `label` by
    /// raw C_SignInit/C_Sign on one session, and returns signatures per second.
    [[nodiscard]] core::Result<double> measureRawSignRate(const QString& label, int count);

    struct Impl; ///< the libp11 context, module and slot; shared with the signers made from it

private:
    explicit Token(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> d;
};

} // namespace imprint::hsm
