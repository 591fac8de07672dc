#pragma once

#include "Error.h"

#include <functional>

namespace imprint::core {

/// Runs `work(i)` for every i in [0, count) on `threads` threads (the calling one among them),
/// each taking the next index; stops handing out indices once one call fails, and returns the
/// first failure. For CPU-bound batches (checking and signing requests), not for the GUI thread.
[[nodiscard]] Result<void> parallelFor(
    qsizetype count, int threads, const std::function<Result<void>(qsizetype)>& work);

} // namespace imprint::core
