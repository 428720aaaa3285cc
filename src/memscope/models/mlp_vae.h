#pragma once
// The Bernoulli MLP VAE of van den Burg & Williams (2021) as a TrainableEnsemble: encoder
// D-h1-...-hk (ReLU) then latent mean and log-variance; decoder the mirror image with Bernoulli
// logits out.
#include <cstdint>
#include <string>
#include <vector>

#include "memscope/core/config.h"
#include "memscope/models/density_model.h"

namespace memscope {

class MlpVaeEnsemble : public TrainableEnsemble {
 public:
  /// init_seeds: one per member; member g is initialised as PyTorch's nn.Linear does
  /// (U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases) from its own seed.
  MlpVaeEnsemble(int64_t dim, const ModelConfig& c, const std::vector<uint64_t>& init_seeds);

  int64_t members() const override { return members_; }
  int64_t noise_dim() const override { return latent_; }
  torch::Tensor loss(const torch::Tensor& x, const torch::Tensor& eps,
                     const torch::Tensor& rows = torch::Tensor()) override;
  torch::Tensor log_prob(const torch::Tensor& x, const torch::Tensor& eps) override;
  double forward_flops_per_example() const override;
  double first_layer_flops_per_example() const override;
  double eval_flops_per_example(int64_t samples) const override;
  /// Decoder means sigmoid(logits) of z ~ N(0, I).
  torch::Tensor sample(int64_t g, int64_t count, at::Generator gen) override;
  void save_member(int64_t g, std::ostream& os) const override;
  void load_member(int64_t g, std::istream& is) override;

  /// x: [G, B, D] (or [B, D], shared by all members) -> mean and log-variance, each [G, B, L].
  std::pair<torch::Tensor, torch::Tensor> encode(const torch::Tensor& x);
  /// z: [G, M, L] -> logits [G, M, D].
  torch::Tensor decode(const torch::Tensor& z);
  /// Bernoulli log-likelihood sum_d x_d l_d - softplus(l_d) of every latent, without keeping the
  /// logits: the x.l term comes from the last hidden layer. x: [B, D], z: [G, B, S, L] -> [G, B, S].
  torch::Tensor bernoulli_log_lik(const torch::Tensor& x, const torch::Tensor& z);

  /// Latent rows decoded at once in log_prob.
  static constexpr int64_t kDecodeRows = 256;

 private:
  struct Layer {
    torch::Tensor w;  // [G, in, out]
    torch::Tensor b;  // [G, 1, out]
  };
  /// h: [G, M, in] (or [M, in]) -> [G, M, out].
  static torch::Tensor apply(const Layer& l, const torch::Tensor& h);
  /// The x-dependent parts of sum_d x_d l_d: (x W^T [G, B, H], x b [G, B, 1]) for x: [B, D].
  std::pair<torch::Tensor, torch::Tensor> x_terms(const torch::Tensor& x) const;
  /// As the public overload, from x_terms(x). xw: [G, B, H], xb: [G, B, 1], z: [G, B, S, L].
  torch::Tensor bernoulli_log_lik(const torch::Tensor& xw, const torch::Tensor& xb, const torch::Tensor& z);
  /// Multiply-accumulates of one example through a stack of layers.
  static double macs(const std::vector<Layer>& layers);
  /// z: [G, M, L] -> last decoder hidden layer [G, M, h1].
  torch::Tensor decode_hidden(const torch::Tensor& z);

  int64_t members_, dim_, latent_;
  std::vector<Layer> enc_, dec_;  // dec_.back() maps to logits
};

}  // namespace memscope
