#include "memscope/report/charts.h"

#include <cmath>
#include <set>

#include "memscope/io/json.h"

namespace memscope {

using json = nlohmann::json;

namespace {

const char* const kRegular = "regular";
const char* const kHigh = "memorized";

/// A Vega-Lite spec: the schema, and the container's width unless the spec sets one.
json vl(json spec) {
  spec["$schema"] = "https://vega.github.io/schema/vega-lite/v5.json";
  if (!spec.contains("width")) spec["width"] = "container";
  return spec;
}

json field(const char* name, const char* type) { return {{"field", name}, {"type", type}}; }

json loss_spec(const ReportModel& m) {
  json losses = json::array();
  for (const LossPoint& p : m.losses)
    losses.push_back({{"job", p.job}, {"epoch", p.epoch}, {"loss", num(p.loss)}, {"set", p.set}});
  json y = field("loss", "quantitative");
  y["scale"] = {{"zero", false}};
  y["title"] = "loss (negative ELBO, nats)";
  return vl({{"data", {{"values", losses}}},
             {"mark", {{"type", "line"}, {"point", losses.size() < 400}}},
             {"encoding",
              {{"x", field("epoch", "quantitative")},
               {"y", y},
               {"color", field("job", "nominal")},
               {"strokeDash", field("set", "nominal")}}},
             {"height", 220}});
}

json mem_values(const ReportModel& m) {
  json values = json::array();
  for (const auto& [mem, label] : m.mem_values) values.push_back({{"mem", mem}, {"label", label}});
  return values;
}

json hist_spec(const ReportModel& m) {
  const double thr = std::isfinite(m.analysis.high_threshold) ? m.analysis.high_threshold : 0.0;
  const json x = {{"field", "mem"}, {"bin", {{"maxbins", 60}}}, {"title", "memorization score M (nats)"}};
  const json bars = {{"data", {{"values", mem_values(m)}}},
                     {"mark", "bar"},
                     {"encoding", {{"x", x}, {"y", {{"aggregate", "count"}, {"title", "examples"}}}}}};
  const json rule = {{"data", {{"values", {{{"q", thr}}}}}},
                     {"mark", {{"type", "rule"}, {"color", "#c0392b"}, {"strokeWidth", 2}}},
                     {"encoding", {{"x", field("q", "quantitative")}}}};
  return vl({{"height", 220}, {"layer", {bars, rule}}});
}

json bins_spec(const ReportModel& m) {
  json rows = json::array();
  for (const BinBar& b : m.bins)
    rows.push_back({{"bin", b.bin}, {"kind", b.kind}, {"count", b.count}, {"proportion", num(b.proportion)}});
  json x = field("bin", "ordinal");
  x["title"] = "bin of log P(x | D) (centre, nats)";
  json y = field("count", "quantitative");
  y["stack"] = "zero";
  json color = field("kind", "nominal");
  color["scale"] = {{"domain", {kRegular, kHigh}}, {"range", {"#95a5a6", "#c0392b"}}};
  const json tooltip = {
      {{"field", "bin"}}, {{"field", "kind"}}, {{"field", "count"}}, {{"field", "proportion"}, {"format", ".3f"}}};
  return vl({{"data", {{"values", rows}}},
             {"height", 220},
             {"mark", "bar"},
             {"encoding", {{"x", x}, {"y", y}, {"color", color}, {"tooltip", tooltip}}}});
}

json scatter_spec(const ReportModel& m) {
  json points = json::array();
  for (const ExampleView& e : m.rows) {
    json p = to_json(e, true);
    p["group"] = e.high ? kHigh : kRegular;
    points.push_back(p);
  }
  json tooltip = {{{"field", "index"}},
                  {{"field", "label"}},
                  {{"field", "mem"}, {"format", ".2f"}},
                  {{"field", "mem_se"}, {"format", ".2f"}},
                  {{"field", "logp_in"}, {"format", ".1f"}},
                  {{"field", "logp_out"}, {"format", ".1f"}}};
  if (m.images) tooltip.push_back({{"field", "image"}});
  json x = field("logp_in", "quantitative");
  x["scale"] = {{"zero", false}};
  x["title"] = "U = log P(x | D)";
  json y = field("mem", "quantitative");
  y["title"] = "M (nats)";
  json color = field("group", "nominal");
  color["scale"] = {{"domain", {kHigh, kRegular}}, {"range", {"#c0392b", "#7f8c8d"}}};
  return vl({{"data", {{"values", points}}},
             {"height", 360},
             {"mark", {{"type", "point"}, {"filled", true}, {"opacity", 0.6}}},
             {"params", {{{"name", "zoom"}, {"select", "interval"}, {"bind", "scales"}}}},
             {"encoding", {{"x", x}, {"y", y}, {"color", color}, {"tooltip", tooltip}}}});
}

json epochs_spec(const ReportModel& m) {
  json rows = json::array();
  for (const EpochPoint& p : m.epoch_points)
    rows.push_back({{"epoch", p.epoch}, {"series", p.series}, {"value", num(p.value)}});
  json y = field("value", "quantitative");
  y["title"] = "M (nats)";
  return vl({{"data", {{"values", rows}}},
             {"height", 220},
             {"mark", {{"type", "line"}, {"point", true}}},
             {"encoding", {{"x", field("epoch", "quantitative")}, {"y", y}, {"color", field("series", "nominal")}}}});
}

json ratio_spec(const NnRatioView& r) {
  json points = json::array();
  for (const auto& [group, ratio] : r.points) points.push_back({{"group", group}, {"ratio", num(ratio)}});
  json y = field("group", "nominal");
  y["title"] = nullptr;
  json x = field("ratio", "quantitative");
  x["scale"] = {{"type", "log"}};
  x["title"] = "nearest held-out real / nearest model sample (distance ratio)";
  return vl({{"data", {{"values", points}}},
             {"height", 200},
             {"mark", {{"type", "boxplot"}, {"extent", 1.5}}},
             {"encoding", {{"y", y}, {"x", x}}}});
}

/// The split-half scatter: each compared example's M from one half of the models against the other's.
json split_half_spec(const ReportModel& m) {
  json points = json::array();
  for (const HalfPoint& p : m.split_half)
    points.push_back({{"index", p.index}, {"label", p.label}, {"half_a", num(p.a)}, {"half_b", num(p.b)}});
  json x = field("half_a", "quantitative"), y = field("half_b", "quantitative");
  x["title"] = "M from the first half of the models";
  y["title"] = "M from the second half";
  return vl({{"data", {{"values", points}}},
             {"height", 300},
             {"mark", {{"type", "point"}, {"filled", true}, {"opacity", 0.4}, {"size", 12}}},
             {"encoding",
              {{"x", x},
               {"y", y},
               {"tooltip",
                {{{"field", "index"}},
                 {{"field", "label"}},
                 {{"field", "half_a"}, {"format", ".2f"}},
                 {{"field", "half_b"}, {"format", ".2f"}}}}}}});
}

/// The scatter of M against S, coloured by category, with the lines S = M and S = 0.
json spill_spec(const MemorizationCheck& c) {
  json points = json::array();
  for (const SpillPoint& p : c.points)
    points.push_back({{"row", p.row},
                      {"mem", num(p.mem)},
                      {"spill", num(p.spill)},
                      {"spill_se", num(p.spill_se)},
                      {"category", p.category}});
  json x = field("mem", "quantitative");
  x["title"] = "M (nats)";
  json y = field("spill", "quantitative");
  y["title"] = "S: neighbours' fall in log density when x leaves (nats)";
  json color = field("category", "nominal");
  color["scale"] = {{"domain", {"regular", "outlier", "high leverage", "learned", "regenerated", "memorized inlier"}},
                    {"range", {"#bdc3c7", "#2980b9", "#8e44ad", "#27ae60", "#e67e22", "#c0392b"}}};
  const json tooltip = {{{"field", "row"}},
                        {{"field", "category"}},
                        {{"field", "mem"}, {"format", ".2f"}},
                        {{"field", "spill"}, {"format", ".2f"}},
                        {{"field", "spill_se"}, {"format", ".2f"}}};
  const json dots = {{"mark", {{"type", "point"}, {"filled", true}, {"opacity", 0.6}}},
                     {"params", {{{"name", "zoom_spill"}, {"select", "interval"}, {"bind", "scales"}}}},
                     {"encoding", {{"x", x}, {"y", y}, {"color", color}, {"tooltip", tooltip}}}};
  const json diagonal = {{"transform", {{{"calculate", "datum.mem"}, {"as", "same"}}}},
                         {"mark", {{"type", "line"}, {"color", "#27ae60"}, {"strokeDash", {4, 4}}}},
                         {"encoding", {{"x", field("mem", "quantitative")}, {"y", field("same", "quantitative")}}}};
  return vl({{"data", {{"values", points}}}, {"height", 360}, {"layer", {dots, diagonal}}});
}

/// Pooled ROC curves of the membership attacks, both axes logarithmic.
json roc_spec(const MembershipView& v) {
  json points = json::array();
  for (const RocView& p : v.roc) points.push_back({{"attack", p.attack}, {"fpr", p.fpr}, {"tpr", p.tpr}});
  json x = field("fpr", "quantitative"), y = field("tpr", "quantitative");
  x["scale"] = {{"type", "log"}, {"domain", {1e-5, 1}}};
  x["title"] = "false-positive rate";
  y["scale"] = {{"type", "log"}, {"domain", {1e-5, 1}}};
  y["title"] = "true-positive rate";
  return vl({{"data", {{"values", points}}},
             {"height", 360},
             {"mark", {{"type", "line"}, {"clip", true}}},
             {"encoding", {{"x", x}, {"y", y}, {"color", field("attack", "nominal")}}}});
}

/// Membership risk against M, one point per row of the table.
json risk_spec(const ReportModel& m) {
  json points = json::array();
  for (const ExampleView& e : m.rows)
    if (std::isfinite(e.mia_risk) && std::isfinite(e.mem))
      points.push_back({{"index", e.index}, {"label", e.label}, {"mem", e.mem}, {"mia_risk", e.mia_risk}});
  json x = field("mem", "quantitative"), y = field("mia_risk", "quantitative");
  x["title"] = "M (nats)";
  y["title"] = "membership risk (AUC of in- vs out-models)";
  y["scale"] = {{"domain", {0, 1}}};
  return vl({{"data", {{"values", points}}},
             {"height", 300},
             {"mark", {{"type", "point"}, {"filled", true}, {"opacity", 0.5}}},
             {"encoding",
              {{"x", x},
               {"y", y},
               {"tooltip",
                {field("index", "quantitative"), field("mem", "quantitative"), field("mia_risk", "quantitative")}}}}});
}

}  // namespace

size_t epochs_evaluated(const ReportModel& m) {
  std::set<int64_t> epochs;
  for (const EpochPoint& p : m.epoch_points) epochs.insert(p.epoch);
  return epochs.size();
}

json chart_specs(const ReportModel& m) {
  json specs = json::object();
  if (m.memorization_check && !m.memorization_check->points.empty())
    specs["chart-spill"] = spill_spec(*m.memorization_check);
  if (!m.run.bank) specs["chart-loss"] = loss_spec(m);
  specs["chart-hist"] = hist_spec(m);
  specs["chart-bins"] = bins_spec(m);
  specs["chart-scatter"] = scatter_spec(m);
  if (epochs_evaluated(m) >= 2) specs["chart-epochs"] = epochs_spec(m);
  if (m.nn_ratio && !m.nn_ratio->points.empty()) specs["chart-ratio"] = ratio_spec(*m.nn_ratio);
  if (!m.split_half.empty()) specs["chart-split-half"] = split_half_spec(m);
  if (m.membership) specs["chart-roc"] = roc_spec(*m.membership), specs["chart-risk"] = risk_spec(m);
  if (!m.analysis.classes.empty()) {
    json y = field("mem", "quantitative");
    y["title"] = "M (nats)";
    specs["chart-class"] = vl({{"data", {{"values", mem_values(m)}}},
                               {"height", 240},
                               {"mark", {{"type", "boxplot"}, {"extent", 1.5}}},
                               {"encoding", {{"x", field("label", "nominal")}, {"y", y}}}});
    json share = field("share_memorized", "quantitative");
    share["title"] = "share memorized";
    specs["chart-class-share"] = vl({{"data", {{"values", to_json(m.analysis)["classes"]}}},
                                     {"height", 200},
                                     {"mark", "bar"},
                                     {"encoding", {{"x", field("label", "nominal")}, {"y", share}}}});
  }
  return specs;
}

}  // namespace memscope
