#pragma once
// Denoising diffusion probabilistic models (Ho et al. 2020) as a TrainableEnsemble.
//
// The network is the U-Net of Ho et al., scaled down: a 3x3 convolution to channels[0], then per
// resolution level res_blocks residual blocks (GroupNorm, SiLU, 3x3 convolution, plus a projection
// of the time embedding; GroupNorm, SiLU, dropout, 3x3 convolution; a 1x1 skip when the channels
// change), optional single-head self-attention at one resolution, and a stride-2 convolution down
// to the next level; a middle of residual block, attention, residual block; the mirror image up
// (res_blocks + 1 blocks per level on the concatenated skips, nearest upsampling and a
// convolution); GroupNorm, SiLU and a 3x3 convolution to the noise prediction. The time enters as
// a sinusoidal embedding of width channels[0] through a two-layer MLP (SiLU) of width
// 4 channels[0]. The last convolution of every residual block, of the attention and of the output
// start at zero (as in Ho et al.'s code); all others as PyTorch's layers.
//
// G members train together: activations are laid out [B, G*C, H, W], every convolution has
// groups = G (weights [G, out, in, k, k]), GroupNorm runs with G * groups(C) groups (each
// member's channels are whole groups) and the linear layers are batched matmuls, so member g
// depends only on slice g of every parameter.
//
// Pixels: the 8-bit level k = round(255 x) of x in [0, 1] maps to x0 = 2 k / 255 - 1.
// log p is minus the variational bound (docs/method.md, "Diffusion models") in nats of the discrete 8-bit
// image (a lower bound on log p): L_T + sum_{t=2..T} L_{t-1} (reverse variance btilde_t) + L_0 (a
// discretized Gaussian decoder of variance beta_1 at t = 1), the sum over t estimated without bias
// from S stratified timesteps per example.
//
// Noise of one training example (noise_dim() = D + 1 standard-normal draws): D for eps, and one
// whose normal CDF u picks t = 1 + floor(u T). Dropout masks come from a generator per member
// (seeded from its init seed, saved with its weights). Evaluation and sampling use the EMA weights.
//
// Files: this header and ddpm.cpp (the ensemble: construction, training and denoising losses, EMA,
// save and load), ddpm_unet.cpp (the network), ddpm_schedule.h (the noise schedule), ddpm_bound.h
// (the variational bound), ddpm_sampler.cpp (sampling).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "memscope/core/config.h"
#include "memscope/models/ddpm_bound.h"
#include "memscope/models/ddpm_schedule.h"
#include "memscope/models/density_model.h"

namespace memscope {

class DdpmEnsemble : public TrainableEnsemble {
 public:
  /// shape: one example's {C, H, W}, H and W multiples of 8 and of 2^(levels - 1).
  DdpmEnsemble(const std::vector<int64_t>& shape, const ModelConfig& c, const std::vector<uint64_t>& init_seeds);

  int64_t members() const override { return members_; }
  int64_t noise_dim() const override { return dim_ + 1; }
  int64_t eval_noise_dim() const override { return dim_ + 1; }
  bool common_eval_noise() const override { return true; }
  /// Per-example simple loss: mean over pixels of ||eps - eps_theta(x_t, t)||^2 at one random t.
  /// x: [G, B, D], eps: [G, B, D + 1] -> [G, B]. Members without rows ([G, B] bool) draw no dropout
  /// masks, so a member's dropout stream advances only with its own steps.
  torch::Tensor loss(const torch::Tensor& x, const torch::Tensor& eps,
                     const torch::Tensor& rows = torch::Tensor()) override;
  /// x: [B, D], eps: [G, B, S, D + 1] (the last draw of each sample picks its stratum's t) -> [G, B].
  torch::Tensor log_prob(const torch::Tensor& x, const torch::Tensor& eps) override;
  std::pair<torch::Tensor, torch::Tensor> log_prob_with_se(const torch::Tensor& x, const torch::Tensor& eps) override;
  double forward_flops_per_example() const override { return flops_; }
  double first_layer_flops_per_example() const override { return first_flops_; }
  double eval_flops_per_example(int64_t samples) const override { return double(samples) * flops_; }
  /// Samples of member g in [0, 1] with the sampler of set_sampler.
  torch::Tensor sample(int64_t g, int64_t count, at::Generator gen) override;
  void save_member(int64_t g, std::ostream& os) const override;
  void load_member(int64_t g, std::istream& is) override;
  /// EMA update of the members that took the step.
  void after_step(const std::vector<bool>& update) override;

  const DdpmSchedule& schedule() const { return sched_; }
  /// The noise prediction. xt: [G, M, D] in x0 units, t: [G, M] int64 in 1..T; with the EMA weights
  /// (when ema) and no dropout unless is_training() -> [G, M, D].
  torch::Tensor eps_pred(const torch::Tensor& xt, const torch::Tensor& t);
  /// The bound's term of timestep t per sample: L_{t-1} for t >= 2, L_0 (decoder) for t = 1, nats.
  /// x: [B, D] in [0, 1], t: [G, B, S] int64, eps: [G, B, S, D] -> [G, B, S] float64.
  torch::Tensor bound_terms(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& eps);
  /// L_T = KL(q(x_T | x0) || N(0, I)). x: [B, D] in [0, 1] -> [B] float64.
  torch::Tensor prior_term(const torch::Tensor& x) const;
  /// The denoising loss (mean over pixels of ||eps - eps_theta(x_t, t)||^2) at each timestep with
  /// the same noise for every member. x: [B, D], eps: [B, T', D] -> [G, T', B].
  torch::Tensor denoising_loss(const torch::Tensor& x, const std::vector<int64_t>& timesteps, const torch::Tensor& eps);
  /// Samples of every member: x_T ~ N(0, I) per member, then `steps` steps (0: all T) on evenly
  /// spaced timesteps, DDIM-style with eta 1 (ancestral DDPM: the posterior variance) or eta 0 (DDIM,
  /// deterministic), predicted x0 clipped to [-1, 1] -> [G, count, D] in [0, 1].
  torch::Tensor sample_all(int64_t count, at::Generator gen);
  void set_sampler(Sampler s, int64_t steps) { sampler_ = s, sample_steps_ = steps; }

  /// The 8-bit image x in [0, 1] as x0 in [-1, 1].
  static torch::Tensor to_x0(const torch::Tensor& x) { return (x * 255).round() * (2.0 / 255) - 1; }
  /// Images per member in one U-Net pass of evaluation and sampling.
  static constexpr int64_t kRows = 64;

 private:
  struct Res {
    int64_t n1, c1, temb, n2, c2, skip;  // first parameter of each layer (skip: -1 for none)
    int64_t out;
  };
  struct Attn {
    int64_t norm, qkv, proj, ch;
  };
  /// Registers a layer's weight (and bias) for every member, returns the index of its weight.
  int64_t conv(const std::string& name, int64_t in, int64_t out, int64_t k, bool zero);
  int64_t linear(const std::string& name, int64_t in, int64_t out);
  int64_t norm(const std::string& name, int64_t ch);
  Res res_block(const std::string& name, int64_t in, int64_t out, int64_t side);
  Attn attention(const std::string& name, int64_t ch, int64_t side);
  /// Registers the U-Net's layers for the configured levels (the layout described above).
  void build_unet();

  torch::Tensor apply_conv(const std::vector<torch::Tensor>& P, int64_t i, const torch::Tensor& h,
                           int64_t stride) const;
  torch::Tensor apply_norm(const std::vector<torch::Tensor>& P, int64_t i, const torch::Tensor& h) const;
  torch::Tensor apply_res(const std::vector<torch::Tensor>& P, const Res& r, const torch::Tensor& h,
                          const torch::Tensor& temb);
  torch::Tensor apply_attn(const std::vector<torch::Tensor>& P, const Attn& a, const torch::Tensor& h) const;
  /// The U-Net on h [M, G C, H, W] with time t [G, M] -> [M, G C, H, W].
  torch::Tensor unet(const std::vector<torch::Tensor>& P, const torch::Tensor& h, const torch::Tensor& t);

  int64_t members_, channels_, height_, width_, dim_;
  ModelConfig cfg_;
  DdpmSchedule sched_;
  std::vector<at::Generator> init_gens_, dropout_gens_;
  std::vector<bool> dropping_;  // per member: draws dropout masks in this forward pass (it has rows)
  /// The trained weights ([G, ...] each, registered parameters) and their EMA (buffers), same order.
  std::vector<torch::Tensor> params_, ema_;
  torch::Tensor ema_steps_;  // [G] float64 buffer: EMA updates per member
  int64_t temb0_ = 0, temb1_ = 0, conv_in_ = 0, norm_out_ = 0, conv_out_ = 0;
  /// The U-Net's blocks in order: down (per level res_blocks, optionally with attention, then a
  /// downsampling convolution but at the last level), middle, up.
  std::vector<std::vector<Res>> down_res_, up_res_;
  std::vector<std::vector<Attn>> down_attn_, up_attn_;  // empty vectors where no attention
  std::vector<int64_t> downsample_, upsample_;
  Res mid1_{}, mid2_{};
  Attn mid_attn_{};
  double flops_ = 0, first_flops_ = 0;
  Sampler sampler_ = Sampler::kDdpm;
  int64_t sample_steps_ = 0;
};

}  // namespace memscope
