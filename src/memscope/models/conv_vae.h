#pragma once
// The convolutional VAE of van den Burg & Williams (2021) as a TrainableEnsemble. Encoder: four
// convolutions (kernel 4, stride 2, padding 1; 32-64-128-256 channels), each with batch norm and
// LeakyReLU (slope 0.01, as nn.LeakyReLU()), then a linear layer to the latent mean and
// log-variance. Decoder: a linear layer to 256 x H/16 x W/16 (batch norm, LeakyReLU), then four
// transposed convolutions back to H x W (batch norm and LeakyReLU on all but the last).
//
// G members train together: activations are laid out [B, G*C, H, W] and every convolution has
// groups = G (weights stored [G, out, in, k, k]), batch norm runs over the G*C channels, and the
// linear layers are batched matmuls on [G, in, out] weights, so member g depends only on slice g
// of every parameter and buffer.
//
// Decoders (ModelConfig::decoder):
//  * "bernoulli": per-pixel logits; log p(x) = sum_d x_d l_d - softplus(l_d).
//  * "logit-gaussian": per-pixel mean and log-variance (clamped below at -7) of
//    y = logit(lambda + (1 - 2 lambda) v), lambda = 0.05, where v = (255 x + u) / 256 is the 8-bit
//    pixel 255 x dequantized by u in [0, 1). log p is reported for the discrete 8-bit image:
//        log P(x) ~= log p_y(y) + sum_d log |dy_d / dv_d| - D log 256,
//    the density of v (change of variables) times the volume 256^-D of the pixel's bin. Training
//    draws u ~ U(0, 1) per pixel and step (from standard-normal draws through their CDF);
//    evaluation uses the bin centre u = 1/2.
//  * "gaussian": per-pixel mean sigmoid(out) with one learned variance per member (starting at
//    0.1^2); log p is the density of x on [0, 1] pixels (no dequantization).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "memscope/core/config.h"
#include "memscope/models/density_model.h"

namespace memscope {

/// torch::conv_transpose2d(h, w.flatten(0, 1), b, stride 2, padding 1, groups G) for weights
/// w [G, Cin, Cout, k, k] and h [B, G Cin, H, W], b [G Cout]; on a CPU with inputs of at most 4
/// pixels by one matmul per member and a fold (faster there than LibTorch's own). Differentiable.
torch::Tensor grouped_conv_transpose(const torch::Tensor& h, const torch::Tensor& w, const torch::Tensor& b);

/// lambda of the logit transform.
inline constexpr double kLogitLambda = 0.05;
/// Lower clamp of the logit-Gaussian decoder's log-variance.
inline constexpr double kMinLogVar = -7.0;

/// The logit-space target of 8-bit pixels and the log-volume terms of the change of variables.
/// x: [..., D] in [0, 1] (rounded to the nearest 8-bit level 255 x), u: dequantization in [0, 1),
/// broadcastable to x -> y = logit(lambda + (1 - 2 lambda) (255 x + u) / 256) [..., D] and
/// sum_d log |dy_d / dv_d| - D log 256 [...].
std::pair<torch::Tensor, torch::Tensor> logit_dequantize(const torch::Tensor& x, const torch::Tensor& u);

class ConvVaeEnsemble : public TrainableEnsemble {
 public:
  /// shape: one example's {C, H, W}, H and W multiples of 16. init_seeds: one per member; member g
  /// is initialised as PyTorch's layers are (U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in k k)
  /// from its own seed.
  ConvVaeEnsemble(const std::vector<int64_t>& shape, const ModelConfig& c, const std::vector<uint64_t>& init_seeds);

  int64_t members() const override { return members_; }
  /// The latent draws, plus one per pixel for the dequantization of the logit-Gaussian decoder.
  int64_t noise_dim() const override { return latent_ + (decoder_ == Decoder::kLogitGaussian ? dim_ : 0); }
  int64_t eval_noise_dim() const override { return latent_; }
  torch::Tensor loss(const torch::Tensor& x, const torch::Tensor& eps,
                     const torch::Tensor& rows = torch::Tensor()) override;
  torch::Tensor log_prob(const torch::Tensor& x, const torch::Tensor& eps) override;
  double forward_flops_per_example() const override;
  double first_layer_flops_per_example() const override;
  double eval_flops_per_example(int64_t samples) const override;
  /// Decoder means in [0, 1] pixel space of z ~ N(0, I).
  torch::Tensor sample(int64_t g, int64_t count, at::Generator gen) override;
  void save_member(int64_t g, std::ostream& os) const override;
  void load_member(int64_t g, std::istream& is) override;

  /// x: [G, B, D] (or [B, D], shared by all members); rows: [G, B] bool or undefined; batch_stats:
  /// normalise with the batch's statistics (and update the running ones) -> mean and
  /// log-variance, each [G, B, L].
  std::pair<torch::Tensor, torch::Tensor> encode(const torch::Tensor& x, const torch::Tensor& rows, bool batch_stats);
  /// z: [G, M, L] -> decoder output [G, M, K, H, W]: K = C (logits or Gaussian means before the
  /// sigmoid) or 2C (logit-Gaussian means, then log-variances).
  torch::Tensor decode(const torch::Tensor& z, const torch::Tensor& rows, bool batch_stats);
  /// log p of targets under decoder outputs. target: [..., D] (for the logit-Gaussian decoder y of
  /// logit_dequantize, without its volume terms), out: [..., K, H, W] -> [...].
  torch::Tensor log_lik(const torch::Tensor& target, const torch::Tensor& out) const;

  /// Latents (per member) decoded at once in log_prob.
  static constexpr int64_t kDecodeRows = 512;

 private:
  struct Conv {
    torch::Tensor w;  // [G, out, in, k, k] (transposed: [G, in, out, k, k])
    torch::Tensor b;  // [G, out]
    bool transposed;
  };
  struct Norm {
    torch::Tensor gamma, beta;                // [G, C]
    torch::Tensor running_mean, running_var;  // [G, C], buffers
  };
  /// h: [B, G*in, H, W] -> [B, G*out, H', W'].
  torch::Tensor apply(const Conv& c, const torch::Tensor& h) const;
  /// Batch norm of h: [B, G*C, H, W]; with batch_stats, statistics over the rows where rows
  /// ([G, B] bool, or undefined for all) is true, per member and channel.
  torch::Tensor normalize(Norm& n, const torch::Tensor& h, const torch::Tensor& rows, bool batch_stats);
  /// The training target of x: [G, B, D] with dequantization draws e: [G, B, D] (or undefined for
  /// the bin centre) -> (target [G, B, D], volume terms [G, B], 0 unless logit-Gaussian).
  std::pair<torch::Tensor, torch::Tensor> target(const torch::Tensor& x, const torch::Tensor& e) const;

  int64_t members_, channels_, height_, width_, dim_, latent_;
  Decoder decoder_;
  std::vector<Conv> enc_, dec_;
  std::vector<Norm> enc_norm_, dec_norm_;                    // dec_norm_[0] follows the latent-to-feature layer
  torch::Tensor enc_fc_w_, enc_fc_b_, dec_fc_w_, dec_fc_b_;  // [G, in, out], [G, 1, out]
  torch::Tensor log_sigma2_;                                 // [G, 1], the "gaussian" decoder's variance
};

}  // namespace memscope
