#include "memscope/train/lanes.h"

#include <gtest/gtest.h>

#include "memscope/core/error.h"

using namespace memscope;

namespace {

void expect_plan(const LanePlan& p, const std::vector<int64_t>& bounds, int64_t side_by_side) {
  EXPECT_EQ(p.bounds, bounds);
  EXPECT_EQ(p.side_by_side, side_by_side);
  EXPECT_EQ(p.lanes(), int64_t(bounds.size()) - 1);
}

}  // namespace

TEST(Lanes, FiveMembersOnTwoThreadsRunTwoPairsSideBySideThenOneOnBothCores) {
  expect_plan(plan_lanes(5, 2, true), {0, 2, 4, 5}, 2);  // 5 = 2 * 2 + 1
}

TEST(Lanes, AnExactMultipleLeavesNoLastLane) {
  expect_plan(plan_lanes(4, 2, true), {0, 2, 4}, 2);
  expect_plan(plan_lanes(6, 3, true), {0, 2, 4, 6}, 3);
}

TEST(Lanes, FewerMembersThanThreadsMakeOneLaneOnAllCores) {
  expect_plan(plan_lanes(1, 2, true), {0, 1}, 0);
  expect_plan(plan_lanes(3, 4, true), {0, 3}, 0);
}

TEST(Lanes, OneMemberPerThreadThenTheRemainder) {
  expect_plan(plan_lanes(4, 3, true), {0, 1, 2, 3, 4}, 3);       // 4 = 1 * 3 + 1
  expect_plan(plan_lanes(11, 4, true), {0, 2, 4, 6, 8, 11}, 4);  // 11 = 2 * 4 + 3
}

TEST(Lanes, OneThreadOrAGpuMakeOneEnsemble) {
  expect_plan(plan_lanes(5, 1, true), {0, 5}, 0);
  expect_plan(plan_lanes(1, 1, true), {0, 1}, 0);
  expect_plan(plan_lanes(5, 2, false), {0, 5}, 0);
  expect_plan(plan_lanes(16, 8, false), {0, 16}, 0);
}

TEST(Lanes, DiffusionModelsTrainOneAtATimeOnTheWholePoolOnACpuAndStackedOnAGpu) {
  const LanePlan cpu = plan_lanes(5, 2, true, true);
  expect_plan(cpu, {0, 1, 2, 3, 4, 5}, 0);
  EXPECT_TRUE(cpu.pool);
  const LanePlan gpu = plan_lanes(5, 2, false, true);
  expect_plan(gpu, {0, 5}, 0);
  EXPECT_FALSE(gpu.pool);
  EXPECT_FALSE(plan_lanes(5, 2, true).pool);
}

TEST(Lanes, EveryMemberIsInExactlyOneLaneInOrder) {
  for (bool cpu : {true, false}) {
    for (int64_t G = 1; G <= 20; ++G) {
      for (int64_t T = 1; T <= 9; ++T) {
        const LanePlan p = plan_lanes(G, T, cpu);
        ASSERT_GE(p.lanes(), 1);
        EXPECT_EQ(p.bounds.front(), 0);
        EXPECT_EQ(p.bounds.back(), G);
        for (int64_t l = 0; l < p.lanes(); ++l) EXPECT_LT(p.bounds[l], p.bounds[l + 1]) << G << " " << T;
        // Side-by-side lanes are of equal size; at most one lane follows them.
        EXPECT_LE(p.lanes() - p.side_by_side, 1);
        for (int64_t l = 1; l < p.side_by_side; ++l)
          EXPECT_EQ(p.bounds[l + 1] - p.bounds[l], p.bounds[1] - p.bounds[0]);
        EXPECT_LE(p.side_by_side, cpu ? T : 0);
      }
    }
  }
}

TEST(Lanes, RejectsAnEmptyGroupAndNoThreads) {
  EXPECT_THROW(plan_lanes(0, 2, true), Error);
  EXPECT_THROW(plan_lanes(3, 0, true), Error);
}
