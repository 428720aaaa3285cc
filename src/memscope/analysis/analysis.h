#pragma once
// Analyses of the scores: quantiles, the memorized-versus-outlier split by log-probability bins
// (the paper's Figure 3), rank correlations, evolution over epochs, and classes.
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "memscope/score/scores.h"

namespace memscope {

/// The q-quantile of the finite values of v (linear interpolation between order statistics).
double quantile(std::vector<double> v, double q);

struct MemAnalysis {
  /// Every figure, for summary.json and the report.
  nlohmann::json summary;
  /// The paper's "highly memorized" (its Figure 3): M above its high_quantile quantile. A quantile holds
  /// its share of the examples even when nothing is memorized: only the bins of U use it.
  std::vector<bool> high;
  /// Memorized: the discoveries, M significantly above 0 at the false-discovery rate (mem_q <= fdr).
  std::vector<bool> discovered;
};

/// labels: [N] int64 (-1: none); mem_by_epoch: [E, N]; epochs: [E].
/// summary holds: mem quantiles; fdr and n_discovered (discoveries); high_quantile and high_threshold; bins of U (bins
/// equal-width bins from the 0.5% to the 99.5% quantile of U, the ends open) with regular / high counts and the
/// proportion; high_mem_central90_share (the share of the highly memorized whose U lies between the 5% and 95%
/// quantiles of U); Spearman of M with U and with V; per epoch the 0.95 and 0.999 quantiles of M and the overlap of its
/// top 5% with the last epoch's; per class count, mean and quartiles of M and the share memorized.
MemAnalysis analyse_memorization(const Scores& s, const torch::Tensor& labels, const torch::Tensor& mem_by_epoch,
                                 const std::vector<int64_t>& epochs, double high_quantile, double fdr = 0.05,
                                 int64_t bins = 10);

}  // namespace memscope
