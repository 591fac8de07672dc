#pragma once

#include "device/DeviceTransport.h"

#include <functional>

namespace imprint::core {

/// Makes a transport for a port as an operator writes it: `usb:VVVV:PPPP[:SERIAL]` for a USB
/// vendor interface, else a serial device path with optional line settings
/// (`/dev/ttyUSB0@115200,8N1`). `name`, when given, receives the port's name for people.
/// What does not parse as either is taken as a path (the open then fails in plain words).
[[nodiscard]] std::function<DeviceTransport*()> transportFactory(const QString& port, QString* name = nullptr);

} // namespace imprint::core
