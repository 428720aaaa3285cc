#include "memscope/score/scores.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <utility>
#include <vector>

#include "memscope/core/logmath.h"
#include "memscope/io/csv.h"
#include "memscope/score/uncertainty.h"
#include "test_util.h"

using namespace memscope;

TEST(Scores, InAndOutAveragesOfKnownMatrix) {
  // Example 0: in-models {-10, -12}, out-model {-15}. Example 1: in {-3}, out {-1, NaN (diverged)}.
  torch::Tensor logp = torch::tensor({{-10.0, -12.0, -15.0}, {-3.0, -1.0, std::nan("")}}, torch::kFloat64);
  torch::Tensor mask = torch::tensor({{true, true, false}, {true, false, false}});
  Scores s = compute_scores(logp, mask);
  const double u0 = std::log((std::exp(-10.0) + std::exp(-12.0)) / 2);
  EXPECT_NEAR(s.logp_in[0], u0, 1e-12);
  EXPECT_NEAR(s.logp_out[0], -15.0, 1e-12);
  EXPECT_NEAR(s.mem_plugin[0], u0 + 15.0, 1e-12);
  EXPECT_NEAR(s.mem[0], -11.0 + 15.0, 1e-12);  // balanced: one model a side, so the in-side's mean
  EXPECT_EQ(s.n_in[0], 2);
  EXPECT_EQ(s.n_out[0], 1);
  EXPECT_NEAR(s.mem[1], -2.0, 1e-12);
  EXPECT_EQ(s.n_out[1], 1);  // the NaN model does not count
  // Single models on a side borrow the median relative variance of the in side (example 0's).
  const double r = relative_variance({-10.0, -12.0});
  EXPECT_NEAR(s.mem_se_delta[0], std::sqrt(r / 2 + r / 1), 1e-12);
  EXPECT_NEAR(s.mem_se_delta[1], std::sqrt(r / 1 + r / 1), 1e-12);
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
  torch::Tensor mem = torch::tensor(s.mem, torch::kFloat64), se = torch::tensor(s.mem_se_delta, torch::kFloat64);
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

namespace {

/// A K-fold x R plan of N examples with planted scores: log p of example i under model j is
/// base_i + mem_i [j trained on i] + sd_i * noise, the noise drawn from `gen` (one "seed").
struct PlantedRun {
  torch::Tensor logp, mask;  // [N, K R] float64, bool
};

/// tau: sd of a per-(example, repeat) effect of the partition, +c on the example's in-models of that
/// repeat and -c on its out-model (neighbours that went to the in-side help it there and are missed there).
PlantedRun planted_run(const torch::Tensor& base, const torch::Tensor& mem, const torch::Tensor& sd, int64_t K,
                       int64_t R, uint64_t seed, double tau = 0) {
  const int64_t N = base.size(0);
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  torch::Tensor mask = torch::ones({N, K * R}, torch::kBool);
  for (int64_t r = 0; r < R; ++r) {
    torch::Tensor perm = torch::randperm(N, gen);
    for (int64_t i = 0; i < N; ++i) mask[perm[i].item<int64_t>()][r * K + i % K] = false;
  }
  torch::Tensor noise = torch::randn({N, K * R}, gen, torch::kFloat64);
  torch::Tensor logp = base.unsqueeze(1) + mem.unsqueeze(1) * mask.to(torch::kFloat64) + sd.unsqueeze(1) * noise;
  torch::Tensor c = tau * torch::randn({N, R}, gen, torch::kFloat64).repeat_interleave(K, 1);
  logp += c * (2 * mask.to(torch::kFloat64) - 1);
  return {logp, mask};
}

}  // namespace

TEST(Scores, MemLogIsTheDifferenceOfMeansWithPooledSpread) {
  // One example, in {-10, -12}, out {-15, -19}: pooled variance (2 + 8) / 2 = 5 with 2 degrees of
  // freedom. A single example leaves the moderation prior at its own variance, corrected for the
  // bias of a mean log variance (limma: s0^2 = exp(log s^2 - digamma(d/2) + log(d/2)), d0 = infinity),
  // here 5 exp(euler).
  torch::Tensor logp = torch::tensor({{-10.0, -12.0, -15.0, -19.0}}, torch::kFloat64);
  torch::Tensor mask = torch::tensor({{true, true, false, false}});
  const Scores s = compute_scores(logp, mask);
  EXPECT_NEAR(s.mem_log[0], -11.0 + 17.0, 1e-12);
  const double var = 5.0 * std::exp(0.57721566490153286);
  EXPECT_NEAR(s.logp_sd[0], std::sqrt(var), 1e-6);
  EXPECT_NEAR(s.mem_log_se[0], std::sqrt(var * (0.5 + 0.5)), 1e-6);
  EXPECT_NEAR(s.mem_se[0], std::sqrt(2.0) * logmeanexp_normal_sd(2, std::sqrt(var)), 1e-6);
}

TEST(Scores, MonteCarloErrorOfEachLogPIsAddedToTheErrorBars) {
  // In-models with se 1 and 3, out-models with se 2 and a missing one (NaN): mc^2 = mean(1, 9) / 2 +
  // 4 / 1 = 6.5, added to the variances of both error bars.
  torch::Tensor logp = torch::tensor({{-10.0, -12.0, -15.0, -19.0}}, torch::kFloat64);
  torch::Tensor mask = torch::tensor({{true, true, false, false}});
  Scores s = compute_scores(logp, mask);
  const double se = s.mem_se[0], se_log = s.mem_log_se[0];
  const double nan = std::nan("");
  add_monte_carlo_error(s, torch::tensor({{1.0, 3.0, 2.0, nan}}, torch::kFloat64), mask);
  ASSERT_EQ(s.mem_mc_se.size(), 1u);
  EXPECT_NEAR(s.mem_mc_se[0], std::sqrt(6.5), 1e-12);
  EXPECT_NEAR(s.mem_se[0], std::sqrt(se * se + 6.5), 1e-12);
  EXPECT_NEAR(s.mem_log_se[0], std::sqrt(se_log * se_log + 6.5), 1e-12);
  const std::string path = test::scratch_dir() + "/scores.csv";
  write_scores_csv(path, torch::tensor({7}), torch::tensor({1}), s);
  const CsvTable t = read_numeric_csv(path);
  EXPECT_EQ(t.header.back(), "mem_mc_se");
  EXPECT_NEAR(t.column("mem_mc_se", path)[0].item<double>(), std::sqrt(6.5), 1e-5);
}

TEST(Scores, CalibratedErrorBarsMatchTheSpreadOfRepeatedExperiments) {
  // Every example has the same truth; each row is an independent experiment with n_in in-models and
  // n_out out-models whose log p scatter by sd 2.8 (as measured on Fashion-MNIST). The mean reported se
  // must match the standard deviation of the estimate over the experiments, for M and mem_log.
  const std::vector<std::pair<int64_t, int64_t>> sizes = {{16, 4}, {8, 2}, {4, 1}};
  for (auto [n_in, n_out] : sizes) {
    const int64_t experiments = 4000;
    const double sigma = 2.8;
    torch::manual_seed(1 + n_out);
    torch::Tensor logp = torch::cat({-100 + sigma * torch::randn({experiments, n_in}, torch::kFloat64),
                                     -103 + sigma * torch::randn({experiments, n_out}, torch::kFloat64)},
                                    1);
    torch::Tensor mask = torch::cat({torch::ones({experiments, n_in}), torch::zeros({experiments, n_out})}, 1);
    const Scores s = compute_scores(logp, mask.to(torch::kBool));
    for (auto [est, se] : {std::pair{&s.mem, &s.mem_se}, std::pair{&s.mem_log, &s.mem_log_se}}) {
      const double empirical = torch::tensor(*est, torch::kFloat64).std().item<double>();
      const double reported = torch::tensor(*se, torch::kFloat64).square().mean().sqrt().item<double>();
      EXPECT_NEAR(reported / empirical, 1.0, 0.1) << n_in << " in, " << n_out << " out";
    }
    EXPECT_NEAR(s.prior_sd, sigma, 0.1);
  }
}

TEST(Scores, TwoSeedsOfATinyPlanGiveCalibratedZ) {
  // Two independent runs (different fold permutations and model noise) of a 5-fold plan over 600
  // examples whose spread of log p differs between examples (2.2 to 3.4 nats) and whose planted
  // memorization is exponential: z = (M1 - M2) / sqrt(se1^2 + se2^2) must have sd in [0.85, 1.2] for
  // 2 and 4 repeats (and for 1 repeat, where the out side has one model and borrows its spread).
  torch::manual_seed(5);
  const int64_t N = 600;
  torch::Tensor base = -200 + 20 * torch::randn({N}, torch::kFloat64);
  torch::Tensor mem = -torch::log(torch::rand({N}, torch::kFloat64));
  torch::Tensor sd = 2.2 + 1.2 * torch::rand({N}, torch::kFloat64);
  for (int64_t R : {1, 2, 4}) {
    const PlantedRun a = planted_run(base, mem, sd, 5, R, 100 + R), b = planted_run(base, mem, sd, 5, R, 200 + R);
    const Scores sa = compute_scores(a.logp, a.mask), sb = compute_scores(b.logp, b.mask);
    const double zm = test::z_sd(sa.mem, sa.mem_se, sb.mem, sb.mem_se);
    const double zl = test::z_sd(sa.mem_log, sa.mem_log_se, sb.mem_log, sb.mem_log_se);
    EXPECT_GE(zm, 0.85) << R << " repeats";
    EXPECT_LE(zm, 1.2) << R << " repeats";
    EXPECT_GE(zl, 0.85) << R << " repeats";
    EXPECT_LE(zl, 1.2) << R << " repeats";
    // The delta-method se understates the spread of M at this noise level.
    if (R >= 2) EXPECT_GT(test::z_sd(sa.mem, sa.mem_se_delta, sb.mem, sb.mem_se_delta), 1.5) << R << " repeats";
  }
}

TEST(Uncertainty, JackknifeOfALogMeanExpOnHandValues) {
  // v = log {1, 2, 3}: leaving one out gives log 2.5, log 2, log 1.5.
  const std::vector<double> v = {0.0, std::log(2.0), std::log(3.0)};
  const double l[3] = {std::log(2.5), std::log(2.0), std::log(1.5)};
  const double mean = (l[0] + l[1] + l[2]) / 3;
  double ss = 0;
  for (double x : l) ss += (x - mean) * (x - mean);
  EXPECT_NEAR(logmeanexp_jackknife_var(v), 2.0 / 3.0 * ss, 1e-12);
  // Of a plain mean (tiny spread, where logmeanexp ~ mean) the jackknife is s^2 / n.
  const std::vector<double> w = {1e-4, 3e-4, -2e-4, 0.0};
  const double s2 = 1e-8 * (0.25 + 6.25 + 6.25 + 0.25) / 3;  // deviations 0.5, 2.5, -2.5, -0.5 (1e-4)
  EXPECT_NEAR(logmeanexp_jackknife_var(w) / (s2 / 4), 1.0, 1e-3);
  EXPECT_TRUE(std::isnan(logmeanexp_jackknife_var({1.0})));
}

TEST(Uncertainty, SpreadOfALogMeanExpOfNormalDraws) {
  EXPECT_DOUBLE_EQ(logmeanexp_normal_sd(1, 2.5), 2.5);
  // Small spread: logmeanexp ~ mean, sd sigma / sqrt(n).
  EXPECT_NEAR(logmeanexp_normal_sd(4, 0.1) / (0.1 / 2), 1.0, 0.03);
  EXPECT_NEAR(logmeanexp_normal_sd(9, 0.05) / (0.05 / 3), 1.0, 0.03);
  // Large spread: logmeanexp ~ max - log n; the max of two standard normals has sd sqrt(1 - 1/pi).
  EXPECT_NEAR(logmeanexp_normal_sd(2, 8.0) / (8.0 * std::sqrt(1 - 1 / M_PI)), 1.0, 0.03);
  // Between grid points: monotone in sigma, and linear interpolation of neighbours.
  const double a = logmeanexp_normal_sd(4, 2.8), b = logmeanexp_normal_sd(4, 2.9);
  EXPECT_LT(a, b);
  EXPECT_NEAR(logmeanexp_normal_sd(4, 2.85), 0.5 * (a + b), 1e-9);
  EXPECT_TRUE(std::isnan(logmeanexp_normal_sd(4, std::nan(""))));
}

TEST(Uncertainty, SpecialFunctions) {
  const double euler = 0.57721566490153286;
  EXPECT_NEAR(digamma(1), -euler, 1e-10);
  EXPECT_NEAR(digamma(0.5), -euler - 2 * std::log(2.0), 1e-10);
  EXPECT_NEAR(trigamma(1), M_PI * M_PI / 6, 1e-9);
  EXPECT_NEAR(trigamma(0.5), M_PI * M_PI / 2, 1e-9);
  for (double x : {0.05, 0.7, 3.0, 40.0, 1e4}) EXPECT_NEAR(trigamma_inverse(trigamma(x)) / x, 1.0, 1e-6) << x;
}

TEST(Uncertainty, ModeratedVariancesRecoverAPlantedPrior) {
  // True variances from a scaled inverse chi-square (d0 = 8, s0^2 = 4); sample variances on d = 3
  // degrees of freedom. The fit recovers the prior, and every moderated variance lies between the
  // sample variance and s0^2.
  std::mt19937_64 gen(3);
  std::chi_squared_distribution<double> prior(8), sample(3);
  std::vector<double> s2, df;
  for (int i = 0; i < 20000; ++i) {
    const double sigma2 = 8 * 4.0 / prior(gen);
    s2.push_back(sigma2 * sample(gen) / 3);
    df.push_back(3);
  }
  s2.push_back(std::nan(""));
  df.push_back(0);
  const ModeratedVariances m = moderate_variances(s2, df);
  EXPECT_NEAR(m.prior_df, 8, 1.2);
  EXPECT_NEAR(m.prior_var, 4, 0.2);
  for (size_t i = 0; i + 1 < s2.size(); ++i) {
    EXPECT_LE(m.var[i], std::max(s2[i], m.prior_var) + 1e-12);
    EXPECT_GE(m.var[i], std::min(s2[i], m.prior_var) - 1e-12);
  }
  EXPECT_DOUBLE_EQ(m.var.back(), m.prior_var);  // no information of its own: the prior
  // Variances that scatter no more than chi-square noise: d0 infinite, every variance the prior.
  const ModeratedVariances same = moderate_variances({2.0, 2.0, 2.0}, {5, 5, 5});
  EXPECT_TRUE(std::isinf(same.prior_df));
  EXPECT_NEAR(same.var[1], 2.0 * std::exp(-digamma(2.5) + std::log(2.5)), 1e-12);
}

TEST(Scores, ModelsSharingAPartitionInflateTheErrorBarsByTheDesignEffect) {
  // 2 folds x 6 repeats with a partition effect of sd tau = 2.5 against a model spread of 2.8: treating
  // the 12 models as independent understates the run-to-run spread; the design effect estimated between
  // repeats restores calibration. Per repeat d = in - out has variance 2 sd^2 + 4 tau^2, while the pooled
  // variance of log p is sd^2 + tau^2: D = (sd^2 + 2 tau^2) / (sd^2 + tau^2) = 1.44.
  torch::manual_seed(6);
  const int64_t N = 1500, K = 2, R = 6;
  torch::Tensor base = -200 + 20 * torch::randn({N}, torch::kFloat64);
  torch::Tensor mem = -torch::log(torch::rand({N}, torch::kFloat64));
  torch::Tensor sd = torch::full({N}, 2.8, torch::kFloat64);
  std::vector<int64_t> repeat;
  for (int64_t r = 0; r < R; ++r)
    for (int64_t k = 0; k < K; ++k) repeat.push_back(r);
  const PlantedRun a = planted_run(base, mem, sd, K, R, 31, 2.5), b = planted_run(base, mem, sd, K, R, 32, 2.5);
  const Scores ia = compute_scores(a.logp, a.mask), ib = compute_scores(b.logp, b.mask);
  const Scores da = compute_scores(a.logp, a.mask, repeat), db = compute_scores(b.logp, b.mask, repeat);
  EXPECT_DOUBLE_EQ(ia.design_effect, 1.0);
  EXPECT_NEAR(da.design_effect, (2.8 * 2.8 + 2 * 2.5 * 2.5) / (2.8 * 2.8 + 2.5 * 2.5), 0.12);
  EXPECT_GT(test::z_sd(ia.mem_log, ia.mem_log_se, ib.mem_log, ib.mem_log_se), 1.1);
  for (auto [x, y] : {std::pair{&da.mem, &db.mem}, std::pair{&da.mem_log, &db.mem_log}}) {
    const auto& sx = x == &da.mem ? da.mem_se : da.mem_log_se;
    const auto& sy = y == &db.mem ? db.mem_se : db.mem_log_se;
    const double z = test::z_sd(*x, sx, *y, sy);
    EXPECT_GE(z, 0.85);
    EXPECT_LE(z, 1.2);
  }
  // Without a partition effect the design effect stays at 1 (it is never below).
  const PlantedRun c = planted_run(base, mem, sd, K, R, 33);
  EXPECT_NEAR(compute_scores(c.logp, c.mask, repeat).design_effect, 1.0, 0.1);
  EXPECT_NE(test::error_of([&] {
              compute_scores(c.logp, c.mask, {0, 1});
            }).find("2 repeats for 12 jobs"),
            std::string::npos);
}
