#pragma once
// Checks of a configuration (every option's range from the option table, and the options'
// consistency), and its "auto" settings made explicit. The device is checked where LibTorch is
// (check_device, train/device.h).
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "memscope/core/config.h"
#include "memscope/core/error.h"
#include "memscope/core/options.h"

namespace memscope {

/// The valid values of a range as errors and docs/options.md say them: ">= 1", "> 0", "in (0, 1)".
std::string range_text(const Range& r);
bool in_range(double v, const Range& r);

/// Throws ConfigError naming o.key when a number (or an element of a list) is outside o.range; the other
/// types of option have no range. The check of every option table: for_each_option(c, [](const OptionSpec& o,
/// const auto& field) { check_range(o, field); }), and likewise the tables of the other commands.
template <typename T>
void check_range(const OptionSpec& o, const T& v) {
  if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
    MEMSCOPE_CHECK_KEY(in_range(double(v), o.range), o.key, "must be ", range_text(o.range), ", got ", v);
  } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
    if (std::isinf(o.range.lo)) return;  // no range
    MEMSCOPE_CHECK_KEY(!v.empty(), o.key, "needs at least one value");
    for (int64_t e : v)
      MEMSCOPE_CHECK_KEY(in_range(double(e), o.range), o.key, "values must be ", range_text(o.range), ", got ", e);
  }
}

/// Checks every option's range and the options' consistency; throws ConfigError naming the key
/// ("folds: must be >= 2, got 0").
void validate(const RunConfig& c);
/// c with "auto" settings made explicit (binarize).
RunConfig resolved(RunConfig c);

}  // namespace memscope
