#pragma once

// What QA reads from the plant record, wherever it reads it (imprintctl show, the window,
// the station service): a device no local store holds, each certificate verified here, and
// the plant's figures. Both as JSON, the shape `imprintctl show --json` prints.

#include "DataDir.h"
#include "Error.h"

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QString>

namespace imprint::core {

/// The device with `serial` in the plant record: every station that holds a record of it
/// ("records", the one heard from last first), each with its line, device row, jobs with
/// steps and certificates; each certificate checked here (its DER must be the certificate its
/// row names and verify to its own station's chain, whose root is one of `roots`: the roots
/// this station trusts). "source": "plant record", "as_of": when it was read. NotFound when
/// no station holds it.
[[nodiscard]] Result<QJsonObject> lookUpPlantDevice(
    const PlantConfig& config, const QList<QByteArray>& roots, const QString& serial);

/// The plant's figures as of now: "yield" (by station, line, lot and shift: passed, failed,
/// percent), "rate" (passed devices per hour and line, the last 24 hours) and "failures" (the
/// Pareto of failure reasons, most first), and "as_of".
[[nodiscard]] Result<QJsonObject> plantFigures(const PlantConfig& config);

} // namespace imprint::core
