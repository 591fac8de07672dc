#pragma once

#include "DataDir.h"
#include "Error.h"
#include "Pkcs11Uri.h"
#include "Token.h"
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

/// Sets up a fresh data directory on the embedded SoftHSM2: its own softhsm2.conf and
/// token, random PINs in owner-only files, the issuing CA key generated inside the token,
/// and a demo root (its key exists only in memory, for this one signature) that certifies it.
[[nodiscard]] core::Result<void> initDemoStation(const core::DataDir& dir, const InitOptions& options);

/// The token that holds the issuing CA key, logged in, and the key's URI.
struct CaToken {
    std::unique_ptr<Token> token;
    Pkcs11Uri keyUri;
};

/// Opens the token named in the station's settings and logs in from its pin-source.
[[nodiscard]] core::Result<CaToken> openCaToken(const core::StationConfig& config);

/// Opens the token named in the station's settings, logs in from its pin-source, and
/// returns the issuing CA key as a Signer.
[[nodiscard]] core::Result<std::shared_ptr<core::Signer>> openCaSigner(const core::StationConfig& config);

/// Points SoftHSM2 at the data directory's configuration (before the module is loaded).
void useSoftHsmConfig(const QString& confPath);

} // namespace imprint::hsm
