#pragma once
// Checks of a configuration (every option's range from the option table, and the options'
// consistency), and its "auto" settings made explicit. The device is checked where LibTorch is
// (check_device, train/device.h).
#include "memscope/core/config.h"

namespace memscope {

/// Checks every option's range and the options' consistency; throws ConfigError naming the key
/// ("folds: must be >= 2, got 0").
void validate(const RunConfig& c);
/// c with "auto" settings made explicit (binarize).
RunConfig resolved(RunConfig c);

}  // namespace memscope
