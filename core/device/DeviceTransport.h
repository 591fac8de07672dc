#pragma once

#include "Error.h"

#include <QObject>

namespace imprint::core {

/// A byte pipe to one device (serial port, USB bulk pair). Asynchronous: open() returns
/// at once and reports opened() or failed(); received bytes arrive as signals.
class DeviceTransport : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;
    ~DeviceTransport() override = default;

    virtual void open() = 0;
    virtual void close() = 0;
    virtual void write(const QByteArray& bytes) = 0;
    /// Where the device is, for people: "/dev/ttyUSB0", "usb 1-2".
    [[nodiscard]] virtual QString address() const = 0;

signals:
    void opened();
    void bytesReceived(const QByteArray& bytes);
    /// The link broke (unplugged, I/O error) or could not be opened.
    void failed(const imprint::core::Error& error);
};

} // namespace imprint::core
