#pragma once

#include "device/DeviceTransport.h"

#include <QHash>
#include <QString>

#include <memory>

namespace imprint::core {

/// Which USB device a slot means: "usb:VVVV:PPPP" (the first device with that vendor and
/// product id) or "usb:VVVV:PPPP:SERIAL" (the one whose serial string descriptor matches).
struct UsbAddress {
    quint16 vendorId = 0;
    quint16 productId = 0;
    QString serial;

    [[nodiscard]] static Result<UsbAddress> parse(const QString& text);
    [[nodiscard]] static bool looksLikeUsb(const QString& text) { return text.startsWith(QLatin1String("usb:")); }
    [[nodiscard]] QString toString() const;
};

/// A device on USB through libusb-1.0: its vendor-specific interface (class 0xFF) with one
/// bulk IN and one bulk OUT endpoint carries the same frames as a serial line. Transfers
/// are asynchronous; libusb's events are handled on one thread of their own for the whole
/// process, and results come back to this object's thread as queued signals. A device that
/// goes away (LIBUSB_TRANSFER_NO_DEVICE) is reported as ErrorCode::Disconnected.
class UsbTransport final : public DeviceTransport {
    Q_OBJECT
public:
    explicit UsbTransport(UsbAddress address, QObject* parent = nullptr);
    ~UsbTransport() override;

    void open() override;
    void close() override;
    void write(const QByteArray& bytes) override;
    QString address() const override { return m_address.toString(); }

    struct Link; ///< the libusb handle and transfers; outlives this object until they finish

private:
    struct Gate;
    UsbAddress m_address;
    std::shared_ptr<Link> m_link;
    std::shared_ptr<Gate> m_gate;
};

/// Watches for USB devices with one vendor and product id coming and going (libusb
/// hotplug; devices already present count as arriving), and reads each arriving device's
/// serial from its string descriptor. Signals come on this object's thread.
class UsbWatcher : public QObject {
    Q_OBJECT
public:
    UsbWatcher(quint16 vendorId, quint16 productId, QObject* parent = nullptr);
    ~UsbWatcher() override;

    [[nodiscard]] Result<void> start();

    struct State; ///< shared with libusb's hotplug callback

    /// From the hotplug callback, queued to this thread: `device` is a referenced libusb_device*.
    void onArrived(void* device);
    void onLeft(int bus, int deviceAddress);

signals:
    void arrived(const imprint::core::UsbAddress& address);
    void left(const imprint::core::UsbAddress& address);

private:
    quint16 m_vendorId;
    quint16 m_productId;
    std::shared_ptr<State> m_state;
    QHash<int, UsbAddress> m_present; ///< by bus << 8 | address
};

} // namespace imprint::core
