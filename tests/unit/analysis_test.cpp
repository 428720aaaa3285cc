#include "memscope/analysis/analysis.h"

#include <gtest/gtest.h>

using namespace memscope;

namespace {

Scores planted(const std::vector<double>& u, const std::vector<double>& m) {
  Scores s;
  for (size_t i = 0; i < u.size(); ++i) {
    s.logp_in.push_back(u[i]);
    s.mem.push_back(m[i]);
    s.logp_out.push_back(u[i] - m[i]);
    s.mem_se.push_back(0.1);
    s.n_in.push_back(4);
    s.n_out.push_back(1);
    s.df.push_back(10);
  }
  add_significance(s);
  return s;
}

}  // namespace

TEST(Analysis, Quantiles) {
  EXPECT_DOUBLE_EQ(quantile({3, 1, 2, NAN}, 0.5), 2);
  EXPECT_DOUBLE_EQ(quantile({0, 10}, 0.25), 2.5);
  EXPECT_TRUE(std::isnan(quantile({}, 0.5)));
}

TEST(Analysis, OutlierMemorizationHasNoCentralShareAndIndependentHasMost) {
  const int64_t N = 2000;
  torch::manual_seed(0);
  std::vector<double> u(N), same(N), indep(N);
  torch::Tensor r = torch::rand({N}, torch::kFloat64);
  for (int64_t i = 0; i < N; ++i) {
    u[i] = -300 + double(i) * 0.1;  // distinct, increasing
    same[i] = -u[i];                // memorization = how unlikely: pure outliers
    indep[i] = r[i].item<double>();
  }
  torch::Tensor labels = torch::arange(N) % 4, none;
  MemAnalysis outliers = analyse_memorization(planted(u, same), labels, none, {}, 0.95);
  EXPECT_EQ(outliers.n_high, 100);
  EXPECT_DOUBLE_EQ(outliers.high_mem_central90_share, 0.0);
  EXPECT_NEAR(outliers.spearman_mem_logp_in, -1.0, 1e-12);
  // All highly memorized sit in the lowest bin of U.
  EXPECT_EQ(outliers.logp_in_bins[0].high, 100);
  MemAnalysis independent = analyse_memorization(planted(u, indep), labels, none, {}, 0.95);
  EXPECT_NEAR(independent.high_mem_central90_share, 0.9, 0.06);
  EXPECT_EQ(independent.classes.size(), 4u);
  // M in [0, 1) with se 0.1: discoveries are the examples whose M clears 0 significantly (most of them), not a
  // quantile.
  const int64_t found = independent.n_discovered;
  int64_t expected = 0;
  for (int64_t i = 0; i < N; ++i) expected += indep[i] > 0.3;  // z > 3: discovered at any sensible BH cut-off
  EXPECT_GE(found, expected);
  EXPECT_NEAR(independent.classes[0].share_memorized, double(found) / N, 0.05);
}

TEST(Analysis, NothingSignificantIsNothingMemorizedWhileTheQuantileStillHoldsItsShare) {
  std::vector<double> u(400), m(400);
  for (int64_t i = 0; i < 400; ++i) u[i] = double(i), m[i] = 0.01 * std::sin(double(i));  // |z| <= 0.1
  const MemAnalysis a = analyse_memorization(planted(u, m), torch::zeros({400}, torch::kInt64), {}, {}, 0.95);
  EXPECT_EQ(a.n_discovered, 0);
  EXPECT_EQ(a.n_high, 20);  // the paper's top 5% exists even in noise
}

TEST(Analysis, OverEpochsTracksTheTopSet) {
  std::vector<double> u = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
  std::vector<double> m(20, 0.0);
  m[3] = 10;
  torch::Tensor by_epoch = torch::zeros({2, 20}, torch::kFloat64);
  by_epoch[0][7] = 5;  // epoch 1: example 7 on top; epoch 2: example 3
  by_epoch[1][3] = 10;
  MemAnalysis a = analyse_memorization(planted(u, m), torch::full({20}, -1), by_epoch, {1, 2}, 0.9);
  ASSERT_EQ(a.over_epochs.size(), 2u);
  EXPECT_DOUBLE_EQ(a.over_epochs[0].top5_overlap_with_last, 0.0);
  EXPECT_DOUBLE_EQ(a.over_epochs[1].top5_overlap_with_last, 1.0);
  EXPECT_TRUE(a.classes.empty());
}
