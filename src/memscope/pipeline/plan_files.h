#pragma once
// memscope plan: the plan a user's own training code follows (which models train on which examples),
// written as files any language reads, and the content hash that ties a bank back to it.
//
//   PLAN/plan.json            design, seed, N, J, the mask's SHA-256, each model's seed and training-set size
//   PLAN/mask.npy             [N, J] bool: model j trains on example i (memscope's layout)
//   PLAN/keep.npy             [J, N] bool: the same, one row per model (LiRA's keep.npy, stacked)
//   PLAN/train/model-NNNN.npy [n_j] int64: the examples model j trains on, ascending
//   PLAN/images.npy, labels.npy, index.npy   with --data: the examples as memscope's models see them
//                             ([N, C, H, W] float32 in [0, 1], padded and binarized), labels, original indices
#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "memscope/core/config.h"

namespace memscope {

/// The SHA-256 of an [N, J] mask as N J bytes 0/1 in row-major order, as 64 hex digits: in Python,
/// hashlib.sha256(np.ascontiguousarray(mask, dtype=np.uint8).tobytes()).hexdigest().
std::string mask_sha256(const torch::Tensor& mask);

struct PlanOutcome {
  std::string dir;
  int64_t examples = 0, models = 0;
  std::string mask_sha256;
  /// The data was loaded (images.npy, labels.npy and index.npy written).
  bool data = false;
};

/// Writes the plan of c (c.plan, c.seed) over n examples into dir, each file atomically; n = 0: over the data of
/// c.data (loaded as `memscope run` loads it, binarize auto resolved as for the default VAE), whose examples are
/// written too. The masks are those `memscope run` trains with the same options and seed.
PlanOutcome write_plan(const RunConfig& c, int64_t n, const std::string& dir);

}  // namespace memscope
