#include "memscope/models/ddpm.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "memscope/core/error.h"
#include "memscope/core/seeds.h"
#include "memscope/models/member_archive.h"

namespace memscope {

namespace {

constexpr double kNormEps = 1e-5, kCosineOffset = 0.008, kMaxBeta = 0.999, kBeta1 = 1e-4, kBetaT = 0.02;

/// GroupNorm groups of a member's ch channels (Ho et al.: 32 for their widths; 8 for narrow layers).
int64_t norm_groups(int64_t ch) { return std::gcd(ch, int64_t(ch >= 64 ? 32 : 8)); }

/// log(1 - Phi(a)) in float64, also where erfc underflows (its asymptotic series beyond a = 30).
torch::Tensor log_upper_tail(const torch::Tensor& a) {
  const torch::Tensor direct = torch::log(0.5 * torch::erfc(a.clamp_max(30) / std::sqrt(2.0)));
  const torch::Tensor big = a.clamp_min(30), inv2 = 1 / big.square();
  const torch::Tensor asym =
      -0.5 * big.square() - torch::log(big) - 0.5 * std::log(2 * M_PI) + torch::log1p(-inv2 + 3 * inv2.square());
  return torch::where(a > 30, asym, direct);
}

/// log(exp(la) - exp(lb)) for la > lb.
torch::Tensor log_diff_exp(const torch::Tensor& la, const torch::Tensor& lb) {
  return la + torch::log(-torch::expm1(lb - la));
}

/// Normal CDF of standard-normal draws: uniform on (0, 1).
torch::Tensor normal_cdf(const torch::Tensor& e) { return 0.5 * torch::erfc(-e / std::sqrt(2.0)); }

/// a ([M, G Ca, H, W]) and b ([M, G Cb, H, W]) concatenated per member -> [M, G (Ca + Cb), H, W].
torch::Tensor cat_members(const torch::Tensor& a, const torch::Tensor& b, int64_t G) {
  const int64_t M = a.size(0), H = a.size(2), W = a.size(3);
  return torch::cat({a.reshape({M, G, -1, H, W}), b.reshape({M, G, -1, H, W})}, 2).reshape({M, -1, H, W});
}

/// table[t] for t: int64 [...] -> float64 [...] on t's device.
torch::Tensor lookup(const std::vector<double>& table, const torch::Tensor& t) {
  const torch::Tensor tab = torch::tensor(table, torch::kFloat64).to(t.device());
  return tab.index_select(0, t.reshape({-1})).view(t.sizes());
}

}  // namespace

DdpmSchedule::DdpmSchedule(int64_t timesteps, Schedule kind)
    : T(timesteps), beta(timesteps + 1, 0.0), alpha(timesteps + 1, 1.0), abar(timesteps + 1, 1.0) {
  MEMSCOPE_CHECK_KEY(T >= 2, "timesteps", "must be >= 2, got ", T);
  auto f = [&](double t) {
    return std::pow(std::cos((t / double(T) + kCosineOffset) / (1 + kCosineOffset) * M_PI / 2), 2);
  };
  for (int64_t t = 1; t <= T; ++t) {
    if (kind == Schedule::kLinear)
      beta[t] = kBeta1 + (kBetaT - kBeta1) * double(t - 1) / double(T - 1);
    else
      beta[t] = std::min(1 - f(double(t)) / f(double(t - 1)), kMaxBeta);
    alpha[t] = 1 - beta[t];
    abar[t] = abar[t - 1] * alpha[t];
  }
}

torch::Tensor log_discretized_gaussian(const torch::Tensor& x0, const torch::Tensor& mu, double sigma) {
  const double half = 1.0 / 255;
  const torch::Tensor a = (x0 - half - mu) / sigma, b = (x0 + half - mu) / sigma;  // the bin's edges
  const torch::Tensor q_a = log_upper_tail(a), q_b = log_upper_tail(b);            // log P(Z > edge)
  const torch::Tensor p_a = log_upper_tail(-a), p_b = log_upper_tail(-b);          // log P(Z < edge)
  // Phi(b) - Phi(a) from whichever tail keeps it accurate.
  const torch::Tensor right = log_diff_exp(q_a, q_b), left = log_diff_exp(p_b, p_a);
  const torch::Tensor centre = torch::log1p(-(torch::exp(q_b) + torch::exp(p_a)));
  torch::Tensor mid = torch::where(a >= 0, right, torch::where(b <= 0, left, centre));
  return torch::where(x0 < -1 + half / 2, p_b, torch::where(x0 > 1 - half / 2, q_a, mid));
}

std::pair<torch::Tensor, torch::Tensor> stratified_timesteps(const torch::Tensor& u, int64_t T) {
  const int64_t S = u.size(-1);
  MEMSCOPE_CHECK(S >= 1 && S <= T, "stratified_timesteps: ", S, " samples for ", T, " timesteps");
  std::vector<int64_t> first(S), size(S);
  for (int64_t s = 0; s < S; ++s) {
    first[s] = s * T / S + 1;
    size[s] = (s + 1) * T / S - s * T / S;
  }
  const auto dev = u.device();
  const torch::Tensor f = torch::tensor(first, torch::kInt64).to(dev), n = torch::tensor(size, torch::kInt64).to(dev);
  const torch::Tensor off = torch::minimum((u.to(torch::kFloat64) * n).floor().to(torch::kInt64), n - 1);
  return {f + off, n.to(torch::kFloat64)};
}

torch::Tensor collapsed_strata_se(const torch::Tensor& y) {
  const int64_t S = y.size(-1);
  if (S < 2) return torch::full(y.sizes().slice(0, y.dim() - 1), std::nan(""), y.options());
  torch::Tensor var = torch::zeros(y.sizes().slice(0, y.dim() - 1), y.options());
  for (int64_t s = 0; s < S;) {
    const int64_t m = (S - s == 3) ? 3 : 2;
    const torch::Tensor g = y.slice(-1, s, s + m);
    var += double(m) / double(m - 1) * (g - g.mean(-1, true)).square().sum(-1);
    s += m;
  }
  return var.sqrt();
}

int64_t DdpmEnsemble::conv(const std::string& name, int64_t in, int64_t out, int64_t k, bool zero) {
  const double bound = 1.0 / std::sqrt(double(in * k * k));
  std::vector<torch::Tensor> ws, bs;
  for (auto& g : init_gens_) {
    ws.push_back(zero ? torch::zeros({out, in, k, k}) : torch::empty({out, in, k, k}).uniform_(-bound, bound, g));
    bs.push_back(zero ? torch::zeros({out}) : torch::empty({out}).uniform_(-bound, bound, g));
  }
  const int64_t i = int64_t(params_.size());
  params_.push_back(register_parameter(name + "_weight", torch::stack(ws)));
  params_.push_back(register_parameter(name + "_bias", torch::stack(bs)));
  return i;
}

int64_t DdpmEnsemble::linear(const std::string& name, int64_t in, int64_t out) {
  const double bound = 1.0 / std::sqrt(double(in));
  std::vector<torch::Tensor> ws, bs;
  for (auto& g : init_gens_) {  // drawn as nn.Linear's [out, in], stored [in, out]
    ws.push_back(torch::empty({out, in}).uniform_(-bound, bound, g).t().contiguous());
    bs.push_back(torch::empty({out}).uniform_(-bound, bound, g));
  }
  const int64_t i = int64_t(params_.size());
  params_.push_back(register_parameter(name + "_weight", torch::stack(ws)));
  params_.push_back(register_parameter(name + "_bias", torch::stack(bs)));
  return i;
}

int64_t DdpmEnsemble::norm(const std::string& name, int64_t ch) {
  const int64_t i = int64_t(params_.size());
  params_.push_back(register_parameter(name + "_gamma", torch::ones({members_, ch})));
  params_.push_back(register_parameter(name + "_beta", torch::zeros({members_, ch})));
  return i;
}

DdpmEnsemble::Res DdpmEnsemble::res_block(const std::string& name, int64_t in, int64_t out, int64_t pixels) {
  Res r{};
  r.out = out;
  r.n1 = norm(name + "_norm1", in);
  r.c1 = conv(name + "_conv1", in, out, 3, false);
  r.temb = linear(name + "_temb", 4 * cfg_.channels[0], out);
  r.n2 = norm(name + "_norm2", out);
  r.c2 = conv(name + "_conv2", out, out, 3, true);
  r.skip = in != out ? conv(name + "_skip", in, out, 1, false) : -1;
  flops_ += 2.0 * double(pixels) * (9.0 * double(in * out + out * out) + (in != out ? double(in * out) : 0.0)) +
            2.0 * double(4 * cfg_.channels[0] * out);
  return r;
}

DdpmEnsemble::Attn DdpmEnsemble::attention(const std::string& name, int64_t ch, int64_t pixels) {
  Attn a{};
  a.ch = ch;
  a.norm = norm(name + "_norm", ch);
  a.qkv = conv(name + "_qkv", ch, 3 * ch, 1, false);
  a.proj = conv(name + "_proj", ch, ch, 1, true);
  flops_ += 2.0 * double(pixels) * double(4 * ch * ch) + 4.0 * double(pixels) * double(pixels) * double(ch);
  return a;
}

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
  const int64_t C0 = c.channels[0], E = 4 * C0, HW = height_ * width_;
  temb0_ = linear("temb0", C0, E);
  temb1_ = linear("temb1", E, E);
  conv_in_ = conv("conv_in", channels_, C0, 3, false);
  first_flops_ = 2.0 * double(HW) * double(9 * channels_ * C0);
  flops_ = first_flops_ + 2.0 * double(C0 * E + E * E);
  std::vector<int64_t> skips = {C0};
  int64_t cur = C0;
  auto has_attn = [&](int64_t l) { return c.attention > 0 && (height_ >> l) == c.attention; };
  down_res_.resize(levels), down_attn_.resize(levels);
  for (int64_t l = 0; l < levels; ++l) {
    const int64_t pixels = HW >> (2 * l);
    for (int64_t r = 0; r < c.res_blocks; ++r) {
      const std::string name = "down" + std::to_string(l) + "_" + std::to_string(r);
      down_res_[l].push_back(res_block(name, cur, c.channels[l], pixels));
      cur = c.channels[l];
      if (has_attn(l)) down_attn_[l].push_back(attention(name + "_attn", cur, pixels));
      skips.push_back(cur);
    }
    if (l + 1 < levels) {
      downsample_.push_back(conv("down" + std::to_string(l) + "_sample", cur, cur, 3, false));
      flops_ += 2.0 * double(pixels / 4) * double(9 * cur * cur);
      skips.push_back(cur);
    }
  }
  const int64_t low = HW >> (2 * (levels - 1));
  mid1_ = res_block("mid1", cur, cur, low);
  if (has_attn(levels - 1)) mid_attn_ = attention("mid_attn", cur, low);
  mid2_ = res_block("mid2", cur, cur, low);
  up_res_.resize(levels), up_attn_.resize(levels);
  for (int64_t i = 0; i < levels; ++i) {  // level levels - 1 - i
    const int64_t l = levels - 1 - i, pixels = HW >> (2 * l);
    for (int64_t r = 0; r <= c.res_blocks; ++r) {
      const std::string name = "up" + std::to_string(l) + "_" + std::to_string(r);
      up_res_[i].push_back(res_block(name, cur + skips.back(), c.channels[l], pixels));
      skips.pop_back();
      cur = c.channels[l];
      if (has_attn(l)) up_attn_[i].push_back(attention(name + "_attn", cur, pixels));
    }
    if (l > 0) {
      upsample_.push_back(conv("up" + std::to_string(l) + "_sample", cur, cur, 3, false));
      flops_ += 2.0 * double(pixels * 4) * double(9 * cur * cur);
    }
  }
  norm_out_ = norm("norm_out", cur);
  conv_out_ = conv("conv_out", cur, channels_, 3, true);
  flops_ += 2.0 * double(HW) * double(9 * cur * channels_);
  for (size_t i = 0; i < params_.size(); ++i)
    ema_.push_back(register_buffer(str("ema_", i), params_[i].detach().clone()));
  ema_steps_ = register_buffer("ema_steps", torch::zeros({members_}, torch::kFloat64));
}

torch::Tensor DdpmEnsemble::apply_conv(const std::vector<torch::Tensor>& P, int64_t i, const torch::Tensor& h,
                                       int64_t stride) const {
  const torch::Tensor& w = P[size_t(i)];
  const int64_t pad = w.size(3) / 2;
  return torch::conv2d(h, w.flatten(0, 1), P[size_t(i) + 1].reshape({-1}), {stride, stride}, {pad, pad}, {1, 1},
                       members_);
}

torch::Tensor DdpmEnsemble::apply_norm(const std::vector<torch::Tensor>& P, int64_t i, const torch::Tensor& h) const {
  const int64_t ch = P[size_t(i)].size(1);
  return torch::group_norm(h, members_ * norm_groups(ch), P[size_t(i)].reshape({-1}), P[size_t(i) + 1].reshape({-1}),
                           kNormEps);
}

torch::Tensor DdpmEnsemble::apply_res(const std::vector<torch::Tensor>& P, const Res& r, const torch::Tensor& h,
                                      const torch::Tensor& temb) {
  const int64_t M = h.size(0), G = members_;
  torch::Tensor a = apply_conv(P, r.c1, torch::silu(apply_norm(P, r.n1, h)), 1);
  const torch::Tensor proj =
      torch::baddbmm(P[size_t(r.temb) + 1].unsqueeze(1), temb, P[size_t(r.temb)]);  // [G, M, out]
  a = torch::silu(apply_norm(P, r.n2, a + proj.transpose(0, 1).reshape({M, G * r.out, 1, 1})));
  const double p = cfg_.dropout;
  if (is_training() && p > 0) {        // each member's mask from its own generator
    std::vector<torch::Tensor> masks;  // members that take no step draw nothing: their streams stay put
    for (int64_t g = 0; g < G; ++g)
      masks.push_back(dropping_[size_t(g)]
                          ? torch::empty({M, r.out, a.size(2), a.size(3)}).bernoulli_(1 - p, dropout_gens_[size_t(g)])
                          : torch::full({M, r.out, a.size(2), a.size(3)}, 1 - p));
    a = a * (torch::cat(masks, 1).to(a.device()) / (1 - p));
  }
  a = apply_conv(P, r.c2, a, 1);
  return (r.skip >= 0 ? apply_conv(P, r.skip, h, 1) : h) + a;
}

torch::Tensor DdpmEnsemble::apply_attn(const std::vector<torch::Tensor>& P, const Attn& a,
                                       const torch::Tensor& h) const {
  const int64_t M = h.size(0), G = members_, C = a.ch, H = h.size(2), W = h.size(3);
  const torch::Tensor qkv = apply_conv(P, a.qkv, apply_norm(P, a.norm, h), 1).reshape({M * G, 3, C, H * W});
  const torch::Tensor q = qkv.select(1, 0), k = qkv.select(1, 1), v = qkv.select(1, 2);  // [M G, C, HW]
  const torch::Tensor w = torch::softmax(torch::bmm(q.transpose(1, 2), k) / std::sqrt(double(C)), -1);
  const torch::Tensor o = torch::bmm(v, w.transpose(1, 2));  // [M G, C, HW]
  return h + apply_conv(P, a.proj, o.reshape({M, G * C, H, W}), 1);
}

torch::Tensor DdpmEnsemble::unet(const std::vector<torch::Tensor>& P, const torch::Tensor& h, const torch::Tensor& t) {
  namespace F = torch::nn::functional;
  const int64_t G = members_, half = cfg_.channels[0] / 2;
  const torch::Tensor freqs =
      torch::exp(torch::arange(half, h.options()) * (-std::log(10000.0) / double(half)));  // [half]
  const torch::Tensor args = t.to(h.scalar_type()).unsqueeze(-1) * freqs;                  // [G, M, half]
  torch::Tensor temb = torch::cat({torch::sin(args), torch::cos(args)}, -1);
  temb = torch::silu(torch::baddbmm(P[size_t(temb0_) + 1].unsqueeze(1), temb, P[size_t(temb0_)]));
  temb = torch::silu(torch::baddbmm(P[size_t(temb1_) + 1].unsqueeze(1), temb, P[size_t(temb1_)]));
  std::vector<torch::Tensor> hs = {apply_conv(P, conv_in_, h, 1)};
  torch::Tensor x = hs.back();
  const size_t levels = down_res_.size();
  for (size_t l = 0; l < levels; ++l) {
    for (size_t r = 0; r < down_res_[l].size(); ++r) {
      x = apply_res(P, down_res_[l][r], x, temb);
      if (!down_attn_[l].empty()) x = apply_attn(P, down_attn_[l][r], x);
      hs.push_back(x);
    }
    if (l + 1 < levels) hs.push_back(x = apply_conv(P, downsample_[l], x, 2));
  }
  x = apply_res(P, mid1_, x, temb);
  if (mid_attn_.ch > 0) x = apply_attn(P, mid_attn_, x);
  x = apply_res(P, mid2_, x, temb);
  for (size_t i = 0; i < levels; ++i) {
    for (size_t r = 0; r < up_res_[i].size(); ++r) {
      x = apply_res(P, up_res_[i][r], cat_members(x, hs.back(), G), temb);
      hs.pop_back();
      if (!up_attn_[i].empty()) x = apply_attn(P, up_attn_[i][r], x);
    }
    if (i + 1 < levels) {
      x = F::interpolate(
          x,
          F::InterpolateFuncOptions().size(std::vector<int64_t>{2 * x.size(2), 2 * x.size(3)}).mode(torch::kNearest));
      x = apply_conv(P, upsample_[i], x, 1);
    }
  }
  return apply_conv(P, conv_out_, torch::silu(apply_norm(P, norm_out_, x)), 1);
}

torch::Tensor DdpmEnsemble::eps_pred(const torch::Tensor& xt, const torch::Tensor& t) {
  const int64_t G = members_, M = xt.size(1);
  const std::vector<torch::Tensor>& P = !is_training() && cfg_.ema > 0 ? ema_ : params_;
  const torch::Tensor h =
      xt.reshape({G, M, channels_, height_, width_}).transpose(0, 1).reshape({M, G * channels_, height_, width_});
  return unet(P, h, t).reshape({M, G, dim_}).transpose(0, 1);
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

torch::Tensor DdpmEnsemble::bound_terms(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& eps) {
  const int64_t G = members_, B = t.size(1), S = t.size(2), R = B * S;
  const torch::Tensor x0 = to_x0(x).unsqueeze(1).expand({B, S, dim_}).reshape({1, R, dim_});
  const torch::Tensor t_all = t.reshape({G, R}), eps_all = eps.reshape({G, R, dim_});
  std::vector<double> weight(size_t(sched_.T + 1), 0.0);
  for (int64_t s = 2; s <= sched_.T; ++s) weight[size_t(s)] = sched_.kl_weight(s);
  const double b1 = sched_.beta[1], ab1 = sched_.abar[1];
  torch::Tensor out = torch::empty({G, R}, x.options().dtype(torch::kFloat64));
  for (int64_t r0 = 0; r0 < R; r0 += kRows) {
    const int64_t r1 = std::min(R, r0 + kRows);
    const torch::Tensor tc = t_all.slice(1, r0, r1), ec = eps_all.slice(1, r0, r1);
    const torch::Tensor x0c = x0.slice(1, r0, r1).expand({G, r1 - r0, dim_});
    const torch::Tensor ab = lookup(sched_.abar, tc).to(x.scalar_type()).unsqueeze(-1);
    const torch::Tensor xt = ab.sqrt() * x0c + (1 - ab).sqrt() * ec;
    const torch::Tensor e_hat = eps_pred(xt, tc);
    torch::Tensor term = lookup(weight, tc) * (ec - e_hat).square().sum(-1).to(torch::kFloat64);
    const torch::Tensor first = tc == 1;
    if (first.any().item<bool>()) {  // the decoder N(mu_theta(x_1, 1), beta_1) on the 8-bit bins
      const torch::Tensor x1 = xt.index({first}).to(torch::kFloat64), e1 = e_hat.index({first}).to(torch::kFloat64);
      const torch::Tensor mu = (x1 - b1 / std::sqrt(1 - ab1) * e1) / std::sqrt(1 - b1);
      const torch::Tensor ld = log_discretized_gaussian(x0c.index({first}).to(torch::kFloat64), mu, std::sqrt(b1));
      term.index_put_({first}, -ld.sum(-1));
    }
    out.slice(1, r0, r1).copy_(term);
  }
  return out.view({G, B, S});
}

torch::Tensor DdpmEnsemble::prior_term(const torch::Tensor& x) const {
  const double abT = sched_.abar[size_t(sched_.T)];
  const torch::Tensor x0 = to_x0(x).to(torch::kFloat64);
  return 0.5 * (abT * x0.square() - abT - std::log(1 - abT)).sum(-1);
}

std::pair<torch::Tensor, torch::Tensor> DdpmEnsemble::log_prob_with_se(const torch::Tensor& x,
                                                                       const torch::Tensor& eps) {
  auto [t, n] = stratified_timesteps(normal_cdf(eps.select(-1, dim_).to(torch::kFloat64)), sched_.T);
  const torch::Tensor y = bound_terms(x, t, eps.slice(-1, 0, dim_)) * n;  // [G, B, S]: strata totals
  const torch::Tensor bound = y.sum(-1) + prior_term(x).unsqueeze(0);
  return {(-bound).to(torch::kFloat32), collapsed_strata_se(y).to(torch::kFloat32)};
}

torch::Tensor DdpmEnsemble::log_prob(const torch::Tensor& x, const torch::Tensor& eps) {
  return log_prob_with_se(x, eps).first;
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

torch::Tensor DdpmEnsemble::sample_all(int64_t count, at::Generator gen) {
  torch::NoGradGuard no_grad;
  const int64_t G = members_, T = sched_.T;
  const int64_t K = sample_steps_ > 0 ? std::min(sample_steps_, T) : T;
  const double eta = sampler_ == Sampler::kDdpm ? 1.0 : 0.0;
  std::vector<int64_t> taus(size_t(K), T);  // evenly spaced from 1 to T
  for (int64_t i = 0; K > 1 && i < K; ++i)
    taus[size_t(i)] = int64_t(std::llround(1 + double(i) * double(T - 1) / double(K - 1)));
  const auto device = params_[0].device();
  torch::Tensor out = torch::empty({G, count, dim_});
  for (int64_t c0 = 0; c0 < count; c0 += kRows) {
    const int64_t c = std::min(kRows, count - c0);
    torch::Tensor x = at::randn({G, c, dim_}, gen, torch::kFloat32).to(device);
    for (int64_t i = K - 1; i >= 0; --i) {
      const double ab = sched_.abar[size_t(taus[size_t(i)])],
                   ab_prev = i > 0 ? sched_.abar[size_t(taus[size_t(i - 1)])] : 1.0;
      const torch::Tensor e_raw =
          eps_pred(x, torch::full({G, c}, taus[size_t(i)], torch::dtype(torch::kInt64).device(device)));
      const torch::Tensor x0 = ((x - std::sqrt(1 - ab) * e_raw) / std::sqrt(ab)).clamp(-1, 1);
      if (i == 0) {
        x = x0;
        break;
      }
      const torch::Tensor e = (x - std::sqrt(ab) * x0) / std::sqrt(1 - ab);  // consistent with the clipped x0
      const double sigma = eta * std::sqrt((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev));
      x = std::sqrt(ab_prev) * x0 + std::sqrt(std::max(0.0, 1 - ab_prev - sigma * sigma)) * e;
      if (sigma > 0) x = x + sigma * at::randn({G, c, dim_}, gen, torch::kFloat32).to(device);
    }
    out.slice(1, c0, c0 + c).copy_(((x + 1) / 2).clamp(0, 1).to(torch::kCPU));
  }
  return out;
}

torch::Tensor DdpmEnsemble::sample(int64_t g, int64_t count, at::Generator gen) {
  const bool was_training = is_training();
  train(false);
  torch::Tensor s = sample_all(count, gen)[g].clone();
  train(was_training);
  return s;
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
