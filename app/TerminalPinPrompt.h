#pragma once

#include "PinPrompt.h"

namespace imprint::app {

/// Asks for the PIN on the controlling terminal (/dev/tty) with echo off, so it never
/// shows on screen, in shell history or in argv. Declines when there is no terminal.
class TerminalPinPrompt final : public core::PinPrompt {
public:
    core::Result<core::Secret> askPin(const Request& request) override;
};

} // namespace imprint::app
