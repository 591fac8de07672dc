#pragma once

#include "DataDir.h"
#include "Error.h"
#include "plant/PlantDatabase.h"
#include "store/RecordStore.h"

#include <atomic>
#include <functional>
#include <optional>

namespace imprint::core {

/// What a push did: changes new in the plant record, ones it had already (a push repeated
/// after a cut), ones flagged (another payload under the same key), and what is left.
struct PlantRound {
    qint64 pushed = 0;
    qint64 again = 0;
    qint64 flagged = 0;
    qint64 backlog = 0;
    QString leaseHolder; ///< not empty: another process pushes; this one did nothing
};

/// The plant connector: the station's queue of changes (PlantLog) into the plant database,
/// in order, a batch per transaction there, each batch taken off the queue only after the
/// plant committed it (a cut in between sends it again; the plant keeps it once). Runs on
/// its own thread and store connection; the line never waits for it. One process at a time
/// (the "plant-push" lease).
class PlantPush {
public:
    /// `password`: the station role's (from [plant] password-file); `chainPem`: the CA chain
    /// the station issues under, recorded in the plant so that QA anywhere verifies its
    /// certificates.
    PlantPush(RecordStore& store, PlantConfig config, QString stationId, Secret password, QByteArray chainPem);
    ~PlantPush();

    /// Pushes until the queue is empty (or `stop()`), reporting (done, total) after each batch.
    [[nodiscard]] Result<PlantRound> drain(const std::function<void(qint64, qint64)>& progress = {});
    void stop() { m_stop = true; }
    /// Gives the lease back (the process is stopping).
    void release();

    static const QString LeaseName;

private:
    Result<void> connect();

    RecordStore& m_store;
    PlantConfig m_config;
    QString m_stationId;
    Secret m_password;
    QByteArray m_chainPem;
    QString m_holder;
    std::optional<pg::Connection> m_db;
    bool m_chainSent = false;
    std::atomic<bool> m_stop { false };
};

/// Reads the station role's password from [plant] password-file (0600, its owner's).
[[nodiscard]] Result<Secret> readPlantPassword(const PlantConfig& config);
/// Opens a connection to the plant database with the station's settings.
[[nodiscard]] Result<pg::Connection> openPlant(const PlantConfig& config);

} // namespace imprint::core
