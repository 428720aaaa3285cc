#include "memscope/models/mlp_vae.h"

#include <cmath>

#include "memscope/core/error.h"
#include "memscope/core/seeds.h"
#include "memscope/models/iw.h"
#include "memscope/models/kernels.h"
#include "memscope/models/member_archive.h"

namespace memscope {

MlpVaeEnsemble::MlpVaeEnsemble(int64_t dim, const ModelConfig& c, const std::vector<uint64_t>& init_seeds)
    : members_(static_cast<int64_t>(init_seeds.size())), dim_(dim), latent_(c.latent) {
  MEMSCOPE_CHECK(members_ >= 1, "MlpVaeEnsemble: needs at least one member");
  std::vector<int64_t> enc_sizes = {dim};
  enc_sizes.insert(enc_sizes.end(), c.hidden.begin(), c.hidden.end());
  enc_sizes.push_back(2 * latent_);
  std::vector<int64_t> dec_sizes = {latent_};
  dec_sizes.insert(dec_sizes.end(), c.hidden.rbegin(), c.hidden.rend());
  dec_sizes.push_back(dim);

  std::vector<at::Generator> gens;
  for (uint64_t s : init_seeds) gens.push_back(make_generator(s));
  auto make = [&](const std::string& name, int64_t in, int64_t out) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    std::vector<torch::Tensor> ws, bs;
    for (auto& g : gens) {
      ws.push_back(torch::empty({in, out}).uniform_(-bound, bound, g));
      bs.push_back(torch::empty({1, out}).uniform_(-bound, bound, g));
    }
    Layer l{register_parameter(name + "_weight", torch::stack(ws)),
            register_parameter(name + "_bias", torch::stack(bs))};
    return l;
  };
  for (size_t i = 0; i + 1 < enc_sizes.size(); ++i)
    enc_.push_back(make("enc" + std::to_string(i), enc_sizes[i], enc_sizes[i + 1]));
  for (size_t i = 0; i + 1 < dec_sizes.size(); ++i)
    dec_.push_back(make("dec" + std::to_string(i), dec_sizes[i], dec_sizes[i + 1]));
}

torch::Tensor MlpVaeEnsemble::apply(const Layer& l, const torch::Tensor& h) {
  if (h.dim() == 2) return torch::matmul(h, l.w) + l.b;  // broadcast one input to all members
  return torch::baddbmm(l.b, h, l.w);
}

std::pair<torch::Tensor, torch::Tensor> MlpVaeEnsemble::encode(const torch::Tensor& x) {
  torch::Tensor h = x;
  for (size_t i = 0; i + 1 < enc_.size(); ++i) h = torch::relu(apply(enc_[i], h));
  torch::Tensor out = apply(enc_.back(), h);
  return {out.slice(-1, 0, latent_), out.slice(-1, latent_, 2 * latent_)};
}

torch::Tensor MlpVaeEnsemble::decode_hidden(const torch::Tensor& z) {
  torch::Tensor h = z;
  for (size_t i = 0; i + 1 < dec_.size(); ++i) h = torch::relu(apply(dec_[i], h));
  return h;
}

torch::Tensor MlpVaeEnsemble::decode(const torch::Tensor& z) { return apply(dec_.back(), decode_hidden(z)); }

torch::Tensor MlpVaeEnsemble::loss(const torch::Tensor& x, const torch::Tensor& eps, const torch::Tensor& /*rows*/) {
  auto [mu, logvar] = encode(x);
  torch::Tensor z = mu + (0.5 * logvar).exp() * eps;
  torch::Tensor logits = decode(z);
  torch::Tensor rec = (x * logits - torch::softplus(logits)).sum(-1);
  torch::Tensor kl = 0.5 * (mu.square() + logvar.exp() - logvar - 1).sum(-1);
  return kl - rec;
}

std::pair<torch::Tensor, torch::Tensor> MlpVaeEnsemble::x_terms(const torch::Tensor& x) const {
  const Layer& last = dec_.back();
  // W x^T as one [G*H, D] x [D, B] product (transposing W instead would copy it every call).
  return {torch::matmul(last.w, x.t()).transpose(1, 2),  // [G, B, H]
          torch::matmul(x, last.b.transpose(1, 2))};     // [G, B, 1]
}

torch::Tensor MlpVaeEnsemble::bernoulli_log_lik(const torch::Tensor& xw, const torch::Tensor& xb,
                                                const torch::Tensor& z) {
  const int64_t G = z.size(0), B = z.size(1), S = z.size(2);
  const Layer& last = dec_.back();
  torch::Tensor h = decode_hidden(z.reshape({G, B * S, latent_}));     // [G, B*S, H]
  torch::Tensor sp = softplus_sum(torch::baddbmm(last.b, h, last.w));  // [G, B*S]
  const int64_t H = h.size(-1);
  torch::Tensor xl = torch::bmm(h.reshape({G * B, S, H}), xw.reshape({G * B, H, 1})).reshape({G, B, S}) + xb;
  return xl - sp.reshape({G, B, S});
}

torch::Tensor MlpVaeEnsemble::bernoulli_log_lik(const torch::Tensor& x, const torch::Tensor& z) {
  auto [xw, xb] = x_terms(x);
  return bernoulli_log_lik(xw, xb, z);
}

torch::Tensor MlpVaeEnsemble::log_prob(const torch::Tensor& x, const torch::Tensor& eps) {
  // Encoder and x terms once for all B examples; the decoder on chunks of about kDecodeRows
  // latents, so that its activations stay in cache.
  auto [mu, logvar] = encode(x);
  auto [xw, xb] = x_terms(x);
  const int64_t B = x.size(0), S = eps.size(2);
  const int64_t chunk = std::max<int64_t>(1, kDecodeRows / S);
  std::vector<torch::Tensor> parts;
  for (int64_t b0 = 0; b0 < B; b0 += chunk) {
    const int64_t b1 = std::min(B, b0 + chunk);
    torch::Tensor xw_c = xw.slice(1, b0, b1), xb_c = xb.slice(1, b0, b1);
    parts.push_back(iw_log_prob(mu.slice(1, b0, b1), logvar.slice(1, b0, b1), eps.slice(1, b0, b1),
                                [&](const torch::Tensor& z) { return bernoulli_log_lik(xw_c, xb_c, z); }));
  }
  return torch::cat(parts, 1);
}

double MlpVaeEnsemble::macs(const std::vector<Layer>& layers) {
  double m = 0;
  for (const Layer& l : layers) m += double(l.w.size(1)) * double(l.w.size(2));
  return m;
}

double MlpVaeEnsemble::forward_flops_per_example() const { return 2 * (macs(enc_) + macs(dec_)); }

double MlpVaeEnsemble::first_layer_flops_per_example() const {
  return 2 * double(enc_[0].w.size(1)) * double(enc_[0].w.size(2));
}

double MlpVaeEnsemble::eval_flops_per_example(int64_t samples) const {
  const double h = double(dec_.back().w.size(1));
  // encoder once; decoder per sample; the x.l term: x W^T once, then one dot product per sample.
  return 2 * (macs(enc_) + samples * macs(dec_) + h * dim_ + samples * h);
}

torch::Tensor MlpVaeEnsemble::sample(int64_t g, int64_t count, at::Generator gen) {
  torch::NoGradGuard no_grad;
  const auto device = dec_.back().w.device();
  torch::Tensor z = at::randn({count, latent_}, gen, torch::kFloat32).to(device);
  torch::Tensor logits = decode(z.unsqueeze(0).expand({members_, count, latent_}).contiguous());
  return torch::sigmoid(logits[g]).to(torch::kCPU);
}

void MlpVaeEnsemble::save_member(int64_t g, std::ostream& os) const {
  torch::serialize::OutputArchive archive;
  write_member(*this, g, archive);
  archive.save_to(os);
}

void MlpVaeEnsemble::load_member(int64_t g, std::istream& is) {
  torch::serialize::InputArchive archive;
  archive.load_from(is);
  read_member(*this, g, archive);
}

}  // namespace memscope
