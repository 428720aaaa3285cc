#include "memscope/score/membership.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <iterator>
#include <limits>

#include "memscope/config/names.h"
#include "memscope/core/error.h"
#include "memscope/core/logmath.h"
#include "memscope/core/seeds.h"
#include "memscope/core/threads.h"
#include "memscope/score/uncertainty.h"

namespace memscope {

namespace {

constexpr double kMinVar = 1e-12;

/// log P(Z >= z) for a standard normal Z, accurate far into the upper tail.
double log_normal_sf(double z) {
  if (z < 30) return std::log(0.5 * std::erfc(z / std::sqrt(2.0)));
  const double z2 = z * z;
  return -0.5 * z2 - std::log(z * std::sqrt(2 * M_PI)) + std::log1p(-1 / z2 + 3 / (z2 * z2));
}

double log_normal_pdf(double x, double mu, double var) {
  return -0.5 * std::log(2 * M_PI * var) - (x - mu) * (x - mu) / (2 * var);
}

/// Which models may serve as references of each target (reference_models). groups: [J] (empty: every model
/// its own).
class References {
 public:
  References(const std::vector<int64_t>& groups, int64_t J) : group_(size_t(J)), alone_(size_t(J), true) {
    for (int64_t j = 0; j < J; ++j) group_[size_t(j)] = groups.empty() ? j : groups[size_t(j)];
    for (int64_t j = 0; j < J; ++j)
      for (int64_t l = 0; l < J; ++l)
        if (l != j && group_[size_t(l)] == group_[size_t(j)]) alone_[size_t(j)] = false;
  }

  /// The reference models of example i for target t into refs (ascending). in(j): model j trained on i;
  /// ok(j): its statistic of i is finite.
  template <typename In, typename Ok>
  void pick(int64_t i, int64_t t, In in, Ok ok, std::vector<int64_t>& refs) const {
    refs.clear();
    int64_t other = 0;  // candidates on the side opposite the target's membership
    for (size_t j = 0; j < group_.size(); ++j)
      if (group_[j] != group_[size_t(t)] && ok(int64_t(j)))
        refs.push_back(int64_t(j)), other += in(int64_t(j)) != in(t);
    if (!alone_[size_t(t)] || other == 0) return;
    // The target left its own side: one model drawn at random (a fixed stream per i and t) leaves the other.
    int64_t drop = int64_t(mix64(mix64(uint64_t(i) ^ 0x7265666572656e63ULL) ^ uint64_t(t)) % uint64_t(other));
    for (size_t k = 0; k < refs.size(); ++k)
      if (in(refs[k]) != in(t) && drop-- == 0) {
        refs.erase(refs.begin() + std::ptrdiff_t(k));
        return;
      }
  }

  /// The statistics of example i's references for target t, split by side. row: [J] statistics; in: [J].
  void of(int64_t i, int64_t t, const at::TensorAccessor<double, 1>& row, const at::TensorAccessor<bool, 1>& in,
          std::vector<double>& ref_in, std::vector<double>& ref_out) const {
    thread_local std::vector<int64_t> refs;
    pick(
        i, t, [&](int64_t j) { return in[j]; }, [&](int64_t j) { return std::isfinite(row[j]); }, refs);
    ref_in.clear(), ref_out.clear();
    for (int64_t j : refs) (in[j] ? ref_in : ref_out).push_back(row[j]);
  }

  /// Whether some target has a model outside its group (false for one K-fold repeat).
  bool any() const {
    for (size_t j = 0; j < group_.size(); ++j)
      if (group_[j] != group_[0]) return true;
    return false;
  }

 private:
  std::vector<int64_t> group_;
  std::vector<bool> alone_;
};

/// LiRA scores of every example against target t. a: [N, J] float64 statistics, in: [N, J] bool. Writes
/// out: [N].
void lira_target(bool online, bool global, int64_t t, const at::TensorAccessor<double, 2>& a,
                 const at::TensorAccessor<bool, 2>& in, const References& refs, at::TensorAccessor<double, 1> out) {
  const int64_t N = a.size(0);
  std::vector<double> mu_in(size_t(N), kNaN), mu_out(size_t(N), kNaN), v_in(size_t(N), kNaN), v_out(size_t(N), kNaN);
  std::vector<double> ri, ro;
  double ss_in = 0, df_in = 0, ss_out = 0, df_out = 0;
  for (int64_t i = 0; i < N; ++i) {
    if (!std::isfinite(a[i][t])) continue;
    refs.of(i, t, a[i], in[i], ri, ro);
    mu_in[size_t(i)] = mean_of(ri), mu_out[size_t(i)] = mean_of(ro);
    if (ri.size() >= 2) {
      const double ss = sum_sq_dev(ri);
      v_in[size_t(i)] = ss / double(ri.size() - 1), ss_in += ss, df_in += double(ri.size() - 1);
    }
    if (ro.size() >= 2) {
      const double ss = sum_sq_dev(ro);
      v_out[size_t(i)] = ss / double(ro.size() - 1), ss_out += ss, df_out += double(ro.size() - 1);
    }
  }
  // A side with no example of two references (one out-model in the other repeats) borrows the other's.
  double g_in = df_in > 0 ? ss_in / df_in : kNaN, g_out = df_out > 0 ? ss_out / df_out : kNaN;
  if (std::isnan(g_out)) g_out = g_in;
  if (std::isnan(g_in)) g_in = g_out;
  for (int64_t i = 0; i < N; ++i) {
    if (!std::isfinite(a[i][t])) continue;
    const size_t k = size_t(i);
    const double vo = std::max(global || std::isnan(v_out[k]) ? g_out : v_out[k], kMinVar);
    if (!online) {
      out[i] = -log_normal_sf((a[i][t] - mu_out[k]) / std::sqrt(vo));
      continue;
    }
    const double vi = std::max(global || std::isnan(v_in[k]) ? g_in : v_in[k], kMinVar);
    out[i] = log_normal_pdf(a[i][t], mu_in[k], vi) - log_normal_pdf(a[i][t], mu_out[k], vo);
  }
}

/// [N, J] LiRA scores. lp: [N, J] float64, mask: [N, J] bool. Targets run in parallel.
torch::Tensor lira(const torch::Tensor& lp, const torch::Tensor& mask, const References& refs, bool online,
                   bool global) {
  const int64_t N = lp.size(0), J = lp.size(1);
  auto a = lp.accessor<double, 2>();
  auto in = mask.accessor<bool, 2>();
  torch::Tensor out = torch::full({J, N}, kNaN, torch::kFloat64);
  auto o = out.accessor<double, 2>();
  parallel_range(J, 1, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) lira_target(online, global, t, a, in, refs, o[t]);
  });
  return out.t().contiguous();
}

/// [N, J] r(x) = s_t(x) - log mean exp s_j(x) over the references of t (all, or out-models only; NaN
/// without one). lp: [N, J], mask: [N, J].
torch::Tensor rmia_ratio(const torch::Tensor& lp, const torch::Tensor& mask, const References& refs, bool online) {
  const int64_t N = lp.size(0), J = lp.size(1);
  auto a = lp.accessor<double, 2>();
  auto in = mask.accessor<bool, 2>();
  torch::Tensor r = torch::full({N, J}, kNaN, torch::kFloat64);
  auto ra = r.accessor<double, 2>();
  parallel_range(N, 256, [&](int64_t begin, int64_t end) {
    std::vector<double> ri, ro;
    for (int64_t i = begin; i < end; ++i)
      for (int64_t t = 0; t < J; ++t) {
        if (!std::isfinite(a[i][t])) continue;
        refs.of(i, t, a[i], in[i], ri, ro);
        if (online) ro.insert(ro.end(), ri.begin(), ri.end());
        if (!ro.empty()) ra[i][t] = a[i][t] - logmeanexp(ro);
      }
  });
  return r;
}

/// [N, J] RMIA scores from the ratios r: [N, J] and mask: [N, J]; targets in parallel, on the
/// transposed [J, N] ratios.
torch::Tensor rmia(const torch::Tensor& r, const torch::Tensor& mask, double gamma) {
  const int64_t N = r.size(0), J = r.size(1);
  const double lg = std::log(gamma);
  const torch::Tensor r_t = r.t().contiguous(), mask_t = mask.t().contiguous();
  auto ra = r_t.accessor<double, 2>();
  auto in = mask_t.accessor<bool, 2>();
  torch::Tensor out = torch::full({J, N}, kNaN, torch::kFloat64);
  auto o = out.accessor<double, 2>();
  parallel_range(J, 1, [&](int64_t b, int64_t e) {
    std::vector<double> z;
    for (int64_t t = b; t < e; ++t) {
      z.clear();
      for (int64_t i = 0; i < N; ++i)
        if (std::isfinite(ra[t][i]) && !in[t][i]) z.push_back(ra[t][i]);
      std::sort(z.begin(), z.end());
      for (int64_t i = 0; i < N; ++i) {
        if (!std::isfinite(ra[t][i])) continue;
        const bool self = !in[t][i];  // x is one of the population points: never compared with itself
        double beaten = double(std::upper_bound(z.begin(), z.end(), ra[t][i] - lg) - z.begin());
        if (self && lg <= 0) beaten -= 1;
        const double pop = double(z.size()) - self;
        // Ties in the share (many examples beat every population point) are broken by r(x) itself: u in
        // (0, 1) never moves a score past the next share.
        const double u = 0.5 + std::atan(ra[t][i] - lg) / M_PI;
        if (pop > 0) o[t][i] = (beaten + u) / pop;
      }
    }
  });
  return out.t().contiguous();
}

}  // namespace

std::string to_string(Attack a) {
  switch (a) {
    case Attack::kBaseline: return "baseline";
    case Attack::kLiraOnline: return "lira-online";
    case Attack::kLiraOffline: return "lira-offline";
    case Attack::kRmiaOnline: return "rmia-online";
    case Attack::kRmiaOffline: return "rmia-offline";
  }
  return "?";
}

std::vector<Attack> all_attacks() {
  return {Attack::kBaseline, Attack::kLiraOnline, Attack::kLiraOffline, Attack::kRmiaOnline, Attack::kRmiaOffline};
}

bool needs_references(Attack a) { return a != Attack::kBaseline; }

std::vector<int64_t> reference_models(int64_t i, int64_t t, const std::vector<bool>& in_row,
                                      const std::vector<bool>& finite_row, const std::vector<int64_t>& groups) {
  MEMSCOPE_CHECK(in_row.size() == finite_row.size() && t >= 0 && t < int64_t(in_row.size()), "membership: target ", t,
                 " of ", in_row.size(), " models");
  std::vector<int64_t> refs;
  References(groups, int64_t(in_row.size()))
      .pick(
          i, t, [&](int64_t j) { return bool(in_row[size_t(j)]); },
          [&](int64_t j) { return bool(finite_row[size_t(j)]); }, refs);
  return refs;
}

bool above_null(double figure, const Spread& null) {
  if (!std::isfinite(figure) || !std::isfinite(null.mean)) return false;
  return figure > null.max && (!std::isfinite(null.sd) || figure > null.mean + 3 * null.sd);
}

torch::Tensor attack_scores(Attack a, const torch::Tensor& logp, const torch::Tensor& in_mask,
                            const MembershipConfig& c, const std::vector<int64_t>& groups) {
  MEMSCOPE_CHECK(logp.dim() == 2 && in_mask.sizes() == logp.sizes(), "membership: logp ", logp.sizes(), " and in_mask ",
                 in_mask.sizes(), " must both be [N, J]");
  const torch::Tensor lp = logp.to(torch::kFloat64).contiguous();
  const torch::Tensor mask = in_mask.to(torch::kBool).contiguous();
  MEMSCOPE_CHECK(groups.empty() || int64_t(groups.size()) == lp.size(1), "membership: ", groups.size(), " groups for ",
                 lp.size(1), " models");
  const bool global = c.lira_variance == LiraVariance::kGlobal;
  const References refs(groups, lp.size(1));
  switch (a) {
    case Attack::kBaseline: return torch::where(torch::isfinite(lp), lp, torch::full_like(lp, kNaN));
    case Attack::kLiraOnline: return lira(lp, mask, refs, true, global);
    case Attack::kLiraOffline: return lira(lp, mask, refs, false, global);
    case Attack::kRmiaOnline: return rmia(rmia_ratio(lp, mask, refs, true), mask, c.rmia_gamma);
    case Attack::kRmiaOffline: return rmia(rmia_ratio(lp, mask, refs, false), mask, c.rmia_gamma);
  }
  return {};
}

namespace {

/// One target's evaluation; grid_tpr: TPR at each grid FPR (NaN where not measurable).
/// s: [N] scores, in: [N] bool of the target.
TargetResult evaluate_target(int64_t t, const at::TensorAccessor<double, 1>& s, const at::TensorAccessor<bool, 1>& in,
                             const std::vector<double>& grid, std::vector<double>& grid_tpr) {
  RocSplit one;
  for (int64_t i = 0; i < s.size(0); ++i)
    if (std::isfinite(s[i])) (in[i] ? one.pos : one.neg).push_back(s[i]);
  one.sort();
  TargetResult tr{t, int64_t(one.pos.size()), int64_t(one.neg.size())};
  grid_tpr.assign(grid.size(), kNaN);
  if (one.pos.empty() || one.neg.empty()) return tr;
  const std::vector<RocPoint> roc = roc_of(one);
  tr.auc = area_under(roc);
  for (size_t k = 0; k < kLowFpr.size(); ++k) tr.tpr[k] = measurable_tpr(roc, kLowFpr[k], one.neg.size());
  for (size_t g = 0; g < grid.size(); ++g) grid_tpr[g] = measurable_tpr(roc, grid[g], one.neg.size());
  return tr;
}

}  // namespace

AttackResult evaluate_attack(Attack a, const torch::Tensor& score, const torch::Tensor& in_mask) {
  MEMSCOPE_CHECK(score.dim() == 2 && in_mask.sizes() == score.sizes(), "membership: scores ", score.sizes(),
                 " and in_mask ", in_mask.sizes(), " must both be [N, J]");
  const torch::Tensor sc = score.to(torch::kFloat64).t().contiguous(), mask = in_mask.to(torch::kBool).t().contiguous();
  auto s = sc.accessor<double, 2>();  // [J, N]
  auto in = mask.accessor<bool, 2>();
  const int64_t J = sc.size(0), N = sc.size(1);
  const std::vector<double> grid = roc_grid();
  AttackResult r;
  r.attack = a;
  r.targets.resize(size_t(J));
  std::vector<std::vector<double>> grid_tpr(static_cast<size_t>(J));
  parallel_range(J, 1, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) r.targets[size_t(t)] = evaluate_target(t, s[t], in[t], grid, grid_tpr[size_t(t)]);
  });
  std::vector<double> aucs, tprs[3];
  for (const TargetResult& tr : r.targets) {
    aucs.push_back(tr.auc);
    for (size_t k = 0; k < kLowFpr.size(); ++k) tprs[k].push_back(tr.tpr[k]);
  }
  r.auc = spread_of(aucs, "no members or no non-members with a score");
  for (size_t k = 0; k < kLowFpr.size(); ++k)
    r.tpr[k] = spread_of(tprs[k], str("fewer than ", 1 / kLowFpr[k], " non-members (FPR ", kLowFpr[k],
                                      " is not measurable), or no members"));
  RocSplit pooled;
  for (int64_t t = 0; t < J; ++t)
    for (int64_t i = 0; i < N; ++i) {
      if (!std::isfinite(s[t][i]))
        ++r.pairs_without_score;
      else
        (in[t][i] ? pooled.pos : pooled.neg).push_back(s[t][i]);
    }
  parallel_range(2, 1, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      std::vector<double>& v = k == 0 ? pooled.pos : pooled.neg;
      std::sort(v.begin(), v.end(), std::greater<>());
    }
  });
  const std::vector<RocPoint> roc = roc_of(pooled);
  if (!pooled.pos.empty() && !pooled.neg.empty()) {
    r.pooled_auc = area_under(roc);
    for (size_t k = 0; k < kLowFpr.size(); ++k) r.pooled_tpr[k] = measurable_tpr(roc, kLowFpr[k], pooled.neg.size());
  }
  for (size_t g = 0; g < grid.size(); ++g) {
    r.pooled_roc.push_back(pooled.pos.empty() ? kNaN : measurable_tpr(roc, grid[g], pooled.neg.size()));
    double sum = 0, n = 0;
    for (const auto& v : grid_tpr)
      if (std::isfinite(v[g])) sum += v[g], n += 1;
    r.mean_roc.push_back(n > 0 ? sum / n : kNaN);
  }
  return r;
}

std::vector<double> membership_risk(const torch::Tensor& score, const torch::Tensor& in_mask) {
  const torch::Tensor sc = score.to(torch::kFloat64).contiguous(), mask = in_mask.to(torch::kBool).contiguous();
  auto s = sc.accessor<double, 2>();
  auto in = mask.accessor<bool, 2>();
  std::vector<double> risk(size_t(sc.size(0)), kNaN);
  parallel_range(sc.size(0), 256, [&](int64_t b, int64_t e) {
    std::vector<double> v;
    std::vector<char> m;
    for (int64_t i = b; i < e; ++i) {
      v.clear(), m.clear();
      for (int64_t j = 0; j < sc.size(1); ++j)
        if (std::isfinite(s[i][j])) v.push_back(s[i][j]), m.push_back(in[i][j]);
      risk[size_t(i)] = roc_auc(v, m);
    }
  });
  return risk;
}

MembershipResult membership(const torch::Tensor& logp, const torch::Tensor& in_mask, const MembershipConfig& c,
                            const std::vector<int64_t>& groups, bool risk) {
  MembershipResult r;
  r.config = c;
  r.examples = logp.size(0);
  r.models = logp.dim() == 2 ? logp.size(1) : 0;
  const bool references = References(groups, r.models).any();
  for (Attack a : all_attacks()) {
    if (needs_references(a) && !references) {
      AttackResult none;
      none.attack = a;
      none.unavailable =
          "no valid reference models: every model shares the target's repeat (a K-fold plan of one "
          "repeat); run 2 or more repeats";
      r.attacks.push_back(none);
      if (a == r.risk_attack && risk) r.risk.assign(size_t(r.examples), kNaN);
      continue;
    }
    const torch::Tensor s = attack_scores(a, logp, in_mask, c, groups);
    r.attacks.push_back(evaluate_attack(a, s, in_mask));
    if (a == r.risk_attack && risk) r.risk = membership_risk(s, in_mask);
  }
  return r;
}

}  // namespace memscope
