#include "memscope/score/reliability.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "memscope/score/scores.h"
#include "test_util.h"

using namespace memscope;

TEST(Reliability, SpearmanBrownNumbers) {
  EXPECT_NEAR(spearman_brown(0.5, 2), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(spearman_brown(0.6, 5), 3.0 / 3.4, 1e-12);
  EXPECT_NEAR(spearman_brown(0.3, 1), 0.3, 1e-12);
  // r = 0.5 on 5 repeats: k = 0.9 * 0.5 / (0.5 * 0.1) = 9 times as many, 45 repeats.
  EXPECT_NEAR(units_for_reliability(0.5, 5, 0.9), 45, 1e-9);
  EXPECT_NEAR(spearman_brown(0.5, units_for_reliability(0.5, 5, 0.9) / 5), 0.9, 1e-12);
  EXPECT_TRUE(std::isinf(units_for_reliability(0.0, 5, 0.9)));
  EXPECT_NE(test::error_of([] { units_for_reliability(0.5, 5, 1.0); }).find("target 1"), std::string::npos);
}

TEST(Reliability, HalvesByRepeatAndByModel) {
  torch::Tensor h = halves_by_repeat({0, 0, 1, 1, 2, 2});
  EXPECT_TRUE(torch::equal(h, torch::tensor({true, true, false, false, true, true})));
  EXPECT_TRUE(torch::equal(halves_by_model(3), torch::tensor({true, false, true})));
}

namespace {

/// A K-fold x R plan: [N, K R] in-mask (example i is out of fold (i + r) % K in repeat r).
torch::Tensor kfold_mask(int64_t N, int64_t K, int64_t R) {
  torch::Tensor mask = torch::ones({N, K * R}, torch::kBool);
  for (int64_t r = 0; r < R; ++r)
    for (int64_t i = 0; i < N; ++i) mask[i][r * K + (i + r) % K] = false;
  return mask;
}

std::vector<int64_t> repeats_of(int64_t K, int64_t R) {
  std::vector<int64_t> rep;
  for (int64_t r = 0; r < R; ++r)
    for (int64_t k = 0; k < K; ++k) rep.push_back(r);
  return rep;
}

}  // namespace

TEST(Reliability, SplitHalfOfAPlantedSignalMatchesTheBivariateNormalSpearman) {
  // log p = m_i [in] + sigma * noise with m ~ N(0, 1): a half's mem_log is m + e with
  // Var(e) = sigma^2 (1 / n_in + 1 / n_out), so the halves' Pearson correlation is rho = 1 / (1 + Var(e))
  // and their Spearman (6 / pi) asin(rho / 2).
  torch::manual_seed(11);
  const int64_t N = 6000, K = 4, R = 4;
  const double sigma = 1.5;
  torch::Tensor mask = kfold_mask(N, K, R);
  torch::Tensor m = torch::randn({N, 1}, torch::kFloat64);
  torch::Tensor logp = m * mask.to(torch::kFloat64) + sigma * torch::randn({N, K * R}, torch::kFloat64);
  const Reliability rel = split_half_reliability(logp, mask, halves_by_repeat(repeats_of(K, R)), R);
  const double var_e = sigma * sigma * (1.0 / 6 + 1.0 / 2);  // a half: 2 repeats, 6 in- and 2 out-models
  const double rho = 1 / (1 + var_e);
  EXPECT_EQ(rel.examples, N);
  EXPECT_NEAR(rel.mem_log.spearman, 6 / M_PI * std::asin(rho / 2), 0.03);
  EXPECT_NEAR(rel.mem_log.whole_run, 2 * rel.mem_log.spearman / (1 + rel.mem_log.spearman), 1e-12);
  EXPECT_NEAR(rel.projected(rel.mem_log, 2), rel.mem_log.spearman, 1e-12);
  EXPECT_NEAR(rel.projected(rel.mem_log, R), rel.mem_log.whole_run, 1e-12);
  EXPECT_NEAR(rel.projected(rel.mem_log, rel.mem_log.units_for_target), 0.9, 1e-9);
  EXPECT_GT(rel.mem.spearman, 0.1);  // M carries the same signal, with more noise
  EXPECT_LT(rel.mem.spearman, rel.mem_log.spearman);
}

TEST(Reliability, IdenticalHalvesAgreeAndPureNoiseDoesNot) {
  const int64_t N = 400, K = 2, R = 2;
  torch::manual_seed(4);
  torch::Tensor mask = torch::cat({kfold_mask(N, K, 1), kfold_mask(N, K, 1)}, 1);  // both repeats alike
  torch::Tensor one = torch::randn({N, K}, torch::kFloat64);
  const torch::Tensor halves = halves_by_repeat(repeats_of(K, R));
  const Reliability same = split_half_reliability(torch::cat({one, one}, 1), mask, halves, R);
  EXPECT_NEAR(same.mem.spearman, 1.0, 1e-12);
  EXPECT_NEAR(same.mem_log.top5_overlap, 1.0, 1e-12);
  EXPECT_NEAR(same.mem.units_for_target, 0.0, 1e-9);
  const Reliability noise = split_half_reliability(torch::randn({N, K * R}, torch::kFloat64), mask, halves, R);
  EXPECT_LT(std::abs(noise.mem_log.spearman), 0.15);
}

TEST(Reliability, ExamplesWithoutModelsOnASideInAHalfAreLeftOut) {
  // 2 folds x 2 repeats, halves by repeat: example 0 is out of job 0 (repeat 0) and job 3 (repeat 1).
  // If job 3 diverged on it, the second half has no out-model for example 0: it is left out.
  const int64_t N = 50, K = 2, R = 2;
  torch::Tensor mask = kfold_mask(N, K, R);
  torch::Tensor logp = torch::randn({N, K * R}, torch::kFloat64);
  logp[0][3] = std::nan("");
  const Reliability rel = split_half_reliability(logp, mask, halves_by_repeat(repeats_of(K, R)), R);
  EXPECT_EQ(rel.examples, N - 1);
  // The scatter holds the compared examples (all but 0) with each half's M.
  ASSERT_EQ(rel.rows.size(), size_t(N - 1));
  EXPECT_EQ(rel.rows.front(), 1);
  const torch::Tensor first = torch::tensor({0, 1}), second = torch::tensor({2, 3});
  const Scores a = compute_scores(logp.index_select(1, first), mask.index_select(1, first));
  const Scores b = compute_scores(logp.index_select(1, second), mask.index_select(1, second));
  for (size_t k = 0; k < rel.rows.size(); ++k) {
    EXPECT_DOUBLE_EQ(rel.mem_a[k], a.mem[size_t(rel.rows[k])]);
    EXPECT_DOUBLE_EQ(rel.mem_b[k], b.mem[size_t(rel.rows[k])]);
  }
  EXPECT_NE(test::error_of([&] {
              split_half_reliability(logp, mask, torch::ones({3}, torch::kBool), R);
            }).find("reliability: halves"),
            std::string::npos);
}

TEST(Reliability, PredictedReplicationMatchesASecondSimulatedRun) {
  // True M ~ N(0.5, 1.5^2); two runs estimate it with error bars of 1, so the reliability is 2.25 / 3.25. Each
  // run discovers the examples with z above 2. The share of run one's discoveries that run two makes again is
  // predicted from run one alone.
  torch::manual_seed(12);
  const int64_t n = 40000;
  const torch::Tensor truth = 0.5 + torch::randn({n}, torch::kFloat64) * 1.5;
  const torch::Tensor one = truth + torch::randn({n}, torch::kFloat64),
                      two = truth + torch::randn({n}, torch::kFloat64);
  Scores s;
  for (int64_t i = 0; i < n; ++i) {
    s.mem.push_back(one[i].item<double>());
    s.mem_se.push_back(1);
    s.mem_q.push_back(one[i].item<double>() > 2 ? 0 : 1);
  }
  const torch::Tensor found = one > 2, again = found & (two > 2);
  const double measured = again.sum().item<double>() / found.sum().item<double>();
  // The reliability of the whole set: var(truth) / var(estimate).
  const double rho = truth.var().item<double>() / one.var().item<double>();
  const double predicted = predicted_replication(s, rho, 0.05);
  EXPECT_NEAR(predicted, measured, 0.03) << "rho " << rho << ", predicted " << predicted;
  // Perfectly reliable and far from the threshold: found again; nothing discovered: unknown.
  // The least significant discovery sits on the threshold: a second estimate passes it half the time.
  Scores sure;
  sure.mem = {50, 60, 5, -1};
  sure.mem_se = {1, 1, 1, 1};
  sure.mem_q = {0, 0, 0, 1};
  EXPECT_NEAR(predicted_replication(sure, 1, 0.05), (1 + 1 + 0.5) / 3, 1e-9);
  sure.mem_q = {1, 1, 1, 1};
  EXPECT_TRUE(std::isnan(predicted_replication(sure, 1, 0.05)));
  EXPECT_TRUE(std::isnan(predicted_replication(s, NAN, 0.05)));
}
