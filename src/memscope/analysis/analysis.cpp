#include "memscope/analysis/analysis.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "memscope/core/error.h"
#include "memscope/score/compare.h"

namespace memscope {

double quantile(std::vector<double> v, double q) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }), v.end());
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const double pos = std::clamp(q, 0.0, 1.0) * double(v.size() - 1);
  const size_t lo = size_t(std::floor(pos)), hi = std::min(v.size() - 1, lo + 1);
  return v[lo] + (pos - double(lo)) * (v[hi] - v[lo]);
}

namespace {

nlohmann::json quantiles(const std::vector<double>& v) {
  nlohmann::json j = nlohmann::json::object();
  for (double q : {0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 0.999}) j[fmt::format("q{:g}", q)] = quantile(v, q);
  return j;
}

double mean_finite(const std::vector<double>& v) {
  double s = 0;
  int64_t n = 0;
  for (double x : v)
    if (std::isfinite(x)) s += x, ++n;
  return n ? s / double(n) : std::nan("");
}

/// Indices of the top share of finite values of v.
std::set<int64_t> top_set(const std::vector<double>& v, double share) {
  std::vector<int64_t> idx;
  for (size_t i = 0; i < v.size(); ++i)
    if (std::isfinite(v[i])) idx.push_back(int64_t(i));
  const size_t k = std::max<size_t>(1, size_t(share * double(idx.size())));
  std::partial_sort(idx.begin(), idx.begin() + std::min(k, idx.size()), idx.end(),
                    [&](int64_t a, int64_t b) { return v[a] > v[b]; });
  return std::set<int64_t>(idx.begin(), idx.begin() + std::min(k, idx.size()));
}

torch::Tensor as_tensor(const std::vector<double>& v) { return torch::tensor(v, torch::kFloat64); }

}  // namespace

MemAnalysis analyse_memorization(const Scores& s, const torch::Tensor& labels, const torch::Tensor& mem_by_epoch,
                                 const std::vector<int64_t>& epochs, double high_quantile, double fdr, int64_t bins) {
  MEMSCOPE_CHECK_KEY(high_quantile > 0 && high_quantile < 1, "high_quantile", "must be in (0, 1), got ", high_quantile);
  const int64_t N = int64_t(s.mem.size());
  MemAnalysis a;
  nlohmann::json& j = a.summary;
  j["n"] = N;
  j["mem_mean"] = mean_finite(s.mem);
  if (!s.mem_plugin.empty()) j["mem_plugin_mean"] = mean_finite(s.mem_plugin);
  a.discovered.resize(N);
  int64_t found = 0;
  for (int64_t i = 0; i < N; ++i) found += (a.discovered[i] = size_t(i) < s.mem_q.size() && s.mem_q[i] <= fdr);
  j["fdr"] = fdr;
  j["n_discovered"] = found;
  j["mem_se_mean"] = mean_finite(s.mem_se);
  if (!s.mem_mc_se.empty()) j["mem_mc_se_mean"] = mean_finite(s.mem_mc_se);
  j["mem_quantiles"] = quantiles(s.mem);
  const double threshold = quantile(s.mem, high_quantile);
  j["high_quantile"] = high_quantile;
  j["high_threshold"] = threshold;
  a.high.resize(N);
  int64_t n_high = 0;
  for (int64_t i = 0; i < N; ++i) n_high += (a.high[i] = std::isfinite(s.mem[i]) && s.mem[i] > threshold);
  j["n_high"] = n_high;

  // Memorization versus outliers: bins of U.
  const double lo = quantile(s.logp_in, 0.005), hi = quantile(s.logp_in, 0.995);
  const double width = (hi - lo) / double(bins);
  std::vector<int64_t> regular(bins, 0), high(bins, 0);
  for (int64_t i = 0; i < N; ++i) {
    if (!std::isfinite(s.logp_in[i]) || !std::isfinite(s.mem[i])) continue;
    const int64_t b =
        width > 0 ? std::clamp<int64_t>(int64_t(std::floor((s.logp_in[i] - lo) / width)), 0, bins - 1) : 0;
    (a.high[i] ? high : regular)[b]++;
  }
  nlohmann::json bin_list = nlohmann::json::array();
  for (int64_t b = 0; b < bins; ++b) {
    const int64_t total = regular[b] + high[b];
    bin_list.push_back({{"bin", b},
                        {"lo", b == 0 ? -INFINITY : lo + b * width},
                        {"hi", b == bins - 1 ? INFINITY : lo + (b + 1) * width},
                        {"center", lo + (b + 0.5) * width},
                        {"regular", regular[b]},
                        {"high", high[b]},
                        {"proportion_high", total ? double(high[b]) / double(total) : 0.0}});
  }
  j["logp_in_bins"] = bin_list;
  const double c_lo = quantile(s.logp_in, 0.05), c_hi = quantile(s.logp_in, 0.95);
  int64_t central = 0;
  for (int64_t i = 0; i < N; ++i) central += a.high[i] && s.logp_in[i] >= c_lo && s.logp_in[i] <= c_hi;
  j["high_mem_central90_share"] = n_high ? double(central) / double(n_high) : std::nan("");
  j["spearman_mem_logp_in"] = spearman(as_tensor(s.mem), as_tensor(s.logp_in));
  j["spearman_mem_logp_out"] = spearman(as_tensor(s.mem), as_tensor(s.logp_out));

  // Over training.
  nlohmann::json over = nlohmann::json::array();
  const int64_t E = int64_t(epochs.size());
  if (mem_by_epoch.defined() && mem_by_epoch.size(0) == E) {
    torch::Tensor m = mem_by_epoch.to(torch::kFloat64).contiguous();
    auto row = [&](int64_t e) { return std::vector<double>(m[e].data_ptr<double>(), m[e].data_ptr<double>() + N); };
    const std::set<int64_t> last = top_set(row(E - 1), 0.05);
    for (int64_t e = 0; e < E; ++e) {
      const std::vector<double> v = row(e);
      const std::set<int64_t> top = top_set(v, 0.05);
      int64_t shared = 0;
      for (int64_t i : top) shared += last.count(i);
      over.push_back({{"epoch", epochs[e]},
                      {"q0.95", quantile(v, 0.95)},
                      {"q0.999", quantile(v, 0.999)},
                      {"top5_overlap_with_last", double(shared) / double(std::max<size_t>(1, top.size()))}});
    }
  }
  j["over_epochs"] = over;

  // Per class.
  std::map<int64_t, std::vector<int64_t>> by_class;
  torch::Tensor lab = labels.to(torch::kInt64).contiguous();
  for (int64_t i = 0; i < N; ++i)
    if (lab[i].item<int64_t>() >= 0) by_class[lab[i].item<int64_t>()].push_back(i);
  nlohmann::json classes = nlohmann::json::array();
  for (const auto& [c, rows] : by_class) {
    std::vector<double> m;
    int64_t h = 0;
    for (int64_t i : rows) m.push_back(s.mem[i]), h += a.discovered[i];
    classes.push_back({{"label", c},
                       {"n", rows.size()},
                       {"mem_mean", mean_finite(m)},
                       {"mem_q0.25", quantile(m, 0.25)},
                       {"mem_median", quantile(m, 0.5)},
                       {"mem_q0.75", quantile(m, 0.75)},
                       {"share_memorized", double(h) / double(rows.size())}});
  }
  j["classes"] = classes;
  return a;
}

}  // namespace memscope
