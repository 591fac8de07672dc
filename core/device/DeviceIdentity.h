#pragma once

#include <QMetaType>
#include <QString>
#include <QStringList>

namespace imprint::core {

/// What a device says about itself when identified.
struct DeviceIdentity {
    QString serial;
    QString model;
    QString firmware;
    QString state; ///< blank, keyed, certified or locked
    QStringList keyTypes; ///< key types it can generate, e.g. "p256"

    bool operator==(const DeviceIdentity&) const = default;
};

} // namespace imprint::core

Q_DECLARE_METATYPE(imprint::core::DeviceIdentity)
