#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

namespace imprint::bench {

/// The p-th percentile (nearest rank) of `v`; 0 for no values.
inline double percentile(std::vector<double> v, double p)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    const auto rank = static_cast<size_t>(std::max(1.0, std::ceil(p / 100.0 * static_cast<double>(v.size()))));
    return v[std::min(rank, v.size()) - 1];
}

} // namespace imprint::bench
