#include "engine/ParallelFor.h"

#include <atomic>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace imprint::core {

Result<void> parallelFor(qsizetype count, int threads, const std::function<Result<void>(qsizetype)>& work)
{
    return parallelForEach(count, threads, [&](qsizetype i, int) { return work(i); });
}

Result<void> parallelForEach(
    qsizetype count, int threads, const std::function<Result<void>(qsizetype index, int worker)>& work)
{
    std::atomic<qsizetype> next { 0 };
    std::mutex errorMutex;
    std::optional<Error> firstError;
    auto worker = [&](int w) {
        for (qsizetype i = next++; i < count; i = next++) {
            if (auto r = work(i, w); !r) {
                std::lock_guard lock(errorMutex);
                if (!firstError)
                    firstError = r.error();
                next = count;
            }
        }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t)
        pool.emplace_back(worker, t);
    worker(0);
    for (auto& th : pool)
        th.join();
    if (firstError)
        return std::unexpected(*firstError);
    return {};
}

} // namespace imprint::core
