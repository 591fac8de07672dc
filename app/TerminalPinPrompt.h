#pragma once

#include "PinPrompt.h"

namespace imprint::app {

/// Asks for the PIN on the controlling terminal (/dev/tty) with echo off, so it never
/// shows on screen, in shell history or in argv. Declines when there is no terminal.
class TerminalPinPrompt final : public core::PinPrompt {
public:
    core::Result<core::Secret> askPin(const Request& request) override;
};

/// Reads a secret typed on the controlling terminal after `prompt`, echo off; `noTerminal`
/// and `nothingTyped` are the errors when there is no terminal or nothing was typed.
[[nodiscard]] core::Result<core::Secret> askOnTerminal(
    const QByteArray& prompt, const QString& noTerminal, const QString& nothingTyped);

} // namespace imprint::app
