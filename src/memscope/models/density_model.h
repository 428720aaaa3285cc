#pragma once
// Density ensembles: G independent density models of one family, stored as stacked weights so that
// they train (or are fitted) and evaluate together in batched operations. Member g depends only on
// slice g of every parameter, so a group of G behaves exactly as G separate models.
//
// DensityEnsemble is what evaluation, the run directory and sampling need. A family is either
// trained by gradient (TrainableEnsemble: the VAEs) or fitted in closed form (ClosedFormEnsemble:
// the linear-Gaussian models); train_group dispatches once on which.
#include <torch/torch.h>

#include <iosfwd>
#include <utility>
#include <vector>

namespace memscope {

class DensityEnsemble : public torch::nn::Module {
 public:
  /// Number of members G.
  virtual int64_t members() const = 0;
  /// Standard-normal draws per importance sample in log_prob (the latent dimension; 0 for exact
  /// densities).
  virtual int64_t eval_noise_dim() const = 0;
  /// Importance-weighted (or exact) log p(x) of every member.
  /// x: [B, D], eps: [G, B, S, eval_noise_dim] -> [G, B].
  /// Always uses running statistics (batch norm), whatever is_training() says.
  virtual torch::Tensor log_prob(const torch::Tensor& x, const torch::Tensor& eps) = 0;
  /// log_prob and its Monte Carlo standard error ([G, B], undefined when the family has none).
  virtual std::pair<torch::Tensor, torch::Tensor> log_prob_with_se(const torch::Tensor& x, const torch::Tensor& eps) {
    return {log_prob(x, eps), torch::Tensor()};
  }
  /// Whether evaluation should give every member the same noise for an example (common random
  /// numbers, so that Monte Carlo noise cancels in differences between models).
  virtual bool common_eval_noise() const { return false; }
  /// Matmul FLOPs of one member per example of the log p evaluation with S samples.
  virtual double eval_flops_per_example(int64_t samples) const = 0;
  /// count samples of member g in data space ([count, D], for images pixel means in [0, 1]), or an
  /// undefined tensor when the family cannot sample.
  virtual torch::Tensor sample(int64_t /*g*/, int64_t /*count*/, at::Generator /*gen*/) { return {}; }
  /// Writes member g's weights as a LibTorch archive; load_member reads them back into slot g.
  virtual void save_member(int64_t g, std::ostream& os) const = 0;
  virtual void load_member(int64_t g, std::istream& is) = 0;
};

/// A family trained by gradient on a per-example loss (the VAEs).
class TrainableEnsemble : public DensityEnsemble {
 public:
  /// Standard-normal draws per example that one training step of one member needs.
  virtual int64_t noise_dim() const = 0;
  /// Models that also draw training-only noise (dequantization) need fewer in log_prob.
  int64_t eval_noise_dim() const override { return noise_dim(); }
  /// Per-example training loss (negative ELBO, nats). x: [G, B, D], eps: [G, B, noise_dim] -> [G, B].
  /// rows: [G, B] bool, false for padding rows (zeros that are no data), or undefined when every
  /// row is real; models whose examples interact within a batch (batch norm) must ignore padding.
  /// With is_training() false, models with batch norm use their running statistics.
  virtual torch::Tensor loss(const torch::Tensor& x, const torch::Tensor& eps,
                             const torch::Tensor& rows = torch::Tensor()) = 0;
  /// Matmul FLOPs of one member per example: the forward pass of loss() (the held-out loss is one),
  /// its first layer's share, and a training step (forward, weight gradients, and input gradients
  /// of every layer but the first: the data needs none).
  virtual double forward_flops_per_example() const = 0;
  virtual double first_layer_flops_per_example() const = 0;
  /// Called after every optimizer step with the members that took it (weight averages).
  virtual void after_step(const std::vector<bool>& /*update*/) {}
  double train_flops_per_example() const { return 3 * forward_flops_per_example() - first_layer_flops_per_example(); }
};

/// A family fitted, not trained: each member's maximum-likelihood fit has a closed form.
class ClosedFormEnsemble : public DensityEnsemble {
 public:
  /// Sets member g from its training examples x: [n, D] (the other examples are never seen).
  virtual void fit(int64_t g, const torch::Tensor& x) = 0;
  /// Matmul FLOPs of one member's fit per training example.
  virtual double fit_flops_per_example() const = 0;
};

}  // namespace memscope
