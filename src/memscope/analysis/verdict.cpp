#include "memscope/analysis/verdict.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "memscope/core/error.h"
#include "memscope/io/json.h"
#include "memscope/score/compare.h"

namespace memscope {

using json = nlohmann::json;

namespace {

/// Share of the top `share` of a that is also in the top `share` of b (finite pairs only).
double top_overlap(const std::vector<double>& a, const std::vector<double>& b, double share) {
  return top_share_agreement(as_tensor(a), as_tensor(b), share);
}

Quantiles deciles(const std::vector<double>& v) { return quantiles_of(v, {0.1, 0.25, 0.5, 0.75, 0.9}); }

/// S(x) - S_control(x): the spillover specific to x's neighbourhood (NaN where either is).
double net_spill(const ExampleDiagnostics& d, size_t i) { return d.spill.spill[i] - d.spill_control.spill[i]; }

/// Whether (S(x) - S_control(x)) / M(x) is significantly above the rule's ratio.
bool learned(const Scores& s, const ExampleDiagnostics& d, size_t i, const VerdictRule& r) {
  const double S = net_spill(d, i), M = s.mem[i];
  const double se =
      std::sqrt(d.spill.spill_se[i] * d.spill.spill_se[i] + d.spill_control.spill_se[i] * d.spill_control.spill_se[i] +
                r.ratio * r.ratio * s.mem_se[i] * s.mem_se[i]);
  return std::isfinite(S) && std::isfinite(M) && std::isfinite(se) && S - r.ratio * M > r.z * se;
}

VerdictCorrelations correlations(const Scores& s, const ExampleDiagnostics& d) {
  const torch::Tensor mem = as_tensor(s.mem);
  VerdictCorrelations c;
  c.leverage = spearman(mem, as_tensor(d.leverage));
  c.loo_mem = spearman(mem, as_tensor(d.loo_mem));
  c.nn_dist = spearman(mem, as_tensor(d.nn_dist));
  c.u_rank = spearman(mem, as_tensor(d.u_rank));
  c.spill = spearman(mem, as_tensor(d.spill.spill));
  c.spill_control = spearman(mem, as_tensor(d.spill_control.spill));
  c.top5_overlap_leverage = top_overlap(s.mem, d.leverage, 0.05);
  c.top5_overlap_nn_dist = top_overlap(s.mem, d.nn_dist, 0.05);
  return c;
}

std::string pct(const Share& s) {
  return fmt::format("{} ({:.0f}%, 95% interval {:.0f}-{:.0f}%)", s.count, 100 * s.share, 100 * s.lo, 100 * s.hi);
}

std::vector<std::string> sentences(const Verdict& v) {
  std::vector<std::string> out;
  const VerdictCorrelations& c = v.correlations;
  const int64_t n = v.n_high;
  if (n == 0)
    return {
        "No example is memorized at this false-discovery rate (none has M significantly above 0), so there is "
        "nothing to sort into outliers, high leverage, learning or regeneration."};
  const bool like_leverage = c.leverage > 0.7;
  out.push_back(fmt::format(
      "Leverage and outliers: M ranks the examples {} leverage (Spearman {:.2f}, top-5% overlap {:.2f}) and "
      "outlierness "
      "(Spearman {:.2f} with the distance to the {} nearest examples); of the {} memorized examples {} are "
      "outliers and {} have high leverage, so here M {}.",
      like_leverage ? "much like" : "unlike", c.leverage, c.top5_overlap_leverage, c.nn_dist, v.neighbours, n,
      pct(v.outlier), pct(v.leverage),
      like_leverage || v.outlier.share > 0.5 ? "largely tracks outlyingness"
                                             : "is not merely leverage or outlyingness"));
  if (v.spillover_examples == 0) {
    out.push_back(
        "Learning: not enough models to tell memorization from learning: no example has a neighbour with models where "
        "the example is out and the neighbour in (more folds or repeats give such pairs).");
  } else {
    const double med = v.ratio_high.at(0.5), net = v.net_ratio_high.at(0.5);
    out.push_back(fmt::format(
        "Learning: when a memorized example leaves the training set, its neighbours' log density falls by a "
        "median {:.2f} of its own fall (S/M) and that of random other examples by {:.2f}, so the fall specific to "
        "its neighbourhood is a median {:.2f} of M; {} show (S - S_control)/M significantly above {}; {}.",
        med, v.control_ratio_high.at(0.5), net, pct(v.learned), v.rule.ratio,
        net < 0.25 ? "the score is mostly memorization of the example itself, not learning shared with its neighbours"
                   : "part of the score is learning that generalizes to the neighbourhood"));
  }
  out.push_back(
      fmt::format("Regeneration: {}. Memorized inliers (none of the above): {}.",
                  v.regeneration_checked
                      ? fmt::format("{} of the memorized examples are reproduced by a sample of at least one model",
                                    pct(v.regenerated))
                      : "not checked (run `memscope extract`)",
                  pct(v.inlier)));
  return out;
}

}  // namespace

Share share_of(int64_t k, int64_t n) {
  if (n <= 0) return {k, n};
  const double z = 1.959964, p = double(k) / double(n), nn = double(n);
  const double centre = (p + z * z / (2 * nn)) / (1 + z * z / nn);
  const double half = z * std::sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn)) / (1 + z * z / nn);
  return {k, n, p, std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

json to_json(const Share& s) {
  return {{"count", s.count}, {"n", s.n}, {"share", num(s.share)}, {"lo", num(s.lo)}, {"hi", num(s.hi)}};
}

json to_json(const Verdict& v) {
  const VerdictRule& r = v.rule;
  const VerdictCorrelations& c = v.correlations;
  return {{"rule",
           {{"outlier_share", r.outlier_share},
            {"leverage_share", r.leverage_share},
            {"ratio", r.ratio},
            {"z", r.z},
            {"outlier_distance_threshold", num(v.outlier_distance_threshold)},
            {"leverage_threshold", num(v.leverage_threshold)}}},
          {"neighbours", v.neighbours},
          {"leverage_components", v.leverage_components},
          {"leverage_variance_share", v.leverage_variance_share},
          {"n_high", v.n_high},
          {"spillover_examples", v.spillover_examples},
          {"spill_design_effect", num(v.spill_design_effect)},
          {"spillover_high_examples", v.spillover_high_examples},
          {"regeneration_checked", v.regeneration_checked},
          {"shares",
           {{"outlier", to_json(v.outlier)},
            {"leverage", to_json(v.leverage)},
            {"learned", to_json(v.learned)},
            {"regenerated", to_json(v.regenerated)},
            {"inlier", to_json(v.inlier)}}},
          {"correlations",
           {{"spearman_mem_leverage", num(c.leverage)},
            {"spearman_mem_loo_mem", num(c.loo_mem)},
            {"spearman_mem_nn_dist", num(c.nn_dist)},
            {"spearman_mem_u_rank", num(c.u_rank)},
            {"spearman_mem_spill", num(c.spill)},
            {"spearman_mem_spill_control", num(c.spill_control)},
            {"top5_overlap_mem_leverage", num(c.top5_overlap_leverage)},
            {"top5_overlap_mem_nn_dist", num(c.top5_overlap_nn_dist)}}},
          {"ratio_high", to_json(v.ratio_high, true)},
          {"ratio_all", to_json(v.ratio_all, true)},
          {"control_ratio_high", to_json(v.control_ratio_high, true)},
          {"net_ratio_high", to_json(v.net_ratio_high, true)},
          {"net_ratio_all", to_json(v.net_ratio_all, true)},
          {"sentences", v.sentences}};
}

Verdict judge_memorization(const Scores& s, const ExampleDiagnostics& d, const std::vector<bool>& high,
                           const std::optional<std::vector<int64_t>>& copy_models, const VerdictRule& rule) {
  const size_t N = s.mem.size();
  MEMSCOPE_CHECK(high.size() == N && d.nn_dist.size() == N && d.leverage.size() == N && d.spill.spill.size() == N &&
                     d.spill_control.spill.size() == N && (!copy_models || copy_models->size() == N),
                 "verdict: inputs for ", N, " examples disagree in length");
  const double far = quantile(d.nn_dist, 1 - rule.outlier_share);
  const double lev = quantile(d.leverage, 1 - rule.leverage_share);
  Verdict v;
  v.categories.resize(N);
  int64_t n_high = 0, n_out = 0, n_lev = 0, n_learn = 0, n_regen = 0, n_inlier = 0, n_spill = 0;
  std::vector<double> ratio_high, ratio_all, net_high, net_all, control_high;
  for (size_t i = 0; i < N; ++i) {
    const double net = std::isfinite(s.mem[i]) && s.mem[i] != 0 ? net_spill(d, i) / s.mem[i] : NAN;
    if (std::isfinite(d.spill.ratio[i])) ratio_all.push_back(d.spill.ratio[i]);
    if (std::isfinite(net)) net_all.push_back(net);
    if (!high[i]) continue;
    ExampleCategories& c = v.categories[i];
    c.outlier = (std::isfinite(d.u_rank[i]) && d.u_rank[i] < rule.outlier_share) || d.nn_dist[i] > far;
    c.leverage = std::isfinite(lev) && d.leverage[i] > lev;
    c.learned = learned(s, d, i, rule);
    c.regenerated = copy_models && (*copy_models)[i] > 0;
    c.inlier = !(c.outlier || c.leverage || c.learned || c.regenerated);
    ++n_high, n_out += c.outlier, n_lev += c.leverage, n_learn += c.learned, n_regen += c.regenerated;
    n_inlier += c.inlier, n_spill += d.spill.pairs[i] > 0;
    if (std::isfinite(d.spill.ratio[i])) ratio_high.push_back(d.spill.ratio[i]);
    if (std::isfinite(net)) net_high.push_back(net);
    if (std::isfinite(d.spill_control.ratio[i])) control_high.push_back(d.spill_control.ratio[i]);
  }
  v.rule = rule;
  v.outlier_distance_threshold = far;
  v.leverage_threshold = lev;
  v.neighbours = d.k;
  v.leverage_components = d.leverage_components;
  v.leverage_variance_share = d.leverage_variance_share;
  v.n_high = n_high;
  v.spillover_examples = d.spill.examples_with_pairs;
  v.spill_design_effect = d.spill.design_effect;
  v.spillover_high_examples = n_spill;
  v.regeneration_checked = copy_models.has_value();
  v.outlier = share_of(n_out, n_high);
  v.leverage = share_of(n_lev, n_high);
  v.learned = share_of(n_learn, n_spill);
  v.regenerated = share_of(n_regen, copy_models ? n_high : 0);
  v.inlier = share_of(n_inlier, n_high);
  v.correlations = correlations(s, d);
  v.ratio_high = deciles(ratio_high);
  v.ratio_all = deciles(ratio_all);
  v.control_ratio_high = deciles(control_high);
  v.net_ratio_high = deciles(net_high);
  v.net_ratio_all = deciles(net_all);
  v.sentences = sentences(v);
  return v;
}

}  // namespace memscope
