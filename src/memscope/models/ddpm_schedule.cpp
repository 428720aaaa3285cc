// The noise schedule of a DDPM (models/ddpm_schedule.h).
#include "memscope/models/ddpm_schedule.h"

#include <algorithm>
#include <cmath>

#include "memscope/core/error.h"

namespace memscope {

namespace {

constexpr double kCosineOffset = 0.008, kMaxBeta = 0.999, kBeta1 = 1e-4, kBetaT = 0.02;

}  // namespace

DdpmSchedule::DdpmSchedule(int64_t timesteps, Schedule kind)
    : T(timesteps), beta(timesteps + 1, 0.0), alpha(timesteps + 1, 1.0), abar(timesteps + 1, 1.0) {
  MEMSCOPE_CHECK_KEY(T >= 2, "timesteps", "must be >= 2, got ", T);
  auto f = [&](double t) {
    return std::pow(std::cos((t / double(T) + kCosineOffset) / (1 + kCosineOffset) * M_PI / 2), 2);
  };
  for (int64_t t = 1; t <= T; ++t) {
    if (kind == Schedule::kLinear)
      beta[t] = kBeta1 + (kBetaT - kBeta1) * double(t - 1) / double(T - 1);
    else
      beta[t] = std::min(1 - f(double(t)) / f(double(t - 1)), kMaxBeta);
    alpha[t] = 1 - beta[t];
    abar[t] = abar[t - 1] * alpha[t];
  }
}

namespace ddpm_detail {

torch::Tensor lookup(const std::vector<double>& table, const torch::Tensor& t) {
  const torch::Tensor tab = torch::tensor(table, torch::kFloat64).to(t.device());
  return tab.index_select(0, t.reshape({-1})).view(t.sizes());
}

torch::Tensor normal_cdf(const torch::Tensor& e) { return 0.5 * torch::erfc(-e / std::sqrt(2.0)); }

}  // namespace ddpm_detail

}  // namespace memscope
