#pragma once

#include "Error.h"

#include <functional>

namespace imprint::core {

/// Runs `work(i)` for every i in [0, count) on `threads` threads (the calling one among them),
/// each taking the next index; stops handing out indices once one call fails, and returns the
/// first failure. For CPU-bound batches (checking and signing requests), not for the GUI thread.
[[nodiscard]] Result<void> parallelFor(
    qsizetype count, int threads, const std::function<Result<void>(qsizetype)>& work);

/// The same, telling `work` which of the `threads` workers (0 .. threads-1) runs it, for work
/// that needs an object of its own per thread (a CMP client, a token session).
[[nodiscard]] Result<void> parallelForEach(
    qsizetype count, int threads, const std::function<Result<void>(qsizetype index, int worker)>& work);

} // namespace imprint::core
