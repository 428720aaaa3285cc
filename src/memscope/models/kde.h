#pragma once
// Gaussian kernel density estimates p(x | D) = (1/n) sum_i N(x; x_i, H^2 I): a density model whose
// behaviour is known (small H memorizes its training points, wide H generalizes to their
// neighbourhood), exact in log-sum-exp form, with closed-form leave-one-out and fold removal
// (docs/method.md). Used to check the memorization and spillover analyses.
#include <torch/torch.h>

#include <cstdint>
#include <iosfwd>
#include <vector>

#include "memscope/models/density_model.h"
#include "memscope/models/gaussian.h"

namespace memscope {

/// log N(x_b; c_j, H^2 I) of every query and centre, in float64, computed in blocks of queries.
/// x: [B, D], centres: [n, D] -> [B, n].
torch::Tensor kde_log_kernel(const torch::Tensor& x, const torch::Tensor& centres, double bandwidth);

/// KDE members behind the ClosedFormEnsemble interface: fitting stores the training examples.
class KdeEnsemble : public ClosedFormEnsemble {
 public:
  /// Throws ConfigError naming "model" when bandwidth is not > 0.
  KdeEnsemble(int64_t members, int64_t dim, double bandwidth);
  int64_t members() const override { return int64_t(centres_.size()); }
  int64_t eval_noise_dim() const override { return 0; }
  /// x: [n, D], the training examples (kept as float64 on the CPU).
  void fit(int64_t g, const torch::Tensor& x) override;
  double fit_flops_per_example() const override { return 0; }
  /// Exact log density, log-sum-exp over the member's centres; eps is ignored. x: [B, D] -> [G, B] float32.
  torch::Tensor log_prob(const torch::Tensor& x, const torch::Tensor& eps) override;
  /// One distance per centre: 2 D FLOPs per centre (all members hold about the same number).
  double eval_flops_per_example(int64_t) const override;
  /// count draws of member g: a uniformly chosen centre plus N(0, H^2 I) noise -> [count, D] float32.
  torch::Tensor sample(int64_t g, int64_t count, at::Generator gen) override;
  void save_member(int64_t g, std::ostream& os) const override;
  void load_member(int64_t g, std::istream& is) override;

 private:
  int64_t dim_;
  double bandwidth_;
  std::vector<torch::Tensor> centres_;  // [n_g, D] float64
};

/// Exact leave-one-out of a KDE on x: [n, D]: logp_full under all n centres, logp_loo without the
/// example's own kernel; leverage NaN (not defined).
ExactLoo kde_exact_loo(const torch::Tensor& x, double bandwidth);

/// log p of every example under the KDE of each training set: x: [n, D], train_mask: [n, J] bool
/// (column j the training set of fit j) -> [n, J] float64.
torch::Tensor kde_fold_log_prob(const torch::Tensor& x, const torch::Tensor& train_mask, double bandwidth);

}  // namespace memscope
