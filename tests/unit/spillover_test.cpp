// Neighbour spillover (memorization versus learning), leverage beside the run, and the verdict of
// "Is it memorization?": planted values, the closed forms, and the textbook check with kernel
// density estimates whose behaviour is known (small bandwidth memorizes, wide one generalizes).
#include "memscope/score/spillover.h"

#include <gtest/gtest.h>

#include <cmath>

#include "memscope/analysis/analysis.h"
#include "memscope/analysis/diagnostics.h"
#include "memscope/analysis/verdict.h"
#include "memscope/core/error.h"
#include "memscope/core/logmath.h"
#include "memscope/core/seeds.h"
#include "memscope/models/gaussian.h"
#include "memscope/models/kde.h"
#include "memscope/plan/plan.h"
#include "memscope/score/reliability.h"
#include "memscope/score/uncertainty.h"
#include "test_util.h"

using namespace memscope;

namespace {

/// Clusters of `size` points (spread 0.1) whose centres lie 20 apart on a line: [clusters * size, 2].
torch::Tensor clusters(int64_t count, int64_t size) {
  torch::manual_seed(11);
  torch::Tensor centres = torch::zeros({count, 2}, torch::kFloat64);
  centres.select(1, 0).copy_(20 * torch::arange(count, torch::kFloat64));
  return (centres.repeat_interleave(size, 0) + 0.1 * torch::randn({count * size, 2}, torch::kFloat64));
}

/// Median of the finite values.
double median(const std::vector<double>& v) { return quantile(v, 0.5); }

struct KdeRun {
  Scores scores;
  ExampleDiagnostics diag;
};

/// The exact K-fold log p matrix of a KDE on x, scored and diagnosed with k neighbours.
KdeRun kde_run(const torch::Tensor& x, double H, int64_t k) {
  PlanConfig pc;
  pc.folds = 5;
  pc.repeats = 4;
  const Plan plan = make_kfold_plan(x.size(0), pc, 7);
  const torch::Tensor mask = plan.in_mask();
  const torch::Tensor logp = kde_fold_log_prob(x, mask, H);
  std::vector<int64_t> repeats;
  for (const Job& j : plan.jobs) repeats.push_back(j.repeat);
  KdeRun r;
  r.scores = compute_scores(logp, mask, repeats);
  r.diag = diagnose_examples(x.to(torch::kFloat32), logp, mask, r.scores, k);
  return r;
}

}  // namespace

TEST(Spillover, PlantedValuesAndTheirStandardErrors) {
  // 3 examples, 4 models. Example 0 is in models 0, 1; example 1 in 0, 1, 2; example 2 in 1, 2, 3.
  const torch::Tensor mask = torch::tensor({1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1}, torch::kBool).view({3, 4});
  const torch::Tensor logp = torch::tensor({std::log(1.0), std::log(5.0), -9.0, -9.0, std::log(2.0), std::log(4.0), 0.0,
                                            3.0, -1.0, -2.0, -3.0, kNaN},
                                           torch::kFloat64)
                                 .view({3, 4});
  const torch::Tensor neighbours = torch::tensor({1, 2, 0, 2, 0, 1}, torch::kInt64).view({3, 2});
  const std::vector<double> sd = {1.0, 2.0, 0.5}, mem = {2.0, 1.0, -0.5};
  const Spillover s = compute_spillover(logp, mask, neighbours, sd, mem);
  // x = 0: y = 1 is in models 0, 1, 2; x in 0, 1 -> both {0, 1}, x out {2}: S_1 = log 3 - 0.
  //        y = 2 is in models 1, 2, 3 (3 is NaN: diverged); both {1}, x out {2}: S_2 = -2 - (-3) = 1.
  EXPECT_EQ(s.pairs[0], 2);
  EXPECT_NEAR(s.spill[0], (std::log(3.0) + 1.0) / 2, 1e-12);
  const double h2 = logmeanexp_normal_sd(2, 2.0), h1 = logmeanexp_normal_sd(1, 2.0), g = logmeanexp_normal_sd(1, 0.5);
  EXPECT_NEAR(s.spill_se[0], std::sqrt(h2 * h2 + h1 * h1 + g * g + g * g) / 2, 1e-12);
  EXPECT_NEAR(s.ratio[0], s.spill[0] / 2.0, 1e-12);
  // x = 1 is in every model its neighbours are in, except model 3 (y = 2 there is NaN): no pair.
  EXPECT_EQ(s.pairs[1], 0);
  EXPECT_TRUE(std::isnan(s.spill[1]) && std::isnan(s.spill_se[1]) && std::isnan(s.ratio[1]));
  // x = 2: y = 0 is in models 0, 1; x in 1 -> both {1}, x out {0}: S_0 = log 5 - log 1.
  //        y = 1 is in models 0, 1, 2; both {1, 2}, x out {0}: S_1 = logmeanexp(log 4, 0) - log 2.
  EXPECT_EQ(s.pairs[2], 2);
  EXPECT_NEAR(s.spill[2], (std::log(5.0) + std::log(2.5) - std::log(2.0)) / 2, 1e-12);
  EXPECT_EQ(s.examples_with_pairs, 2);
}

/// sd over examples of z = (S_1 - S_2) / sqrt(se_1^2 + se_2^2) between two independent banks of 40
/// clusters of 5 examples (each example's 4 neighbours: its cluster), 5 folds x 4 repeats, with
/// log p_m(y) = mu_y + 0.5 [y in m] + b_m,c(y) + e_m,y: the model-by-cluster effect b (sd 1) is shared
/// by a neighbourhood, e (sd 1) is not. No spillover: S has mean 0 in both banks.
double spill_z_sd(uint64_t seed, bool calibrate) {
  const int64_t clusters = 40, size = 5, N = clusters * size;
  torch::Tensor neighbours = torch::empty({N, size - 1}, torch::kInt64);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t t = 0, c = i / size; t < size - 1; ++t) neighbours[i][t] = c * size + (i % size + 1 + t) % size;
  PlanConfig pc;
  pc.folds = 5;
  pc.repeats = 4;
  const torch::Tensor mu = 10 * torch::randn({N, 1}, make_generator(seed)).to(torch::kFloat64);
  std::vector<Spillover> banks;
  for (uint64_t b = 0; b < 2; ++b) {
    const Plan plan = make_kfold_plan(N, pc, seed * 10 + b + 1);
    const torch::Tensor mask = plan.in_mask();
    const int64_t J = mask.size(1);
    torch::Generator g = make_generator(seed * 10 + b + 100);
    const torch::Tensor effect = torch::randn({clusters, J}, g, torch::kFloat64).repeat_interleave(size, 0);
    const torch::Tensor logp = mu + 0.5 * mask.to(torch::kFloat64) + effect + torch::randn({N, J}, g, torch::kFloat64);
    std::vector<int64_t> repeats;
    for (const Job& j : plan.jobs) repeats.push_back(j.repeat);
    const Scores sc = compute_scores(logp, mask, repeats);
    banks.push_back(
        compute_spillover(logp, mask, neighbours, sc.logp_sd, sc.mem, calibrate ? repeats : std::vector<int64_t>{}));
  }
  std::vector<double> z;
  for (int64_t i = 0; i < N; ++i) {
    const double se = std::hypot(banks[0].spill_se[size_t(i)], banks[1].spill_se[size_t(i)]);
    if (std::isfinite(se)) z.push_back((banks[0].spill[size_t(i)] - banks[1].spill[size_t(i)]) / se);
  }
  double ss = 0;
  for (double v : z) ss += v * v;
  return std::sqrt(ss / double(z.size()));
}

TEST(Spillover, ErrorBarsAreCalibratedBetweenBanksWhenNeighboursShareModels) {
  // Treating the neighbours' terms as independent understates the spread of S about 1.6-fold here
  // ((1 + 1/4) / ((1 + 1) / 4) = 2.5 in variance); the split-half design effect restores it.
  for (uint64_t seed : {1, 2, 3}) {
    const double naive = spill_z_sd(seed, false), calibrated = spill_z_sd(seed, true);
    EXPECT_GT(naive, 1.2) << seed;
    EXPECT_GT(calibrated, 0.8) << seed;
    EXPECT_LT(calibrated, 1.2) << seed;
  }
}

TEST(Spillover, ADesignWithoutModelsWhereXIsOutAndYInSaysNotEnoughModels) {
  // Every model trains on all examples or on none: never x out and y in.
  const torch::Tensor mask = torch::tensor({1, 0, 1, 0, 1, 0, 1, 0}, torch::kBool).view({4, 2});
  const torch::Tensor logp = torch::randn({4, 2}, torch::kFloat64);
  const Scores sc = compute_scores(logp, mask);
  const torch::Tensor x = torch::randn({4, 3});
  const ExampleDiagnostics d = diagnose_examples(x, logp, mask, sc, 2);
  EXPECT_EQ(d.spill.examples_with_pairs, 0);
  for (double v : d.spill.spill) EXPECT_TRUE(std::isnan(v));
  EXPECT_EQ(d.spill_control.examples_with_pairs, 0);
  const Verdict v = judge_memorization(sc, d, {true, false, false, false}, std::nullopt);
  EXPECT_EQ(v.spillover_examples, 0);
  EXPECT_TRUE(std::isnan(v.learned.share));
  ASSERT_EQ(v.sentences.size(), 3u);
  EXPECT_NE(v.sentences[1].find("not enough models"), std::string::npos) << v.sentences[1];
}

TEST(Spillover, BadInputIsAnErrorNotANaN) {
  const torch::Tensor mask = torch::ones({3, 2}, torch::kBool), logp = torch::zeros({3, 2});
  EXPECT_THROW(compute_spillover(logp, mask, torch::tensor({1, 2, 5}).view({3, 1}), {1, 1, 1}, {0, 0, 0}), Error);
  EXPECT_THROW(compute_spillover(logp, mask, torch::tensor({0, 2, 1}).view({3, 1}), {1, 1, 1}, {0, 0, 0}), Error);
  EXPECT_THROW(
      compute_spillover(logp, mask.slice(0, 0, 2), torch::tensor({1, 2, 0}).view({3, 1}), {1, 1, 1}, {0, 0, 0}), Error);
  const Scores sc = compute_scores(logp, mask);
  for (int64_t k : {0, 3, 4}) {
    try {
      diagnose_examples(torch::randn({3, 2}), logp, mask, sc, k);
      ADD_FAILURE() << k;
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.key(), "neighbours");
    }
  }
}

TEST(Spillover, SmallBandwidthKdeMemorizesWideBandwidthKdeLearns) {
  // Clusters of 5 points 0.1 apart, 20 apart from each other; each example's 4 neighbours are its
  // cluster. H = 0.005: removing x removes the only kernel that covers it (M of hundreds of nats)
  // and leaves its neighbours' densities alone (S near 0). H = 2: the kernels of a cluster
  // overlap, so removing x lowers its neighbours' density as much as its own (S near M).
  const torch::Tensor x = clusters(40, 5);
  const KdeRun small = kde_run(x, 0.005, 4), wide = kde_run(x, 2.0, 4);
  EXPECT_EQ(small.diag.spill.examples_with_pairs, 200);
  EXPECT_GT(median(small.scores.mem), 50);
  EXPECT_LT(std::abs(median(small.diag.spill.ratio)), 0.01);
  EXPECT_GT(median(wide.scores.mem), 0.05);
  EXPECT_GT(median(wide.diag.spill.ratio), 0.75);
  EXPECT_LT(median(wide.diag.spill.ratio), 1.25);
  // The verdict: nothing learned with the small bandwidth, most highly memorized learned with the wide one.
  const auto high = [](const Scores& s) {
    std::vector<bool> h;
    const double q = quantile(s.mem, 0.9);
    for (double m : s.mem) h.push_back(m > q);
    return h;
  };
  const Verdict vs = judge_memorization(small.scores, small.diag, high(small.scores), std::nullopt);
  const Verdict vw = judge_memorization(wide.scores, wide.diag, high(wide.scores), std::nullopt);
  EXPECT_EQ(vs.learned.count, 0);
  EXPECT_LT(vs.ratio_high.at(0.5), 0.01);
  EXPECT_GT(vw.ratio_high.at(0.5), 0.5);
  // Random other examples lie in other clusters, far beyond the wide kernels: no spillover onto them.
  EXPECT_LT(std::abs(vw.control_ratio_high.at(0.5)), 0.1);
  EXPECT_GT(vw.net_ratio_high.at(0.5), 0.5);
  EXPECT_GT(vw.learned.count, 0);
}

TEST(Leverage, EqualsTheClosedFormInTheFullBasisAndInTheTopComponents) {
  torch::manual_seed(4);
  // D = 3 (all components kept): leverage is rotation invariant, so it equals the Gaussian's in pixel space.
  const torch::Tensor x = torch::matmul(torch::randn({40, 3}, torch::kFloat64), torch::randn({3, 3}, torch::kFloat64));
  ExampleDiagnostics d;
  pca_leverage(x, kLeverageComponents, d);
  EXPECT_EQ(d.leverage_components, 3);
  EXPECT_NEAR(d.leverage_variance_share, 1.0, 1e-12);
  const ExactLoo loo = gaussian_exact_loo(x, 0);
  for (int64_t i = 0; i < 40; ++i) {
    EXPECT_NEAR(d.leverage[i], loo.leverage[i].item<double>(), 1e-9);
    EXPECT_NEAR(d.loo_mem[i], loo.mem[i].item<double>(), 1e-9);
  }
  // h_ii sums to 1 + D (the trace of the hat matrix of [1, X]).
  double trace = 0;
  for (double h : d.leverage) trace += h;
  EXPECT_NEAR(trace, 4.0, 1e-9);
  // D = 8 with a constant coordinate, basis of 4: the leverage of the projection on the top 4
  // right singular vectors of the centred data, and the constant coordinate is never a component.
  torch::Tensor y = torch::randn({30, 8}, torch::kFloat64) * torch::arange(1, 9, torch::kFloat64);
  y.select(1, 7).fill_(0.5);
  ExampleDiagnostics e;
  pca_leverage(y, 4, e);
  EXPECT_EQ(e.leverage_components, 4);
  const torch::Tensor c = y - y.mean(0);
  const auto [U, S, Vh] = torch::linalg_svd(c, false);
  const ExactLoo proj = gaussian_exact_loo(torch::matmul(c, Vh.slice(0, 0, 4).t()), 0);
  for (int64_t i = 0; i < 30; ++i) EXPECT_NEAR(e.leverage[i], proj.leverage[i].item<double>(), 1e-9);
  ExampleDiagnostics all;
  pca_leverage(y, 50, all);
  EXPECT_EQ(all.leverage_components, 7);  // the constant coordinate has no variance
  for (double h : all.leverage) EXPECT_TRUE(std::isfinite(h));
}

TEST(Verdict, CategoriesSharesAndWilsonIntervals) {
  const Share w = share_of(5, 20);
  EXPECT_NEAR(w.share, 0.25, 1e-12);
  EXPECT_NEAR(w.lo, 0.1119, 1e-4);  // Wilson 95% interval of 5 / 20
  EXPECT_NEAR(w.hi, 0.4687, 1e-4);
  EXPECT_TRUE(std::isnan(share_of(0, 0).share));
  EXPECT_TRUE(to_json(share_of(0, 0))["share"].is_null());
  // 40 examples; the last 4 highly memorized: one far from its neighbours (outlier), one of high
  // leverage, one whose neighbours fall with it (learned), one copied by a model, and example 35
  // (not high) is all of these but is not counted.
  const int64_t N = 40;
  Scores s;
  ExampleDiagnostics d;
  d.k = 3;
  std::vector<bool> high(N, false);
  for (int64_t i = 0; i < N; ++i) {
    s.mem.push_back(i < 36 ? 0.1 * double(i % 7) : 10.0);
    s.mem_se.push_back(0.5);
    s.logp_in.push_back(-100.0 + double(i));  // rank of U grows with i: no high example has a low U
    d.nn_dist.push_back(0.1 + 0.001 * double(i % 9));
    d.leverage.push_back(0.01 + 0.0001 * double(i % 11));
    d.loo_mem.push_back(d.leverage.back());
    d.spill.spill.push_back(0.0);
    d.spill.spill_se.push_back(0.5);
    d.spill.pairs.push_back(3);
    d.spill_control.spill.push_back(i == 38 ? 1.0 : 0.0);  // row 38: still learned beyond the control
    d.spill_control.spill_se.push_back(0.5);
    d.spill_control.ratio.push_back(d.spill_control.spill.back() / s.mem.back());
    high[size_t(i)] = i >= 36;
  }
  d.u_rank = std::vector<double>(N);
  for (int64_t i = 0; i < N; ++i) d.u_rank[size_t(i)] = double(i) / double(N - 1);
  d.nn_dist[36] = d.nn_dist[35] = 5.0;
  d.leverage[37] = d.leverage[35] = 1.0;
  d.spill.spill[38] = d.spill.spill[35] = 9.5;
  d.spill.examples_with_pairs = N;
  for (int64_t i = 0; i < N; ++i) d.spill.ratio.push_back(d.spill.spill[i] / s.mem[i]);
  std::vector<int64_t> copies(N, 0);
  copies[39] = copies[35] = 2;
  const Verdict v = judge_memorization(s, d, high, copies);
  EXPECT_TRUE(v.categories[36].outlier && !v.categories[36].leverage && !v.categories[36].inlier);
  EXPECT_TRUE(v.categories[37].leverage && !v.categories[37].outlier);
  EXPECT_TRUE(v.categories[38].learned && !v.categories[38].regenerated);
  // With the same fall onto random examples, row 38's spillover is no longer specific to its neighbours.
  ExampleDiagnostics shifted = d;
  shifted.spill_control.spill[38] = 9.0;
  EXPECT_FALSE(judge_memorization(s, shifted, high, copies).categories[38].learned);
  EXPECT_TRUE(v.categories[39].regenerated && !v.categories[39].learned);
  EXPECT_FALSE(v.categories[35].outlier || v.categories[35].inlier);  // not highly memorized
  EXPECT_EQ(v.outlier.count, 1);
  EXPECT_EQ(v.leverage.count, 1);
  EXPECT_EQ(v.learned.count, 1);
  EXPECT_EQ(v.regenerated.count, 1);
  EXPECT_EQ(v.inlier.count, 0);
  EXPECT_EQ(v.inlier.n, 4);
  EXPECT_EQ(v.sentences.size(), 3u);
  // Without extract: regeneration is not checked, and example 39 becomes a memorized inlier.
  const Verdict nv = judge_memorization(s, d, high, std::nullopt);
  EXPECT_TRUE(nv.categories[39].inlier);
  EXPECT_FALSE(nv.regeneration_checked);
  EXPECT_NE(nv.sentences[2].find("not checked"), std::string::npos);
}
