#pragma once
// "Is it memorization?": the memorized examples (discoveries at the FDR) split into outliers, high
// leverage, learned (neighbour spillover), regenerated and memorized inliers, with shares and
// their uncertainty, the rank correlations behind them, and sentences that answer the four
// objections to the density-ratio score from this run's numbers.
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "memscope/analysis/analysis.h"
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

/// A proportion count / n with its 95% Wilson interval (share, lo and hi NaN when n is 0).
struct Share {
  int64_t count = 0, n = 0;
  double share = NAN, lo = NAN, hi = NAN;
};
Share share_of(int64_t count, int64_t n);
/// {count, n, share, lo, hi} (NaN: null).
nlohmann::json to_json(const Share& s);

/// Rank correlations (Spearman) of M with the diagnostics, and top-5% overlaps (NaN: not computed).
struct VerdictCorrelations {
  double leverage = NAN, loo_mem = NAN, nn_dist = NAN, u_rank = NAN, spill = NAN, spill_control = NAN;
  double top5_overlap_leverage = NAN, top5_overlap_nn_dist = NAN;
};

struct Verdict {
  /// The rule, and the thresholds it gives on this data (mean l2 to the nearest examples, leverage; NaN: none).
  VerdictRule rule;
  double outlier_distance_threshold = NAN, leverage_threshold = NAN;
  /// Nearest neighbours behind outlierness and spillover; principal components of the leverage and the share
  /// of the variance they hold.
  int64_t neighbours = 0, leverage_components = 0;
  double leverage_variance_share = NAN;
  /// Memorized examples; examples with spillover pairs, all and memorized; the spillover's design effect.
  int64_t n_high = 0, spillover_examples = 0, spillover_high_examples = 0;
  double spill_design_effect = NAN;
  /// Whether copies were counted (memscope extract has run).
  bool regeneration_checked = false;
  /// Shares of the memorized in each category (learned: of those with spillover pairs).
  Share outlier, leverage, learned, regenerated, inlier;
  VerdictCorrelations correlations;
  /// Quantiles 0.1 ... 0.9 of S/M, S_control/M and (S - S_control)/M over the memorized (high) or all examples.
  Quantiles ratio_high, ratio_all, control_ratio_high, net_ratio_high, net_ratio_all;
  /// [N] categories.
  std::vector<ExampleCategories> categories;
  /// Two or three sentences answering the four objections from the numbers.
  std::vector<std::string> sentences;
};

/// summary.json's "is_memorization": every figure above and the sentences (not the categories).
nlohmann::json to_json(const Verdict& v);

/// high: [N] the memorized examples (the discoveries); copy_models: [N] models copying each example (from
/// `memscope extract`), nothing when extract has not run.
Verdict judge_memorization(const Scores& s, const ExampleDiagnostics& d, const std::vector<bool>& high,
                           const std::optional<std::vector<int64_t>>& copy_models, const VerdictRule& rule = {});

}  // namespace memscope
