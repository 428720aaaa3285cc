#include "memscope/report/report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "memscope/analysis/analysis.h"
#include "memscope/analysis/neighbours.h"
#include "memscope/core/config.h"
#include "memscope/core/error.h"
#include "memscope/core/progress.h"
#include "memscope/core/seeds.h"
#include "memscope/core/version.h"
#include "memscope/data/loaders.h"
#include "memscope/io/atomic.h"
#include "memscope/io/npy.h"
#include "memscope/pipeline/finished_run.h"
#include "memscope/report/images.h"
#include "memscope/score/scores.h"
#include "memscope/train/trainer.h"

namespace memscope {

namespace fs = std::filesystem;
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

constexpr int64_t kNeighbours = 5;

/// JSON for a <script type="application/json"> block: "</" cannot end the element.
std::string script_json(const json& j) {
  std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '<' && i + 1 < s.size() && s[i + 1] == '/') out += "<\\";
    else out += s[i];
  }
  return out;
}

json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

std::string fmt_num(double v, int digits = 2) { return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : "n/a"; }

/// A JSON value as a number (fallback when it is not one: null, missing).
double as_double(const json& j, double fallback = NAN) { return j.is_number() ? j.get<double>() : fallback; }
/// A JSON value shown with `digits` decimals, "n/a" when it is not a finite number.
std::string shown(const json& j, int digits = 2) { return fmt_num(as_double(j), digits); }

/// The image of example i as a data URI ("" for tabular data).
std::string image_uri(const FinishedRun& r, int64_t i) {
  if (!r.images) return "";
  return png_data_uri(r.data.x[i].view({r.data.shape[0], r.data.shape[1], r.data.shape[2]}));
}

std::string read_asset(const std::string& dir, const std::string& rel) {
  const std::string path = dir + "/" + rel;
  MEMSCOPE_CHECK(fs::exists(path), "report: ", path, " not found; run scripts/setup.sh (npm ci in report/)");
  std::string js = read_file(path);
  // Inline scripts end at the first "</script"; the libraries never contain one, but be sure.
  MEMSCOPE_CHECK(js.find("</script") == std::string::npos, "report: ", path, " cannot be inlined");
  return js;
}

/// The nearest-neighbour ratio of the paper for every example: distance to the nearest held-out
/// real image (of job 0) over distance to the nearest of as many samples of job 0's model.
/// Undefined tensor when the model cannot sample or job 0 has no saved weights.
torch::Tensor nn_ratio(const FinishedRun& r, const std::string& dir, json& info) {
  if (!fs::exists(dir + "/jobs/job-00000/model.pt") || r.mask.size(1) == 0) return {};
  auto model = load_job_model(r, 0);
  torch::Tensor held_out = (~r.mask.select(1, 0).to(torch::kBool)).nonzero().flatten();
  const int64_t m = held_out.size(0);
  if (m < 2) return {};
  torch::Tensor samples = model->sample(0, m, make_generator(derive_seed(r.cfg.seed, SeedTag::kEval, {~0ULL})));
  if (!samples.defined()) return {};
  // A held-out example is not its own nearest held-out neighbour.
  torch::Tensor own = torch::full({r.data.size()}, -1, torch::kInt64);
  own.index_put_({held_out}, torch::arange(m));
  const torch::Tensor real =
      nearest_neighbours(r.data.x, r.data.x.index_select(0, held_out), 1, own, progress_lines("report", "nearest held-out image", "examples"))
          .distance.select(1, 0);
  const torch::Tensor fake =
      nearest_neighbours(r.data.x, samples, 1, {}, progress_lines("report", "nearest model sample", "examples")).distance.select(1, 0);
  info = {{"job", 0}, {"held_out_real", m}, {"model_samples", m}, {"sample", "decoder mean of z ~ N(0, I)"}};
  return real / fake.clamp_min(1e-12);
}

json vl(json spec) {
  spec["$schema"] = "https://vega.github.io/schema/vega-lite/v5.json";
  if (!spec.contains("width")) spec["width"] = "container";
  return spec;
}

}  // namespace

std::string default_asset_dir() {
  const char* env = std::getenv("MEMSCOPE_ASSETS");
  return env && *env ? env : MEMSCOPE_ASSET_DIR;
}

json write_report(const ReportConfig& c) {
  const std::string& dir = c.run_dir;
  spdlog::info("report: reading {}", dir);
  const FinishedRun r = load_finished_run(dir);
  const Scores& s = r.scores;
  const int64_t N = r.data.size();
  const MemAnalysis a = analyse_memorization(s, r.data.label, r.mem_by_epoch, r.epochs, c.high_quantile);
  const int64_t* idx = r.data.index.data_ptr<int64_t>();
  const int64_t* lab = r.data.label.data_ptr<int64_t>();

  // Examples by M, most memorized first (NaN last).
  std::vector<int64_t> order(N);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t i, int64_t j) {
    const double a_ = std::isfinite(s.mem[i]) ? s.mem[i] : -INFINITY, b_ = std::isfinite(s.mem[j]) ? s.mem[j] : -INFINITY;
    return a_ > b_;
  });
  const int64_t grid = std::min(c.grid, N);
  std::vector<int64_t> top(order.begin(), order.begin() + grid);
  std::vector<int64_t> bottom;
  for (int64_t k = N - 1; k >= 0 && int64_t(bottom.size()) < grid; --k)
    if (std::isfinite(s.mem[order[k]])) bottom.push_back(order[k]);
  // Rows of the table and scatter: the most memorized, then an even spread of the rest.
  std::vector<int64_t> rows;
  const int64_t max_rows = std::min(c.max_rows, N);
  const int64_t head = std::min(max_rows, std::max<int64_t>(max_rows / 2, a.summary["n_high"].get<int64_t>()));
  rows.assign(order.begin(), order.begin() + head);
  const int64_t rest = max_rows - head;
  for (int64_t k = 0; k < rest; ++k) rows.push_back(order[head + k * (N - head) / std::max<int64_t>(1, rest)]);

  auto example = [&](int64_t i, bool with_image) {
    json e = {{"row", i},           {"index", idx[i]},         {"label", lab[i]},
              {"mem", num(s.mem[i])}, {"mem_se", num(s.mem_se[i])}, {"logp_in", num(s.logp_in[i])},
              {"logp_out", num(s.logp_out[i])}, {"n_in", s.n_in[i]}, {"n_out", s.n_out[i]},
              {"high", bool(a.high[i])}};
    if (with_image && r.images) e["image"] = image_uri(r, i);
    return e;
  };

  // Neighbours of the most memorized examples.
  spdlog::info("report: nearest neighbours of the {} most memorized examples", grid);
  json neighbours = json::array();
  if (grid > 0) {
    torch::Tensor q = torch::tensor(top, torch::kInt64);
    const Neighbours nb = nearest_neighbours(r.data.x.index_select(0, q), r.data.x, kNeighbours, q);
    for (int64_t t = 0; t < grid; ++t) {
      json list = json::array();
      for (int64_t k = 0; k < nb.index.size(1); ++k) {
        json e = example(nb.index[t][k].item<int64_t>(), true);
        e["distance"] = nb.distance[t][k].item<double>();
        list.push_back(e);
      }
      neighbours.push_back({{"example", example(top[t], true)}, {"neighbours", list}});
    }
  }
  spdlog::info("report: nearest-neighbour ratio of every example");
  json ratio_info = nullptr;
  const torch::Tensor ratio = nn_ratio(r, dir, ratio_info);
  json ratio_summary = nullptr;
  std::vector<json> ratio_points;
  if (ratio.defined()) {
    std::vector<double> reg, hi;
    for (int64_t i = 0; i < N; ++i) (a.high[i] ? hi : reg).push_back(ratio[i].item<double>());
    ratio_summary = ratio_info;
    for (auto [name, v] : {std::pair{"regular", &reg}, std::pair{"high", &hi}})
      ratio_summary[name] = {{"n", v->size()}, {"q0.25", num(quantile(*v, 0.25))}, {"median", num(quantile(*v, 0.5))},
                             {"q0.75", num(quantile(*v, 0.75))}};
    for (int64_t i : rows) ratio_points.push_back({{"group", a.high[i] ? "highly memorized" : "regular"}, {"ratio", ratio[i].item<double>()}});
  }

  // Run facts.
  const json& jobs = r.config.value("jobs", json::array());
  double train_s = 0, eval_s = 0;
  json losses = json::array(), failed = json::array();
  for (const auto& j : jobs) {
    train_s += j.value("train_seconds", 0.0);
    eval_s += j.value("eval_seconds", 0.0);
    if (j.value("status", "") != "ok") failed.push_back({{"id", j.value("id", -1)}, {"status", j.value("status", "")}, {"diverged_epoch", j.value("diverged_epoch", 0)}});
    for (const auto& [key, kind] : {std::pair{"train_loss", "training"}, std::pair{"heldout_loss", "held-out"}})
      if (j.contains(key))
        for (size_t e = 0; e < j[key].size(); ++e)
          losses.push_back({{"job", j.value("id", -1)}, {"epoch", e + 1}, {"loss", j[key][e]}, {"set", kind}});
  }
  const ModelsLost lost = models_lost(r.scores, int64_t(jobs.size()));
  json summary = {
      {"memscope_version", kVersion},
      {"run", {{"dir", dir}, {"data", r.data.name}, {"n", N}, {"shape", r.data.shape}, {"config", r.config.value("config", json::object())},
               {"torch_version", r.config.value("torch_version", "")}, {"jobs", jobs.size()}, {"failed_jobs", failed},
               {"models_lost", {{"examples", lost.examples}, {"most_per_example", lost.most}}},
               {"seconds", {{"train", train_s}, {"evaluate", eval_s}}}}},
      {"scores", a.summary},
      {"top", json::array()},
      {"nn_ratio", ratio_summary},
  };
  for (int64_t i : top) summary["top"].push_back(example(i, false));
  for (const char* key : {"high_mem_central90_share", "spearman_mem_logp_in", "spearman_mem_logp_out"})
    summary[key] = a.summary[key];

  // Charts (Vega-Lite).
  json specs = json::object();
  specs["chart-loss"] = vl({{"data", {{"values", losses}}}, {"mark", {{"type", "line"}, {"point", losses.size() < 400}}},
                            {"encoding", {{"x", {{"field", "epoch"}, {"type", "quantitative"}}},
                                          {"y", {{"field", "loss"}, {"type", "quantitative"}, {"scale", {{"zero", false}}}, {"title", "loss (negative ELBO, nats)"}}},
                                          {"color", {{"field", "job"}, {"type", "nominal"}}},
                                          {"strokeDash", {{"field", "set"}, {"type", "nominal"}}}}},
                            {"height", 220}});
  json mem_values = json::array();
  for (int64_t i = 0; i < N; ++i)
    if (std::isfinite(s.mem[i])) mem_values.push_back({{"mem", s.mem[i]}, {"label", lab[i]}});
  const double thr = as_double(a.summary["high_threshold"], 0.0);
  specs["chart-hist"] = vl({{"height", 220},
                            {"layer", {{{"data", {{"values", mem_values}}}, {"mark", "bar"},
                                        {"encoding", {{"x", {{"field", "mem"}, {"bin", {{"maxbins", 60}}}, {"title", "memorization score M (nats)"}}},
                                                      {"y", {{"aggregate", "count"}, {"title", "examples"}}}}}},
                                       {{"data", {{"values", {{{"q", thr}}}}}}, {"mark", {{"type", "rule"}, {"color", "#c0392b"}, {"strokeWidth", 2}}},
                                        {"encoding", {{"x", {{"field", "q"}, {"type", "quantitative"}}}}}}}}});
  json bin_rows = json::array();
  for (const auto& b : a.summary["logp_in_bins"]) {
    const std::string name = fmt::format("{:02d}: {}", b["bin"].get<int64_t>(), fmt_num(b["center"].get<double>(), 0));
    bin_rows.push_back({{"bin", name}, {"kind", "regular"}, {"count", b["regular"]}, {"proportion", b["proportion_high"]}});
    bin_rows.push_back({{"bin", name}, {"kind", "highly memorized"}, {"count", b["high"]}, {"proportion", b["proportion_high"]}});
  }
  specs["chart-bins"] = vl({{"data", {{"values", bin_rows}}}, {"height", 220},
                            {"mark", "bar"},
                            {"encoding", {{"x", {{"field", "bin"}, {"type", "ordinal"}, {"title", "bin of log P(x | D) (centre, nats)"}}},
                                          {"y", {{"field", "count"}, {"type", "quantitative"}, {"stack", "zero"}}},
                                          {"color", {{"field", "kind"}, {"type", "nominal"}, {"scale", {{"domain", {"regular", "highly memorized"}}, {"range", {"#95a5a6", "#c0392b"}}}}}},
                                          {"tooltip", {{{"field", "bin"}}, {{"field", "kind"}}, {{"field", "count"}}, {{"field", "proportion"}, {"format", ".3f"}}}}}}});
  json points = json::array();
  for (int64_t i : rows) {
    json p = example(i, true);
    p["group"] = a.high[i] ? "highly memorized" : "regular";
    points.push_back(p);
  }
  json tooltip = {{{"field", "index"}}, {{"field", "label"}}, {{"field", "mem"}, {"format", ".2f"}}, {{"field", "mem_se"}, {"format", ".2f"}},
                  {{"field", "logp_in"}, {"format", ".1f"}}, {{"field", "logp_out"}, {"format", ".1f"}}};
  if (r.images) tooltip.push_back({{"field", "image"}});
  specs["chart-scatter"] = vl({{"data", {{"values", points}}}, {"height", 360},
                               {"mark", {{"type", "point"}, {"filled", true}, {"opacity", 0.6}}},
                               {"params", {{{"name", "zoom"}, {"select", "interval"}, {"bind", "scales"}}}},
                               {"encoding", {{"x", {{"field", "logp_in"}, {"type", "quantitative"}, {"scale", {{"zero", false}}}, {"title", "U = log P(x | D)"}}},
                                             {"y", {{"field", "mem"}, {"type", "quantitative"}, {"title", "M (nats)"}}},
                                             {"color", {{"field", "group"}, {"type", "nominal"}, {"scale", {{"domain", {"highly memorized", "regular"}}, {"range", {"#c0392b", "#7f8c8d"}}}}}},
                                             {"tooltip", tooltip}}}});
  json epoch_rows = json::array();
  for (const auto& e : a.summary["over_epochs"]) {
    epoch_rows.push_back({{"epoch", e["epoch"]}, {"series", "quantile 0.95 of M"}, {"value", e["q0.95"]}});
    epoch_rows.push_back({{"epoch", e["epoch"]}, {"series", "quantile 0.999 of M"}, {"value", e["q0.999"]}});
  }
  specs["chart-epochs"] = vl({{"data", {{"values", epoch_rows}}}, {"height", 220}, {"mark", {{"type", "line"}, {"point", true}}},
                              {"encoding", {{"x", {{"field", "epoch"}, {"type", "quantitative"}}},
                                            {"y", {{"field", "value"}, {"type", "quantitative"}, {"title", "M (nats)"}}},
                                            {"color", {{"field", "series"}, {"type", "nominal"}}}}}});
  if (!ratio_points.empty())
    specs["chart-ratio"] = vl({{"data", {{"values", ratio_points}}}, {"height", 200}, {"mark", {{"type", "boxplot"}, {"extent", 1.5}}},
                               {"encoding", {{"y", {{"field", "group"}, {"type", "nominal"}, {"title", nullptr}}},
                                             {"x", {{"field", "ratio"}, {"type", "quantitative"}, {"scale", {{"type", "log"}}},
                                                    {"title", "nearest held-out real / nearest model sample (distance ratio)"}}}}}});
  if (!a.summary["classes"].empty()) {
    specs["chart-class"] = vl({{"data", {{"values", mem_values}}}, {"height", 240}, {"mark", {{"type", "boxplot"}, {"extent", 1.5}}},
                               {"encoding", {{"x", {{"field", "label"}, {"type", "nominal"}}},
                                             {"y", {{"field", "mem"}, {"type", "quantitative"}, {"title", "M (nats)"}}}}}});
    specs["chart-class-share"] = vl({{"data", {{"values", a.summary["classes"]}}}, {"height", 200}, {"mark", "bar"},
                                     {"encoding", {{"x", {{"field", "label"}, {"type", "nominal"}}},
                                                   {"y", {{"field", "share_high"}, {"type", "quantitative"}, {"title", "share highly memorized"}}}}}});
  }

  // Per-bin examples (the three most memorized of each bin).
  json bin_examples = json::array();
  {
    const auto& bins = a.summary["logp_in_bins"];
    std::vector<std::vector<int64_t>> per(bins.size());
    for (int64_t i : order) {
      if (!std::isfinite(s.logp_in[i])) continue;
      for (size_t b = 0; b < bins.size(); ++b) {
        const double lo = as_double(bins[b]["lo"], -INFINITY), hi = as_double(bins[b]["hi"], INFINITY);
        if (s.logp_in[i] >= lo && s.logp_in[i] < hi && per[b].size() < 3) per[b].push_back(i);
      }
    }
    for (size_t b = 0; b < per.size(); ++b) {
      json list = json::array();
      for (int64_t i : per[b]) list.push_back(example(i, true));
      bin_examples.push_back({{"bin", b}, {"examples", list}});
    }
  }
  json table = json::array();
  for (int64_t i : rows) table.push_back(example(i, false));
  json grids = {{"top", json::array()}, {"bottom", json::array()}};
  for (int64_t i : top) grids["top"].push_back(example(i, true));
  for (int64_t i : bottom) grids["bottom"].push_back(example(i, true));
  json page_pairs = json::array();
  const json page_base = {{"specs", specs},         {"table", table},
                     {"grids", grids},         {"neighbours", neighbours},
                     {"bin_examples", bin_examples}, {"over_epochs", a.summary["over_epochs"]}};

  // The page.
  const std::string assets = c.asset_dir.empty() ? default_asset_dir() : c.asset_dir;
  std::string html;
  auto fact = [](const std::string& k, const std::string& v) {
    return fmt::format("<tr><th>{}</th><td>{}</td></tr>", html_escape(k), html_escape(v));
  };
  const json& cj = r.config.value("config", json::object());
  std::string facts = fact("run directory", dir) + fact("data", fmt::format("{} ({} examples of shape {})", r.data.name, N, json(r.data.shape).dump())) +
                      fact("model", cj.value("model", json::object()).dump()) + fact("training", cj.value("train", json::object()).dump()) +
                      fact("plan", cj.value("plan", json::object()).dump() + fmt::format(", {} jobs", jobs.size())) +
                      fact("evaluation", cj.value("eval", json::object()).dump()) + fact("seed", cj.value("seed", json(0)).dump()) +
                      fact("versions", fmt::format("memscope {}, LibTorch {}", r.config.value("memscope_version", ""), r.config.value("torch_version", ""))) +
                      fact("time", fmt::format("training {:.1f} s, evaluation {:.1f} s (summed over jobs)", train_s, eval_s)) +
                      fact("failed or diverged jobs", failed.empty() ? "none" : failed.dump()) +
                      fact("examples on fewer models", fmt::format("{} (at most {} of {} models lost; n_in and n_out say how many remain)",
                                                                  lost.examples, lost.most, jobs.size()));
  const auto& q = a.summary["mem_quantiles"];
  std::string qrow;
  for (auto it = q.begin(); it != q.end(); ++it) qrow += fmt::format("<tr><th>{}</th><td>{}</td></tr>", html_escape(it.key()), shown(it.value(), 3));
  const double central = as_double(a.summary["high_mem_central90_share"]);
  html += R"(<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data:; font-src 'none'; connect-src 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>memscope report</title><style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#2c3e50;color:#fff;padding:16px 32px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;opacity:.8}
nav{position:sticky;top:0;background:#fff;border-bottom:1px solid #ddd;padding:8px 32px;z-index:5}nav a{margin-right:16px;color:#2c3e50;text-decoration:none}
main{padding:8px 32px 64px;max-width:1200px}section{background:#fff;border:1px solid #e3e3e3;border-radius:8px;padding:16px 24px;margin:18px 0}
h2{margin-top:0;font-size:19px}table.facts th{text-align:left;padding-right:16px;vertical-align:top;white-space:nowrap}table.facts td{font-family:monospace;font-size:12px}
.chart{width:100%;min-height:120px}.kpi{display:inline-block;margin:0 24px 12px 0}.kpi b{display:block;font-size:24px}
.grid{display:flex;flex-wrap:wrap;gap:10px}.cell{font-size:11px;text-align:center;width:92px}.cell img{width:64px;height:64px;image-rendering:pixelated;border:1px solid #ccc}
.nrow{display:flex;align-items:center;gap:12px;margin:6px 0}.nrow .cell:first-child img{border:2px solid #c0392b}
#table{border-collapse:collapse;font-size:12px;width:100%}#table th{cursor:pointer;background:#eee;position:sticky;top:0}#table td,#table th{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}
.note{color:#555;font-size:13px}.scroll{max-height:420px;overflow:auto;border:1px solid #eee}</style></head><body>)";
  html += fmt::format("<header><h1>memscope report</h1><p>{}</p></header>", html_escape(r.data.name + " - " + dir));
  html += R"(<nav><a href="#run">Run</a><a href="#scores">Scores</a><a href="#outliers">Memorization vs outliers</a><a href="#scatter">M vs U</a><a href="#training">Over training</a><a href="#neighbours">Neighbours</a><a href="#classes">Classes</a>)";
  if (fs::exists(dir + "/validation.json")) html += R"(<a href="#validation">Validation</a>)";
  if (fs::exists(dir + "/extraction.json")) html += R"(<a href="#extraction">Regeneration</a>)";
  html += "</nav><main>";
  html += "<section id=\"run\"><h2>Run</h2><table class=\"facts\">" + facts + "</table><h3>Training and held-out loss per job</h3><div class=\"chart\" id=\"chart-loss\"></div></section>";
  html += fmt::format(
      "<section id=\"scores\"><h2>Scores</h2><div class=\"kpi\"><b>{}</b>mean M (nats)</div><div class=\"kpi\"><b>{}</b>mean standard error</div>"
      "<div class=\"kpi\"><b>{}</b>threshold of \"highly memorized\" (quantile {})</div><div class=\"chart\" id=\"chart-hist\"></div>"
      "<table class=\"facts\">{}</table><h3>Most memorized</h3><div class=\"grid\" id=\"grid-top\"></div><h3>Least memorized</h3><div class=\"grid\" id=\"grid-bottom\"></div>"
      "<h3>All scores</h3><p class=\"note\">{} rows (the most memorized first, then an even spread of the rest). Click a column to sort.</p>"
      "<input id=\"filter\" placeholder=\"filter: index or label\" size=\"30\"> <span class=\"note\" id=\"shown\"></span><div class=\"scroll\"><table id=\"table\"></table></div></section>",
      shown(a.summary["mem_mean"]), shown(a.summary["mem_se_mean"]),
      fmt_num(thr), c.high_quantile, qrow, rows.size());
  html += fmt::format(
      "<section id=\"outliers\"><h2>Memorization versus outliers</h2><p>Examples binned by U = log P(x | D). "
      "<b>{:.1f}%</b> of the highly memorized examples have U in the central 90% of U (the paper: more than half), so they are not simply outliers. "
      "Rank correlation of M with U: {}, with V: {}.</p><div class=\"chart\" id=\"chart-bins\"></div><h3>Most memorized examples per bin</h3><div id=\"bin-examples\"></div></section>",
      100 * central, shown(a.summary["spearman_mem_logp_in"], 3), shown(a.summary["spearman_mem_logp_out"], 3));
  html += "<section id=\"scatter\"><h2>M versus U</h2><p class=\"note\">Hover a point for its index, label, scores and image; drag to pan, scroll to zoom.</p><div class=\"chart\" id=\"chart-scatter\"></div></section>";
  html += "<section id=\"training\"><h2>Over training</h2><div class=\"chart\" id=\"chart-epochs\"></div><p class=\"note\" id=\"overlap\"></p></section>";
  html += "<section id=\"neighbours\"><h2>Neighbours</h2><p class=\"note\">The most memorized examples (red border) and their nearest examples in the data set by pixel l2 distance on [0, 1].</p><div id=\"nbrs\"></div>";
  html += ratio.defined() ? "<h3>Nearest-neighbour ratio</h3><div class=\"chart\" id=\"chart-ratio\"></div>" : "<p class=\"note\">No nearest-neighbour ratio: this model family cannot sample, or job 0 has no saved weights.</p>";
  html += "</section><section id=\"classes\"><h2>Per class</h2>";
  html += a.summary["classes"].empty() ? "<p class=\"note\">The data set has no labels.</p>" : "<div class=\"chart\" id=\"chart-class\"></div><div class=\"chart\" id=\"chart-class-share\"></div>";
  html += "</section>";
  if (fs::exists(dir + "/validation.json")) {
    const json v = read_json(dir + "/validation.json");
    summary["validation"] = v;
    std::string rows_html;
    for (const char* key : {"kfold_estimate_vs_kfold_target", "kfold_estimate_vs_loo", "kfold_target_vs_loo"}) {
      const json& m = v.value(key, json::object());
      auto f = [&](const char* k, int d) { return shown(m.value(k, json()), d); };
      rows_html += fmt::format("<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td></tr>", html_escape(key), f("spearman", 4),
                               f("max_abs_error", 4), f("top5_agreement", 3));
    }
    html += fmt::format(
        "<section id=\"validation\"><h2>Validation against exact values</h2><p class=\"note\">From memscope exact ({}) on {}: "
        "the K-fold estimate of this run against the exact K-fold target and exact leave-one-out.</p>"
        "<table class=\"facts\"><tr><th>comparison</th><th>Spearman</th><th>max |error| (nats)</th><th>top-5% agreement</th></tr>{}</table></section>",
        html_escape(v.value("model", "")), html_escape(v.value("exact_dir", "")), rows_html);
  }
  if (fs::exists(dir + "/extraction.json")) {
    const json x = read_json(dir + "/extraction.json");
    summary["extraction"] = {{"settings", x.value("settings", json::object())}, {"overall", x.value("overall", json::object())},
                             {"models", x.value("models", json::array())}};
    const json& o = x["overall"];
    auto g = [&](const char* k, int d) { return shown(o.value(k, json()), d); };
    std::string model_rows;
    for (const auto& m : x["models"])
      model_rows += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.5f}</td><td>{:.5f}</td><td>{}</td></tr>", m.value("job", -1),
                                m.value("copies_of_training", 0), m.value("copies_of_held_out", 0), m.value("copies_per_training_example", 0.0),
                                m.value("copies_per_held_out_example", 0.0), shown(m.value("ct", json())));
    html += fmt::format(
        "<section id=\"extraction\"><h2>Regeneration: training images the models reproduce</h2>"
        "<p>Adaptive rule (l2 / (alpha x mean l2 to the nearest examples) &lt;= 1): <b>{}</b> samples copy a training example of "
        "their model, <b>{}</b> copy a held-out one (a copy of a held-out example is generalisation, not memorization); rates {} "
        "vs {} (difference {}). Plain l2 rule: {} vs {}. Examples copied: {}; rank correlation of M with the number of models "
        "copying an example: {}; mean M of copied examples {} vs {} of the rest.</p>"
        "<table class=\"facts\"><tr><th>job</th><th>copies of training</th><th>of held-out</th><th>per training example</th>"
        "<th>per held-out example</th><th>C_T (Meehan et al.; negative: copying)</th></tr>{}</table>"
        "<h3>Closest copies (sample, then the training image)</h3><div id=\"pairs\" class=\"grid\"></div></section>",
        g("copies_of_training", 0), g("copies_of_held_out", 0), g("copy_rate_training", 5), g("copy_rate_held_out", 5),
        g("copy_rate_difference", 5), g("l2_copies_of_training", 0), g("l2_copies_of_held_out", 0), g("examples_copied", 0),
        g("spearman_mem_models_copying", 3), g("mem_mean_copied", 2), g("mem_mean_not_copied", 2), model_rows);
    page_pairs = x.value("pairs", json::array());
  }
  html += "</main>";
  json page = page_base;
  page["pairs"] = page_pairs;
  html += "<script type=\"application/json\" id=\"page-data\">" + script_json(page) + "</script>";
  html += "<script>" + read_asset(assets, "vega/build/vega.min.js") + "</script>";
  html += "<script>" + read_asset(assets, "vega-lite/build/vega-lite.min.js") + "</script>";
  html += "<script>" + read_asset(assets, "vega-embed/build/vega-embed.min.js") + "</script>";
  html += R"(<script>
(function () {
  let errors = 0, rendered = 0;
  const status = (s) => { document.body.dataset.status = s; document.body.dataset.errors = errors; document.body.dataset.rendered = rendered; };
  window.addEventListener('error', () => { errors++; status(document.body.dataset.status || 'running'); });
  document.addEventListener('securitypolicyviolation', () => { errors++; });
  const consoleError = console.error;
  console.error = function () { errors++; consoleError.apply(console, arguments); };
  const D = JSON.parse(document.getElementById('page-data').textContent);
  const fmt = (v, d) => (v === null || v === undefined) ? 'n/a' : Number(v).toFixed(d);
  function cell(e, extra) {
    const div = document.createElement('div'); div.className = 'cell';
    if (e.image) { const img = document.createElement('img'); img.src = e.image; img.alt = 'example ' + e.index; div.appendChild(img); }
    const t = document.createElement('div');
    t.textContent = '#' + e.index + ' (label ' + e.label + ')\nM ' + fmt(e.mem, 1) + ' \u00b1 ' + fmt(e.mem_se, 1) + '\nU ' + fmt(e.logp_in, 0) + ' V ' + fmt(e.logp_out, 0) + (extra || '');
    t.style.whiteSpace = 'pre-line'; div.appendChild(t); return div;
  }
  for (const k of ['top', 'bottom']) { const g = document.getElementById('grid-' + k); D.grids[k].forEach(e => g.appendChild(cell(e))); }
  const be = document.getElementById('bin-examples');
  D.bin_examples.forEach(b => { const row = document.createElement('div'); row.className = 'nrow'; const l = document.createElement('b'); l.textContent = 'bin ' + b.bin; row.appendChild(l); b.examples.forEach(e => row.appendChild(cell(e))); be.appendChild(row); });
  const pairs = document.getElementById('pairs');
  if (pairs) D.pairs.forEach(p => {
    const row = document.createElement('div'); row.className = 'nrow';
    row.appendChild(cell({image: p.sample_image, index: 'sample ' + p.sample + ' of job ' + p.job, label: p.label, mem: null, mem_se: null}, '\nratio ' + fmt(p.ratio, 2)));
    row.appendChild(cell({image: p.train_image, index: p.index, label: p.label, mem: p.mem, mem_se: null}, '\n' + (p.in_training ? 'in training' : 'held out') + ', l2 ' + fmt(p.l2, 3)));
    pairs.appendChild(row);
  });
  const nb = document.getElementById('nbrs');
  D.neighbours.forEach(n => { const row = document.createElement('div'); row.className = 'nrow'; row.appendChild(cell(n.example)); n.neighbours.forEach(e => row.appendChild(cell(e, '\nl2 ' + fmt(e.distance, 3)))); nb.appendChild(row); });
  // The sortable, searchable table.
  const cols = ['index', 'label', 'mem', 'mem_se', 'logp_in', 'logp_out', 'n_in', 'n_out'];
  const table = document.getElementById('table');
  let rows = D.table.slice(), sortKey = 'mem', asc = false;
  function draw() {
    const f = document.getElementById('filter').value.trim();
    const matching = rows.filter(r => !f || String(r.index) === f || String(r.label) === f), shown = matching.slice(0, 200);
    document.getElementById('shown').textContent = 'showing ' + shown.length + ' of ' + matching.length + ' matching rows';
    table.replaceChildren();
    const head = table.insertRow();
    cols.forEach(c => { const th = document.createElement('th'); th.textContent = c + (c === sortKey ? (asc ? ' \u25b2' : ' \u25bc') : ''); th.onclick = () => { asc = (sortKey === c) ? !asc : false; sortKey = c; sortRows(); draw(); }; head.appendChild(th); });
    shown.forEach(r => { const tr = table.insertRow(); cols.forEach(c => { tr.insertCell().textContent = (typeof r[c] === 'number' && !Number.isInteger(r[c])) ? r[c].toFixed(3) : String(r[c]); }); });
  }
  function sortRows() { rows.sort((a, b) => ((a[sortKey] ?? -Infinity) - (b[sortKey] ?? -Infinity)) * (asc ? 1 : -1)); }
  document.getElementById('filter').oninput = draw;
  document.getElementById('overlap').textContent = 'Share of the top 5% by M at each evaluated epoch that is also in the top 5% at the last: ' +
    D.over_epochs.map(e => 'epoch ' + e.epoch + ': ' + fmt(e.top5_overlap_with_last, 2)).join(', ') + '.';
  sortRows(); draw();
  const specs = Object.entries(D.specs);
  status('running');
  Promise.all(specs.map(([id, spec]) => vegaEmbed('#' + id, spec, {actions: false, renderer: 'svg'}).then(() => { rendered++; })))
    .then(() => status('done'))
    .catch((e) => { errors++; consoleError.call(console, e); status('failed'); });
  document.body.dataset.charts = specs.length;
})();
</script></body></html>
)";
  write_atomic(dir + "/report.html", html);
  write_atomic(dir + "/summary.json", summary.dump(2) + "\n");
  spdlog::info("report: {}/report.html ({:.1f} MB)", dir, html.size() / 1e6);
  return summary;
}

}  // namespace memscope
