// No signal in, no finding out: on banks in which membership has no effect, with the structures of
// memscope's designs, every score and attack must report nothing; on planted banks, the planted
// examples must be found.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "memscope/core/logmath.h"
#include "memscope/plan/plan.h"
#include "memscope/score/membership.h"
#include "memscope/score/null.h"
#include "memscope/score/null_bank.h"
#include "memscope/score/scores.h"
#include "memscope/score/uncertainty.h"

using namespace memscope;

namespace {

/// A design of n examples: K folds x R repeats, or M subsets models in blocks.
struct NullDesign {
  std::string name;
  PlanConfig plan;
  int64_t n = 3000;
};

NullDesign kfold(int64_t K, int64_t R, int64_t n) {
  NullDesign d{"kfold " + std::to_string(K) + "x" + std::to_string(R), {}, n};
  d.plan.design = memscope::Design::kKfold;
  d.plan.folds = K, d.plan.repeats = R;
  return d;
}

NullDesign subsets(std::vector<int64_t> blocks, int64_t n) {
  NullDesign d{"subsets", {}, n};
  d.plan.design = memscope::Design::kSubsets;
  d.plan.models = 0;
  for (int64_t b : blocks) d.plan.models += b, d.name += " " + std::to_string(b);
  d.plan.subset_blocks = blocks;
  return d;
}

struct NullFigures {
  double mean_z = 0, beyond = 0;
};

/// Mean of est / se and the share of examples whose two-sided p-value (Student's t with df) is below 5%.
NullFigures z_figures(const std::vector<double>& est, const std::vector<double>& se, const std::vector<double>& df) {
  NullFigures f;
  double n = 0;
  for (size_t i = 0; i < est.size(); ++i) {
    if (!std::isfinite(est[i]) || !(se[i] > 0)) continue;
    const double z = est[i] / se[i];
    f.mean_z += z, n += 1;
    f.beyond += 2 * std::min(student_t_cdf(z, df[i]), 1 - student_t_cdf(z, df[i])) < 0.05;
  }
  f.mean_z /= n, f.beyond /= n;
  return f;
}

/// Checks M, mem_log and every attack on a null bank of design d.
void check_null(const NullDesign& d, const NullBankConfig& noise) {
  SCOPED_TRACE(d.name + ", missing " + std::to_string(noise.missing));
  const Plan plan = make_plan(d.n, d.plan, 11);
  const torch::Tensor mask = plan.in_mask();
  const torch::Tensor logp = null_bank_logp(mask, noise);
  const std::vector<int64_t> repeats = job_repeats(d.plan, mask.size(1));
  Scores s = compute_scores(logp, mask, repeats);
  MembershipResult r = membership(logp, mask, {}, repeats, false);
  permutation_null(logp, mask, repeats, repeats, r, &s, 4, 21, 0.05);
  const NullFigures m = z_figures(s.mem, s.mem_se, s.df), l = z_figures(s.mem_log, s.mem_log_se, s.df);
  EXPECT_NEAR(m.mean_z, 0, 0.05) << "M";
  EXPECT_GE(m.beyond, 0.035) << "M";
  EXPECT_LE(m.beyond, 0.07) << "M";
  EXPECT_NEAR(l.mean_z, 0, 0.05) << "mem_log";
  EXPECT_GE(l.beyond, 0.035) << "mem_log";
  EXPECT_LE(l.beyond, 0.07) << "mem_log";
  for (const AttackResult& a : r.attacks) {
    SCOPED_TRACE(to_string(a.attack));
    if (d.plan.design == memscope::Design::kKfold && d.plan.repeats == 1 && needs_references(a.attack)) {
      EXPECT_FALSE(a.unavailable.empty());  // no valid references: said, not measured
      continue;
    }
    ASSERT_TRUE(a.unavailable.empty()) << a.unavailable;
    EXPECT_NEAR(a.auc.mean, 0.5, 0.01);
    int64_t nonmembers = 0;
    for (const TargetResult& t : a.targets) nonmembers += t.nonmembers;
    for (size_t k = 1; k < kLowFpr.size(); ++k)
      if (double(nonmembers) * kLowFpr[k] >= 10) EXPECT_LE(a.pooled_tpr[k], 2 * kLowFpr[k]) << "FPR " << kLowFpr[k];
  }
}

}  // namespace

TEST(NullMath, StudentTMatchesClosedForms) {
  for (double t : {-30.0, -2.5, -0.3, 0.0, 0.7, 4.0}) {
    EXPECT_NEAR(student_t_cdf(t, 1), 0.5 + std::atan(t) / M_PI, 1e-12) << t;             // Cauchy
    EXPECT_NEAR(student_t_cdf(t, 2), 0.5 + t / (2 * std::sqrt(2 + t * t)), 1e-12) << t;  // df 2
    EXPECT_NEAR(student_t_cdf(t, INFINITY), 0.5 * std::erfc(-t / std::sqrt(2.0)), 1e-15) << t;
  }
  EXPECT_NEAR(student_t_cdf(2.228138851986, 10), 0.975, 1e-9);  // the table's t_{0.975, 10}
  EXPECT_NEAR(incomplete_beta(2, 3, 0.4), 1 - std::pow(0.6, 4) - 4 * 0.4 * std::pow(0.6, 3), 1e-12);
}

TEST(NullMath, BenjaminiHochbergQValues) {
  // m = 5: p * m / rank, then the running minimum from the largest p down; NaN is left out of m.
  const std::vector<double> q = bh_qvalues({0.01, 0.04, 0.03, NAN, 0.5, 0.02});
  EXPECT_NEAR(q[0], 0.05, 1e-12);
  EXPECT_NEAR(q[5], 0.05, 1e-12);  // 0.02 * 5 / 2
  EXPECT_NEAR(q[2], 0.05, 1e-12);  // 0.03 * 5 / 3
  EXPECT_NEAR(q[1], 0.05, 1e-12);  // 0.04 * 5 / 4
  EXPECT_NEAR(q[4], 0.5, 1e-12);
  EXPECT_TRUE(std::isnan(q[3]));
}

TEST(NullMath, SubsetLogMeanExpAveragesEveryKSubset) {
  const std::vector<double> v = {0.0, 1.0, 3.0};
  const double pairs = (logmeanexp({0.0, 1.0}) + logmeanexp({0.0, 3.0}) + logmeanexp({1.0, 3.0})) / 3;
  EXPECT_NEAR(subset_logmeanexp(v, 2, 0), pairs, 1e-12);
  EXPECT_NEAR(subset_logmeanexp(v, 1, 0), 4.0 / 3, 1e-12);  // size-1 subsets: the arithmetic mean
  EXPECT_NEAR(subset_logmeanexp(v, 3, 0), logmeanexp(v), 1e-12);
  EXPECT_TRUE(std::isnan(subset_logmeanexp(v, 4, 0)));
  // Too many subsets to enumerate: a fixed sample of them, the same for the same stream.
  std::vector<double> w;
  for (int k = 0; k < 40; ++k) w.push_back(std::sin(k) * 3);
  EXPECT_EQ(subset_logmeanexp(w, 5, 7), subset_logmeanexp(w, 5, 7));
}

TEST(NullScores, ThePluginIsBiasedAndTheBalancedEstimateIsNot) {
  // K = 5 folds x 2 repeats: 8 in-models against 2 out-models, log p spread 3 nats, no membership effect.
  NullDesign d = kfold(5, 2, 3000);
  NullBankConfig c;
  c.scale_lo = c.scale_hi = 3, c.tail_df = 0, c.model_offset_sd = 0;
  const Plan plan = make_plan(d.n, d.plan, 3);
  const torch::Tensor mask = plan.in_mask();
  const Scores s = compute_scores(null_bank_logp(mask, c), mask, job_repeats(d.plan, mask.size(1)));
  double plugin = 0, balanced = 0;
  for (size_t i = 0; i < s.mem.size(); ++i) plugin += s.mem_plugin[i] / 3000, balanced += s.mem[i] / 3000;
  EXPECT_GT(plugin, 1.0);  // the bias the plug-in has here: about +1.4 nats
  EXPECT_NEAR(balanced, 0, 0.1);
}

TEST(NullScores, KFoldDesignsReportNothingOnNoise) {
  NullBankConfig c;
  for (int64_t R : {1, 2, 4}) check_null(kfold(5, R, R == 1 ? 6000 : 3000), c);
}

TEST(NullScores, SubsetDesignsReportNothingOnNoise) {
  NullBankConfig c;
  check_null(subsets({8}, 4000), c);
  check_null(subsets({16}, 3000), c);
  check_null(subsets({64}, 1500), c);
  check_null(subsets({8, 8}, 3000), c);
}

TEST(NullScores, MissingModelsAndNormalTailsReportNothingOnNoise) {
  NullBankConfig c;
  c.missing = 0.15, c.seed = 5;
  check_null(kfold(5, 4, 3000), c);
  check_null(subsets({16}, 3000), c);
  c.missing = 0, c.tail_df = 0, c.model_offset_sd = 0.2;
  check_null(kfold(4, 2, 3000), c);
}

TEST(NullMembership, OneKFoldRepeatHasNoValidReferences) {
  const NullDesign d = kfold(5, 1, 200);
  const torch::Tensor mask = make_plan(d.n, d.plan, 1).in_mask();
  const MembershipResult r = membership(null_bank_logp(mask, {}), mask, {}, job_repeats(d.plan, 5));
  for (const AttackResult& a : r.attacks) {
    EXPECT_EQ(a.unavailable.empty(), a.attack == Attack::kBaseline) << to_string(a.attack);
    if (!a.unavailable.empty()) EXPECT_TRUE(std::isnan(a.auc.mean));
  }
}

TEST(NullDiscoveries, TwoHundredNullBanksRarelyDiscoverAnything) {
  // Under the global null the FDR is the chance of any discovery: at most q plus three binomial
  // standard errors over 200 banks (0.05 + 3 sqrt(0.05 0.95 / 200) = 0.096).
  const NullDesign d = kfold(5, 2, 300);
  const torch::Tensor mask = make_plan(d.n, d.plan, 2).in_mask();
  const std::vector<int64_t> repeats = job_repeats(d.plan, 10);
  int64_t any = 0, any_calibrated = 0;
  for (uint64_t b = 0; b < 200; ++b) {
    NullBankConfig c;
    c.seed = 100 + b;
    const torch::Tensor logp = null_bank_logp(mask, c);
    Scores s = compute_scores(logp, mask, repeats);
    any += discoveries(s, 0.05) > 0;
    MembershipResult r = membership(logp, mask, {}, repeats, false);
    permutation_null(logp, mask, repeats, repeats, r, &s, 2, b, 0.05);  // error bars calibrated on 2 draws
    any_calibrated += discoveries(s, 0.05) > 0;
  }
  EXPECT_LE(double(any) / 200, 0.096) << any << " of 200 banks";
  EXPECT_LE(double(any_calibrated) / 200, 0.096) << any_calibrated << " of 200 banks, calibrated";
}

TEST(NullDiscoveries, PlantedExamplesAreFoundAndTheNullBesideThemIsEmpty) {
  // The first 10 of 400 examples are 10 nats more likely under the models that trained on them.
  const NullDesign d = kfold(5, 2, 400);
  const torch::Tensor mask = make_plan(d.n, d.plan, 4).in_mask();
  NullBankConfig c;
  c.scale_lo = 1, c.scale_hi = 2, c.effect = 10, c.planted = 10;
  const torch::Tensor logp = null_bank_logp(mask, c);
  const std::vector<int64_t> repeats = job_repeats(d.plan, 10);
  const Scores s = compute_scores(logp, mask, repeats);
  int64_t planted_found = 0, others_found = 0;
  for (size_t i = 0; i < s.mem_q.size(); ++i) (i < 10 ? planted_found : others_found) += s.mem_q[i] <= 0.05;
  EXPECT_EQ(planted_found, 10);
  EXPECT_LE(others_found, 1);
  MembershipResult r = membership(logp, mask, {}, repeats, false);
  Scores calibrated = s;
  permutation_null(logp, mask, repeats, repeats, r, &calibrated, 5, 9, 0.05);
  EXPECT_EQ(r.mem_null.draws, 5);
  // A permuted mask sometimes puts a planted example's out-models back on its true out-models (1 in 25 for
  // 5 folds x 2 repeats), so the null holds a few of them; far fewer than the 10 found.
  EXPECT_LE(r.mem_null.discoveries.mean, 3.0);
  int64_t calibrated_found = 0;
  for (size_t i = 0; i < 10; ++i) calibrated_found += calibrated.mem_q[i] <= 0.05;
  EXPECT_EQ(calibrated_found, 10);
  for (const AttackResult& a : r.attacks) {
    EXPECT_EQ(a.null.draws, 5) << to_string(a.attack);
    EXPECT_NEAR(a.null.auc.mean, 0.5, 0.03) << to_string(a.attack);
  }
}
