#pragma once
// "Is it memorization?": the memorized examples (discoveries at the FDR) split into outliers, high
// leverage, learned (neighbour spillover), regenerated and memorized inliers, with shares and
// their uncertainty, the rank correlations behind them, and sentences that answer the four
// objections to the density-ratio score from this run's numbers.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "memscope/analysis/diagnostics.h"
#include "memscope/score/scores.h"

namespace memscope {

/// The thresholds of the categories (stated in the report and summary.json).
struct VerdictRule {
  /// Outliers: U below this quantile, or mean distance to the k nearest examples above 1 - it.
  double outlier_share = 0.05;
  /// High leverage: leverage above the 1 - leverage_share quantile.
  double leverage_share = 0.05;
  /// Learned: (S - S_control) - ratio M > z sqrt(se_S^2 + se_control^2 + ratio^2 se_M^2), i.e. the
  /// spillover beyond that onto random examples, over M, significantly above ratio (one-sided, z = 1.645: 5%).
  double ratio = 0.5, z = 1.645;
};

/// Per example, the categories of a memorized example (all false for the others).
struct ExampleCategories {
  bool outlier = false, leverage = false, learned = false, regenerated = false, inlier = false;
};

struct Verdict {
  /// Every figure, for summary.json and the report ("is_memorization").
  nlohmann::json summary;
  /// [N] categories.
  std::vector<ExampleCategories> categories;
  /// Two or three sentences answering the four objections from the numbers.
  std::vector<std::string> sentences;
};

/// A proportion k / n with its 95% Wilson interval, as JSON {count, n, share, lo, hi}.
nlohmann::json share_json(int64_t k, int64_t n);

/// high: [N] the memorized examples (the discoveries); copy_models: [N] models copying each example (from
/// `memscope extract`), nothing when extract has not run.
Verdict judge_memorization(const Scores& s, const ExampleDiagnostics& d, const std::vector<bool>& high,
                           const std::optional<std::vector<int64_t>>& copy_models, const VerdictRule& rule = {});

}  // namespace memscope
