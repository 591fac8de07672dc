#pragma once

#include "device/DeviceTransport.h"

#include <QSerialPort>

namespace imprint::core {

/// Line settings for a serial device; the defaults (115200 8N1, no flow control) suit
/// USB CDC-ACM and ptys.
struct SerialSettings {
    qint32 baudRate = 115200;
    QSerialPort::DataBits dataBits = QSerialPort::Data8;
    QSerialPort::Parity parity = QSerialPort::NoParity;
    QSerialPort::StopBits stopBits = QSerialPort::OneStop;
    QSerialPort::FlowControl flowControl = QSerialPort::NoFlowControl;

    /// "115200", "115200,8N1", "9600,7E2,rtscts", "57600,8O1,xonxoff": baud rate, then data
    /// bits / parity (N, E, O, M, S) / stop bits (1, 2), then flow control (none, rtscts,
    /// xonxoff). Omitted parts keep their defaults.
    [[nodiscard]] static Result<SerialSettings> parse(const QString& text);
};

/// A port as given on a command line: "/dev/ttyUSB0", or with line settings
/// "/dev/ttyUSB0@9600,8N1".
struct SerialPortSpec {
    QString path;
    SerialSettings settings;

    [[nodiscard]] static Result<SerialPortSpec> parse(const QString& text);
};

/// A device on a serial port (UART, USB CDC-ACM, or a pty in tests) through QSerialPort.
/// A serial port's path as the station opens it: an absolute path as it is; a relative one
/// with a folder in it (sim/LINE-0001, ./ttyV0) from the working directory; a bare name
/// (ttyUSB0) under /dev/, unless only the working directory has it.
[[nodiscard]] QString absolutePortPath(const QString& path);

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
    /// Why the port did not open, in words that name the next act.
    [[nodiscard]] Error openFailure(QSerialPort::SerialPortError error) const;

    QString m_path;
    bool m_wasOpen = false; ///< it opened once: a failure from now on means the device went away
    SerialSettings m_settings;
    QSerialPort m_port;
};

} // namespace imprint::core
