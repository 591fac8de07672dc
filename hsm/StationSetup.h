#pragma once

#include "DataDir.h"
#include "Error.h"
#include "PinPrompt.h"
#include "Pkcs11Uri.h"
#include "SigningService.h"
#include "Token.h"
#include "pki/CertificateBuilder.h"
#include "pki/Signer.h"

#include <memory>

namespace imprint::hsm {

struct InitOptions {
    QString modulePath; ///< PKCS#11 module with a free token (SoftHSM2)
    QString tokenLabel = QStringLiteral("Imprint");
    QString keyLabel = QStringLiteral("imprint-issuing-ca");
    KeyType keyType = KeyType::EcP256;
    QString stationName;
};

/// The station's CA key: the signing service over its token, unlocked, and the key's URI.
struct CaKey {
    std::shared_ptr<SigningService> service;
    Pkcs11Uri keyUri;
    /// The audit key once openAuditKey opened it: kept here while the token is, since the
    /// audit log only borrows it to seal (AuditLog::sealWith).
    std::shared_ptr<core::Signer> auditKey;

    /// The CA key as a Signer, usable from any thread.
    [[nodiscard]] core::Result<std::shared_ptr<core::Signer>> signer() const;
};

/// Sets up a fresh data directory on the embedded SoftHSM2 with the same steps an
/// administrator takes on a real HSM: its own softhsm2.conf and token, random PINs in
/// owner-only files, `ca keygen`, `ca csr`, the request signed by a demo root (its key
/// exists only in memory, for this one signature), and `ca import`.
[[nodiscard]] core::Result<void> initDemoStation(const core::DataDir& dir, const InitOptions& options);

/// Opens the token named in the station's settings and unlocks it: from the key URI's
/// pin-source when it names one, else by asking `prompt` once (nullptr: no one to ask).
[[nodiscard]] core::Result<CaKey> openCaKey(const core::StationConfig& config, core::PinPrompt* prompt = nullptr);

/// `ca keygen`: a new CA key inside the token (sensitive, private, never extractable,
/// sign-only) labelled `label`; the settings then name it. Refuses a label already in use.
/// Returns the public key (DER SubjectPublicKeyInfo).
[[nodiscard]] core::Result<QByteArray> generateCaKey(
    const core::DataDir& dir, CaKey& ca, const QString& label, KeyType type);

/// `ca csr`: a certificate request for the CA key, signed inside the token.
[[nodiscard]] core::Result<QByteArray> makeCaRequest(const CaKey& ca, const QList<core::NameEntry>& subject);

/// `ca import`: installs the CA certificate and its chain once checkIssuingCaChain accepts
/// them; on refusal nothing changes.
[[nodiscard]] core::Result<QList<QByteArray>> importCaCertificate(
    const core::DataDir& dir, const CaKey& ca, const QByteArray& caCert, const QList<QByteArray>& chain);

/// The label of the audit key: it signs the audit log's checkpoints, nothing else.
inline const QString AuditKeyLabel = QStringLiteral("imprint-audit");

/// The audit key in the station's token as a Signer; made (EC P-256, inside the token, never
/// extractable) the first time a station runs without one. `created` tells whether it was.
/// Its public key must be its own (a signature is checked) and the one pinned in
/// station.ini ([audit] key-sha256; pinned here when there is none yet). From then on the
/// process seals the audit log with it (AuditLog::sealWith).
[[nodiscard]] core::Result<std::shared_ptr<core::Signer>> openAuditKey(
    CaKey& ca, const core::DataDir& dir, core::StationConfig& config, bool* created = nullptr);

/// The audit key's public key, read from the token without logging in (for audit verify):
/// the one object with its label, and the one pinned in station.ini; else an error.
[[nodiscard]] core::Result<QByteArray> readAuditPublicKey(const core::StationConfig& config);
/// The public halves of the audit keys rotated out ([audit] retired-keys), from the token.
/// Which checkpoints each may have signed the log itself says (AuditLog::verify).
[[nodiscard]] core::Result<QList<QByteArray>> readRetiredAuditKeys(const core::StationConfig& config);

/// The RA key's default label: it signs every CMP message to the upstream, nothing else.
inline const QString RaKeyLabel = QStringLiteral("imprint-ra");

/// `ra keygen`: the RA key inside the CA's token (EC P-256 or P-384: sensitive, private,
/// never extractable, sign-only); [upstream] ra-key then names it. Refuses a label in use.
/// Returns the public key (DER SubjectPublicKeyInfo).
[[nodiscard]] core::Result<QByteArray> generateRaKey(
    const core::DataDir& dir, CaKey& ca, const QString& label, KeyType type);

/// The RA key named in the settings, as a Signer.
[[nodiscard]] core::Result<std::shared_ptr<core::Signer>> openRaKey(const CaKey& ca, const core::StationConfig& config);

/// A certificate request for a key in the token, signed inside it (`ca csr`, `ra csr`).
[[nodiscard]] core::Result<QByteArray> makeKeyRequest(core::Signer& key, const QList<core::NameEntry>& subject);

/// `ra import`: installs the RA certificate and its issuers once they pass the checks:
/// the certificate is for the RA key in the token, is not a CA, and verifies strictly to a
/// root among `chain`; on refusal nothing changes. Returns the chain, RA certificate first.
[[nodiscard]] core::Result<QList<QByteArray>> importRaCertificate(const core::DataDir& dir, const CaKey& ca,
    const core::StationConfig& config, const QByteArray& raCert, const QList<QByteArray>& chain);

/// Points SoftHSM2 at the data directory's configuration (before the module is loaded).
void useSoftHsmConfig(const QString& confPath);

} // namespace imprint::hsm
