#include "memscope/core/logmath.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace memscope;

TEST(LogMath, LogMeanExpOfSmallValuesMatchesDirectFormula) {
  std::vector<double> v = {-1.0, 0.5, 2.0};
  const double direct = std::log((std::exp(-1.0) + std::exp(0.5) + std::exp(2.0)) / 3);
  EXPECT_NEAR(logmeanexp(v), direct, 1e-12);
  EXPECT_NEAR(logsumexp(v), direct + std::log(3.0), 1e-12);
}

TEST(LogMath, LogMeanExpIsStableAtLargeMagnitudes) {
  // exp(-5000) underflows and exp(5000) overflows in double; shifting must keep the result exact.
  EXPECT_NEAR(logmeanexp({-5000.0, -5000.0}), -5000.0, 1e-9);
  EXPECT_NEAR(logmeanexp({5000.0, 5000.0, 5000.0}), 5000.0, 1e-9);
  EXPECT_NEAR(logmeanexp({-5000.0, -5000.0 + std::log(3.0)}), -5000.0 + std::log(2.0), 1e-9);
  // A value far below the maximum contributes nothing; the mean divides by 2.
  EXPECT_NEAR(logmeanexp({1e4, -1e4}), 1e4 - std::log(2.0), 1e-9);
}

TEST(LogMath, EdgeCases) {
  EXPECT_TRUE(std::isnan(logmeanexp({})));
  EXPECT_EQ(logsumexp({}), -INFINITY);
  EXPECT_EQ(logsumexp({-INFINITY, -INFINITY}), -INFINITY);
  EXPECT_TRUE(std::isnan(logsumexp({1.0, NAN})));
  EXPECT_DOUBLE_EQ(logmeanexp({3.25}), 3.25);
}

TEST(LogMath, RelativeVarianceOfKnownWeights) {
  // w = (1, 2, 3) times any scale: mean 2, unbiased variance 1, relative variance 1/4.
  const double off = -700;  // exp(off) alone would underflow to 0
  std::vector<double> v = {off, off + std::log(2.0), off + std::log(3.0)};
  EXPECT_NEAR(relative_variance(v), 0.25, 1e-12);
  EXPECT_NEAR(logmeanexp_var(v), 0.25 / 3, 1e-12);
  EXPECT_TRUE(std::isnan(relative_variance({1.0})));
  EXPECT_NEAR(relative_variance({4.0, 4.0}), 0.0, 1e-15);
}
