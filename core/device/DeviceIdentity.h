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
    QStringList keyTypes; ///< key types it can hold, e.g. "p256"
    bool canGenerateKey = true; ///< makes its own key (generate-key)
    bool canReceiveKey = false; ///< accepts a station-made key (inject-begin / inject-key)
    int maxFrame = 65536; ///< the largest payload it accepts
    int protocol = 2; ///< the version it chose from the station's offer

    bool operator==(const DeviceIdentity&) const = default;
};

} // namespace imprint::core

Q_DECLARE_METATYPE(imprint::core::DeviceIdentity)
