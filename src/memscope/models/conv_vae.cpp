#include "memscope/models/conv_vae.h"

#include <cmath>

#include "memscope/core/error.h"
#include "memscope/core/seeds.h"
#include "memscope/models/iw.h"
#include "memscope/models/member_archive.h"

namespace memscope {

namespace {

constexpr int64_t kKernel = 4;
constexpr double kSlope = 0.01, kMomentum = 0.1, kNormEps = 1e-5, kInitSigma = 0.1;
const std::vector<int64_t> kChannels = {32, 64, 128, 256};

torch::Tensor leaky(const torch::Tensor& h) { return torch::leaky_relu(h, kSlope); }

}  // namespace

std::pair<torch::Tensor, torch::Tensor> logit_dequantize(const torch::Tensor& x, const torch::Tensor& u) {
  const double lam = kLogitLambda;
  torch::Tensor v = ((x * 255).round() + u) / 256;  // in (0, 1): the 8-bit level, dequantized
  torch::Tensor s = lam + (1 - 2 * lam) * v;
  torch::Tensor log_s = torch::log(s), log_1ms = torch::log1p(-s);
  torch::Tensor y = log_s - log_1ms;
  // dy/dv = (1 - 2 lambda) / (s (1 - s)); the bin of an 8-bit level has volume 1/256 in v.
  torch::Tensor volume = (std::log(1 - 2 * lam) - log_s - log_1ms).sum(-1) - double(x.size(-1)) * std::log(256.0);
  return {y, volume};
}

ConvVaeEnsemble::ConvVaeEnsemble(const std::vector<int64_t>& shape, const ModelConfig& c,
                                 const std::vector<uint64_t>& init_seeds)
    : members_(static_cast<int64_t>(init_seeds.size())), latent_(c.latent), decoder_(c.decoder) {
  MEMSCOPE_CHECK(members_ >= 1, "ConvVaeEnsemble: needs at least one member");
  MEMSCOPE_CHECK_KEY(shape.size() == 3 && shape[0] >= 1, "model", "conv-vae: needs images of shape {C, H, W}");
  channels_ = shape[0], height_ = shape[1], width_ = shape[2];
  dim_ = channels_ * height_ * width_;
  MEMSCOPE_CHECK_KEY(height_ >= 16 && width_ >= 16 && height_ % 16 == 0 && width_ % 16 == 0, "model",
                     "conv-vae: needs images whose height and width are multiples of 16 (e.g. 32x32, 64x64), got ",
                     channels_, "x", height_, "x", width_, " (use --resize, or --model mlp-vae)");
  const int64_t G = members_;
  std::vector<at::Generator> gens;
  for (uint64_t s : init_seeds) gens.push_back(make_generator(s));
  // Member g draws all its parameters from its own generator, layer by layer, weight then bias.
  auto uniform = [&](const std::string& name, std::vector<int64_t> w_shape, int64_t b_size, int64_t fan_in) {
    const double bound = 1.0 / std::sqrt(double(fan_in));
    std::vector<torch::Tensor> ws, bs;
    for (auto& g : gens) {
      ws.push_back(torch::empty(w_shape).uniform_(-bound, bound, g));
      bs.push_back(torch::empty({b_size}).uniform_(-bound, bound, g));
    }
    return std::make_pair(register_parameter(name + "_weight", torch::stack(ws)),
                          register_parameter(name + "_bias", torch::stack(bs)));
  };
  auto norm = [&](const std::string& name, int64_t ch) {
    return Norm{register_parameter(name + "_gamma", torch::ones({G, ch})),
                register_parameter(name + "_beta", torch::zeros({G, ch})),
                register_buffer(name + "_running_mean", torch::zeros({G, ch})),
                register_buffer(name + "_running_var", torch::ones({G, ch}))};
  };
  const int64_t h16 = height_ / 16, w16 = width_ / 16, top = kChannels.back(), feat = top * h16 * w16;
  int64_t in = channels_;
  for (size_t i = 0; i < kChannels.size(); ++i) {
    const int64_t out = kChannels[i];
    auto [w, b] = uniform("enc" + std::to_string(i), {out, in, kKernel, kKernel}, out, in * kKernel * kKernel);
    enc_.push_back({w, b, false});
    enc_norm_.push_back(norm("enc" + std::to_string(i), out));
    in = out;
  }
  std::tie(enc_fc_w_, enc_fc_b_) = uniform("enc_fc", {feat, 2 * latent_}, 2 * latent_, feat);
  std::tie(dec_fc_w_, dec_fc_b_) = uniform("dec_fc", {latent_, feat}, feat, latent_);
  dec_norm_.push_back(norm("dec_fc", top));
  const int64_t out_channels = decoder_ == Decoder::kLogitGaussian ? 2 * channels_ : channels_;
  for (size_t j = 0; j < kChannels.size(); ++j) {
    const int64_t cin = kChannels[kChannels.size() - 1 - j];
    const bool last = j + 1 == kChannels.size();
    const int64_t cout = last ? out_channels : kChannels[kChannels.size() - 2 - j];
    auto [w, b] = uniform("dec" + std::to_string(j), {cin, cout, kKernel, kKernel}, cout, cin * kKernel * kKernel);
    dec_.push_back({w, b, true});
    if (!last) dec_norm_.push_back(norm("dec" + std::to_string(j), cout));
  }
  // The variance starts at 0.1^2 (a pixel noise scale on [0, 1]): Adam moves a log-variance by
  // about lr per step, so from 1 it would take thousands of steps to reach a useful value.
  if (decoder_ == Decoder::kGaussian)
    log_sigma2_ = register_parameter("log_sigma2", torch::full({G, 1}, 2 * std::log(kInitSigma)));
}

torch::Tensor grouped_conv_transpose(const torch::Tensor& h, const torch::Tensor& w, const torch::Tensor& b) {
  MEMSCOPE_CHECK(w.dim() == 5 && w.size(3) == w.size(4) && h.dim() == 4 && h.size(1) == w.size(0) * w.size(1),
                 "grouped_conv_transpose: weights ", w.sizes(), " do not fit input ", h.sizes());
  const int64_t G = w.size(0), Cin = w.size(1), Cout = w.size(2), k = w.size(3);
  // LibTorch's CPU transposed convolution multiplies one example at a time, [Cin, H W] by
  // [Cin, Cout k k]: on the 2x2 input of the first decoder layer that runs at 31 GFLOP/s per core.
  // One matmul per member over the pixels of all examples, then a fold (col2im) of the k x k
  // patches, runs at 83 (measured; from 4x4 inputs on, LibTorch's own is faster).
  const int64_t B = h.size(0), H = h.size(2), W = h.size(3);
  if (!h.is_cpu() || H * W > 4)
    return torch::conv_transpose2d(h, w.flatten(0, 1), b, {2, 2}, {1, 1}, {0, 0}, G, {1, 1});
  torch::Tensor x = h.view({B, G, Cin, H * W}).permute({1, 0, 3, 2}).reshape({G, B * H * W, Cin});
  torch::Tensor cols = torch::bmm(x, w.reshape({G, Cin, Cout * k * k}));  // [G, B H W, Cout k k]
  cols = cols.view({G, B, H * W, Cout * k * k}).permute({1, 0, 3, 2}).reshape({B, G * Cout * k * k, H * W});
  namespace F = torch::nn::functional;
  const int64_t out_h = 2 * (H - 1) - 2 + k, out_w = 2 * (W - 1) - 2 + k;
  return F::fold(cols, F::FoldFuncOptions({out_h, out_w}, {k, k}).stride(2).padding(1)) + b.view({1, -1, 1, 1});
}

torch::Tensor ConvVaeEnsemble::apply(const Conv& c, const torch::Tensor& h) const {
  if (c.transposed) return grouped_conv_transpose(h, c.w, c.b.reshape({-1}));
  return torch::conv2d(h, c.w.flatten(0, 1), c.b.reshape({-1}), {2, 2}, {1, 1}, {1, 1}, members_);
}

torch::Tensor ConvVaeEnsemble::normalize(Norm& n, const torch::Tensor& h, const torch::Tensor& rows, bool batch_stats) {
  if (!batch_stats)
    return torch::batch_norm(h, n.gamma.reshape({-1}), n.beta.reshape({-1}), n.running_mean.view({-1}),
                             n.running_var.view({-1}), false, kMomentum, kNormEps, false);
  const int64_t B = h.size(0), G = members_, C = n.gamma.size(1);
  torch::Tensor v = h.reshape({B, G, C, h.size(2), h.size(3)});
  torch::Tensor m = rows.defined() ? rows.t().to(h.scalar_type()).reshape({B, G, 1, 1, 1})
                                   : torch::ones({B, G, 1, 1, 1}, h.options());
  torch::Tensor count = m.sum(0, true) * double(h.size(2) * h.size(3));  // [1, G, 1, 1, 1]
  torch::Tensor denom = count.clamp_min(1);                              // a member without rows stays finite
  torch::Tensor mean = (v * m).sum({0, 3, 4}, true) / denom;             // [1, G, C, 1, 1]
  torch::Tensor diff = v - mean;
  torch::Tensor var = (diff.square() * m).sum({0, 3, 4}, true) / denom;
  torch::Tensor y = diff * torch::rsqrt(var + kNormEps) * n.gamma.view({1, G, C, 1, 1}) + n.beta.view({1, G, C, 1, 1});
  {
    torch::NoGradGuard no_grad;  // running statistics as BatchNorm2d: momentum 0.1, unbiased variance
    torch::Tensor has = (count > 1).view({G, 1});
    torch::Tensor unbiased = (var * count / (count - 1).clamp_min(1)).view({G, C});
    n.running_mean.copy_(
        torch::where(has, (1 - kMomentum) * n.running_mean + kMomentum * mean.view({G, C}), n.running_mean));
    n.running_var.copy_(torch::where(has, (1 - kMomentum) * n.running_var + kMomentum * unbiased, n.running_var));
  }
  return y.reshape({B, G * C, h.size(2), h.size(3)});
}

std::pair<torch::Tensor, torch::Tensor> ConvVaeEnsemble::encode(const torch::Tensor& x, const torch::Tensor& rows,
                                                                bool batch_stats) {
  const int64_t G = members_;
  const torch::Tensor xs = x.dim() == 2 ? x.unsqueeze(0).expand({G, x.size(0), dim_}) : x;
  const int64_t B = xs.size(1);
  torch::Tensor h =
      xs.reshape({G, B, channels_, height_, width_}).transpose(0, 1).reshape({B, G * channels_, height_, width_});
  for (size_t i = 0; i < enc_.size(); ++i) h = leaky(normalize(enc_norm_[i], apply(enc_[i], h), rows, batch_stats));
  h = h.reshape({B, G, -1}).transpose(0, 1);  // [G, B, feat]
  torch::Tensor out = torch::baddbmm(enc_fc_b_.unsqueeze(1), h, enc_fc_w_);
  return {out.slice(-1, 0, latent_), out.slice(-1, latent_, 2 * latent_)};
}

torch::Tensor ConvVaeEnsemble::decode(const torch::Tensor& z, const torch::Tensor& rows, bool batch_stats) {
  const int64_t G = members_, M = z.size(1);
  torch::Tensor h = torch::baddbmm(dec_fc_b_.unsqueeze(1), z, dec_fc_w_);  // [G, M, feat]
  h = h.transpose(0, 1).reshape({M, G * kChannels.back(), height_ / 16, width_ / 16});
  h = leaky(normalize(dec_norm_[0], h, rows, batch_stats));
  for (size_t j = 0; j < dec_.size(); ++j) {
    h = apply(dec_[j], h);
    if (j + 1 < dec_.size()) h = leaky(normalize(dec_norm_[j + 1], h, rows, batch_stats));
  }
  return h.reshape({M, G, -1, height_, width_}).transpose(0, 1);
}

torch::Tensor ConvVaeEnsemble::log_lik(const torch::Tensor& target, const torch::Tensor& out) const {
  const torch::Tensor f = out.flatten(-3);
  if (decoder_ == Decoder::kBernoulli) return (target * f - torch::softplus(f)).sum(-1);
  const double log_2pi = std::log(2 * M_PI);
  if (decoder_ == Decoder::kLogitGaussian) {
    const torch::Tensor mu = f.slice(-1, 0, dim_), lv = f.slice(-1, dim_, 2 * dim_).clamp_min(kMinLogVar);
    return -0.5 * ((target - mu).square() * torch::exp(-lv) + lv + log_2pi).sum(-1);
  }
  std::vector<int64_t> lv_shape(f.dim() - 1, 1);  // [G, 1, ...] against the sum's [G, ...]
  lv_shape[0] = members_;
  const torch::Tensor lv = log_sigma2_.view(lv_shape);
  return -0.5 * (torch::sigmoid(f) - target).square().sum(-1) * torch::exp(-lv) - 0.5 * double(dim_) * (lv + log_2pi);
}

std::pair<torch::Tensor, torch::Tensor> ConvVaeEnsemble::target(const torch::Tensor& x, const torch::Tensor& e) const {
  if (decoder_ != Decoder::kLogitGaussian) return {x, torch::zeros({x.size(0), x.size(1)}, x.options())};
  // u = Phi(e) is uniform on (0, 1) for standard-normal e; the bin centre without draws.
  const torch::Tensor u = e.defined() ? 0.5 * torch::erfc(-e / std::sqrt(2.0)) : torch::full({}, 0.5, x.options());
  return logit_dequantize(x, u);
}

torch::Tensor ConvVaeEnsemble::loss(const torch::Tensor& x, const torch::Tensor& eps, const torch::Tensor& rows) {
  const bool batch_stats = is_training();
  auto [mu, logvar] = encode(x, rows, batch_stats);
  torch::Tensor z = mu + (0.5 * logvar).exp() * eps.slice(-1, 0, latent_);
  torch::Tensor out = decode(z, rows, batch_stats);
  auto [t, volume] =
      target(x, decoder_ == Decoder::kLogitGaussian ? eps.slice(-1, latent_, latent_ + dim_) : torch::Tensor());
  torch::Tensor rec = log_lik(t, out) + volume;
  torch::Tensor kl = 0.5 * (mu.square() + logvar.exp() - logvar - 1).sum(-1);
  return kl - rec;
}

torch::Tensor ConvVaeEnsemble::log_prob(const torch::Tensor& x, const torch::Tensor& eps) {
  // Chunks of examples whose b * S latents (per member) stay near kDecodeRows, encoder included,
  // so that activations stay bounded whatever the tile size.
  const int64_t G = members_, B = x.size(0), S = eps.size(2);
  const int64_t chunk = std::max<int64_t>(1, kDecodeRows / S);
  std::vector<torch::Tensor> parts;
  for (int64_t b0 = 0; b0 < B; b0 += chunk) {
    const int64_t b1 = std::min(B, b0 + chunk), b = b1 - b0;
    const torch::Tensor x_c = x.slice(0, b0, b1);
    auto [mu, logvar] = encode(x_c, {}, false);
    auto [t, volume] = target(x_c.unsqueeze(0), {});                                                // [1, b, D], [1, b]
    const torch::Tensor t_c = t.unsqueeze(2);                                                       // [1, b, 1, D]
    torch::Tensor lp = iw_log_prob(mu, logvar, eps.slice(1, b0, b1), [&](const torch::Tensor& z) {  // [G, b, S, L]
      torch::Tensor out = decode(z.reshape({G, b * S, latent_}), {}, false);
      return log_lik(t_c, out.reshape({G, b, S, -1, height_, width_}));
    });
    parts.push_back(lp + volume);
  }
  return torch::cat(parts, 1);
}

double ConvVaeEnsemble::first_layer_flops_per_example() const {
  const Conv& c = enc_.front();  // output pixels x out x in x k x k
  return 2 * double(height_ / 2 * width_ / 2) * double(c.w.size(1) * c.w.size(2)) * kKernel * kKernel;
}

double ConvVaeEnsemble::forward_flops_per_example() const {
  double enc = 0, dec = 0;
  int64_t h = height_, w = width_;
  for (const Conv& c : enc_) {  // output pixels x out x in x k x k
    h /= 2, w /= 2;
    enc += double(h * w) * double(c.w.size(1) * c.w.size(2)) * kKernel * kKernel;
  }
  enc += double(enc_fc_w_.size(1) * enc_fc_w_.size(2));
  dec += double(dec_fc_w_.size(1) * dec_fc_w_.size(2));
  for (const Conv& c : dec_) {  // input pixels x in x out x k x k
    dec += double(h * w) * double(c.w.size(1) * c.w.size(2)) * kKernel * kKernel;
    h *= 2, w *= 2;
  }
  return 2 * (enc + dec);
}

double ConvVaeEnsemble::eval_flops_per_example(int64_t samples) const {
  // The encoder and the decoder have the same multiply-accumulates but for the output channels.
  const double both = forward_flops_per_example() / 2;
  const double dec_fc = double(dec_fc_w_.size(1) * dec_fc_w_.size(2));
  double dec = dec_fc;
  int64_t h = height_ / 16, w = width_ / 16;
  for (const Conv& c : dec_) {
    dec += double(h * w) * double(c.w.size(1) * c.w.size(2)) * kKernel * kKernel;
    h *= 2, w *= 2;
  }
  return 2 * ((both - dec) + samples * dec);
}

torch::Tensor ConvVaeEnsemble::sample(int64_t g, int64_t count, at::Generator gen) {
  torch::NoGradGuard no_grad;
  const auto device = dec_fc_w_.device();
  torch::Tensor z = at::randn({count, latent_}, gen, torch::kFloat32).to(device);
  torch::Tensor out = decode(z.unsqueeze(0).expand({members_, count, latent_}).contiguous(), {}, false)[g];
  torch::Tensor f = out.flatten(-3).to(torch::kCPU);  // [count, K * H * W]
  if (decoder_ != Decoder::kLogitGaussian) return torch::sigmoid(f);
  const torch::Tensor s = torch::sigmoid(f.slice(-1, 0, dim_));
  return ((s - kLogitLambda) / (1 - 2 * kLogitLambda)).clamp(0, 1);
}

void ConvVaeEnsemble::save_member(int64_t g, std::ostream& os) const {
  torch::serialize::OutputArchive archive;
  write_member(*this, g, archive);
  archive.save_to(os);
}

void ConvVaeEnsemble::load_member(int64_t g, std::istream& is) {
  torch::serialize::InputArchive archive;
  archive.load_from(is);
  read_member(*this, g, archive);
}

}  // namespace memscope
