#pragma once

#include "DataDir.h"
#include "Error.h"
#include "plant/PlantPush.h"

#include <QObject>
#include <QThread>

#include <memory>

namespace imprint::app {

/// The station's push to the plant record: PlantPush on a thread of its own (never the
/// line's), on a store connection of its own, every [plant] push-every-s and when devices
/// pass; after a failed push it waits, doubling up to [plant] retry-max-s (with jitter),
/// so a plant database that is down, restarted or full only delays it.
class PlantWorker : public QObject {
    Q_OBJECT
public:
    PlantWorker(core::DataDir dir, core::StationConfig config);
    ~PlantWorker() override;

    /// Does nothing (and says why) when no plant record is configured.
    [[nodiscard]] core::Result<void> start();
    /// Asks for a push now (devices have passed), unless it is backing off.
    void pushNow();
    /// Lets a push in progress end its batch, gives the lease back and stops the thread.
    void stop();

signals:
    void pushed(const QString& summary);
    void failed(const QString& message);

private:
    class Loop;
    core::DataDir m_dir;
    core::StationConfig m_config;
    QThread m_thread;
    Loop* m_loop = nullptr;
};

} // namespace imprint::app
