#pragma once
// The importance-weighted estimator of log p(x) for latent-variable models with prior N(0, I).
#include <torch/torch.h>

#include <functional>

namespace memscope {

/// log p(x) ~= logsumexp_s [log p(x|z_s) + log N(z_s; 0, I) - log q(z_s|x)] - log S,
/// with z_s = mu + exp(logvar / 2) * eps_s.
/// mu, logvar: [..., L]; eps: [..., S, L]; log_lik(z: [..., S, L]) -> [..., S]. Returns [...].
torch::Tensor iw_log_prob(const torch::Tensor& mu, const torch::Tensor& logvar, const torch::Tensor& eps,
                          const std::function<torch::Tensor(const torch::Tensor&)>& log_lik);

/// log N(v; 0, I) summed over the last dimension. v: [..., L] -> [...].
torch::Tensor std_normal_log_density(const torch::Tensor& v);

}  // namespace memscope
