#pragma once
// log p(x) of every example under every member of an ensemble.
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <functional>
#include <string>
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

/// A pilot of --iw-samples auto at one number of samples: two independent estimates of log p of the same
/// examples under every model ([G, n] each).
struct PilotLevel {
  int64_t samples = 0;
  torch::Tensor a, b;
};

/// The importance samples --iw-samples auto chooses, and the pilot figures behind the choice.
struct SampleChoice {
  int64_t samples = 0;
  /// Per pilot level, the Monte Carlo variance of one model's log p: mean over models and examples of (a - b)^2 / 2.
  std::vector<double> mc;
  /// The fit mc(S) = scale * S^-decay through the levels (decay 1 for a well-matched proposal, less for the
  /// heavy-tailed weights of a poorly matched one).
  double scale = NAN, decay = NAN;
  /// Variance of log p between models beyond the Monte Carlo part, averaged over examples.
  double between = NAN;
  /// The Monte Carlo share of one model's variance at the chosen S: mc(S) / (mc(S) + between).
  double share = NAN;
  /// Why the pilot could not decide (fewer than two models with finite values); samples is then the fallback.
  std::string fallback;
  /// Wall seconds of the pilot (a job's record: its share of them).
  double seconds = 0;
};

/// Every figure of c (non-finite ones as null), and back (an error names what is missing).
nlohmann::json to_json(const SampleChoice& c);
SampleChoice sample_choice_from_json(const nlohmann::json& j);

/// Smallest S in [min_samples, max_samples] whose Monte Carlo variance mc(S), fitted through the pilot
/// levels, is at most `share` of one model's total variance mc(S) + between. Measured from independent
/// replicates rather than from one estimate's own weights: the delta-method variance of the weights
/// assumes light tails and can miss most of it. between: the variance over models of the replicates'
/// mean at the largest level, less its Monte Carlo part, averaged over examples.
SampleChoice choose_iw_samples(const std::vector<PilotLevel>& pilot, double share, int64_t min_samples = 8,
                               int64_t max_samples = 1024);

class DdpmEnsemble;
/// The denoising loss of every example under every member at each timestep, with the same noise
/// for every member (common random numbers): that of tile t from derive_seed(seed, kEval, {t}).
/// x: [N, D] -> [G, T', N] float32.
torch::Tensor evaluate_denoising_loss(DdpmEnsemble& model, const torch::Tensor& x,
                                      const std::vector<int64_t>& timesteps, uint64_t seed);

}  // namespace memscope
