#pragma once

#include "device/DeviceTransport.h"

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
    UsbAddress m_address;
    std::shared_ptr<Link> m_link;
};

} // namespace imprint::core
