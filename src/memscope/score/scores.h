#pragma once
// From the N x J matrix of log p values and the in/out mask to per-example memorization scores.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace memscope {

struct Scores {
  /// U = logmeanexp of log p over the models that trained on the example.
  std::vector<double> logp_in;
  /// V = logmeanexp of log p over the models that did not.
  std::vector<double> logp_out;
  /// M = U - V.
  std::vector<double> mem;
  /// Standard error of M (delta method; see compute_scores).
  std::vector<double> mem_se;
  /// Models behind U and V (finite log p only: missing or diverged models do not count).
  std::vector<int64_t> n_in, n_out;
};

/// Examples that rest on fewer than `jobs` models (missing or diverged ones), and the most models
/// one example lost.
struct ModelsLost {
  int64_t examples = 0, most = 0;
};
ModelsLost models_lost(const Scores& s, int64_t jobs);

/// logp: [N, J] (NaN for a model that is missing or diverged); in_mask: [N, J] bool.
/// Standard error: Var(U) ~= r_in / n_in with r the relative variance Var(w) / mean(w)^2 of the
/// density ratios w = exp(log p - max), likewise V, and se(M) = sqrt(Var(U) + Var(V)). Where an
/// example has a single model on one side, r cannot be estimated from it; the median r of that
/// side over the examples that have two or more is used, or else the median r of the other side;
/// NaN when no example has two models on either side.
Scores compute_scores(const torch::Tensor& logp, const torch::Tensor& in_mask);

/// Writes scores.csv atomically: index,label,logp_in,logp_out,mem,mem_se,n_in,n_out.
/// index, label: [N] int64.
void write_scores_csv(const std::string& path, const torch::Tensor& index, const torch::Tensor& label,
                      const Scores& s);

}  // namespace memscope
