#pragma once
// Neighbour spillover: memorization versus learning (docs/method.md). When x leaves the training
// set, does only x's density fall (memorization), or also the density of its neighbours (what the
// model learned from x generalizes)? Computed from the same N x J log p matrix and in/out mask as
// M, so it works for any design (K folds with repeats, random subsets).
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace memscope {

struct Spillover {
  /// S(x): the mean over x's neighbours y with models on both sides of
  /// S_y(x) = logmeanexp{log p_m(y): x in m, y in m} - logmeanexp{log p_m(y): x out of m, y in m}
  /// (NaN when no neighbour has models on both sides).
  std::vector<double> spill;
  /// Standard error of S(x) (see compute_spillover).
  std::vector<double> spill_se;
  /// S(x) / M(x) (NaN where S or M is not finite, or M = 0).
  std::vector<double> ratio;
  /// Neighbours behind S(x).
  std::vector<int64_t> pairs;
  /// Examples with at least one usable neighbour.
  int64_t examples_with_pairs = 0;
  /// Design effect D_S >= 1 that multiplies the variance behind spill_se (1 without groups).
  double design_effect = 1;
};

/// logp: [N, J] (NaN: missing or diverged model); in_mask: [N, J] bool; neighbours: [N, k] int64
/// rows of each example's neighbours (never the example itself); logp_sd: [N] spread of log p of
/// each example between models (Scores::logp_sd, moderated); mem: [N] M(x).
///
/// Standard error, by the method of M's mem_se: a log-mean-exp of n models with log p spread s has
/// standard deviation h(n, s) (logmeanexp_normal_sd), so Var S_y(x) = h(n_both, s_y)^2 + h(n_x_out, s_y)^2,
/// and se S(x) = sqrt(D_S sum_y Var S_y(x)) / pairs. The sum alone would treat the neighbours' terms as
/// independent, but they share models: a model that is better than its peers on x's neighbourhood is
/// better on all of it, and the K models of one repeat share one partition. group_of_job ([J]: G >= 2
/// groups of models independent of each other, e.g. the repeats of a K-fold plan, or subset models dealt
/// into groups) measures that: D_S is the sum over examples of the delete-one-group jackknife variance of
/// S(x) over the sum of the model-iid variance, at least 1 (pooled over examples, as M's design effect,
/// since one example's jackknife rests on G - 1 degrees of freedom). Neighbours that lose a side when a
/// group is deleted do not enter D_S. Empty group_of_job (a single repeat): D_S = 1, and the error bar
/// ignores the sharing.
/// Throws memscope::Error for inconsistent shapes or a neighbour index out of range.
Spillover compute_spillover(const torch::Tensor& logp, const torch::Tensor& in_mask, const torch::Tensor& neighbours,
                            const std::vector<double>& logp_sd, const std::vector<double>& mem,
                            const std::vector<int64_t>& group_of_job = {});

}  // namespace memscope
