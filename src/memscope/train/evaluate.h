#pragma once
// log p(x) of every example under every member of an ensemble.
#include <torch/torch.h>

#include <functional>
#include <utility>
#include <vector>

#include "memscope/models/density_model.h"

namespace memscope {

/// log p(x) of every example under every member with S importance samples, on tiles of examples
/// processed in parallel; the noise of tile t of member g comes from derive_seed(seeds[g], kEval, {t}).
/// x: [N, D]; seeds: one per member -> [G, N] float32.
torch::Tensor evaluate_log_prob(DensityEnsemble& model, const torch::Tensor& x, int64_t samples,
                                const std::vector<uint64_t>& seeds,
                                const std::function<void(int64_t done, int64_t total)>& tick = nullptr);

/// evaluate_log_prob, with the Monte Carlo standard error of every value ([G, N] float32; undefined
/// when the family has none).
std::pair<torch::Tensor, torch::Tensor> evaluate_log_prob_se(
    DensityEnsemble& model, const torch::Tensor& x, int64_t samples, const std::vector<uint64_t>& seeds,
    const std::function<void(int64_t done, int64_t total)>& tick = nullptr);

class DdpmEnsemble;
/// The denoising loss of every example under every member at each timestep, with the same noise
/// for every member (common random numbers): that of tile t from derive_seed(seed, kEval, {t}).
/// x: [N, D] -> [G, T', N] float32.
torch::Tensor evaluate_denoising_loss(DdpmEnsemble& model, const torch::Tensor& x,
                                      const std::vector<int64_t>& timesteps, uint64_t seed);

}  // namespace memscope
