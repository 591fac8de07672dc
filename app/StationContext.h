#pragma once

#include "DataDir.h"
#include "Error.h"
#include "PinPrompt.h"
#include "StationSetup.h"
#include "engine/Backoffice.h"
#include "engine/Station.h"
#include "pki/CertificateProfile.h"
#include "pki/Signer.h"
#include "store/RecordStore.h"

#include <memory>

namespace imprint::app {

/// Everything the executables wire together for a working station: the data directory,
/// its settings, the unlocked CA key, the CA chain and the certificate profile.
struct StationContext {
    core::DataDir dir { QString() };
    core::StationConfig config;
    hsm::CaKey caKey;
    std::shared_ptr<core::Signer> caSigner;
    std::shared_ptr<core::Signer> auditSigner; ///< signs the audit log's checkpoints
    QList<QByteArray> chain;
    core::CertificateProfile profile;
    QString lot; ///< the lot (work order) being made, or empty

    /// Subject of the issuing CA, for screens.
    QString caSubject() const;
    /// Builds the Registrar (store, CA, profile) on the engine's thread.
    core::Station::RegistrarFactory registrarFactory() const;
    /// What the window's back office needs of the HSM and the upstream, from this station.
    core::Backoffice::Wiring backofficeWiring() const;
};

/// Opens an initialised data directory and unlocks the CA key: from its pin-source, else
/// by asking `prompt`. `profile` is a profile name or file ("idevid" when empty); a `lot`
/// (made with `imprintctl lot create`) brings its own profile.
[[nodiscard]] core::Result<StationContext> openStation(
    const QString& dataDir, core::PinPrompt* prompt = nullptr, const QString& profile = {}, const QString& lot = {});

/// Whether the record store in `dir` is this station's: a store that another station
/// recorded on (its station id is not station.ini's) is refused in plain words. With
/// `claim` (a station starting to work), a station without an id gets one, in station.ini
/// and in the store; without it nothing is written, and a store that cannot be opened is
/// left for the caller to report.
[[nodiscard]] core::Result<void> checkStoreIdentity(const core::DataDir& dir, core::StationConfig& config, bool claim);

/// The data directory's record store (`config` is its station.ini, as read already),
/// refused when it is another station's: the way a command opens the store.
[[nodiscard]] core::Result<core::RecordStore> openStationStore(
    const core::DataDir& dir, const core::StationConfig& config, bool readOnly = false);

} // namespace imprint::app
