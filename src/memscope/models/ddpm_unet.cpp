// DdpmEnsemble's network (declared in models/ddpm.h): the U-Net's layers, registered per member as
// stacked [G, ...] weights, its layout (build_unet), its forward pass and the noise prediction.
#include "memscope/models/ddpm.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

namespace memscope {

namespace {

constexpr double kNormEps = 1e-5;

/// GroupNorm groups of a member's ch channels (Ho et al.: 32 for their widths; 8 for narrow layers).
int64_t norm_groups(int64_t ch) { return std::gcd(ch, int64_t(ch >= 64 ? 32 : 8)); }

/// a ([M, G Ca, H, W]) and b ([M, G Cb, H, W]) concatenated per member -> [M, G (Ca + Cb), H, W].
torch::Tensor cat_members(const torch::Tensor& a, const torch::Tensor& b, int64_t G) {
  const int64_t M = a.size(0), H = a.size(2), W = a.size(3);
  return torch::cat({a.reshape({M, G, -1, H, W}), b.reshape({M, G, -1, H, W})}, 2).reshape({M, -1, H, W});
}

}  // namespace

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

void DdpmEnsemble::build_unet() {
  const ModelConfig& c = cfg_;
  const int64_t levels = int64_t(c.channels.size());
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

}  // namespace memscope
