#pragma once

#include "DataDir.h"
#include "Error.h"
#include "engine/Station.h"
#include "pki/Signer.h"

#include <memory>

namespace imprint::app {

/// Everything the executables wire together for a working station: the data directory,
/// its settings, the logged-in CA key and the CA chain.
struct StationContext {
    core::DataDir dir { QString() };
    core::StationConfig config;
    std::shared_ptr<core::Signer> caSigner;
    QList<QByteArray> chain;

    /// Subject of the issuing CA, for screens.
    QString caSubject() const;
    /// Builds the Registrar (store, CA, profile) on the engine's thread.
    core::Station::RegistrarFactory registrarFactory() const;
};

/// Opens an initialised data directory and unlocks the CA key from its pin-source.
[[nodiscard]] core::Result<StationContext> openStation(const QString& dataDir);

} // namespace imprint::app
