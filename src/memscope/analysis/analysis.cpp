#include "memscope/analysis/analysis.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "memscope/core/error.h"
#include "memscope/io/json.h"
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

double Quantiles::at(double p) const {
  for (size_t k = 0; k < probs.size(); ++k)
    if (probs[k] == p) return values[k];
  return std::nan("");
}

Quantiles quantiles_of(const std::vector<double>& v, const std::vector<double>& probs) {
  Quantiles q;
  for (double x : v) q.n += std::isfinite(x);
  q.probs = probs;
  for (double p : probs) q.values.push_back(quantile(v, p));
  return q;
}

nlohmann::json to_json(const Quantiles& q, bool with_n) {
  nlohmann::json j = nlohmann::json::object();
  if (with_n) j["n"] = q.n;
  for (size_t k = 0; k < q.probs.size(); ++k) j[fmt::format("q{:g}", q.probs[k])] = num(q.values[k]);
  return j;
}

nlohmann::json to_json(const MemAnalysis& a) {
  nlohmann::json bins = nlohmann::json::array(), over = nlohmann::json::array(), classes = nlohmann::json::array();
  for (const UBin& b : a.logp_in_bins)
    bins.push_back({{"bin", b.bin},
                    {"lo", b.lo},
                    {"hi", b.hi},
                    {"center", b.center},
                    {"regular", b.regular},
                    {"high", b.high},
                    {"proportion_high", b.proportion_high}});
  for (const EpochFigures& e : a.over_epochs)
    over.push_back({{"epoch", e.epoch},
                    {"q0.95", e.q95},
                    {"q0.999", e.q999},
                    {"top5_overlap_with_last", e.top5_overlap_with_last}});
  for (const ClassFigures& c : a.classes)
    classes.push_back({{"label", c.label},
                       {"n", c.n},
                       {"mem_mean", c.mem_mean},
                       {"mem_q0.25", c.q25},
                       {"mem_median", c.median},
                       {"mem_q0.75", c.q75},
                       {"share_memorized", c.share_memorized}});
  nlohmann::json j = {{"n", a.n},
                      {"mem_mean", a.mem_mean},
                      {"fdr", a.fdr},
                      {"n_discovered", a.n_discovered},
                      {"mem_se_mean", a.mem_se_mean},
                      {"mem_quantiles", to_json(a.mem_quantiles, false)},
                      {"high_quantile", a.high_quantile},
                      {"high_threshold", a.high_threshold},
                      {"n_high", a.n_high},
                      {"logp_in_bins", bins},
                      {"high_mem_central90_share", a.high_mem_central90_share},
                      {"spearman_mem_logp_in", a.spearman_mem_logp_in},
                      {"spearman_mem_logp_out", a.spearman_mem_logp_out},
                      {"over_epochs", over},
                      {"classes", classes}};
  if (a.mem_plugin_mean) j["mem_plugin_mean"] = *a.mem_plugin_mean;
  if (a.mem_mc_se_mean) j["mem_mc_se_mean"] = *a.mem_mc_se_mean;
  return j;
}

namespace {

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

}  // namespace

torch::Tensor as_tensor(const std::vector<double>& v) { return torch::tensor(v, torch::kFloat64); }

MemAnalysis analyse_memorization(const Scores& s, const torch::Tensor& labels, const torch::Tensor& mem_by_epoch,
                                 const std::vector<int64_t>& epochs, double high_quantile, double fdr, int64_t bins) {
  MEMSCOPE_CHECK_KEY(high_quantile > 0 && high_quantile < 1, "high_quantile", "must be in (0, 1), got ", high_quantile);
  const int64_t N = int64_t(s.mem.size());
  MemAnalysis a;
  a.n = N;
  a.mem_mean = mean_finite(s.mem);
  if (!s.mem_plugin.empty()) a.mem_plugin_mean = mean_finite(s.mem_plugin);
  a.discovered.resize(N);
  for (int64_t i = 0; i < N; ++i) a.n_discovered += (a.discovered[i] = size_t(i) < s.mem_q.size() && s.mem_q[i] <= fdr);
  a.fdr = fdr;
  a.mem_se_mean = mean_finite(s.mem_se);
  if (!s.mem_mc_se.empty()) a.mem_mc_se_mean = mean_finite(s.mem_mc_se);
  a.mem_quantiles = quantiles_of(s.mem, {0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 0.999});
  const double threshold = quantile(s.mem, high_quantile);
  a.high_quantile = high_quantile;
  a.high_threshold = threshold;
  a.high.resize(N);
  for (int64_t i = 0; i < N; ++i) a.n_high += (a.high[i] = std::isfinite(s.mem[i]) && s.mem[i] > threshold);

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
  for (int64_t b = 0; b < bins; ++b) {
    const int64_t total = regular[b] + high[b];
    a.logp_in_bins.push_back({b, b == 0 ? -INFINITY : lo + b * width, b == bins - 1 ? INFINITY : lo + (b + 1) * width,
                              lo + (b + 0.5) * width, regular[b], high[b],
                              total ? double(high[b]) / double(total) : 0.0});
  }
  const double c_lo = quantile(s.logp_in, 0.05), c_hi = quantile(s.logp_in, 0.95);
  int64_t central = 0;
  for (int64_t i = 0; i < N; ++i) central += a.high[i] && s.logp_in[i] >= c_lo && s.logp_in[i] <= c_hi;
  a.high_mem_central90_share = a.n_high ? double(central) / double(a.n_high) : std::nan("");
  a.spearman_mem_logp_in = spearman(as_tensor(s.mem), as_tensor(s.logp_in));
  a.spearman_mem_logp_out = spearman(as_tensor(s.mem), as_tensor(s.logp_out));

  // Over training.
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
      a.over_epochs.push_back(
          {epochs[e], quantile(v, 0.95), quantile(v, 0.999), double(shared) / double(std::max<size_t>(1, top.size()))});
    }
  }

  // Per class.
  std::map<int64_t, std::vector<int64_t>> by_class;
  torch::Tensor lab = labels.to(torch::kInt64).contiguous();
  for (int64_t i = 0; i < N; ++i)
    if (lab[i].item<int64_t>() >= 0) by_class[lab[i].item<int64_t>()].push_back(i);
  for (const auto& [c, rows] : by_class) {
    std::vector<double> m;
    int64_t h = 0;
    for (int64_t i : rows) m.push_back(s.mem[i]), h += a.discovered[i];
    a.classes.push_back({c, int64_t(rows.size()), mean_finite(m), quantile(m, 0.25), quantile(m, 0.5),
                         quantile(m, 0.75), double(h) / double(rows.size())});
  }
  return a;
}

}  // namespace memscope
