#include "memscope/report/html.h"

#include <cmath>

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "memscope/core/error.h"
#include "memscope/io/json.h"
#include "memscope/report/charts.h"
#include "memscope/report/page_assets.h"  // generated from web/page.css and web/page.js

namespace memscope {

using json = nlohmann::json;

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += ch;
    }
  }
  return out;
}

namespace {

/// JSON for a <script type="application/json"> block: "</" cannot end the element.
std::string script_json(const json& j) {
  std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '<' && i + 1 < s.size() && s[i + 1] == '/')
      out += "<\\";
    else
      out += s[i];
  }
  return out;
}

/// v with `digits` decimals, "n/a" when it is not finite.
std::string fmt_num(double v, int digits = 2) { return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : "n/a"; }

json examples_json(const std::vector<ExampleView>& v, bool with_image) {
  json out = json::array();
  for (const ExampleView& e : v) out.push_back(to_json(e, with_image));
  return out;
}

/// The page-data block page.js reads.
json page_data(const ReportModel& m) {
  json neighbours = json::array();
  for (const NeighbourView& n : m.neighbours) {
    json list = json::array();
    for (size_t k = 0; k < n.neighbours.size(); ++k) {
      json e = to_json(n.neighbours[k], true);
      e["distance"] = num(n.distances[k]);
      list.push_back(e);
    }
    neighbours.push_back({{"example", to_json(n.example, true)}, {"neighbours", list}});
  }
  json bin_examples = json::array();
  for (size_t b = 0; b < m.bin_examples.size(); ++b)
    bin_examples.push_back({{"bin", b}, {"examples", examples_json(m.bin_examples[b], true)}});
  json pairs = json::array();
  if (m.extraction)
    for (const ExtractionPair& p : m.extraction->pairs) pairs.push_back(to_json(p));
  json categories = json::array();
  if (m.memorization_check)
    for (const auto& [name, views] : m.memorization_check->examples)
      categories.push_back({{"category", name}, {"examples", examples_json(views, true)}});
  return {{"specs", chart_specs(m)},
          {"categories", categories},
          {"table", examples_json(m.rows, false)},
          {"grids",
           {{"top", examples_json(m.top, true)},
            {"bottom", examples_json(m.bottom, true)},
            {"exposed", m.membership ? examples_json(m.membership->exposed, true) : json::array()}}},
          {"neighbours", neighbours},
          {"bin_examples", bin_examples},
          {"over_epochs", to_json(m.analysis)["over_epochs"]},
          {"pairs", pairs}};
}

std::string fact(const std::string& k, const std::string& v) {
  return fmt::format("<tr><th>{}</th><td>{}</td></tr>", html_escape(k), html_escape(v));
}

/// A configuration object as a person reads it: "key value" pairs joined by "; ", lists joined by commas,
/// strings unquoted (nested objects in parentheses).
std::string readable(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_array()) {
    std::string out;
    for (const json& e : j) out += (out.empty() ? "" : ", ") + readable(e);
    return out.empty() ? "none" : out;
  }
  if (!j.is_object()) return j.dump();
  std::string out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string key = it.key();
    std::replace(key.begin(), key.end(), '_', ' ');
    out += (out.empty() ? "" : "; ") + key + " " + (it->is_object() ? "(" + readable(*it) + ")" : readable(*it));
  }
  return out;
}

std::string run_section(const ReportModel& m) {
  const RunFacts& r = m.run;
  json failed = json::array();
  for (const FailedJob& f : r.failed)
    failed.push_back({{"id", f.id}, {"status", f.status}, {"diverged_epoch", f.diverged_epoch}});
  std::string facts = fact("run directory", r.dir) +
                      fact("examples", fmt::format("{} ({} of shape {})", r.data, r.n, json(r.shape).dump())) +
                      fact("jobs", std::to_string(r.jobs));
  // The configuration as config.json holds it, one row per section (sections first, then single settings).
  for (const bool sections : {true, false})
    for (auto it = r.config.begin(); it != r.config.end(); ++it)
      if (it->is_object() == sections) facts += fact(it.key(), readable(*it));
  facts += fact("versions", fmt::format("memscope {}, LibTorch {}", r.memscope_version, r.torch_version)) +
           fact("time", fmt::format("training {:.1f} s, evaluation {:.1f} s (summed over jobs)", r.train_seconds,
                                    r.eval_seconds)) +
           fact("failed or diverged jobs", failed.empty() ? "none" : readable(failed)) +
           fact("examples on fewer models", fmt::format("{} (at most {} of {} models lost; n_in and n_out say how many "
                                                        "remain)",
                                                        r.lost_examples, r.lost_most, r.jobs));
  return "<section id=\"run\"><h2>Run</h2><table class=\"facts\">" + facts +
         "</table><h3>Training and held-out loss per job</h3><div class=\"chart\" id=\"chart-loss\"></div></section>";
}

/// The facts of an external bank (score --bank) in place of the run's: no training record, no models to sample.
std::string bank_section(const ReportModel& m) {
  const RunFacts& r = m.run;
  const std::string data = r.shape.empty()
                               ? fmt::format("{} examples (no images.npy: no images, no neighbours)", r.n)
                               : fmt::format("{} examples of shape {} (images.npy)", r.n, json(r.shape).dump());
  const std::string facts =
      fact("bank directory", r.dir) + fact("data", data) + fact("models", std::to_string(r.jobs)) +
      fact("read", readable(r.config)) + fact("versions", fmt::format("memscope {}", r.memscope_version)) +
      fact("examples on fewer models",
           fmt::format("{} (at most {} of {} models lost)", r.lost_examples, r.lost_most, r.jobs));
  return "<section id=\"run\"><h2>Bank</h2><p>An external bank of models: log p of every example under every model "
         "and which models trained on it, from another pipeline; the models are taken as independent draws. What needs "
         "a memscope run is not available: training and held-out losses, the nearest-neighbour ratio (models to "
         "sample) and \"Is it memorization?\" (the models' training data and its neighbours).</p>" +
         (r.statistic.empty()
              ? ""
              : "<p class=\"note\">The bank's statistic is " + html_escape(r.statistic) +
                    ", not a log-likelihood, so M is not defined: wherever this report shows M, it is the "
                    "in-minus-out difference of the statistic (its mean under the models that trained on the example "
                    "minus its mean under those that did not, turned so that higher means member; counterfactual "
                    "memorization, Zhang et al. 2021), with its error bar, test and null.</p>") +
         "<table class=\"facts\">" + facts + "</table></section>";
}

/// "How reproducible is this ranking": the split-half figures first, before any list of examples.
std::string reliability_section(const ReportModel& m) {
  std::string html = "<section id=\"reliability\"><h2>How reproducible is this ranking?</h2>";
  if (!m.reliability) return html + "<p>" + html_escape(unmeasured_reliability_sentence()) + "</p></section>";
  const Reliability& r = *m.reliability;
  auto row = [&](const char* name, const HalfAgreement& a) {
    return fmt::format("<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", name, fmt_num(a.spearman),
                       fmt_num(a.top5_overlap), fmt_num(a.whole_run),
                       std::isfinite(a.units_for_target) ? fmt::format("{:.0f}", std::ceil(a.units_for_target)) : "-");
  };
  return html + fmt::format(
                    "<p>{}</p><p class=\"note\">The models are split in two halves by {}; each half scores the "
                    "{} examples that have in- and out-models in both. Spearman-Brown projects the agreement of the "
                    "halves to the whole run and to more {}.</p><table class=\"facts\"><tr><th>score</th>"
                    "<th>split-half Spearman</th><th>top-5% overlap</th><th>projected, whole run</th>"
                    "<th>{} for {:.1f}</th></tr>{}{}</table>{}</section>",
                    html_escape(reliability_sentence(r)), r.unit == "models" ? "model" : "repeat", r.examples, r.unit,
                    r.unit, r.target, row("M", r.mem), row("mem_log", r.mem_log),
                    m.split_half.empty() ? "" : "<div class=\"chart\" id=\"chart-split-half\"></div>");
}

/// A warning above a list of top examples when the ranking is not reproducible, and how to read its images.
std::string top_list_warning(const ReportModel& m) {
  const std::string images = !m.top.empty() && !m.top[0].original.empty()
                                 ? "<p class=\"note\">Each image shows the example as it is; hover it to see it "
                                   "binarized, as the models saw it.</p>"
                                 : "";
  if (m.reliability && m.reliability->mem.whole_run >= 0.5) return images;
  return images + (m.reliability
                       ? "<p class=\"note\"><b>Projected reliability below 0.5: another run would mostly not "
                         "reproduce this list.</b></p>"
                       : "<p class=\"note\">How reproducible this list is was not measured (one repeat).</p>");
}

/// The part of the error bars from estimating each log p (a diffusion model's bound), when it has one.
std::string monte_carlo_kpi(const ReportModel& m) {
  if (!m.analysis.mem_mc_se_mean) return "";
  return fmt::format(
      "<div class=\"kpi\" title=\"added in quadrature to the spread between models\"><b>{}</b>"
      "mean Monte Carlo part (log p estimated; in quadrature)</div>",
      fmt_num(*m.analysis.mem_mc_se_mean));
}

std::string scores_section(const ReportModel& m) {
  std::string qrow;
  const Quantiles& q = m.analysis.mem_quantiles;
  for (size_t k = 0; k < q.probs.size(); ++k)
    qrow += fmt::format("<tr><th>q{:g}</th><td>{}</td></tr>", q.probs[k], fmt_num(q.values[k], 3));
  return fmt::format(
      "<section id=\"scores\"><h2>Scores</h2><div class=\"kpi\"><b>{}</b>mean M (nats; the balanced "
      "estimate, which ranks)</div><div class=\"kpi\" title=\"the log-mean-exp over all in-models minus over all "
      "out-models: biased upward when there are more in- than out-models\"><b>{}</b>mean of the paper's plug-in "
      "U - V</div>"
      "<div class=\"kpi\"><b>{}</b>mean standard error</div>{}"
      "<div class=\"kpi\"><b>{}</b>threshold of the paper's \"highly memorized\" (quantile {})</div>"
      "<div class=\"chart\" id=\"chart-hist\"></div>"
      "<table class=\"facts\">{}</table><h3>Most memorized</h3>{}<div class=\"grid\" id=\"grid-top\"></div>"
      "<h3>Least memorized</h3><div class=\"grid\" id=\"grid-bottom\"></div>"
      "<h3>All scores</h3><p class=\"note\">{} rows (the most memorized first, then an even spread of the rest). "
      "Click a column to sort.</p>"
      "<input id=\"filter\" placeholder=\"filter: index or label\" size=\"30\"> <span class=\"note\" id=\"shown\">"
      "</span><div class=\"scroll\"><table id=\"table\"></table></div></section>",
      fmt_num(m.analysis.mem_mean), fmt_num(m.analysis.mem_plugin_mean.value_or(NAN)), fmt_num(m.analysis.mem_se_mean),
      monte_carlo_kpi(m), fmt_num(std::isfinite(m.analysis.high_threshold) ? m.analysis.high_threshold : 0.0),
      m.high_quantile, qrow, top_list_warning(m), m.rows.size());
}

std::string analysis_sections(const ReportModel& m) {
  std::string html = fmt::format(
      "<section id=\"outliers\"><h2>Memorization versus outliers</h2><p>Examples binned by U = log P(x | D). "
      "<b>{:.1f}%</b> of the top 5% of M (the paper's \"highly memorized\", a quantile that exists even when "
      "nothing is memorized) have U in the central 90% of U (the paper: more than half). Rank correlation of M with U: "
      "{}, with V: {}.</p>"
      "<div class=\"chart\" id=\"chart-bins\"></div><h3>Most memorized examples per bin</h3>"
      "<div id=\"bin-examples\"></div></section>",
      100 * m.analysis.high_mem_central90_share, fmt_num(m.analysis.spearman_mem_logp_in, 3),
      fmt_num(m.analysis.spearman_mem_logp_out, 3));
  html +=
      "<section id=\"scatter\"><h2>M versus U</h2><p class=\"note\">Hover a point for its index, label, scores "
      "and image; drag to pan, scroll to zoom.</p><div class=\"chart\" id=\"chart-scatter\"></div></section>";
  html += epochs_evaluated(m) >= 2
              ? "<section id=\"training\"><h2>Over training</h2><div class=\"chart\" id=\"chart-epochs\"></div>"
                "<p class=\"note\" id=\"overlap\"></p></section>"
              : "<section id=\"training\"><h2>Over training</h2><p class=\"note\">M was evaluated at one epoch only, "
                "so there is nothing to follow over training: <code>--eval-every E</code> evaluates every E epochs."
                "</p></section>";
  html += m.run.bank && m.run.shape.empty()
              ? "<section id=\"neighbours\"><h2>Neighbours</h2><p class=\"note\">Not available: the bank has no "
                "images.npy.</p><div id=\"nbrs\"></div>"
              : "<section id=\"neighbours\"><h2>Neighbours</h2><p class=\"note\">The most memorized examples (red "
                "border) and their nearest examples in the data set by pixel l2 distance on [0, 1].</p>"
                "<div id=\"nbrs\"></div>";
  if (m.nn_ratio)
    html += "<h3>Nearest-neighbour ratio</h3><div class=\"chart\" id=\"chart-ratio\"></div>";
  else
    html += m.run.bank ? "<p class=\"note\">No nearest-neighbour ratio: a bank has no models to sample.</p>"
                       : "<p class=\"note\">No nearest-neighbour ratio: this model family cannot sample, or job 0 "
                         "has no saved weights.</p>";
  html += "</section><section id=\"classes\"><h2>Per class</h2>";
  html += m.analysis.classes.empty()
              ? "<p class=\"note\">The data set has no labels.</p>"
              : "<div class=\"chart\" id=\"chart-class\"></div><div class=\"chart\" id=\"chart-class-share\"></div>";
  html += "</section>";
  return html;
}

/// One row of the category table: count, share and its 95% interval.
std::string category_row(const std::string& name, const Share& share, const std::string& rule) {
  const std::string interval = std::isnan(share.share) ? "n/a"
                                                       : fmt::format("{} ({}-{})", fmt_num(share.share, 3),
                                                                     fmt_num(share.lo, 3), fmt_num(share.hi, 3));
  return fmt::format("<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", html_escape(name), share.count,
                     share.n, interval, html_escape(rule));
}

std::string memorization_section(const MemorizationCheck& c, double fdr) {
  const Verdict& v = c.verdict;
  const VerdictRule& r = v.rule;
  std::string sentences;
  for (const std::string& s : v.sentences) sentences += "<li>" + html_escape(s) + "</li>";
  std::string rows;
  rows += category_row("outlier", v.outlier,
                       fmt::format("U in the lowest {:.0f}%, or mean l2 to the {} nearest examples in the highest "
                                   "{:.0f}%",
                                   100 * r.outlier_share, v.neighbours, 100 * r.outlier_share));
  rows += category_row("high leverage", v.leverage,
                       fmt::format("leverage in the top {:.0f}% (Gaussian in the top {} principal components, {:.0f}% "
                                   "of the variance)",
                                   100 * r.leverage_share, v.leverage_components, 100 * v.leverage_variance_share));
  rows += category_row("learned", v.learned,
                       fmt::format("(S - S_control)/M significantly above {} (one-sided, z = {}); among examples with "
                                   "spillover",
                                   r.ratio, r.z));
  rows += category_row(
      "regenerated", v.regenerated,
      v.regeneration_checked ? "copied by a sample of at least one model (extract)" : "memscope extract has not run");
  rows += category_row("memorized inlier", v.inlier, "none of the above");
  const VerdictCorrelations& cr = v.correlations;
  return fmt::format(
      "<section id=\"is-memorization\"><h2>Is it memorization?</h2><ul class=\"verdict\">{}</ul>"
      "<p class=\"note\">The memorized examples (M significantly above 0 at FDR {}), split by the four objections; "
      "categories overlap except memorized inliers. Shares with 95% Wilson intervals (sampling of the examples only: "
      "the noise of M itself is not in them). Rank correlations of M with leverage {}, with the exact Gaussian "
      "leave-one-out score {}, with the distance to the nearest examples {}, with S {}.</p>"
      "<table class=\"facts\"><tr><th>category</th><th>examples</th><th>of</th><th>share (95% interval)</th>"
      "<th>rule</th></tr>{}</table>"
      "<h3>M against neighbour spillover S</h3><p class=\"note\">S(x): how much the log density of x's neighbours "
      "falls when x leaves the training set (mean over its {} nearest examples with models on both sides). A model "
      "that memorizes x has S near 0; one that learned from x has S near M (dashed line). S/M quantiles over the "
      "memorized: q0.25 {}, median {}, q0.75 {} ({} examples); the control S_control onto random other "
      "examples (falls common to all examples, e.g. a worse model among few) has median S_control/M {}, and the "
      "neighbourhood-specific (S - S_control)/M median {}.</p>{}"
      "<h3>Examples per category</h3><div id=\"categories\"></div></section>",
      sentences, fdr, fmt_num(cr.leverage, 3), fmt_num(cr.loo_mem, 3), fmt_num(cr.nn_dist, 3), fmt_num(cr.spill, 3),
      rows, v.neighbours, fmt_num(v.ratio_high.at(0.25)), fmt_num(v.ratio_high.at(0.5)), fmt_num(v.ratio_high.at(0.75)),
      v.ratio_high.n, fmt_num(v.control_ratio_high.at(0.5)), fmt_num(v.net_ratio_high.at(0.5)),
      c.points.empty() ? "<p class=\"note\">Not enough models: no example has a neighbour with models where the "
                         "example is out and the neighbour in.</p>"
                       : "<div class=\"chart\" id=\"chart-spill\"></div>");
}

/// "mean +- sd" of a spread over targets, or "n/a" with the reason as a tooltip; `extra` inside the cell.
std::string spread_cell(const Spread& s, const std::string& extra = "") {
  if (!std::isfinite(s.mean)) return fmt::format("<td title=\"{}\">n/a{}</td>", html_escape(s.unavailable), extra);
  return fmt::format("<td title=\"{}\">{} &plusmn; {}{}</td>", html_escape(s.unavailable), fmt_num(s.mean, 4),
                     fmt_num(s.sd, 4), extra);
}

/// What the permutation null gives for a figure, and a mark when the figure does not clear it.
std::string noise_note(const AttackNull& null, const Spread& null_spread, double figure) {
  if (null.draws <= 0 || !std::isfinite(null_spread.mean)) return "";
  return fmt::format("<br><span class=\"noise\">noise {}{}</span>", fmt_num(null_spread.mean, 4),
                     above_null(figure, null_spread) ? "" : ": <b>not above what noise gives</b>");
}

/// A table row per attack: AUC and TPR at 10%, 1%, 0.1% FPR, over targets then pooled, each with what noise
/// gives; each row opens with `lead` when given (the timestep of the denoising table).
std::string attack_table_rows(const std::vector<AttackResult>& attacks, const std::string& lead = "") {
  std::string rows;
  for (const AttackResult& a : attacks) {
    rows += "<tr>" + lead + "<th>" + html_escape(to_string(a.attack)) + "</th>";
    if (!a.unavailable.empty()) {
      rows += fmt::format("<td colspan=\"8\">not measured: {}</td></tr>", html_escape(a.unavailable));
      continue;
    }
    rows += spread_cell(a.auc, noise_note(a.null, a.null.auc, a.auc.mean));
    for (const Spread& t : a.tpr) rows += spread_cell(t);
    rows += fmt::format("<td>{}</td>", fmt_num(a.pooled_auc, 4));
    for (size_t k = 0; k < a.pooled_tpr.size(); ++k)
      rows +=
          fmt::format("<td>{}{}</td>", fmt_num(a.pooled_tpr[k], 4), noise_note(a.null, a.null.tpr[k], a.pooled_tpr[k]));
    rows += "</tr>";
  }
  return rows;
}

const char* const kAttackHeader =
    "<th>attack</th><th>AUC</th><th>TPR at 10% FPR</th><th>at 1%</th><th>at 0.1%</th><th>pooled AUC</th>"
    "<th>pooled TPR at 10%</th><th>at 1%</th><th>at 0.1%</th></tr>";

/// The attacks on a diffusion model's denoising loss, one block of rows per loss timestep.
std::string denoise_table(const MembershipView& v) {
  if (v.denoise.empty()) return "";
  std::string rows;
  for (const auto& [t, attacks] : v.denoise) rows += attack_table_rows(attacks, fmt::format("<th>{}</th>", t));
  return fmt::format(
      "<h3>On the denoising loss</h3><p>The statistic of Carlini et al. (2023): minus the example's denoising loss "
      "at timestep t (the same noise for every model), instead of log p.</p><table class=\"facts\" "
      "id=\"membership-denoise\"><tr><th>t</th>{}{}</table>",
      kAttackHeader, rows);
}

std::string membership_section(const MembershipView& v) {
  const std::string rows = attack_table_rows(v.attacks);
  return fmt::format(
      "<section id=\"membership\"><h2>Membership inference</h2><p>Each of the {} models in turn is the target "
      "(members: its training examples; references: the models outside its repeat, in equal numbers for members and "
      "non-members, so that noise alone scores AUC 0.5). LiRA variances: {}; RMIA gamma {}. Mean "
      "&plusmn; sd over targets; an FPR below 1 / (non-members of a target) is not measurable (n/a; hover for why). "
      "Under each figure, what the same attack gives with membership permuted among examples (noise); a figure "
      "that does not clear it (above every permutation and their mean plus 3 sd) is marked.</p><table "
      "class=\"facts\"><tr>{}{}</table>{}<h3>ROC pooled over targets (log-log)</h3><div class=\"chart\" "
      "id=\"chart-roc\"></div>"
      "<h3>Membership risk versus M</h3><p>Per example, the risk is the AUC with which {} tells its in-models from "
      "its out-models. Spearman rank correlation with M: <b>{}</b> ({} examples).</p>"
      "<div class=\"chart\" id=\"chart-risk\"></div><h3>Most exposed examples</h3>"
      "<div class=\"grid\" id=\"grid-exposed\"></div></section>",
      v.models, html_escape(v.lira_variance), fmt_num(v.rmia_gamma), kAttackHeader, rows, denoise_table(v),
      html_escape(v.risk_attack), fmt_num(v.spearman_risk_mem, 3), v.examples_with_risk);
}

std::string validation_section(const ValidationFile& v) {
  std::string rows;
  for (const auto& [key, a] : {std::pair{"kfold_estimate_vs_kfold_target", &v.kfold_estimate_vs_kfold_target},
                               std::pair{"kfold_estimate_vs_loo", &v.kfold_estimate_vs_loo},
                               std::pair{"kfold_target_vs_loo", &v.kfold_target_vs_loo}})
    rows += fmt::format("<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td></tr>", html_escape(key),
                        fmt_num(a->spearman, 4), fmt_num(a->max_abs_error, 4), fmt_num(a->top5_agreement, 3));
  return fmt::format(
      "<section id=\"validation\"><h2>Validation against exact values</h2><p class=\"note\">From memscope exact ({}) "
      "on {}: the K-fold estimate of this run against the exact K-fold target and exact leave-one-out.</p>"
      "<table class=\"facts\"><tr><th>comparison</th><th>Spearman</th><th>max |error| (nats)</th>"
      "<th>top-5% agreement</th></tr>{}</table></section>",
      html_escape(v.model), html_escape(v.exact_dir), rows);
}

std::string extraction_section(const ExtractionFile& x) {
  std::string rows;
  for (const ExtractionModel& m : x.models)
    rows += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.5f}</td><td>{:.5f}</td><td>{}</td></tr>", m.job,
                        m.copies_of_training, m.copies_of_held_out, m.copies_per_training_example,
                        m.copies_per_held_out_example, fmt_num(m.ct));
  const ExtractionOverall& o = x.overall;
  auto count = [](int64_t v) { return std::to_string(v); };
  return fmt::format(
      "<section id=\"extraction\"><h2>Regeneration: training images the models reproduce</h2>"
      "<p>Adaptive rule (l2 / (alpha x mean l2 to the nearest examples) &lt;= 1): <b>{}</b> samples copy a training "
      "example of their model, <b>{}</b> copy a held-out one (a copy of a held-out example is generalisation, not "
      "memorization); rates {} vs {} (difference {}). Plain l2 rule: {} vs {}. Examples copied: {}; rank "
      "correlation of M with the number of models copying an example: {}; mean M of copied examples {} vs {} of the "
      "rest.</p><table class=\"facts\"><tr><th>job</th><th>copies of training</th><th>of held-out</th>"
      "<th>per training example</th><th>per held-out example</th><th>C_T (Meehan et al.; negative: copying)</th>"
      "</tr>{}</table><h3>Closest copies (sample, then the training image)</h3><div id=\"pairs\" class=\"grid\">"
      "</div></section>",
      count(o.copies_of_training), count(o.copies_of_held_out), fmt_num(o.copy_rate_training, 5),
      fmt_num(o.copy_rate_held_out, 5), fmt_num(o.copy_rate_difference, 5), count(o.l2_copies_of_training),
      count(o.l2_copies_of_held_out), count(o.examples_copied), fmt_num(o.spearman_mem_models_copying, 3),
      fmt_num(o.mem_mean_copied), fmt_num(o.mem_mean_not_copied), rows);
}

/// The document's head: the Content Security Policy (no network request of any kind) and the style.
std::string head() {
  std::string css(kPageCss);
  if (!css.empty() && css.back() == '\n') css.pop_back();
  return "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\n"
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline' "
         "'unsafe-eval'; style-src 'unsafe-inline'; img-src data:; font-src 'none'; connect-src 'none'\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>memscope report</title><style>\n" +
         css + "</style></head><body>";
}

std::string script(const char* name, const std::string& js) {
  // Inline scripts end at the first "</script"; the libraries never contain one, but be sure.
  MEMSCOPE_CHECK(js.find("</script") == std::string::npos, "report: ", name,
                 " cannot be inlined (it contains "
                 "\"</script\")");
  return "<script>" + js + "</script>";
}

/// The report's first lines: how many examples are memorized, beside what noise alone gives.
std::string headline(const ReportModel& m) {
  std::string noise = "no permutation null was run (--null-draws 0)";
  if (m.mem_null && m.mem_null->draws > 0)
    noise = fmt::format("noise alone (membership permuted among examples, {} draws) gives {} on average",
                        m.mem_null->draws, fmt_num(m.mem_null->discoveries.mean, 2));
  if (!m.run.statistic.empty())
    return fmt::format(
        "<p class=\"headline\"><b>{} of {} examples with a significant in-minus-out difference</b> of {} (M is not "
        "defined: not a log-likelihood), above 0 at a false-discovery rate of {} (Benjamini-Hochberg); {}.</p>",
        m.analysis.n_discovered, m.analysis.n, html_escape(m.run.statistic), fmt_num(m.analysis.fdr), noise);
  const std::string again =
      std::isfinite(m.replication)
          ? fmt::format(
                " A second run with another seed would find about <b>{:.0f}%</b> of them again (predicted "
                "from the reliability of M, <a href=\"#reliability\">below</a>).",
                100 * m.replication)
          : "";
  return fmt::format(
      "<p class=\"headline\"><b>{} of {} examples memorized</b>: M significantly above 0 at a false-discovery rate "
      "of {} (Benjamini-Hochberg); {}.{}</p>",
      m.analysis.n_discovered, m.analysis.n, fmt_num(m.analysis.fdr), noise, again);
}

}  // namespace

std::string render_html(const ReportModel& m, const ReportAssets& assets) {
  std::string html = head();
  html += fmt::format("<header><h1>memscope report</h1><p>{}</p>{}</header>",
                      html_escape(m.run.data + " - " + m.run.dir), headline(m));
  html += std::string("<nav><a href=\"#reliability\">Reproducible?</a><a href=\"#run\">") +
          (m.run.bank ? "Bank" : "Run") +
          "</a><a href=\"#scores\">Scores</a><a href=\"#outliers\">Memorization vs outliers"
          "</a><a href=\"#scatter\">M vs U</a><a href=\"#training\">Over training</a><a href=\"#neighbours\">Neighbours"
          "</a><a href=\"#classes\">Classes</a>";
  if (m.memorization_check) html += "<a href=\"#is-memorization\">Is it memorization?</a>";
  if (m.membership) html += "<a href=\"#membership\">Membership</a>";
  if (m.validation) html += "<a href=\"#validation\">Validation</a>";
  if (m.extraction) html += "<a href=\"#extraction\">Regeneration</a>";
  html += "</nav><main>";
  html += reliability_section(m) + (m.run.bank ? bank_section(m) : run_section(m)) + scores_section(m) +
          analysis_sections(m);
  if (m.memorization_check) html += memorization_section(*m.memorization_check, m.analysis.fdr);
  if (m.membership) html += membership_section(*m.membership);
  if (m.validation) html += validation_section(*m.validation);
  if (m.extraction) html += extraction_section(*m.extraction);
  html += "</main>";
  html += "<script type=\"application/json\" id=\"page-data\">" + script_json(page_data(m)) + "</script>";
  html += script("vega.min.js", assets.vega);
  html += script("vega-lite.min.js", assets.vega_lite);
  html += script("vega-embed.min.js", assets.vega_embed);
  html += script("web/page.js", std::string("\n") + kPageJs) + "</body></html>\n";
  return html;
}

}  // namespace memscope
