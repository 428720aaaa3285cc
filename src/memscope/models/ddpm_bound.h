#pragma once
// The variational bound of a DDPM in nats of the discrete 8-bit image: the decoder's discretized
// Gaussian, the stratified timesteps of the bound's unbiased estimate and its standard error.
// DdpmEnsemble's own terms of the bound (bound_terms, prior_term, log_prob) are defined in
// models/ddpm_bound.cpp too.
#include <cstdint>
#include <utility>

#include <torch/torch.h>

namespace memscope {

/// Per-pixel log of the mass that N(mu, sigma^2) gives the bin [x0 - 1/255, x0 + 1/255] of an 8-bit
/// pixel x0 in [-1, 1] (open below at x0 = -1 and above at x0 = 1), accurate in float64 far into the
/// tails. x0, mu: broadcastable float64 -> their broadcast shape.
torch::Tensor log_discretized_gaussian(const torch::Tensor& x0, const torch::Tensor& mu, double sigma);

/// The stratified timesteps of S samples: stratum s holds t in [floor(s T / S) + 1, floor((s + 1) T / S)]
/// (sizes n_s, S <= T), and u in [0, 1) picks t = first + floor(u n_s). u: [..., S] -> (t [..., S]
/// int64, n [S] float64).
std::pair<torch::Tensor, torch::Tensor> stratified_timesteps(const torch::Tensor& u, int64_t T);

/// The Monte Carlo standard error of a stratified sum of strata totals y ([..., S], one draw per
/// stratum), from collapsed strata (consecutive pairs, a triple at the end for odd S): conservative.
/// NaN for S = 1.
torch::Tensor collapsed_strata_se(const torch::Tensor& y);

}  // namespace memscope
