#include "memscope/pipeline/budget.h"

#include <gtest/gtest.h>

#include <cmath>

#include "memscope/config/names.h"
#include "memscope/score/reliability.h"
#include "test_util.h"
#include "tiny_run.h"

using namespace memscope;

namespace {

/// A pilot of 5 folds x 2 repeats at 8 samples whose split-half r is 0.2 (whole run: 2r / (1 + r) = 1/3);
/// log p varies by 10 between models and by 10 S^-0.5 from its samples.
PilotFacts facts() {
  PilotFacts f;
  f.folds = 5;
  f.repeats = 2;
  f.samples = 8;
  f.mem = f.mem_log = 1.0 / 3;
  f.mem_lo = 0.1;
  f.mem_hi = 0.5;
  f.train_per_model = 2;
  f.eval_per_sample = 0.1;
  f.other_per_model = 0.5;
  f.mc.between = 10;
  f.mc.scale = 10;
  f.mc.decay = 0.5;
  return f;
}

}  // namespace

TEST(Budget, PredictionsFollowSpearmanBrownInUnitsOfPilotNoise) {
  const PilotFacts f = facts();
  // The pilot's own plan predicts the pilot.
  PlanPrediction p = predict_plan(f, 2, 8);
  EXPECT_NEAR(p.mem, 1.0 / 3, 1e-12);
  EXPECT_NEAR(p.seconds, 10 * (2 + 0.8 + 0.5), 1e-9);
  // Ten times the repeats: Spearman-Brown with k = 10, 10 (1/3) / (1 + 9 (1/3)) = 5/6.
  p = predict_plan(f, 20, 8);
  EXPECT_NEAR(p.mem, 5.0 / 6, 1e-12);
  EXPECT_NEAR(p.mem_lo, spearman_brown(0.1, 10), 1e-12);
  EXPECT_NEAR(p.mem_hi, spearman_brown(0.5, 10), 1e-12);
  // More samples: the same models with less noise each, V(8) / V(1024) times the information.
  const double k = (10 + 10 / std::sqrt(8.0)) / (10 + 10 / std::sqrt(1024.0));
  p = predict_plan(f, 2, 1024);
  EXPECT_NEAR(p.mem, spearman_brown(1.0 / 3, k), 1e-12);
  EXPECT_NEAR(p.seconds, 10 * (2 + 102.4 + 0.5), 1e-9);
  // A pilot in the plan's directory: a plan at its samples trains only the repeats it adds, and still scores all.
  PilotFacts kept = f;
  kept.kept_repeats = 2;
  EXPECT_NEAR(predict_plan(kept, 2, 8).seconds, 10 * 0.5, 1e-9);
  EXPECT_NEAR(predict_plan(kept, 20, 8).seconds, 5 * (18 * 2.8 + 20 * 0.5), 1e-9);
  EXPECT_NEAR(predict_plan(kept, 20, 8).mem, 5.0 / 6, 1e-12);
  EXPECT_NEAR(predict_plan(kept, 2, 1024).seconds, 10 * (2 + 102.4 + 0.5), 1e-9);
  // No signal in the pilot: nothing to project.
  PilotFacts none = f;
  none.mem = -0.05;
  EXPECT_EQ(predict_plan(none, 200, 8).mem, 0);
}

TEST(Budget, TheProposalIsTheBestPlanThatFitsAndTheCheapestThatReachesTheTarget) {
  const PilotFacts f = facts();
  const double budget = 600, target = 0.9;
  const BudgetProposal b = propose_plan(f, budget, target, 400);
  ASSERT_TRUE(b.best && b.for_target);
  EXPECT_LE(b.best->seconds, budget);
  EXPECT_GE(b.for_target->mem, target);
  // Against every plan of the grid.
  for (int64_t S = 8; S <= 1024; S *= 2)
    for (int64_t R = 2; R <= 400; ++R) {
      const PlanPrediction p = predict_plan(f, R, S);
      if (p.seconds <= budget) EXPECT_LE(p.mem, b.best->mem + 1e-12) << R << " x " << S;
      if (p.mem >= target) EXPECT_GE(p.seconds, b.for_target->seconds - 1e-9) << R << " x " << S;
    }
  // Here the samples cost more than they buy (V(8) 3.3 s = 44.7 against V(16) 4.1 s = 51.3): the best plan
  // spends the budget on models.
  EXPECT_EQ(b.best->samples, 8);
  EXPECT_EQ(b.best->repeats, int64_t(budget / (5 * (2 + 0.8 + 0.5))));
  // A budget below the cheapest plan has no best plan.
  EXPECT_FALSE(propose_plan(f, 10, target, 400).best);
}

TEST(Budget, TimesParseAndNonsenseIsAnErrorNamingTheFlag) {
  EXPECT_DOUBLE_EQ(parse_budget("10m"), 600);
  EXPECT_DOUBLE_EQ(parse_budget("90s"), 90);
  EXPECT_DOUBLE_EQ(parse_budget("1.5h"), 5400);
  EXPECT_DOUBLE_EQ(parse_budget("45"), 45);
  for (const char* bad : {"", "ten", "-1m", "0", "5d", "10 m"}) {
    try {
      parse_budget(bad);
      ADD_FAILURE() << bad;
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.key(), "budget") << bad;
    }
  }
}

TEST(Budget, APilotMeasuresTimesNoiseAndReliability) {
  const std::string dir = test::scratch_dir();
  RunConfig c = test::tiny_run(dir, 200);  // the pilot sets its own repeats, samples and directory
  c.train.epochs = 3;
  c.eval.eval_every = 0;
  c.analysis.null_draws = 2;
  const PilotFacts f = run_pilot(c, dir + "/pilot");
  EXPECT_EQ(f.folds, 4);
  EXPECT_EQ(f.repeats, 2);
  EXPECT_EQ(f.samples, 8);  // kept at 8, its noise measured as auto measures it
  EXPECT_EQ(f.mc.samples, 8);
  EXPECT_EQ(f.kept_repeats, 0);  // the caller knows where the plan runs
  EXPECT_TRUE(f.mc.fallback.empty());
  EXPECT_GT(f.mc.between, 0);
  EXPECT_GT(f.mc.scale, 0);
  EXPECT_GT(f.train_per_model, 0);
  EXPECT_GT(f.eval_per_sample, 0);
  EXPECT_GE(f.other_per_model, 0);
  EXPECT_TRUE(std::isfinite(f.mem) && f.mem_lo <= f.mem && f.mem <= f.mem_hi);
  EXPECT_GT(f.pilot, 0);
  // Only K-fold designs of the VAEs.
  RunConfig subsets = c;
  subsets.plan.design = Design::kSubsets;
  EXPECT_NE(test::error_of([&] { run_pilot(subsets, dir + "/s"); }).find("K-fold"), std::string::npos);
  RunConfig gaussian = c;
  gaussian.model.family = {Family::kGaussian, 0, 0};
  EXPECT_NE(test::error_of([&] { run_pilot(gaussian, dir + "/g"); }).find("importance-sampled"), std::string::npos);
}
