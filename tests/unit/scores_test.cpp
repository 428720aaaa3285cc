#include "memscope/score/scores.h"

#include <gtest/gtest.h>

#include <cmath>

#include "memscope/core/logmath.h"

using namespace memscope;

TEST(Scores, InAndOutAveragesOfKnownMatrix) {
  // Example 0: in-models {-10, -12}, out-model {-15}. Example 1: in {-3}, out {-1, NaN (diverged)}.
  torch::Tensor logp = torch::tensor({{-10.0, -12.0, -15.0}, {-3.0, -1.0, std::nan("")}}, torch::kFloat64);
  torch::Tensor mask = torch::tensor({{true, true, false}, {true, false, false}});
  Scores s = compute_scores(logp, mask);
  const double u0 = std::log((std::exp(-10.0) + std::exp(-12.0)) / 2);
  EXPECT_NEAR(s.logp_in[0], u0, 1e-12);
  EXPECT_NEAR(s.logp_out[0], -15.0, 1e-12);
  EXPECT_NEAR(s.mem[0], u0 + 15.0, 1e-12);
  EXPECT_EQ(s.n_in[0], 2);
  EXPECT_EQ(s.n_out[0], 1);
  EXPECT_NEAR(s.mem[1], -2.0, 1e-12);
  EXPECT_EQ(s.n_out[1], 1);  // the NaN model does not count
  // Single models on a side borrow the median relative variance of the in side (example 0's).
  const double r = relative_variance({-10.0, -12.0});
  EXPECT_NEAR(s.mem_se[0], std::sqrt(r / 2 + r / 1), 1e-12);
  EXPECT_NEAR(s.mem_se[1], std::sqrt(r / 1 + r / 1), 1e-12);
}

TEST(Scores, StandardErrorMatchesTheSpreadOfRepeatedEstimates) {
  // Each "experiment" draws 20 in-models and 20 out-models whose log p scatter around fixed
  // centres; the reported se should match the standard deviation of M across experiments.
  torch::manual_seed(0);
  const int64_t experiments = 4000, n = 20;
  const double sigma = 0.4;
  torch::Tensor logp = torch::cat({-100 + sigma * torch::randn({experiments, n}, torch::kFloat64),
                                   -103 + sigma * torch::randn({experiments, n}, torch::kFloat64)},
                                  1);
  torch::Tensor mask = torch::cat({torch::ones({experiments, n}), torch::zeros({experiments, n})}, 1).to(torch::kBool);
  Scores s = compute_scores(logp, mask);
  torch::Tensor mem = torch::tensor(s.mem, torch::kFloat64), se = torch::tensor(s.mem_se, torch::kFloat64);
  const double empirical = mem.std().item<double>(), reported = se.mean().item<double>();
  EXPECT_NEAR(mem.mean().item<double>(), 3.0, 0.01);
  EXPECT_GT(reported / empirical, 0.9) << reported << " vs " << empirical;
  EXPECT_LT(reported / empirical, 1.1) << reported << " vs " << empirical;
}

TEST(Scores, ADivergedModelIsCountedAsLostByEveryExample) {
  // 6 examples, 3 folds of 2: job j holds out examples 2j and 2j+1. Job 1 diverged (NaN).
  torch::Tensor mask = torch::ones({6, 3}, torch::kBool);
  for (int64_t j = 0; j < 3; ++j) mask.index_put_({torch::tensor({2 * j, 2 * j + 1}), j}, false);
  torch::Tensor logp = torch::full({6, 3}, -10.0);
  logp.select(1, 1).fill_(std::numeric_limits<double>::quiet_NaN());
  const Scores s = compute_scores(logp, mask);
  EXPECT_EQ(s.n_out[2], 0);  // examples 2, 3 lost their only held-out model
  EXPECT_EQ(s.n_in[0], 1);
  const ModelsLost lost = models_lost(s, 3);
  EXPECT_EQ(lost.examples, 6);
  EXPECT_EQ(lost.most, 1);
  EXPECT_EQ(models_lost(compute_scores(torch::full({6, 3}, -10.0), mask), 3).examples, 0);
}
