#pragma once
// log p(x) of every example under every member of an ensemble.
#include <torch/torch.h>

#include <functional>
#include <vector>

#include "memscope/models/density_model.h"

namespace memscope {

/// log p(x) of every example under every member with S importance samples, on tiles of examples
/// processed in parallel; the noise of tile t of member g comes from derive_seed(seeds[g], kEval, {t}).
/// x: [N, D]; seeds: one per member -> [G, N] float32.
torch::Tensor evaluate_log_prob(DensityEnsemble& model, const torch::Tensor& x, int64_t samples,
                                const std::vector<uint64_t>& seeds,
                                const std::function<void(int64_t done, int64_t total)>& tick = nullptr);

}  // namespace memscope
