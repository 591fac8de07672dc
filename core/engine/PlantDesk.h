#pragma once

// What QA's screen reads from the plant record, wherever the window runs: a reader in this
// process, or the station service (whose account holds the plant's password).

#include "Error.h"

#include <QJsonObject>
#include <QObject>

#include <functional>

namespace imprint::core {

/// Each answers on the caller's thread, while `context` lives.
class PlantDesk {
public:
    virtual ~PlantDesk() = default;
    /// A device no local store holds, from the plant record (lookUpPlantDevice's JSON).
    virtual void plantDevice(QObject* context, QString serial, std::function<void(Result<QJsonObject>)> done) = 0;
    /// The plant's figures (plantFigures' JSON).
    virtual void plantFigures(QObject* context, std::function<void(Result<QJsonObject>)> done) = 0;
};

} // namespace imprint::core
