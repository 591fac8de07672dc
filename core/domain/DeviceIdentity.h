#pragma once

#include <QMetaType>
#include <QString>
#include <QStringList>

namespace imprint::core {

/// A device's own state as it reports it (PROTOCOL.md, "States").
namespace device_state {
inline const QString Blank = QStringLiteral("blank");
inline const QString Keyed = QStringLiteral("keyed");
inline const QString Certified = QStringLiteral("certified");
inline const QString Locked = QStringLiteral("locked");
/// Not a device's answer: a request that came from a file, with no device present.
inline const QString Offline = QStringLiteral("offline");
} // namespace device_state

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
