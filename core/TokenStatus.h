#pragma once

#include <QString>

namespace imprint::core {

/// What the health display shows of the HSM token: is it there, is the station logged in.
struct TokenStatus {
    bool present = false;
    bool unlocked = false;
    QString problem; ///< in plain words, when it is not there or not unlocked
};

} // namespace imprint::core
