#include "memscope/plan/plan.h"

#include <gtest/gtest.h>

#include <set>

#include "memscope/core/error.h"

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
