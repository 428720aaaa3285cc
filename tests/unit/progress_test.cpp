#include "memscope/core/progress.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace memscope;

TEST(Progress, BarAndDurations) {
  EXPECT_EQ(render_bar(0.0, 4), "[....]");
  EXPECT_EQ(render_bar(0.5, 4), "[##..]");
  EXPECT_EQ(render_bar(1.0, 4), "[####]");
  EXPECT_EQ(render_bar(7.0, 4), "[####]");
  EXPECT_EQ(render_bar(-1.0, 4), "[....]");
  EXPECT_EQ(render_bar(NAN, 4), "[....]");
  EXPECT_EQ(format_duration(5), "5s");
  EXPECT_EQ(format_duration(185), "3m05s");
  EXPECT_EQ(format_duration(3 * 3600 + 125), "3h02m");
  EXPECT_EQ(format_duration(-1), "--");
  EXPECT_EQ(format_duration(INFINITY), "--");
}

TEST(Progress, LineCountsJobsAndFractions) {
  Progress p(Progress::Mode::kNone, 10, 2);
  const std::string line = p.line(4, 2, 0.5, "train epoch 1/3", false);
  // (4 done + half of a group of 2) / 10 jobs = 50%.
  EXPECT_NE(line.find("plan  50% 4/10 jobs"), std::string::npos) << line;
  EXPECT_NE(line.find("group of 2  50%"), std::string::npos) << line;
  EXPECT_NE(line.find("train epoch 1/3"), std::string::npos) << line;
  EXPECT_NE(p.line(4, 2, 0.5, "", true).find("[##########..........]"), std::string::npos);
}
