#include "memscope/analysis/verdict.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "memscope/analysis/analysis.h"
#include "memscope/core/error.h"
#include "memscope/score/compare.h"

namespace memscope {

using json = nlohmann::json;

namespace {

json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

torch::Tensor as_tensor(const std::vector<double>& v) { return torch::tensor(v, torch::kFloat64); }

/// Share of the top `share` of a that is also in the top `share` of b (finite pairs only).
double top_overlap(const std::vector<double>& a, const std::vector<double>& b, double share) {
  return top_share_agreement(as_tensor(a), as_tensor(b), share);
}

json quantile_json(const std::vector<double>& v) {
  json j = json::object();
  int64_t n = 0;
  for (double x : v) n += std::isfinite(x);
  j["n"] = n;
  for (double q : {0.1, 0.25, 0.5, 0.75, 0.9}) j[fmt::format("q{}", q)] = num(quantile(v, q));
  return j;
}

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

json correlations(const Scores& s, const ExampleDiagnostics& d) {
  const torch::Tensor mem = as_tensor(s.mem);
  return {{"spearman_mem_leverage", num(spearman(mem, as_tensor(d.leverage)))},
          {"spearman_mem_loo_mem", num(spearman(mem, as_tensor(d.loo_mem)))},
          {"spearman_mem_nn_dist", num(spearman(mem, as_tensor(d.nn_dist)))},
          {"spearman_mem_u_rank", num(spearman(mem, as_tensor(d.u_rank)))},
          {"spearman_mem_spill", num(spearman(mem, as_tensor(d.spill.spill)))},
          {"spearman_mem_spill_control", num(spearman(mem, as_tensor(d.spill_control.spill)))},
          {"top5_overlap_mem_leverage", num(top_overlap(s.mem, d.leverage, 0.05))},
          {"top5_overlap_mem_nn_dist", num(top_overlap(s.mem, d.nn_dist, 0.05))}};
}

std::string pct(const json& share) {
  const auto v = [&](const char* k) { return share.at(k).is_null() ? NAN : share.at(k).get<double>(); };
  return fmt::format("{} ({:.0f}%, 95% interval {:.0f}-{:.0f}%)", share.at("count").get<int64_t>(), 100 * v("share"),
                     100 * v("lo"), 100 * v("hi"));
}

double get(const json& j, const char* k) { return j.at(k).is_null() ? NAN : j.at(k).get<double>(); }

std::vector<std::string> sentences(const json& j) {
  std::vector<std::string> out;
  const json& c = j.at("correlations");
  const json& sh = j.at("shares");
  const int64_t n = j.at("n_high").get<int64_t>();
  if (n == 0)
    return {
        "No example is memorized at this false-discovery rate (none has M significantly above 0), so there is "
        "nothing to sort into outliers, high leverage, learning or regeneration."};
  const double rho = get(c, "spearman_mem_leverage"), out_share = get(sh.at("outlier"), "share");
  const bool like_leverage = rho > 0.7;
  out.push_back(fmt::format(
      "Leverage and outliers: M ranks the examples {} leverage (Spearman {:.2f}, top-5% overlap {:.2f}) and "
      "outlierness "
      "(Spearman {:.2f} with the distance to the {} nearest examples); of the {} memorized examples {} are "
      "outliers and {} have high leverage, so here M {}.",
      like_leverage ? "much like" : "unlike", rho, get(c, "top5_overlap_mem_leverage"), get(c, "spearman_mem_nn_dist"),
      j.at("neighbours").get<int64_t>(), n, pct(sh.at("outlier")), pct(sh.at("leverage")),
      like_leverage || out_share > 0.5 ? "largely tracks outlyingness" : "is not merely leverage or outlyingness"));
  if (j.at("spillover_examples").get<int64_t>() == 0) {
    out.push_back(
        "Learning: not enough models to tell memorization from learning: no example has a neighbour with models where "
        "the example is out and the neighbour in (more folds or repeats give such pairs).");
  } else {
    const double med = get(j.at("ratio_high"), "q0.5"), net = get(j.at("net_ratio_high"), "q0.5");
    out.push_back(fmt::format(
        "Learning: when a memorized example leaves the training set, its neighbours' log density falls by a "
        "median {:.2f} of its own fall (S/M) and that of random other examples by {:.2f}, so the fall specific to "
        "its neighbourhood is a median {:.2f} of M; {} show (S - S_control)/M significantly above {}; {}.",
        med, get(j.at("control_ratio_high"), "q0.5"), net, pct(sh.at("learned")),
        j.at("rule").at("ratio").get<double>(),
        net < 0.25 ? "the score is mostly memorization of the example itself, not learning shared with its neighbours"
                   : "part of the score is learning that generalizes to the neighbourhood"));
  }
  out.push_back(
      fmt::format("Regeneration: {}. Memorized inliers (none of the above): {}.",
                  j.at("regeneration_checked").get<bool>()
                      ? fmt::format("{} of the memorized examples are reproduced by a sample of at least one model",
                                    pct(sh.at("regenerated")))
                      : "not checked (run `memscope extract`)",
                  pct(sh.at("inlier"))));
  return out;
}

}  // namespace

json share_json(int64_t k, int64_t n) {
  if (n <= 0) return {{"count", k}, {"n", n}, {"share", nullptr}, {"lo", nullptr}, {"hi", nullptr}};
  const double z = 1.959964, p = double(k) / double(n), nn = double(n);
  const double centre = (p + z * z / (2 * nn)) / (1 + z * z / nn);
  const double half = z * std::sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn)) / (1 + z * z / nn);
  return {
      {"count", k}, {"n", n}, {"share", p}, {"lo", std::max(0.0, centre - half)}, {"hi", std::min(1.0, centre + half)}};
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
  json& j = v.summary;
  j["rule"] = {{"outlier_share", rule.outlier_share},
               {"leverage_share", rule.leverage_share},
               {"ratio", rule.ratio},
               {"z", rule.z},
               {"outlier_distance_threshold", num(far)},
               {"leverage_threshold", num(lev)}};
  j["neighbours"] = d.k;
  j["leverage_components"] = d.leverage_components;
  j["leverage_variance_share"] = d.leverage_variance_share;
  j["n_high"] = n_high;
  j["spillover_examples"] = d.spill.examples_with_pairs;
  j["spill_design_effect"] = num(d.spill.design_effect);
  j["spillover_high_examples"] = n_spill;
  j["regeneration_checked"] = copy_models.has_value();
  j["shares"] = {{"outlier", share_json(n_out, n_high)},
                 {"leverage", share_json(n_lev, n_high)},
                 {"learned", share_json(n_learn, n_spill)},
                 {"regenerated", share_json(n_regen, copy_models ? n_high : 0)},
                 {"inlier", share_json(n_inlier, n_high)}};
  j["correlations"] = correlations(s, d);
  j["ratio_high"] = quantile_json(ratio_high);
  j["ratio_all"] = quantile_json(ratio_all);
  j["control_ratio_high"] = quantile_json(control_high);
  j["net_ratio_high"] = quantile_json(net_high);
  j["net_ratio_all"] = quantile_json(net_all);
  v.sentences = sentences(j);
  j["sentences"] = v.sentences;
  return v;
}

}  // namespace memscope
