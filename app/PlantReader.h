#pragma once

#include "DataDir.h"
#include "engine/PlantDesk.h"

#include <QThread>

namespace imprint::app {

/// The roots a certificate read from the plant record may verify to: this station's own
/// root (the last of `ownChain`) and the upstream's anchors.
[[nodiscard]] QList<QByteArray> plantRoots(const core::StationConfig& config, const QList<QByteArray>& ownChain);

/// Reads the plant record for QA on a thread of its own: a slow or unreachable plant
/// database (bounded by [plant] connect- and answer-timeout-s) never stops the caller's.
class PlantReader : public QObject, public core::PlantDesk {
    Q_OBJECT
public:
    PlantReader(core::StationConfig config, QList<QByteArray> ownChain, QObject* parent = nullptr);
    ~PlantReader() override;

    [[nodiscard]] bool configured() const { return m_config.plant.configured(); }
    void plantDevice(QObject* context, QString serial, std::function<void(core::Result<QJsonObject>)> done) override;
    void plantFigures(QObject* context, std::function<void(core::Result<QJsonObject>)> done) override;

private:
    void run(QObject* context, std::function<core::Result<QJsonObject>()> work,
        std::function<void(core::Result<QJsonObject>)> done);

    core::StationConfig m_config;
    QList<QByteArray> m_roots;
    QThread m_thread;
    QObject* m_worker;
};

} // namespace imprint::app
