// DdpmEnsemble (models/ddpm.h): construction, the training loss and the denoising loss, the EMA of
// the weights, and saving and loading a member. The network is in ddpm_unet.cpp, the variational
// bound in ddpm_bound.cpp, the sampler in ddpm_sampler.cpp.
#include "memscope/models/ddpm.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "memscope/core/error.h"
#include "memscope/core/seeds.h"
#include "memscope/models/ddpm_schedule.h"
#include "memscope/models/member_archive.h"

namespace memscope {

using ddpm_detail::lookup;
using ddpm_detail::normal_cdf;

DdpmEnsemble::DdpmEnsemble(const std::vector<int64_t>& shape, const ModelConfig& c,
                           const std::vector<uint64_t>& init_seeds)
    : members_(int64_t(init_seeds.size())), cfg_(c), sched_(c.timesteps, c.schedule) {
  MEMSCOPE_CHECK(members_ >= 1, "DdpmEnsemble: needs at least one member");
  MEMSCOPE_CHECK_KEY(shape.size() == 3 && shape[1] > 1 && shape[2] > 1, "model",
                     "ddpm: needs images of shape {C, H, W}, got examples of shape ", c10::IntArrayRef(shape));
  channels_ = shape[0], height_ = shape[1], width_ = shape[2];
  dim_ = channels_ * height_ * width_;
  const int64_t levels = int64_t(c.channels.size());
  MEMSCOPE_CHECK_KEY(levels >= 1 && levels <= 4, "channels", "ddpm: 1 to 4 levels, got ", levels);
  const int64_t step = int64_t(1) << (levels - 1);
  MEMSCOPE_CHECK_KEY(height_ % 8 == 0 && width_ % 8 == 0 && height_ % step == 0 && width_ % step == 0, "model",
                     "ddpm: needs images whose height and width are multiples of 8, got ", channels_, "x", height_, "x",
                     width_, " (keep the 28x28 -> 32x32 padding, or use --resize)");
  MEMSCOPE_CHECK_KEY(c.channels[0] % 2 == 0, "channels", "ddpm: the first level's channels must be even, got ",
                     c.channels[0]);
  bool attention_found = c.attention == 0;
  for (int64_t l = 0; l < levels; ++l) attention_found |= (height_ >> l) == c.attention;
  MEMSCOPE_CHECK_KEY(attention_found, "attention", "no level of the U-Net has side ", c.attention, " (sides ", height_,
                     " down to ", height_ / step, ")");
  for (uint64_t s : init_seeds) {
    init_gens_.push_back(make_generator(s));
    dropout_gens_.push_back(make_generator(derive_seed(s, SeedTag::kNoise)));
    dropping_.push_back(true);
  }
  build_unet();
  for (size_t i = 0; i < params_.size(); ++i)
    ema_.push_back(register_buffer(str("ema_", i), params_[i].detach().clone()));
  ema_steps_ = register_buffer("ema_steps", torch::zeros({members_}, torch::kFloat64));
}

torch::Tensor DdpmEnsemble::loss(const torch::Tensor& x, const torch::Tensor& eps, const torch::Tensor& rows) {
  const int64_t T = sched_.T;
  const torch::Tensor any = rows.defined() ? rows.any(1).to(torch::kCPU) : torch::ones({members_}, torch::kBool);
  for (int64_t g = 0; g < members_; ++g) dropping_[size_t(g)] = any[g].item<bool>();
  const torch::Tensor x0 = to_x0(x), noise = eps.slice(-1, 0, dim_);
  const torch::Tensor t = (normal_cdf(eps.select(-1, dim_)) * double(T)).floor().clamp(0, T - 1).to(torch::kInt64) + 1;
  const torch::Tensor ab = lookup(sched_.abar, t).to(x.scalar_type()).unsqueeze(-1);
  const torch::Tensor xt = ab.sqrt() * x0 + (1 - ab).sqrt() * noise;
  if (torch::GradMode::is_enabled()) return (noise - eps_pred(xt, t)).square().mean(-1);
  // Without gradients (the held-out loss, up to 1,024 rows) in chunks: the U-Net's activations
  // for all rows at once would take a gigabyte.
  std::vector<torch::Tensor> parts;
  for (int64_t r0 = 0; r0 < x.size(1); r0 += kRows) {
    const int64_t r1 = std::min(x.size(1), r0 + kRows);
    parts.push_back((noise.slice(1, r0, r1) - eps_pred(xt.slice(1, r0, r1), t.slice(1, r0, r1))).square().mean(-1));
  }
  return torch::cat(parts, 1);
}

torch::Tensor DdpmEnsemble::denoising_loss(const torch::Tensor& x, const std::vector<int64_t>& timesteps,
                                           const torch::Tensor& eps) {
  const int64_t G = members_, B = x.size(0), K = int64_t(timesteps.size());
  const torch::Tensor x0 = to_x0(x);
  torch::Tensor out = torch::empty({G, K, B}, x.options());
  for (int64_t k = 0; k < K; ++k) {
    const int64_t t = timesteps[size_t(k)];
    MEMSCOPE_CHECK(t >= 1 && t <= sched_.T, "denoising_loss: timestep ", t, " outside 1..", sched_.T);
    const double ab = sched_.abar[size_t(t)];
    for (int64_t b0 = 0; b0 < B; b0 += kRows) {
      const int64_t b1 = std::min(B, b0 + kRows);
      const torch::Tensor e = eps.select(1, k).slice(0, b0, b1).unsqueeze(0).expand({G, b1 - b0, dim_});
      const torch::Tensor xt = std::sqrt(ab) * x0.slice(0, b0, b1).unsqueeze(0) + std::sqrt(1 - ab) * e;
      const torch::Tensor tt = torch::full({G, b1 - b0}, t, x.options().dtype(torch::kInt64));
      out.select(1, k).slice(1, b0, b1).copy_((e - eps_pred(xt, tt)).square().mean(-1));
    }
  }
  return out;
}

void DdpmEnsemble::after_step(const std::vector<bool>& update) {
  if (cfg_.ema <= 0) return;
  torch::NoGradGuard no_grad;
  torch::Tensor steps = ema_steps_.to(torch::kCPU).clone();
  std::vector<float> decay(size_t(members_), 1.0f);
  for (int64_t g = 0; g < members_; ++g) {
    if (!update[size_t(g)]) continue;
    const double n = steps[g].item<double>() + 1;
    steps[g] = n;
    decay[size_t(g)] = float(std::min(cfg_.ema, (1 + n) / (10 + n)));
  }
  ema_steps_.copy_(steps);
  const torch::Tensor d = torch::tensor(decay).to(params_[0].device());
  for (size_t i = 0; i < params_.size(); ++i) {
    std::vector<int64_t> shape(size_t(params_[i].dim()), 1);
    shape[0] = members_;
    const torch::Tensor dv = d.view(shape);
    ema_[i].mul_(dv).add_(params_[i].detach() * (1 - dv));
  }
}

void DdpmEnsemble::save_member(int64_t g, std::ostream& os) const {
  torch::serialize::OutputArchive archive;
  write_member(*this, g, archive);
  archive.write("dropout_state", dropout_gens_[size_t(g)].get_state(), true);
  archive.save_to(os);
}

void DdpmEnsemble::load_member(int64_t g, std::istream& is) {
  torch::serialize::InputArchive archive;
  archive.load_from(is);
  read_member(*this, g, archive);
  torch::Tensor state;
  MEMSCOPE_CHECK(archive.try_read("dropout_state", state, true), "model: archive lacks dropout_state");
  dropout_gens_[size_t(g)].set_state(state);
}

}  // namespace memscope
