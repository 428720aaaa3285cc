#pragma once
// Linear-Gaussian density models with closed-form maximum-likelihood fits, in float64, and their
// exact leave-one-out and fold-removed refits without refitting N models (docs/method.md, "Exact leave-one-out").
#include <torch/torch.h>

#include <cstdint>
#include <iosfwd>
#include <vector>

#include "memscope/models/density_model.h"

namespace memscope {

/// Sufficient statistics of a sample: size, mean [D], scatter W = sum (x - mean)(x - mean)^T [D, D].
struct GaussianStats {
  int64_t n = 0;
  torch::Tensor mean, scatter;
};

/// x: [n, D] -> statistics in float64.
GaussianStats gaussian_stats(const torch::Tensor& x);
/// Statistics of all \ subset (subset a sub-sample of all), in closed form:
/// mean = (n mean - m mean_B) / (n - m); W = W - W_B - n m / (n - m) (mean_B - mean)(mean_B - mean)^T.
GaussianStats remove_subset(const GaussianStats& all, const GaussianStats& subset);

/// A Gaussian density N(mean, C) in float64.
class GaussianDensity {
 public:
  /// The maximum-likelihood fit C = W / n + ridge I. Throws memscope::Error naming the problem when C
  /// is singular or ill-conditioned (constant coordinates, D >= n) and suggests --ridge.
  static GaussianDensity fit(const GaussianStats& s, double ridge);
  /// Probabilistic PCA with q components (Tipping & Bishop): C = U (L - s2 I) U^T + s2 I from the
  /// top q eigenpairs (U, L) of W / n + ridge I, s2 the mean of the other eigenvalues.
  static GaussianDensity fit_ppca(const GaussianStats& s, int64_t q, double ridge);

  GaussianDensity() = default;
  GaussianDensity(torch::Tensor mean, torch::Tensor whiten, double logdet)
      : mean_(std::move(mean)), whiten_(std::move(whiten)), logdet_(logdet) {}
  const torch::Tensor& mean() const { return mean_; }
  const torch::Tensor& whiten() const { return whiten_; }
  double logdet() const { return logdet_; }

  /// x: [M, D] -> [M] float64 log densities.
  torch::Tensor log_prob(const torch::Tensor& x) const;
  int64_t dim() const { return mean_.size(0); }

 private:
  torch::Tensor mean_;
  /// C^{-1/2} as a matrix P with P^T P = C^{-1}: the quadratic form is |P (x - mean)|^2.
  torch::Tensor whiten_;
  double logdet_ = 0;
};

/// Closed-form Gaussian (q = 0) or PPCA (q components) members behind the ClosedFormEnsemble
/// interface, so the K-fold pipeline can run them; fitted in float64.
class LinearGaussianEnsemble : public ClosedFormEnsemble {
 public:
  LinearGaussianEnsemble(int64_t members, int64_t dim, int64_t q, double ridge);
  int64_t members() const override { return int64_t(fits_.size()); }
  /// Exact densities draw no noise.
  int64_t eval_noise_dim() const override { return 0; }
  /// The maximum-likelihood fit to x: [n, D].
  void fit(int64_t g, const torch::Tensor& x) override;
  /// The scatter matrix W = sum (x - mean)(x - mean)^T.
  double fit_flops_per_example() const override { return 2.0 * dim_ * dim_; }
  /// Exact log density; eps is ignored. x: [B, D] -> [G, B] float32.
  torch::Tensor log_prob(const torch::Tensor& x, const torch::Tensor& eps) override;
  double eval_flops_per_example(int64_t) const override { return 2.0 * dim_ * dim_; }
  void save_member(int64_t g, std::ostream& os) const override;
  void load_member(int64_t g, std::istream& is) override;

 private:
  int64_t dim_, q_;
  double ridge_;
  std::vector<GaussianDensity> fits_;
};

/// Exact leave-one-out of every example. logp_full: log p(x_i) under the fit to all n examples;
/// logp_loo: under the fit without x_i; mem = logp_full - logp_loo; leverage: the hat-matrix
/// diagonal h_ii = (1 + a_i) / n of the Gaussian with a_i = d_i^T S^-1 d_i (NaN with a ridge or for
/// PPCA, where it is not defined).
struct ExactLoo {
  torch::Tensor logp_full, logp_loo, mem, leverage;  // each [n] float64
};

/// Gaussian: rank-one downdates through Sherman-Morrison, O(n D^2 + D^3).
ExactLoo gaussian_exact_loo(const torch::Tensor& x, double ridge);
/// PPCA with q components: for each i the top q eigenpairs of the downdated covariance from the
/// secular equation of a rank-one eigen-downdate, O(n D^2 + D^3 + n q D log(1/eps)).
ExactLoo ppca_exact_loo(const torch::Tensor& x, int64_t q, double ridge);

}  // namespace memscope
