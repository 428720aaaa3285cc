#include "memscope/models/iw.h"

#include <cmath>

namespace memscope {

torch::Tensor std_normal_log_density(const torch::Tensor& v) {
  const double half_log_2pi = 0.5 * std::log(2 * M_PI);
  return -0.5 * v.square().sum(-1) - half_log_2pi * v.size(-1);
}

torch::Tensor iw_log_prob(const torch::Tensor& mu, const torch::Tensor& logvar, const torch::Tensor& eps,
                          const std::function<torch::Tensor(const torch::Tensor&)>& log_lik) {
  const int64_t S = eps.size(-2);
  torch::Tensor z = mu.unsqueeze(-2) + (0.5 * logvar).exp().unsqueeze(-2) * eps;  // [..., S, L]
  // log q(z|x) = log N(eps; 0, I) - sum(logvar) / 2
  torch::Tensor log_q = std_normal_log_density(eps) - 0.5 * logvar.sum(-1).unsqueeze(-1);
  torch::Tensor log_w = log_lik(z) + std_normal_log_density(z) - log_q;  // [..., S]
  return torch::logsumexp(log_w, -1) - std::log(static_cast<double>(S));
}

}  // namespace memscope
