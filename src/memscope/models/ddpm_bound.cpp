// The variational bound of a DDPM (models/ddpm_bound.h), and DdpmEnsemble's terms of it: L_{t-1}
// and L_0 per timestep, L_T, and log p as minus their stratified estimate with its standard error.
#include "memscope/models/ddpm_bound.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "memscope/core/error.h"
#include "memscope/models/ddpm.h"
#include "memscope/models/ddpm_schedule.h"

namespace memscope {

using ddpm_detail::lookup;
using ddpm_detail::normal_cdf;

namespace {

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

}  // namespace

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

}  // namespace memscope
