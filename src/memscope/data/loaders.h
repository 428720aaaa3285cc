#pragma once
// From a data specification to a preprocessed Dataset.
#include <cstdint>

#include "memscope/core/config.h"
#include "memscope/data/dataset.h"

namespace memscope {

/// Where Debian's dataset-fashion-mnist puts its files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

/// Loads c.source (see DataConfig::source), keeps the first c.limit examples, pads 28x28 grey
/// images to 32x32 when c.pad32, and binarizes (unless "none") with a stream derived from
/// root_seed. Images become rows of C*H*W values in [0, 1] (channel, then row, then column) with
/// shape {C, H, W}. c.binarize must be resolved (not "auto"). With c.duplicate = {K, R}, the first
/// K examples appear R times (copies appended after the data, keeping their source index).
Dataset load_dataset(const DataConfig& c, uint64_t root_seed);

}  // namespace memscope
