#pragma once

namespace imprint::core {

/// How long a slot waits for each kind of answer, and how often it asks; key generation
/// on a real secure element can take many seconds. Kept in station.ini, [timeouts].
struct StepTimeouts {
    int identifyMs = 5000;
    int keygenMs = 60000;
    int exchangeMs = 10000;
    int attempts = 3; ///< sends of one request before giving up (same seq; devices answer repeats)
    int reconnectMs = 30000; ///< how long a slot waits for a device that went away to come back (0: not at all)
};

} // namespace imprint::core
