#pragma once
// The noise schedule of a DDPM (beta_t linear, or the cosine schedule, and the products abar_t),
// and the two helpers that turn noise into timesteps and timesteps into schedule values.
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "memscope/core/config.h"

namespace memscope {

/// The noise schedule of T steps (float64). Index t = 0..T; beta[0] = 0, abar[0] = 1.
struct DdpmSchedule {
  DdpmSchedule(int64_t timesteps, Schedule kind);
  int64_t T;
  std::vector<double> beta, alpha, abar;
  /// The posterior variance btilde_t = beta_t (1 - abar_{t-1}) / (1 - abar_t) (0 at t = 1).
  double btilde(int64_t t) const { return beta[t] * (1 - abar[t - 1]) / (1 - abar[t]); }
  /// The weight of ||eps - eps_theta||^2 in L_{t-1}: beta_t^2 / (2 btilde_t alpha_t (1 - abar_t)), t >= 2.
  double kl_weight(int64_t t) const { return beta[t] * beta[t] / (2 * btilde(t) * alpha[t] * (1 - abar[t])); }
};

/// Shared by the DDPM's files (models/ddpm*.cpp); not part of the model's interface.
namespace ddpm_detail {

/// table[t] for t: int64 [...] -> float64 [...] on t's device.
torch::Tensor lookup(const std::vector<double>& table, const torch::Tensor& t);

/// Normal CDF of standard-normal draws: uniform on (0, 1).
torch::Tensor normal_cdf(const torch::Tensor& e);

}  // namespace ddpm_detail

}  // namespace memscope
