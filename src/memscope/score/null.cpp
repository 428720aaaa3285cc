#include "memscope/score/null.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "memscope/core/error.h"
#include "memscope/core/seeds.h"
#include "memscope/score/uncertainty.h"

namespace memscope {

namespace {

/// The q-quantile of v (sorted in place; NaN when empty).
double quantile_of(std::vector<double>& v, double q) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  return v[size_t(q * double(v.size() - 1))];
}

/// What one null draw leaves behind: per example z of M and of mem_log, and the degrees of freedom.
struct DrawZ {
  std::vector<double> z_mem, z_log, df;
};

/// The factor c that makes 5% of the null's |z| / c exceed the two-sided 5% point of Student's t (1 when
/// fewer than 200 null z are finite): the error bars calibrated against what noise gives with this design
/// and this data's tails.
double tail_scale(const std::vector<DrawZ>& draws, bool mem) {
  std::map<double, double> point;  // t_{0.975} by degrees of freedom
  std::vector<double> ratio;
  for (const DrawZ& d : draws)
    for (size_t i = 0; i < d.df.size(); ++i) {
      const double z = mem ? d.z_mem[i] : d.z_log[i];
      if (!std::isfinite(z) || !(d.df[i] > 0)) continue;
      auto it = point.find(d.df[i]);
      if (it == point.end()) it = point.emplace(d.df[i], student_t_quantile(0.975, d.df[i])).first;
      ratio.push_back(std::abs(z) / it->second);
    }
  if (ratio.size() < 200) return 1;
  const double c = quantile_of(ratio, 0.95);
  return c > 0 ? c : 1;
}

}  // namespace

void permutation_null(const torch::Tensor& logp, const torch::Tensor& in_mask,
                      const std::vector<int64_t>& repeat_of_job, const std::vector<int64_t>& groups,
                      MembershipResult& r, Scores* scores, int64_t draws, uint64_t seed, double fdr, bool difference) {
  MEMSCOPE_CHECK(draws >= 0, "null: ", draws, " draws");
  MemNull& m = r.mem_null;
  m = MemNull{};
  m.draws = draws;
  r.fdr = fdr;
  if (draws == 0) return;
  const int64_t N = logp.size(0);
  const size_t A = r.attacks.size(), G = roc_grid().size();
  std::vector<double> means, pooled;
  std::vector<DrawZ> zs;
  std::vector<std::vector<double>> auc(A), tpr[3];
  for (auto& t : tpr) t.resize(A);
  std::vector<std::vector<double>> curve(A, std::vector<double>(G, 0)), curve_n(A, std::vector<double>(G, 0));
  for (int64_t d = 0; d < draws; ++d) {
    at::Generator gen = make_generator(derive_seed(seed, SeedTag::kPermutation, {0x6e756c6cULL, uint64_t(d)}));
    const torch::Tensor perm = torch::randperm(N, gen, torch::kInt64);
    const torch::Tensor mask = in_mask.index_select(0, perm);
    Scores s = compute_scores(logp, mask, repeat_of_job);
    if (difference) as_difference(s);
    double sum = 0, n = 0;
    DrawZ z;
    for (size_t i = 0; i < s.mem.size(); ++i) {
      if (std::isfinite(s.mem[i])) sum += s.mem[i], n += 1, pooled.push_back(s.mem[i]);
      z.z_mem.push_back(s.mem[i] / s.mem_se[i]), z.z_log.push_back(s.mem_log[i] / s.mem_log_se[i]);
      z.df.push_back(s.df[i]);
    }
    zs.push_back(std::move(z));
    means.push_back(n > 0 ? sum / n : NAN);
    const MembershipResult nr = membership(logp, mask, r.config, groups, false);
    for (size_t a = 0; a < A && a < nr.attacks.size(); ++a) {
      const AttackResult& x = nr.attacks[a];
      auc[a].push_back(x.auc.mean);
      for (size_t k = 0; k < 3; ++k) tpr[k][a].push_back(x.pooled_tpr[k]);
      for (size_t g = 0; g < G && g < x.pooled_roc.size(); ++g)
        if (std::isfinite(x.pooled_roc[g])) curve[a][g] += x.pooled_roc[g], curve_n[a][g] += 1;
    }
  }
  m.mem_se_scale = tail_scale(zs, true), m.mem_log_se_scale = tail_scale(zs, false);
  if (scores) calibrate_error_bars(*scores, m.mem_se_scale, m.mem_log_se_scale);
  std::vector<double> found;  // discoveries of each draw, with the calibrated error bars
  int64_t any = 0;
  for (const DrawZ& z : zs) {
    std::vector<double> p(z.z_mem.size(), NAN);
    for (size_t i = 0; i < p.size(); ++i)
      if (std::isfinite(z.z_mem[i])) p[i] = 1 - student_t_cdf(z.z_mem[i] / m.mem_se_scale, z.df[i]);
    double k = 0;
    for (double q : bh_qvalues(p)) k += q <= fdr;
    found.push_back(k);
    any += k > 0;
  }
  m.mem_mean = spread_of(means);
  m.discoveries = spread_of(found);
  m.any_discovery = double(any) / double(draws);
  m.q50 = quantile_of(pooled, 0.5), m.q95 = quantile_of(pooled, 0.95), m.q99 = quantile_of(pooled, 0.99);
  for (size_t a = 0; a < A; ++a) {
    AttackNull& n = r.attacks[a].null;
    if (!r.attacks[a].unavailable.empty()) continue;
    n.draws = draws;
    n.auc = spread_of(auc[a], "no members or no non-members with a score");
    for (size_t k = 0; k < 3; ++k) n.tpr[k] = spread_of(tpr[k][a], "not measurable");
    n.pooled_roc.resize(G);
    for (size_t g = 0; g < G; ++g) n.pooled_roc[g] = curve_n[a][g] > 0 ? curve[a][g] / curve_n[a][g] : NAN;
  }
}

}  // namespace memscope
