#include "memscope/analysis/diagnostics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <spdlog/spdlog.h>

#include "memscope/analysis/neighbours.h"
#include "memscope/core/error.h"
#include "memscope/core/logmath.h"
#include "memscope/core/seeds.h"
#include "memscope/models/gaussian.h"

namespace memscope {

namespace {

/// Seed of the control's random examples (fixed: the control is part of the scores).
constexpr uint64_t kControlSeed = 0x5b111;

std::vector<double> to_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kFloat64).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

/// Rank of each finite value as a fraction of the finite values below it ((rank) / (count - 1)).
std::vector<double> fractional_rank(const std::vector<double>& v) {
  std::vector<size_t> order;
  for (size_t i = 0; i < v.size(); ++i)
    if (std::isfinite(v[i])) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size(), kNaN);
  const double denom = std::max<double>(1, double(order.size()) - 1);
  for (size_t p = 0; p < order.size(); ++p) r[order[p]] = double(p) / denom;
  return r;
}

}  // namespace

void pca_leverage(const torch::Tensor& x, int64_t max_components, ExampleDiagnostics& d) {
  const int64_t n = x.size(0), D = x.size(1);
  torch::Tensor x64 = x.to(torch::kFloat64);
  torch::Tensor centred = x64 - x64.mean(0);
  // Eigenvectors of the covariance from the smaller of the D x D scatter and the n x n Gram matrix.
  torch::Tensor evals, basis;
  if (D <= n) {
    auto [e, v] = torch::linalg_eigh(torch::matmul(centred.t(), centred));
    evals = e.flip(0), basis = v.flip(1);
  } else {
    auto [e, u] = torch::linalg_eigh(torch::matmul(centred, centred.t()));
    evals = e.flip(0).clamp_min(0);
    basis = torch::matmul(centred.t(), u.flip(1)) / evals.clamp_min(1e-300).sqrt();  // right singular vectors
  }
  const double top = std::max(evals[0].item<double>(), 1e-300), total = evals.clamp_min(0).sum().item<double>();
  int64_t P = 0;
  const int64_t limit = std::min({max_components, D, n - 2});
  while (P < limit && evals[P].item<double>() > 1e-9 * top) ++P;
  d.leverage_components = P;
  if (P < 1) {
    d.leverage.assign(size_t(n), kNaN), d.loo_mem.assign(size_t(n), kNaN);
    return;
  }
  d.leverage_variance_share = evals.slice(0, 0, P).sum().item<double>() / std::max(total, 1e-300);
  const torch::Tensor z = torch::matmul(centred, basis.slice(1, 0, P));  // [n, P]
  try {
    const ExactLoo loo = gaussian_exact_loo(z, 0.0);
    d.leverage = to_vector(loo.leverage);
    d.loo_mem = to_vector(loo.mem);
  } catch (const Error& e) {  // an example alone spans a component: no leverage, said in the log and report
    spdlog::warn("diagnostics: no leverage: {}", e.what());
    d.leverage.assign(size_t(n), kNaN), d.loo_mem.assign(size_t(n), kNaN);
    d.leverage_components = 0;
  }
}

ExampleDiagnostics diagnose_examples(const torch::Tensor& x, const torch::Tensor& logp, const torch::Tensor& mask,
                                     const Scores& s, int64_t k, const std::vector<int64_t>& group_of_job) {
  const int64_t N = x.size(0);
  MEMSCOPE_CHECK(x.dim() == 2 && logp.dim() == 2 && logp.size(0) == N, "diagnostics: data ", x.sizes(), " and logp ",
                 logp.sizes(), " must be [N, D] and [N, J]");
  MEMSCOPE_CHECK_KEY(k >= 1 && k < N, "neighbours", "must be in [1, ", N - 1, "] for ", N, " examples, got ", k);
  ExampleDiagnostics d;
  d.k = k;
  const Neighbours nb = nearest_neighbours(x, x, k, torch::arange(N));
  d.neighbours = nb.index;
  d.nn_dist = to_vector(nb.distance.to(torch::kFloat64).mean(1));
  d.u_rank = fractional_rank(s.logp_in);
  pca_leverage(x, kLeverageComponents, d);
  d.spill = compute_spillover(logp, mask, d.neighbours, s.logp_sd, s.mem, group_of_job);
  // k random other examples per example: row x + 1 + u mod N with u uniform in [0, N - 2].
  const torch::Tensor rows = torch::arange(N, torch::kInt64).unsqueeze(1);
  const torch::Tensor others = (rows + 1 + torch::randint(N - 1, {N, k}, make_generator(kControlSeed))) % N;
  d.spill_control = compute_spillover(logp, mask, others, s.logp_sd, s.mem, group_of_job);
  spdlog::debug(
      "diagnostics: {} neighbours per example; leverage in {} principal components ({:.0f}% of variance); "
      "spillover for {} of {} examples (design effect of its error bars {:.2f})",
      k, d.leverage_components, 100 * d.leverage_variance_share, d.spill.examples_with_pairs, N, d.spill.design_effect);
  return d;
}

std::vector<ScoreColumn> diagnostic_columns(const ExampleDiagnostics& d) {
  std::vector<double> pairs(d.spill.pairs.begin(), d.spill.pairs.end());
  return {{"nn_dist", d.nn_dist},
          {"u_rank", d.u_rank},
          {"leverage", d.leverage},
          {"loo_mem", d.loo_mem},
          {"spill", d.spill.spill},
          {"spill_se", d.spill.spill_se},
          {"spill_pairs", pairs},
          {"spill_ratio", d.spill.ratio},
          {"spill_control", d.spill_control.spill},
          {"spill_control_se", d.spill_control.spill_se}};
}

}  // namespace memscope
