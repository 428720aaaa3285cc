#include "memscope/models/kde.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "memscope/core/error.h"
#include "memscope/core/logmath.h"

namespace memscope {

namespace {

constexpr int64_t kBlock = 1024;

/// log(mean over the columns where keep is true) of exp(logk). logk: [B, n], keep: [n] or [B, n] bool -> [B].
torch::Tensor masked_logmeanexp(const torch::Tensor& logk, const torch::Tensor& keep) {
  const torch::Tensor masked = logk.masked_fill(keep.logical_not(), -std::numeric_limits<double>::infinity());
  const torch::Tensor count = keep.expand_as(logk).sum(-1).to(torch::kFloat64);
  return torch::logsumexp(masked, -1) - count.log();
}

}  // namespace

torch::Tensor kde_log_kernel(const torch::Tensor& x, const torch::Tensor& centres, double bandwidth) {
  MEMSCOPE_CHECK(x.dim() == 2 && centres.dim() == 2 && x.size(1) == centres.size(1), "kde: queries ", x.sizes(),
                 " and centres ", centres.sizes(), " must be [B, D] and [n, D]");
  MEMSCOPE_CHECK_KEY(std::isfinite(bandwidth) && bandwidth > 0, "model", "kde bandwidth H must be > 0, got ",
                     bandwidth);
  const torch::Tensor c = centres.to(torch::kCPU, torch::kFloat64).contiguous();
  const torch::Tensor cc = c.square().sum(1);  // [n]
  const double h2 = bandwidth * bandwidth, D = double(x.size(1));
  const double norm = -0.5 * D * (kLog2Pi + std::log(h2));
  torch::Tensor out = torch::empty({x.size(0), c.size(0)}, torch::kFloat64);
  for (int64_t b = 0; b < x.size(0); b += kBlock) {
    const torch::Tensor q = x.slice(0, b, b + kBlock).to(torch::kCPU, torch::kFloat64);
    // |q - c|^2 = |q|^2 + |c|^2 - 2 q.c, clamped at 0 against rounding.
    const torch::Tensor d2 = (q.square().sum(1, true) + cc - 2 * torch::matmul(q, c.t())).clamp_min(0);
    out.slice(0, b, b + kBlock).copy_(norm - d2 / (2 * h2));
  }
  return out;
}

KdeEnsemble::KdeEnsemble(int64_t members, int64_t dim, double bandwidth)
    : dim_(dim), bandwidth_(bandwidth), centres_(size_t(members)) {
  MEMSCOPE_CHECK_KEY(std::isfinite(bandwidth) && bandwidth > 0, "model", "kde bandwidth H must be > 0, got ",
                     bandwidth);
}

void KdeEnsemble::fit(int64_t g, const torch::Tensor& x) {
  MEMSCOPE_CHECK(x.dim() == 2 && x.size(1) == dim_ && x.size(0) >= 1, "kde: expected [n, ", dim_, "] data, got ",
                 x.sizes());
  centres_[size_t(g)] = x.to(torch::kCPU, torch::kFloat64).contiguous();
}

torch::Tensor KdeEnsemble::log_prob(const torch::Tensor& x, const torch::Tensor&) {
  std::vector<torch::Tensor> rows;
  for (const torch::Tensor& c : centres_) {
    MEMSCOPE_CHECK(c.defined(), "kde: log_prob of a member that was never fitted");
    const torch::Tensor logk = kde_log_kernel(x, c, bandwidth_);
    rows.push_back((torch::logsumexp(logk, 1) - std::log(double(c.size(0)))).to(torch::kFloat32));
  }
  return torch::stack(rows).to(x.device());
}

double KdeEnsemble::eval_flops_per_example(int64_t) const {
  double n = 0;
  for (const torch::Tensor& c : centres_) n = std::max(n, c.defined() ? double(c.size(0)) : 0.0);
  return 2.0 * double(dim_) * n;
}

torch::Tensor KdeEnsemble::sample(int64_t g, int64_t count, at::Generator gen) {
  const torch::Tensor& c = centres_[size_t(g)];
  MEMSCOPE_CHECK(c.defined(), "kde: sample of a member that was never fitted");
  const torch::Tensor pick = torch::randint(c.size(0), {count}, gen, torch::kInt64);
  return (c.index_select(0, pick) + bandwidth_ * at::randn({count, dim_}, gen, torch::kFloat64)).to(torch::kFloat32);
}

void KdeEnsemble::save_member(int64_t g, std::ostream& os) const {
  torch::serialize::OutputArchive archive;
  // The data are float32: storing the centres as float32 loses nothing.
  archive.write("centres", centres_[size_t(g)].to(torch::kFloat32));
  archive.write("bandwidth", torch::tensor(bandwidth_, torch::kFloat64));
  archive.save_to(os);
}

void KdeEnsemble::load_member(int64_t g, std::istream& is) {
  torch::serialize::InputArchive archive;
  archive.load_from(is);
  torch::Tensor centres, bandwidth;
  archive.read("centres", centres);
  archive.read("bandwidth", bandwidth);
  MEMSCOPE_CHECK(centres.dim() == 2 && centres.size(1) == dim_, "kde: stored centres ", centres.sizes(),
                 " do not have dimension ", dim_);
  MEMSCOPE_CHECK(bandwidth.item<double>() == bandwidth_, "kde: stored bandwidth ", bandwidth.item<double>(),
                 " is not the configured ", bandwidth_);
  centres_[size_t(g)] = centres.to(torch::kFloat64).contiguous();
}

ExactLoo kde_exact_loo(const torch::Tensor& x, double bandwidth) {
  const int64_t n = x.size(0);
  MEMSCOPE_CHECK(x.dim() == 2 && n >= 2, "kde: leave-one-out needs [n, D] data with n >= 2, got ", x.sizes());
  ExactLoo r;
  r.logp_full = torch::empty({n}, torch::kFloat64);
  r.logp_loo = torch::empty({n}, torch::kFloat64);
  const torch::Tensor all = torch::ones({n}, torch::kBool);
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t e = std::min(n, b + kBlock);
    const torch::Tensor logk = kde_log_kernel(x.slice(0, b, e), x, bandwidth);  // [e - b, n]
    torch::Tensor keep = torch::ones({e - b, n}, torch::kBool);
    keep.diagonal(b).fill_(false);  // row q is example b + q: drop its own kernel
    r.logp_full.slice(0, b, e).copy_(masked_logmeanexp(logk, all));
    r.logp_loo.slice(0, b, e).copy_(masked_logmeanexp(logk, keep));
  }
  r.mem = r.logp_full - r.logp_loo;
  r.leverage = torch::full({n}, std::numeric_limits<double>::quiet_NaN(), torch::kFloat64);
  return r;
}

torch::Tensor kde_fold_log_prob(const torch::Tensor& x, const torch::Tensor& train_mask, double bandwidth) {
  const int64_t n = x.size(0), J = train_mask.size(1);
  MEMSCOPE_CHECK(train_mask.dim() == 2 && train_mask.size(0) == n, "kde: mask ", train_mask.sizes(), " for ", n,
                 " examples");
  const torch::Tensor mask = train_mask.to(torch::kBool);
  torch::Tensor out = torch::empty({n, J}, torch::kFloat64);
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t e = std::min(n, b + kBlock);
    const torch::Tensor logk = kde_log_kernel(x.slice(0, b, e), x, bandwidth);
    for (int64_t j = 0; j < J; ++j) out.slice(0, b, e).select(1, j).copy_(masked_logmeanexp(logk, mask.select(1, j)));
  }
  return out;
}

}  // namespace memscope
