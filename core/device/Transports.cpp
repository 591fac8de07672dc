#include "device/Transports.h"

#include "device/SerialTransport.h"
#include "device/UsbTransport.h"

namespace imprint::core {

std::function<DeviceTransport*()> transportFactory(const QString& port, QString* name)
{
    if (name)
        *name = port;
    if (auto usb = UsbAddress::parse(port); usb && UsbAddress::looksLikeUsb(port))
        return [address = *usb] { return new UsbTransport(address); };
    auto parsed = SerialPortSpec::parse(port);
    SerialPortSpec spec = parsed ? *parsed : SerialPortSpec { port, {} };
    spec.path = absolutePortPath(spec.path);
    if (name)
        *name = spec.path;
    return [spec] { return new SerialTransport(spec.path, spec.settings); };
}

} // namespace imprint::core
