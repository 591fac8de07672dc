#pragma once

#include "Error.h"
#include "Secret.h"

#include <QString>

namespace imprint::core {

/// Asks a person for a token's PIN. The window implements it with a dialog, imprintctl
/// on the terminal with echo off, tests with a fixed answer. Asked once per unlock: a PIN
/// the token refuses is reported, never retried by the station itself.
class PinPrompt {
public:
    struct Request {
        QString tokenLabel;
        QString warning; ///< the token's PIN state in plain words, if worth saying
    };

    virtual ~PinPrompt() = default;

    /// The PIN, or an error with code Cancelled when the person declines.
    [[nodiscard]] virtual Result<Secret> askPin(const Request& request) = 0;
};

} // namespace imprint::core
