#pragma once
// Analyses of the scores: quantiles, the memorized-versus-outlier split by log-probability bins
// (the paper's Figure 3), rank correlations, evolution over epochs, and classes.
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "memscope/score/scores.h"

namespace memscope {

/// v as a float64 tensor.
torch::Tensor as_tensor(const std::vector<double>& v);

/// The q-quantile of the finite values of v (linear interpolation between order statistics).
double quantile(std::vector<double> v, double q);

/// Quantiles of a sample at a few probabilities (NaN where it has no finite value).
struct Quantiles {
  /// Finite values in the sample.
  int64_t n = 0;
  /// The probabilities, ascending, and the quantiles at them.
  std::vector<double> probs, values;
  /// The quantile at p, one of probs (NaN when p is not).
  double at(double p) const;
};
/// The quantiles of the finite values of v at probs.
Quantiles quantiles_of(const std::vector<double>& v, const std::vector<double>& probs);
/// {"q0.5": value, ...} (NaN: null), with "n" when with_n.
nlohmann::json to_json(const Quantiles& q, bool with_n);

/// One bin of U = log P(x | D): its bounds (the outer ones open), and how many regular and highly memorized
/// examples fall in it.
struct UBin {
  int64_t bin = 0;
  double lo = 0, hi = 0, center = 0;
  int64_t regular = 0, high = 0;
  /// high / (regular + high), 0 for an empty bin.
  double proportion_high = 0;
};

/// M at one evaluated epoch.
struct EpochFigures {
  int64_t epoch = 0;
  /// Quantiles 0.95 and 0.999 of M, and the share of its top 5% also in the last epoch's top 5%.
  double q95 = NAN, q999 = NAN, top5_overlap_with_last = NAN;
};

/// M over the examples of one label.
struct ClassFigures {
  int64_t label = 0, n = 0;
  double mem_mean = NAN, q25 = NAN, median = NAN, q75 = NAN;
  /// Share of the class memorized (discoveries).
  double share_memorized = 0;
};

struct MemAnalysis {
  /// Examples.
  int64_t n = 0;
  /// Mean M; mean of the paper's plug-in (when the scores have it); mean standard error; mean Monte Carlo part
  /// of it (when log p is an estimate with one).
  double mem_mean = NAN, mem_se_mean = NAN;
  std::optional<double> mem_plugin_mean, mem_mc_se_mean;
  /// Quantiles 0.01 ... 0.999 of M.
  Quantiles mem_quantiles;
  /// The false-discovery rate, and the examples memorized at it.
  double fdr = 0.05;
  int64_t n_discovered = 0;
  /// The paper's "highly memorized": M above the high_quantile quantile (high_threshold); n_high examples.
  double high_quantile = 0.95, high_threshold = NAN;
  int64_t n_high = 0;
  /// Bins of U with the regular and highly memorized examples (the paper's Figure 3).
  std::vector<UBin> logp_in_bins;
  /// Share of the highly memorized with U between the 5% and 95% quantiles of U (NaN: none).
  double high_mem_central90_share = NAN;
  /// Spearman of M with U and with V.
  double spearman_mem_logp_in = NAN, spearman_mem_logp_out = NAN;
  /// Per evaluated epoch.
  std::vector<EpochFigures> over_epochs;
  /// Per label (none without labels).
  std::vector<ClassFigures> classes;
  /// [N] the paper's "highly memorized" (its Figure 3): M above high_threshold. A quantile holds its share of the
  /// examples even when nothing is memorized: only the bins of U use it.
  std::vector<bool> high;
  /// [N] memorized: the discoveries, M significantly above 0 at the false-discovery rate (mem_q <= fdr).
  std::vector<bool> discovered;
};

/// The figures as summary.json's "scores" (the per-example vectors left out).
nlohmann::json to_json(const MemAnalysis& a);

/// labels: [N] int64 (-1: none); mem_by_epoch: [E, N]; epochs: [E].
/// The bins of U are `bins` equal-width bins from the 0.5% to the 99.5% quantile of U, the ends open.
MemAnalysis analyse_memorization(const Scores& s, const torch::Tensor& labels, const torch::Tensor& mem_by_epoch,
                                 const std::vector<int64_t>& epochs, double high_quantile, double fdr = 0.05,
                                 int64_t bins = 10);

}  // namespace memscope
