#include "memscope/models/iw.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace memscope;

namespace {

// A linear Gaussian latent model p(z) = N(0, I_L), p(x|z) = N(W z + b, s2 I_D) with W^T W diagonal,
// so that the exact posterior is a diagonal Gaussian and p(x) = N(b, W W^T + s2 I) in closed form.
struct LinearGaussian {
  int64_t D = 6, L = 3;
  double s2 = 0.3;
  torch::Tensor W, b;
  LinearGaussian() {
    torch::manual_seed(3);
    auto q = std::get<0>(torch::linalg::qr(torch::randn({D, L}, torch::kFloat64)));
    W = q * torch::tensor({2.0, 1.0, 0.5}, torch::kFloat64);
    b = torch::randn({D}, torch::kFloat64);
  }
  // z: [..., S, L] -> [..., S] log N(x; W z + b, s2 I); x: [B, D] broadcast over S.
  torch::Tensor log_lik(const torch::Tensor& x, const torch::Tensor& z) const {
    torch::Tensor mean = torch::matmul(z, W.t()) + b;
    torch::Tensor r = x.unsqueeze(-2) - mean;
    return -0.5 * (r.square().sum(-1) / s2 + D * std::log(2 * M_PI * s2));
  }
  torch::Tensor exact(const torch::Tensor& x) const {
    torch::Tensor C = torch::matmul(W, W.t()) + s2 * torch::eye(D, torch::kFloat64);
    torch::Tensor r = x - b;
    torch::Tensor quad = (torch::matmul(r, torch::inverse(C)) * r).sum(-1);
    return -0.5 * (quad + torch::logdet(C) + D * std::log(2 * M_PI));
  }
  // Exact posterior N(m, diag(v)): v = 1 / (1 + diag(W^T W) / s2), m = v * W^T (x - b) / s2.
  std::pair<torch::Tensor, torch::Tensor> posterior(const torch::Tensor& x) const {
    torch::Tensor v = 1.0 / (1.0 + (W * W).sum(0) / s2);
    torch::Tensor m = v * torch::matmul(x - b, W) / s2;
    return {m, v.log().expand_as(m)};
  }
};

}  // namespace

TEST(ImportanceWeighting, ExactPosteriorGivesTheExactMarginalForAnyS) {
  LinearGaussian lg;
  torch::Tensor x = torch::randn({5, lg.D}, torch::kFloat64) * 2;
  auto [mu, logvar] = lg.posterior(x);
  for (int64_t S : {1, 7, 64}) {
    torch::Tensor eps = torch::randn({5, S, lg.L}, torch::kFloat64);
    torch::Tensor est = iw_log_prob(mu, logvar, eps, [&](const torch::Tensor& z) { return lg.log_lik(x, z); });
    EXPECT_TRUE(torch::allclose(est, lg.exact(x), 1e-10, 1e-9)) << "S=" << S << "\n" << est << lg.exact(x);
  }
}

TEST(ImportanceWeighting, WrongProposalIsBiasedLowAndConvergesWithS) {
  LinearGaussian lg;
  torch::Tensor x = torch::randn({4, lg.D}, torch::kFloat64);
  auto [mu, logvar] = lg.posterior(x);
  torch::Tensor q_mu = mu + 0.4, q_logvar = logvar + 0.7;  // shifted, too wide
  auto ll = [&](const torch::Tensor& z) { return lg.log_lik(x, z); };
  const torch::Tensor exact = lg.exact(x);
  // S = 1 is the ELBO: below log p(x) on average (Jensen), by a clear margin here.
  torch::Tensor elbo =
      iw_log_prob(q_mu.unsqueeze(0), q_logvar.unsqueeze(0), torch::randn({4000, 4, 1, lg.L}, torch::kFloat64), ll)
          .mean(0);
  EXPECT_TRUE((elbo < exact - 0.05).all().item<bool>()) << elbo << exact;
  // Many samples: close to the truth.
  torch::Tensor many = iw_log_prob(q_mu, q_logvar, torch::randn({4, 20000, lg.L}, torch::kFloat64), ll);
  EXPECT_TRUE(torch::allclose(many, exact, 0, 0.03)) << many << exact;
}
