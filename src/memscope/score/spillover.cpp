#include "memscope/score/spillover.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "memscope/core/error.h"
#include "memscope/core/logmath.h"
#include "memscope/core/threads.h"
#include "memscope/score/uncertainty.h"

namespace memscope {

namespace {

/// log p of one neighbour y under the models that train on y, split by whether they train on x; with
/// each model's group.
struct PairSides {
  std::vector<double> both, x_out;
  std::vector<int64_t> both_group, x_out_group;
  void clear() { both.clear(), x_out.clear(), both_group.clear(), x_out_group.clear(); }
};

/// logmeanexp of the values whose group is not `drop` (NaN if none is left).
double logmeanexp_without(const std::vector<double>& v, const std::vector<int64_t>& group, int64_t drop) {
  std::vector<double> kept;
  for (size_t i = 0; i < v.size(); ++i)
    if (group[i] != drop) kept.push_back(v[i]);
  return kept.empty() ? kNaN : logmeanexp(kept);
}

/// Per example, the delete-one-group jackknife variance of S(x) over the neighbours usable without any
/// one group, and the model-iid variance of S over the same neighbours.
struct Jackknife {
  std::vector<double> sum_without;  // per group: sum over usable neighbours of S_y(x) without the group
  double naive = 0;
  int64_t used = 0;
  explicit Jackknife(int64_t groups) : sum_without(size_t(groups), 0) {}
  void add(const PairSides& p, double naive_var) {
    std::vector<double> s(sum_without.size());
    for (size_t g = 0; g < s.size(); ++g) {
      s[g] =
          logmeanexp_without(p.both, p.both_group, int64_t(g)) - logmeanexp_without(p.x_out, p.x_out_group, int64_t(g));
      if (!std::isfinite(s[g])) return;
    }
    for (size_t g = 0; g < s.size(); ++g) sum_without[g] += s[g];
    naive += naive_var, ++used;
  }
  /// (G - 1) / G sum_g (S_(g) - mean)^2 and the model-iid variance (both 0 without usable neighbours).
  void variances(double& jack, double& iid) const {
    if (used == 0) return;
    const double G = double(sum_without.size()), n = double(used);
    double mean = 0, ss = 0;
    for (double v : sum_without) mean += v / n / G;
    for (double v : sum_without) ss += (v / n - mean) * (v / n - mean);
    jack = (G - 1) / G * ss, iid = naive / (n * n);
  }
};

}  // namespace

Spillover compute_spillover(const torch::Tensor& logp, const torch::Tensor& in_mask, const torch::Tensor& neighbours,
                            const std::vector<double>& logp_sd, const std::vector<double>& mem,
                            const std::vector<int64_t>& group_of_job) {
  MEMSCOPE_CHECK(logp.dim() == 2 && in_mask.sizes() == logp.sizes(), "spillover: logp ", logp.sizes(), " and in_mask ",
                 in_mask.sizes(), " must both be [N, J]");
  const int64_t N = logp.size(0), J = logp.size(1);
  MEMSCOPE_CHECK(neighbours.dim() == 2 && neighbours.size(0) == N, "spillover: neighbours ", neighbours.sizes(),
                 " must be [", N, ", k]");
  MEMSCOPE_CHECK(int64_t(logp_sd.size()) == N && int64_t(mem.size()) == N, "spillover: ", logp_sd.size(),
                 " spreads and ", mem.size(), " scores for ", N, " examples");
  MEMSCOPE_CHECK(group_of_job.empty() || int64_t(group_of_job.size()) == J, "spillover: ", group_of_job.size(),
                 " groups for ", J, " jobs");
  for (int64_t g : group_of_job) MEMSCOPE_CHECK(g >= 0, "spillover: job group ", g);
  const int64_t G = group_of_job.empty() ? 0 : *std::max_element(group_of_job.begin(), group_of_job.end()) + 1;
  const torch::Tensor lp = logp.to(torch::kFloat64).contiguous();
  const torch::Tensor in = in_mask.to(torch::kBool).contiguous();
  const torch::Tensor nb = neighbours.to(torch::kInt64).contiguous();
  const int64_t k = nb.size(1);
  const double* a = lp.data_ptr<double>();
  const bool* m = in.data_ptr<bool>();
  const int64_t* y_of = nb.data_ptr<int64_t>();
  for (int64_t t = 0; t < N * k; ++t)
    MEMSCOPE_CHECK(y_of[t] >= 0 && y_of[t] < N && y_of[t] != t / k, "spillover: neighbour ", y_of[t], " of example ",
                   t / k, " is not another of the ", N, " examples");
  Spillover s;
  s.spill.assign(size_t(N), kNaN);
  s.spill_se.assign(size_t(N), kNaN);
  s.ratio.assign(size_t(N), kNaN);
  s.pairs.assign(size_t(N), 0);
  std::vector<double> jack(size_t(N), 0), iid(size_t(N), 0);
  parallel_range(N, 64, [&](int64_t begin, int64_t end) {
    PairSides p;
    for (int64_t x = begin; x < end; ++x) {
      double sum = 0, var = 0;
      int64_t used = 0;
      Jackknife jk(G);
      for (int64_t t = 0; t < k; ++t) {
        const int64_t y = y_of[x * k + t];
        p.clear();
        for (int64_t j = 0; j < J; ++j) {
          const double v = a[y * J + j];
          if (!m[y * J + j] || !std::isfinite(v)) continue;
          (m[x * J + j] ? p.both : p.x_out).push_back(v);
          if (G > 0) (m[x * J + j] ? p.both_group : p.x_out_group).push_back(group_of_job[size_t(j)]);
        }
        if (p.both.empty() || p.x_out.empty()) continue;
        sum += logmeanexp(p.both) - logmeanexp(p.x_out);
        const double sd = logp_sd[size_t(y)];
        const double hb = logmeanexp_normal_sd(int64_t(p.both.size()), sd);
        const double ho = logmeanexp_normal_sd(int64_t(p.x_out.size()), sd);
        var += hb * hb + ho * ho;
        ++used;
        if (G > 1) jk.add(p, hb * hb + ho * ho);
      }
      s.pairs[size_t(x)] = used;
      if (used == 0) continue;
      s.spill[size_t(x)] = sum / double(used);
      s.spill_se[size_t(x)] = std::sqrt(var) / double(used);
      const double mx = mem[size_t(x)];
      if (std::isfinite(mx) && mx != 0) s.ratio[size_t(x)] = s.spill[size_t(x)] / mx;
      jk.variances(jack[size_t(x)], iid[size_t(x)]);
    }
  });
  double total_jack = 0, total_iid = 0;
  for (int64_t x = 0; x < N; ++x)
    if (std::isfinite(jack[size_t(x)]) && std::isfinite(iid[size_t(x)]))
      total_jack += jack[size_t(x)], total_iid += iid[size_t(x)];
  if (total_iid > 0) s.design_effect = std::max(1.0, total_jack / total_iid);
  for (double& se : s.spill_se) se *= std::sqrt(s.design_effect);
  for (int64_t p : s.pairs) s.examples_with_pairs += p > 0;
  return s;
}

}  // namespace memscope
