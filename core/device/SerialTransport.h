#pragma once

#include "device/DeviceTransport.h"

#include <QSerialPort>

namespace imprint::core {

/// Line settings for a serial device; the defaults suit USB CDC-ACM and ptys.
struct SerialSettings {
    qint32 baudRate = 115200;
};

/// A device on a serial port (UART, USB CDC-ACM, or a pty in tests) through QSerialPort.
class SerialTransport final : public DeviceTransport {
    Q_OBJECT
public:
    explicit SerialTransport(QString portPath, SerialSettings settings = {}, QObject* parent = nullptr);

    void open() override;
    void close() override;
    void write(const QByteArray& bytes) override;
    QString address() const override { return m_path; }

private:
    void onError(QSerialPort::SerialPortError error);

    QString m_path;
    SerialSettings m_settings;
    QSerialPort m_port;
};

} // namespace imprint::core
