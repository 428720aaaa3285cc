#include "memscope/models/iw.h"
#include "memscope/train/evaluate.h"

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

TEST(ImportanceWeighting, AutoSamplesMakeTheMonteCarloShareOfThePlantedVariances) {
  // G models x n examples, twice per level: log p = example effect + model effect (variance 4 between
  // models) + Monte Carlo noise of variance 16 S^-0.5 (the slow decay of heavy-tailed weights). For a
  // share of 20%, mc(S) <= 0.25 * 4 = 1 needs S >= 16^2 = 256.
  torch::manual_seed(4);
  const int64_t G = 12, n = 2000;
  const torch::Tensor example = torch::randn({1, n}, torch::kFloat64) * 30;
  const torch::Tensor model = example + torch::randn({G, n}, torch::kFloat64) * 2;
  auto mc = [](double S) { return 16 / std::sqrt(S); };
  std::vector<PilotLevel> pilot;
  for (int64_t S : {8, 32, 128})
    pilot.push_back({S, model + torch::randn({G, n}, torch::kFloat64) * std::sqrt(mc(S)),
                     model + torch::randn({G, n}, torch::kFloat64) * std::sqrt(mc(S))});
  SampleChoice c = choose_iw_samples(pilot, 0.2);
  EXPECT_TRUE(c.fallback.empty());
  EXPECT_NEAR(c.decay, 0.5, 0.05);
  EXPECT_NEAR(c.between, 4, 0.2);
  EXPECT_GE(c.samples, 200);
  EXPECT_LE(c.samples, 330);
  EXPECT_NEAR(c.share, 0.2, 0.01);
  // A stricter share needs more, up to the bound; a looser one fewer, down to the other.
  EXPECT_EQ(choose_iw_samples(pilot, 0.05).samples, 1024);
  EXPECT_EQ(choose_iw_samples(pilot, 0.6).samples, 8);
  // A diverged model (NaN) is left out; one model alone cannot be compared with others.
  std::vector<PilotLevel> with_nan = pilot;
  for (PilotLevel& p : with_nan) p.a = p.a.clone(), p.a[3].fill_(NAN);
  EXPECT_NEAR(double(choose_iw_samples(with_nan, 0.2).samples), double(c.samples), 0.2 * double(c.samples));
  std::vector<PilotLevel> one;
  for (const PilotLevel& p : pilot) one.push_back({p.samples, p.a.slice(0, 0, 1), p.b.slice(0, 0, 1)});
  SampleChoice alone = choose_iw_samples(one, 0.2);
  EXPECT_FALSE(alone.fallback.empty());
  EXPECT_EQ(alone.samples, 128);
}
