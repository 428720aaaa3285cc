// DdpmEnsemble's sampler (declared in models/ddpm.h): ancestral DDPM or deterministic DDIM steps on
// evenly spaced timesteps, from x_T ~ N(0, I) to images in [0, 1].
#include "memscope/models/ddpm.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace memscope {

torch::Tensor DdpmEnsemble::sample_all(int64_t count, at::Generator gen) {
  torch::NoGradGuard no_grad;
  const int64_t G = members_, T = sched_.T;
  const int64_t K = sample_steps_ > 0 ? std::min(sample_steps_, T) : T;
  const double eta = sampler_ == Sampler::kDdpm ? 1.0 : 0.0;
  std::vector<int64_t> taus(size_t(K), T);  // evenly spaced from 1 to T
  for (int64_t i = 0; K > 1 && i < K; ++i)
    taus[size_t(i)] = int64_t(std::llround(1 + double(i) * double(T - 1) / double(K - 1)));
  const auto device = params_[0].device();
  torch::Tensor out = torch::empty({G, count, dim_});
  for (int64_t c0 = 0; c0 < count; c0 += kRows) {
    const int64_t c = std::min(kRows, count - c0);
    torch::Tensor x = at::randn({G, c, dim_}, gen, torch::kFloat32).to(device);
    for (int64_t i = K - 1; i >= 0; --i) {
      const double ab = sched_.abar[size_t(taus[size_t(i)])],
                   ab_prev = i > 0 ? sched_.abar[size_t(taus[size_t(i - 1)])] : 1.0;
      const torch::Tensor e_raw =
          eps_pred(x, torch::full({G, c}, taus[size_t(i)], torch::dtype(torch::kInt64).device(device)));
      const torch::Tensor x0 = ((x - std::sqrt(1 - ab) * e_raw) / std::sqrt(ab)).clamp(-1, 1);
      if (i == 0) {
        x = x0;
        break;
      }
      const torch::Tensor e = (x - std::sqrt(ab) * x0) / std::sqrt(1 - ab);  // consistent with the clipped x0
      const double sigma = eta * std::sqrt((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev));
      x = std::sqrt(ab_prev) * x0 + std::sqrt(std::max(0.0, 1 - ab_prev - sigma * sigma)) * e;
      if (sigma > 0) x = x + sigma * at::randn({G, c, dim_}, gen, torch::kFloat32).to(device);
    }
    out.slice(1, c0, c0 + c).copy_(((x + 1) / 2).clamp(0, 1).to(torch::kCPU));
  }
  return out;
}

torch::Tensor DdpmEnsemble::sample(int64_t g, int64_t count, at::Generator gen) {
  const bool was_training = is_training();
  train(false);
  torch::Tensor s = sample_all(count, gen)[g].clone();
  train(was_training);
  return s;
}

}  // namespace memscope
