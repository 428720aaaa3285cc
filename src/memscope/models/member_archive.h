#pragma once
// One member of a stacked ensemble in a LibTorch archive: the shared part of save_member and
// load_member for ensembles whose parameters and buffers are all [G, ...].
#include <torch/torch.h>

#include <cstdint>

namespace memscope {

/// Writes member g's slice of every parameter and buffer of m (CPU copies) into archive.
void write_member(const torch::nn::Module& m, int64_t g, torch::serialize::OutputArchive& archive);

/// Reads them back into member g's slices; throws memscope::Error naming the key that is missing or
/// has another shape.
void read_member(torch::nn::Module& m, int64_t g, torch::serialize::InputArchive& archive);

}  // namespace memscope
