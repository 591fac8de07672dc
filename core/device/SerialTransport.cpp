#include "device/SerialTransport.h"

#include <QTimer>

namespace imprint::core {

SerialTransport::SerialTransport(QString portPath, SerialSettings settings, QObject* parent)
    : DeviceTransport(parent)
    , m_path(std::move(portPath))
    , m_settings(settings)
{
    m_port.setPortName(m_path);
    connect(&m_port, &QSerialPort::readyRead, this, [this] { emit bytesReceived(m_port.readAll()); });
    connect(&m_port, &QSerialPort::errorOccurred, this, &SerialTransport::onError);
}

void SerialTransport::open()
{
    m_port.setBaudRate(m_settings.baudRate);
    m_port.setDataBits(QSerialPort::Data8);
    m_port.setParity(QSerialPort::NoParity);
    m_port.setStopBits(QSerialPort::OneStop);
    m_port.setFlowControl(QSerialPort::NoFlowControl);
    if (!m_port.open(QIODevice::ReadWrite)) {
        // errorOccurred has already fired; report through the same path, but after
        // open() returns, so callers see one asynchronous contract.
        return;
    }
    QTimer::singleShot(0, this, [this] { emit opened(); });
}

void SerialTransport::close()
{
    if (m_port.isOpen())
        m_port.close();
}

void SerialTransport::write(const QByteArray& bytes)
{
    if (m_port.isOpen())
        m_port.write(bytes);
}

void SerialTransport::onError(QSerialPort::SerialPortError error)
{
    if (error == QSerialPort::NoError || error == QSerialPort::TimeoutError)
        return;
    // Once the port is open, any failure means the device went away: a pulled USB-serial
    // adapter gives ResourceError, a hung-up pty an ioctl or read error.
    const bool gone = error == QSerialPort::ResourceError || error == QSerialPort::DeviceNotFoundError
        || (m_port.isOpen() && error != QSerialPort::PermissionError && error != QSerialPort::OpenError);
    Error e { gone ? ErrorCode::Disconnected : ErrorCode::Io,
        gone ? QStringLiteral("The device on %1 is gone (unplugged or switched off).").arg(m_path)
             : QStringLiteral("The serial port %1 failed.").arg(m_path),
        m_port.errorString(), {} };
    if (m_port.isOpen())
        m_port.close();
    QTimer::singleShot(0, this, [this, e] { emit failed(e); });
}

} // namespace imprint::core
