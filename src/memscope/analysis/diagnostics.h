#pragma once
// Per-example quantities that answer the objections to the memorization score: is a
// highly memorized example an outlier, an example of high leverage, one whose neighbours the model
// learned from it (spillover), or a memorized inlier? Computed on the run's own preprocessed data
// beside every run and written as columns of scores.csv.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "memscope/score/scores.h"
#include "memscope/score/spillover.h"

namespace memscope {

/// The most principal components of the basis that the leverage is computed in.
inline constexpr int64_t kLeverageComponents = 50;

struct ExampleDiagnostics {
  /// Neighbours per example, and [N, k] int64 rows of each example's k nearest other examples (pixel l2).
  int64_t k = 0;
  torch::Tensor neighbours;
  /// Outlierness: mean l2(x, y) = sqrt(mean((x - y)^2)) over the k nearest other examples y.
  std::vector<double> nn_dist;
  /// Rank of U = logp_in as a fraction in [0, 1] (0: the lowest U; NaN where U is not finite).
  std::vector<double> u_rank;
  /// Exact Gaussian leave-one-out in the basis of the top principal components of the data (see
  /// leverage_components): the hat-matrix diagonal h_ii = (1 + a_i) / n and the exact M of that Gaussian.
  std::vector<double> leverage, loo_mem;
  /// Components of the leverage basis (at most kLeverageComponents, only those with variance above
  /// 1e-9 of the largest, at most n - 2), and the share of the total variance they hold.
  int64_t leverage_components = 0;
  double leverage_variance_share = 0;
  /// Neighbour spillover S(x), its standard error, S/M and the neighbours behind it.
  Spillover spill;
  /// The control: the same spillover onto k random other examples (seeded; mostly not neighbours).
  /// Models differ in overall quality, and with few models a side the one model without x also lacks
  /// the rest of x's fold, so every example's density can fall when x leaves; S - S_control is the
  /// part specific to x's neighbourhood.
  Spillover spill_control;
};

/// x: [N, D] the run's preprocessed examples; logp: [N, J] at the last epoch; mask: [N, J] bool;
/// s: the scores of logp; k: neighbours per example; group_of_job: [J] groups of models independent of
/// each other that calibrate the spillover's error bars (empty: none; see compute_spillover and
/// independent_groups). Throws ConfigError naming "neighbours" when k >= N.
ExampleDiagnostics diagnose_examples(const torch::Tensor& x, const torch::Tensor& logp, const torch::Tensor& mask,
                                     const Scores& s, int64_t k, const std::vector<int64_t>& group_of_job = {});

/// The columns of scores.csv: nn_dist, u_rank, leverage, loo_mem, spill, spill_se, spill_pairs, spill_ratio,
/// spill_control, spill_control_se.
std::vector<ScoreColumn> diagnostic_columns(const ExampleDiagnostics& d);

/// Exact Gaussian leave-one-out of x: [N, D] in the basis of its top principal components (at most
/// max_components): fills leverage, loo_mem, leverage_components and leverage_variance_share of d.
void pca_leverage(const torch::Tensor& x, int64_t max_components, ExampleDiagnostics& d);

}  // namespace memscope
