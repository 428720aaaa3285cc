#include "memscope/plan/plan.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "memscope/config/config_json.h"
#include "memscope/core/error.h"
#include "memscope/core/seeds.h"

using namespace memscope;

TEST(Plan, EveryExampleIsOutExactlyOncePerRepeat) {
  PlanConfig c;
  c.folds = 4;
  c.repeats = 3;
  const int64_t n = 103;
  Plan p = make_kfold_plan(n, c, 42);
  ASSERT_EQ(p.jobs.size(), 12u);
  torch::Tensor mask = p.in_mask();
  for (int64_t r = 0; r < 3; ++r) {
    torch::Tensor out = (~mask.slice(1, r * 4, r * 4 + 4)).to(torch::kInt64).sum(1);
    EXPECT_TRUE(out.eq(1).all().item<bool>()) << "repeat " << r;
  }
  for (const Job& j : p.jobs) {
    // Fold sizes differ by at most one: n/K rounded down or up.
    const int64_t held_out = n - int64_t(j.train.size());
    EXPECT_TRUE(held_out == 25 || held_out == 26) << held_out;
    std::set<int64_t> in(j.train.begin(), j.train.end());
    EXPECT_EQ(in.size(), j.train.size());
    EXPECT_TRUE(std::is_sorted(j.train.begin(), j.train.end()));
    EXPECT_EQ(j.id, j.repeat * 4 + j.fold);
  }
  // Distinct repeats use distinct permutations.
  EXPECT_FALSE(torch::equal(mask.slice(1, 0, 4), mask.slice(1, 4, 8)));
}

TEST(Plan, ReproducibleFromTheSeed) {
  PlanConfig c;
  c.folds = 5;
  c.repeats = 2;
  Plan a = make_kfold_plan(50, c, 9), b = make_kfold_plan(50, c, 9), other = make_kfold_plan(50, c, 10);
  EXPECT_TRUE(torch::equal(a.in_mask(), b.in_mask()));
  EXPECT_FALSE(torch::equal(a.in_mask(), other.in_mask()));
  std::set<uint64_t> seeds;
  for (size_t j = 0; j < a.jobs.size(); ++j) {
    EXPECT_EQ(a.jobs[j].seed, b.jobs[j].seed);
    seeds.insert(a.jobs[j].seed);
  }
  EXPECT_EQ(seeds.size(), a.jobs.size());
}

TEST(Plan, RejectsImpossibleDesigns) {
  PlanConfig c;
  c.folds = 11;
  EXPECT_THROW(make_kfold_plan(10, c, 0), Error);
  c.folds = 1;
  EXPECT_THROW(make_kfold_plan(10, c, 0), Error);
  c.folds = 2;
  c.repeats = 0;
  EXPECT_THROW(make_kfold_plan(10, c, 0), Error);
}

TEST(Plan, SubsetsAreBalancedAndSeeded) {
  PlanConfig c;
  c.design = Design::kSubsets;
  c.models = 7;
  c.subset_fraction = 0.4;  // round(2.8) = 3 models per example
  const int64_t n = 501;
  const Plan p = make_plan(n, c, 3);
  ASSERT_EQ(p.jobs.size(), 7u);
  const torch::Tensor mask = p.in_mask();
  EXPECT_TRUE(mask.to(torch::kInt64).sum(1).eq(3).all().item<bool>());
  int64_t total = 0;
  for (const Job& j : p.jobs) {
    EXPECT_EQ(j.repeat, j.id);
    EXPECT_EQ(j.fold, 0);
    EXPECT_TRUE(std::is_sorted(j.train.begin(), j.train.end()));
    total += int64_t(j.train.size());
    // Each model holds about f n examples (binomial-like spread around 3/7 of 501 = 215).
    EXPECT_NEAR(double(j.train.size()), 3.0 / 7 * n, 50);
  }
  EXPECT_EQ(total, 3 * n);
  const Plan again = make_plan(n, c, 3), other = make_plan(n, c, 4);
  EXPECT_TRUE(again.in_mask().equal(mask));
  EXPECT_FALSE(other.in_mask().equal(mask));
  EXPECT_NE(p.jobs[0].seed, p.jobs[1].seed);
  // Different models draw different subsets: no two columns are equal.
  for (int64_t a = 0; a < 7; ++a)
    for (int64_t b = a + 1; b < 7; ++b) EXPECT_FALSE(mask.select(1, a).equal(mask.select(1, b)));
  const std::vector<int64_t> r = job_repeats(c, 7);
  EXPECT_EQ(r, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
}

TEST(Plan, SubsetsRefuseFractionsWithoutInOrOutModels) {
  PlanConfig c;
  c.design = Design::kSubsets;
  c.models = 4;
  c.subset_fraction = 0.1;  // round(0.4) = 0 in-models
  EXPECT_THROW(make_plan(10, c, 0), ConfigError);
  c.subset_fraction = 0.9;  // round(3.6) = 4 = every model
  EXPECT_THROW(make_plan(10, c, 0), ConfigError);
  c.subset_fraction = 0.5;
  EXPECT_NO_THROW(make_plan(10, c, 0));
}

namespace {

/// The subsets design as it was before blocks (one balanced draw over all M models), as a reference:
/// runs made then must keep their masks.
torch::Tensor single_draw_mask(int64_t n, int64_t M, double f, uint64_t root_seed) {
  std::vector<torch::Tensor> draws;
  for (int64_t m = 0; m < M; ++m)
    draws.push_back(
        torch::rand({n}, make_generator(derive_seed(root_seed, SeedTag::kSubset, {uint64_t(m)})), torch::kFloat64));
  const torch::Tensor order = torch::stack(draws).argsort(int64_t{0});
  torch::Tensor mask = torch::zeros({n, M}, torch::kBool);
  const int64_t k = int64_t(std::llround(double(M) * f));
  for (int64_t r = 0; r < k; ++r)
    for (int64_t i = 0; i < n; ++i) mask[i][order[r][i].item<int64_t>()] = true;
  return mask;
}

}  // namespace

TEST(Plan, SubsetBlocksKeepEveryEarlierJobAndBalanceEachBlock) {
  PlanConfig c;
  c.design = Design::kSubsets;
  c.models = 6;
  const int64_t n = 301;
  const Plan one = make_plan(n, c, 5);
  // One block is the design of runs made before blocks existed, mask for mask.
  EXPECT_TRUE(one.in_mask().equal(single_draw_mask(n, 6, 0.5, 5)));
  c.models = 9;
  c.subset_blocks = {6, 3};
  const Plan two = make_plan(n, c, 5);
  ASSERT_EQ(two.jobs.size(), 9u);
  for (size_t m = 0; m < 6; ++m) {
    EXPECT_EQ(two.jobs[m].train, one.jobs[m].train);
    EXPECT_EQ(two.jobs[m].seed, one.jobs[m].seed);
  }
  const torch::Tensor mask = two.in_mask().to(torch::kInt64);
  // Every example in 3 of the first block and round(1.5) = 2 of the second: balanced overall too.
  EXPECT_TRUE(mask.slice(1, 0, 6).sum(1).eq(3).all().item<bool>());
  EXPECT_TRUE(mask.slice(1, 6, 9).sum(1).eq(2).all().item<bool>());
  EXPECT_NE(two.jobs[6].seed, two.jobs[7].seed);
  EXPECT_EQ(two.jobs[8].repeat, 8);
  // A block of one model cannot hold every example in and out.
  c.models = 7;
  c.subset_blocks = {6, 1};
  EXPECT_THROW(make_plan(n, c, 5), ConfigError);
  c.subset_blocks = {6, 2};  // sums to 8, not 7
  EXPECT_THROW(make_plan(n, c, 5), ConfigError);
}

TEST(Plan, SubsetBlocksFollowTheRunDirectory) {
  PlanConfig c;
  c.design = Design::kSubsets;
  c.models = 8;
  EXPECT_EQ(resolve_subset_blocks(c, {}), (std::vector<int64_t>{8}));         // a new run
  EXPECT_EQ(resolve_subset_blocks(c, {6}), (std::vector<int64_t>{6, 2}));     // more models: a new block
  EXPECT_EQ(resolve_subset_blocks(c, {6, 2}), (std::vector<int64_t>{6, 2}));  // the same run again
  c.models = 6;
  EXPECT_EQ(resolve_subset_blocks(c, {6, 2}), (std::vector<int64_t>{6}));  // fewer, at a block's end
  c.models = 12;
  EXPECT_EQ(resolve_subset_blocks(c, {6, 2}), (std::vector<int64_t>{6, 2, 4}));
  c.models = 7;
  EXPECT_THROW(resolve_subset_blocks(c, {6, 2}), ConfigError);  // cuts the second block
  c.subset_blocks = {4, 3};                                     // explicit blocks win
  EXPECT_EQ(resolve_subset_blocks(c, {6, 2}), (std::vector<int64_t>{4, 3}));
}

TEST(Plan, OnlyTheFirstSubsetBlockIsPartOfTheRunIdentity) {
  RunConfig a, b;
  a.plan.design = b.plan.design = Design::kSubsets;
  a.plan.models = 6;
  b.plan.models = 8;
  b.plan.subset_blocks = {6, 2};
  EXPECT_EQ(identity_json(a), identity_json(b));
  EXPECT_EQ(identity_json(a)["plan"]["models"], 6);
  b.plan.subset_blocks = {8};
  EXPECT_NE(identity_json(a), identity_json(b));
}
