#include "device/SerialTransport.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTimer>

#include <fcntl.h>
#include <grp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace imprint::core {

QString absolutePortPath(const QString& path)
{
    if (path.isEmpty() || QDir::isAbsolutePath(path))
        return path;
    const QString underDev = QStringLiteral("/dev/") + path;
    if (!path.contains(u'/') && (QFileInfo::exists(underDev) || !QFileInfo::exists(path)))
        return underDev;
    return QFileInfo(path).absoluteFilePath();
}

SerialTransport::SerialTransport(QString portPath, SerialSettings settings, QObject* parent)
    : DeviceTransport(parent)
    , m_path(absolutePortPath(portPath))
    , m_settings(settings)
{
    m_port.setPortName(m_path);
    connect(&m_port, &QSerialPort::readyRead, this, [this] { emit bytesReceived(m_port.readAll()); });
    connect(&m_port, &QSerialPort::errorOccurred, this, &SerialTransport::onError);
}

Result<SerialSettings> SerialSettings::parse(const QString& text)
{
    auto bad = [&text](const QString& why) {
        return fail(ErrorCode::BadInput,
            QStringLiteral("The line settings \"%1\" are not valid: %2. Write them like 115200,8N1 or "
                           "9600,7E2,rtscts.")
                .arg(text, why));
    };
    SerialSettings s;
    const QStringList parts = text.split(QLatin1Char(','));
    if (parts.size() > 3)
        return bad(QStringLiteral("too many parts"));
    bool ok = false;
    const int baud = parts.value(0).toInt(&ok);
    if (!ok || baud < 50 || baud > 4000000)
        return bad(QStringLiteral("the baud rate must be a number from 50 to 4000000"));
    s.baudRate = baud;
    if (parts.size() >= 2) {
        const QString frame = parts[1].toUpper();
        if (frame.size() != 3 || frame[0] < u'5' || frame[0] > u'8' || (frame[2] != u'1' && frame[2] != u'2'))
            return bad(QStringLiteral("the frame format is data bits 5-8, parity N/E/O/M/S, stop bits 1 or 2"));
        s.dataBits = static_cast<QSerialPort::DataBits>(frame[0].unicode() - u'0');
        switch (frame[1].unicode()) {
        case u'N': s.parity = QSerialPort::NoParity; break;
        case u'E': s.parity = QSerialPort::EvenParity; break;
        case u'O': s.parity = QSerialPort::OddParity; break;
        case u'M': s.parity = QSerialPort::MarkParity; break;
        case u'S': s.parity = QSerialPort::SpaceParity; break;
        default: return bad(QStringLiteral("the parity must be N, E, O, M or S"));
        }
        s.stopBits = frame[2] == u'2' ? QSerialPort::TwoStop : QSerialPort::OneStop;
    }
    if (parts.size() == 3) {
        const QString flow = parts[2].toLower();
        if (flow == QLatin1String("none"))
            s.flowControl = QSerialPort::NoFlowControl;
        else if (flow == QLatin1String("rtscts"))
            s.flowControl = QSerialPort::HardwareControl;
        else if (flow == QLatin1String("xonxoff"))
            s.flowControl = QSerialPort::SoftwareControl;
        else
            return bad(QStringLiteral("flow control must be none, rtscts or xonxoff"));
    }
    return s;
}

Result<SerialPortSpec> SerialPortSpec::parse(const QString& text)
{
    const qsizetype at = text.lastIndexOf(QLatin1Char('@'));
    SerialPortSpec spec;
    spec.path = at < 0 ? text : text.left(at);
    if (spec.path.isEmpty())
        return fail(ErrorCode::BadInput, QStringLiteral("\"%1\" names no port.").arg(text));
    if (at >= 0) {
        auto settings = SerialSettings::parse(text.mid(at + 1));
        if (!settings)
            return std::unexpected(settings.error());
        spec.settings = *settings;
    }
    return spec;
}

namespace {

/// QSerialPort locks a port with a UUCP-style lock file (LCK..NAME in the first writable lock
/// directory). Its owner holds an flock on it from the moment it is created, then writes its
/// pid into it. A station killed in between leaves it empty and unlocked, and Qt then refuses
/// the port for 30 s ("Permission error while locking the device"). An empty lock file no
/// process holds is abandoned: it is removed.
void removeAbandonedLock(const QString& systemLocation)
{
    QString name = systemLocation;
    if (name.startsWith(QLatin1String("/dev/")))
        name = name.mid(5);
    name.replace(u'/', u'_');
    for (const char* dir : { "/var/lock", "/etc/locks", "/var/spool/locks", "/var/spool/uucp" }) {
        const QFileInfo d(QString::fromLatin1(dir));
        if (!d.isDir() || !d.isWritable())
            continue;
        for (const QString& candidate : { name, QString(systemLocation).replace(u'/', u'_') }) {
            const QByteArray path = QFile::encodeName(d.absoluteFilePath() + QStringLiteral("/LCK..") + candidate);
            const int fd = ::open(path.constData(), O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                continue;
            struct stat st { };
            // Free to lock, empty, and not created this very moment (its owner takes the
            // lock right after creating it).
            if (::fstat(fd, &st) == 0 && st.st_size == 0
                && QDateTime::fromSecsSinceEpoch(st.st_mtim.tv_sec)
                        .addMSecs(st.st_mtim.tv_nsec / 1000000)
                        .msecsTo(QDateTime::currentDateTime())
                    > 50
                && ::flock(fd, LOCK_EX | LOCK_NB) == 0)
                ::unlink(path.constData());
            ::close(fd);
        }
        return; // Qt uses the first writable one
    }
}

} // namespace

void SerialTransport::open()
{
    removeAbandonedLock(m_path);
    m_port.setBaudRate(m_settings.baudRate);
    m_port.setDataBits(m_settings.dataBits);
    m_port.setParity(m_settings.parity);
    m_port.setStopBits(m_settings.stopBits);
    m_port.setFlowControl(m_settings.flowControl);
    if (!m_port.open(QIODevice::ReadWrite)) {
        // errorOccurred has already fired; report through the same path, but after
        // open() returns, so callers see one asynchronous contract.
        return;
    }
    m_wasOpen = true;
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
    Error e { ErrorCode::Io, {}, m_port.errorString(), {} };
    if (m_wasOpen) {
        // Once the port was open, any failure means the device went away: a pulled USB-serial
        // adapter gives ResourceError, a hung-up pty an ioctl or read error; reopening a port
        // that vanished gives DeviceNotFoundError.
        e.code = ErrorCode::Disconnected;
        e.message = QStringLiteral("The device on %1 is gone (unplugged or switched off).").arg(m_path);
    } else {
        e = openFailure(error);
    }
    if (m_port.isOpen())
        m_port.close();
    QTimer::singleShot(0, this, [this, e] { emit failed(e); });
}

Error SerialTransport::openFailure(QSerialPort::SerialPortError error) const
{
    const QByteArray path = QFile::encodeName(m_path);
    struct stat st { };
    if (error == QSerialPort::DeviceNotFoundError || ::stat(path.constData(), &st) != 0)
        return Error { ErrorCode::NotFound,
            QStringLiteral("There is no port %1. Check the name and that the fixture's cable is plugged in (ls "
                           "/dev/ttyUSB* /dev/ttyACM*).")
                .arg(m_path),
            m_port.errorString(), QStringLiteral("no-port") };
    if (error == QSerialPort::PermissionError && ::access(path.constData(), R_OK | W_OK) != 0) {
        const group* g = ::getgrgid(st.st_gid);
        const QString groupName = g ? QString::fromLocal8Bit(g->gr_name) : QString::number(st.st_gid);
        return Error { ErrorCode::Io,
            QStringLiteral("This account may not open %1: it belongs to group \"%2\". Add the account to that group "
                           "(sudo usermod -aG %2 $USER), then log in again; or run the station service, which may.")
                .arg(m_path, groupName),
            m_port.errorString(), QStringLiteral("port-permission") };
    }
    if (error == QSerialPort::PermissionError)
        return Error { ErrorCode::Io,
            QStringLiteral("%1 is in use by another program (it holds the port's lock). Close that program, or "
                           "choose another port.")
                .arg(m_path),
            m_port.errorString(), QStringLiteral("port-busy") };
    return Error { ErrorCode::Io,
        QStringLiteral("The port %1 could not be opened; check that it is a serial port.").arg(m_path),
        m_port.errorString(), QStringLiteral("port-open") };
}

} // namespace imprint::core
