// Banks from other pipelines: the plan they follow, the layouts they come in (memscope's, bank.json, LiRA's
// experiment directories), a loss scored as its in-minus-out difference with its own null check, and the errors
// for a bank that does not say what it is.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "memscope/core/error.h"
#include "memscope/io/atomic.h"
#include "memscope/io/npy.h"
#include "memscope/pipeline/bank.h"
#include "memscope/pipeline/plan_files.h"
#include "memscope/pipeline/run_layout.h"
#include "memscope/plan/plan.h"
#include "memscope/score/null_bank.h"
#include "memscope/score/uncertainty.h"
#include "test_util.h"

using namespace memscope;
using memscope::test::error_of;
using memscope::test::scratch_dir;

namespace {

PlanConfig subsets_design(int64_t models) {
  PlanConfig p;
  p.design = Design::kSubsets;
  p.models = models;
  return p;
}

/// A bank of the loss -logp of a null bank (no membership effect) of design p, with `planted` examples whose loss
/// under their in-models is lowered by effect.
BankArrays loss_bank(const PlanConfig& p, int64_t n, int64_t planted, double effect) {
  const torch::Tensor mask = make_plan(n, p, 5).in_mask();
  torch::Tensor loss = -null_bank_logp(mask, {});
  loss.narrow(0, 0, planted).sub_(effect * mask.narrow(0, 0, planted).to(torch::kFloat64));
  BankArrays b;
  b.stat = loss.to(torch::kFloat32), b.mask = mask, b.statistic = "loss", b.direction = Direction::kLower;
  return b;
}

}  // namespace

TEST(Plan, MaskHashIsTheSha256OfTheMaskBytes) {
  // hashlib.sha256(bytes([0, 1, 1, 0, 1, 0])).hexdigest()
  const torch::Tensor mask = torch::tensor({0, 1, 1, 0, 1, 0}, torch::kInt64).reshape({3, 2}).to(torch::kBool);
  EXPECT_EQ(mask_sha256(mask), "6b806951ed9e680a5672164b81f905db3a659f9c8effc6f7028b9b46f2f70c41");
  EXPECT_EQ(mask_sha256(mask.t().contiguous().t()), mask_sha256(mask));  // row-major whatever the strides
}

TEST(Plan, FilesHoldTheMasksRunTrains) {
  const std::string dir = scratch_dir();
  RunConfig c;
  c.plan.folds = 3, c.plan.repeats = 2, c.seed = 9;
  const PlanOutcome o = write_plan(c, 50, dir);
  const torch::Tensor expected = make_plan(50, c.plan, 9).in_mask();
  const PlanLayout files(dir);
  EXPECT_TRUE(torch::equal(read_npy(files.mask()), expected));
  EXPECT_TRUE(torch::equal(read_npy(files.keep()), expected.t()));
  for (int64_t j = 0; j < o.models; ++j)
    EXPECT_TRUE(torch::equal(read_npy(files.train(j)), expected.select(1, j).nonzero().flatten()));
  EXPECT_EQ(o.models, 6);
  EXPECT_FALSE(o.data);
  EXPECT_EQ(read_json_object(files.plan()).at("mask_sha256"), mask_sha256(expected));
}

TEST(Bank, LossOnNoiseReportsNothingAndPlantedExamplesAreFound) {
  for (const PlanConfig& p : {subsets_design(16), [] {
                                PlanConfig k;
                                k.folds = 4, k.repeats = 4;
                                return k;
                              }()}) {
    SCOPED_TRACE(p.design == Design::kSubsets ? "subsets 16" : "kfold 4x4");
    const BankOutcome null = score_bank(loss_bank(p, 2000, 0, 0), {});
    ASSERT_TRUE(null.scores.difference);
    double z = 0, beyond = 0;  // mean z, and the share beyond the two-sided 5% point of Student's t
    for (size_t i = 0; i < null.scores.mem.size(); ++i) {
      const double zi = null.scores.mem[i] / null.scores.mem_se[i];
      z += zi / 2000;
      beyond += 2 * (1 - student_t_cdf(std::abs(zi), null.scores.df[i])) < 0.05;
    }
    EXPECT_NEAR(z, 0, 0.06);
    EXPECT_NEAR(beyond / 2000, 0.05, 0.02);
    EXPECT_LE(discoveries(null.scores, 0.05), 2);
    for (const AttackResult& a : null.membership.attacks) EXPECT_NEAR(a.auc.mean, 0.5, 0.015) << to_string(a.attack);
    const BankOutcome planted = score_bank(loss_bank(p, 2000, 20, 8), {});
    int64_t found = 0;
    for (int64_t i = 0; i < 20; ++i) found += planted.scores.mem_q[i] <= 0.05;
    EXPECT_GE(found, 18);
    EXPECT_LE(discoveries(planted.scores, 0.05) - found, 5);  // about 1 expected at an FDR of 5%
  }
}

TEST(Bank, ALossIsScoredAsMinusItsValueWithHigher) {
  BankArrays lower = loss_bank(subsets_design(8), 300, 10, 4), higher = lower;
  higher.stat = -lower.stat, higher.direction = Direction::kHigher, higher.statistic = "minus loss";
  const BankOutcome a = score_bank(lower, {}), b = score_bank(higher, {});
  EXPECT_EQ(a.scores.mem, b.scores.mem);
  EXPECT_EQ(a.scores.mem_q, b.scores.mem_q);
  EXPECT_TRUE(std::isnan(a.scores.mem_plugin[0]));  // M is not defined
  // A log-likelihood is scored as M, not as the difference.
  higher.statistic = kLogLikelihood;
  EXPECT_FALSE(score_bank(higher, {}).scores.difference);
}

TEST(Bank, MasksThatDoNotFitAreRefused) {
  BankArrays b = loss_bank(subsets_design(4), 30, 0, 0);
  b.plan_sha256 = mask_sha256(b.mask);
  EXPECT_TRUE(score_bank(b, {}).plan_checked);
  b.plan_sha256 = mask_sha256(~b.mask);
  EXPECT_NE(error_of([&] { score_bank(b, {}); }).find("not the mask of the plan"), std::string::npos);
  b.plan_sha256.clear();
  b.mask = b.mask.t().contiguous();
  EXPECT_NE(error_of([&] { score_bank(b, {}); }).find("the transpose of"), std::string::npos);
}

TEST(Bank, DescriptionSaysWhichWayTheStatisticPoints) {
  const std::string dir = scratch_dir();
  const torch::Tensor mask = make_plan(20, subsets_design(4), 1).in_mask();
  write_npy(dir + "/loss.npy", torch::rand({20, 4}));
  write_npy(dir + "/mask.npy", mask);
  write_atomic(dir + "/bank.json", R"({"statistic": "loss", "file": "loss.npy"})");
  EXPECT_NE(error_of([&] { score_bank(read_bank(dir), {}); }).find("has no direction"), std::string::npos);
  write_atomic(dir + "/bank.json", R"({"statistic": "log-likelihood", "direction": "lower", "file": "loss.npy"})");
  EXPECT_NE(error_of([&] { score_bank(read_bank(dir), {}); }).find("higher for a member"), std::string::npos);
  write_atomic(dir + "/bank.json", R"({"statistic": "loss", "direction": "down", "file": "loss.npy"})");
  EXPECT_NE(error_of([&] { read_bank(dir); }).find("bank.json"), std::string::npos);
  write_atomic(dir + "/bank.json", R"({"statistic": "loss", "direction": "lower", "file": "loss.npy"})");
  const BankArrays b = read_bank(dir);
  EXPECT_EQ(b.direction.value(), Direction::kLower);
  EXPECT_EQ(b.layout, "memscope");
  EXPECT_TRUE(torch::equal(b.mask, mask));
}

TEST(Bank, ReadsLiraExperimentDirectories) {
  const std::string dir = scratch_dir();
  const torch::Tensor mask = make_plan(30, subsets_design(12), 2).in_mask();
  const torch::Tensor scores = torch::randn({12, 30, 1, 2}, torch::kFloat64);
  for (int64_t j = 0; j < 12; ++j) {  // experiment-10 and -11 sort after experiment-2
    const std::string e = dir + "/experiment-" + std::to_string(j) + "_of_12";
    std::filesystem::create_directories(e + "/scores");
    write_npy(e + "/keep.npy", mask.select(1, j).contiguous());
    write_npy(e + "/scores/0000000001.npy", torch::zeros({30, 1, 2}));  // an earlier epoch: not read
    write_npy(e + "/scores/0000000100.npy", scores[j]);
  }
  const BankArrays b = read_bank(dir);
  EXPECT_EQ(b.layout, "lira");
  EXPECT_EQ(b.statistic, "lira-score");
  EXPECT_EQ(b.direction.value(), Direction::kHigher);
  EXPECT_TRUE(torch::equal(b.mask, mask));
  EXPECT_TRUE(torch::allclose(b.stat, scores.mean({2, 3}).t()));
  std::filesystem::remove(dir + "/experiment-3_of_12/keep.npy");
  EXPECT_NE(error_of([&] { read_bank(dir); }).find("experiment-3_of_12/keep.npy"), std::string::npos);
}
