#include "memscope/report/summary.h"

#include <cmath>

#include "memscope/core/version.h"
#include "memscope/io/json.h"
#include "memscope/score/membership_json.h"

namespace memscope {

using json = nlohmann::json;

namespace {

json quartiles_json(const RatioQuartiles& q) {
  return {{"n", q.n}, {"q0.25", num(q.q25)}, {"median", num(q.median)}, {"q0.75", num(q.q75)}};
}

json run_json(const RunFacts& r) {
  json failed = json::array();
  for (const FailedJob& f : r.failed)
    failed.push_back({{"id", f.id}, {"status", f.status}, {"diverged_epoch", f.diverged_epoch}});
  return {{"dir", r.dir},
          {"bank", r.bank},
          {"score", r.statistic.empty() ? "M" : "in-minus-out difference of " + r.statistic + " (M not defined)"},
          {"data", r.data},
          {"n", r.n},
          {"shape", r.shape},
          {"config", r.config},
          {"torch_version", r.torch_version},
          {"jobs", r.jobs},
          {"failed_jobs", failed},
          {"models_lost", {{"examples", r.lost_examples}, {"most_per_example", r.lost_most}}},
          {"seconds", {{"train", r.train_seconds}, {"evaluate", r.eval_seconds}}}};
}

/// The attacks without their per-target lists and curves.
json attack_rows(const std::vector<AttackResult>& attacks) {
  json rows = json::array();
  for (const AttackResult& a : attacks) rows.push_back(to_json(a, false));
  return rows;
}

}  // namespace

json summary_json(const ReportModel& m) {
  json nn_ratio = nullptr;
  if (m.nn_ratio) {
    const NnRatioView& r = *m.nn_ratio;
    nn_ratio = {{"job", r.job},       {"held_out_real", r.held_out_real},     {"model_samples", r.model_samples},
                {"sample", r.sample}, {"regular", quartiles_json(r.regular)}, {"high", quartiles_json(r.high)}};
  }
  json summary = {{"memscope_version", kVersion},
                  {"run", run_json(m.run)},
                  {"scores", to_json(m.analysis)},
                  {"top", json::array()},
                  {"nn_ratio", nn_ratio}};
  for (const ExampleView& e : m.top) summary["top"].push_back(to_json(e, false));
  if (m.membership) summary["scores"]["null"] = m.mem_null ? to_json(*m.mem_null, m.analysis.fdr) : json(nullptr);
  summary["high_mem_central90_share"] = m.analysis.high_mem_central90_share;
  summary["spearman_mem_logp_in"] = m.analysis.spearman_mem_logp_in;
  summary["spearman_mem_logp_out"] = m.analysis.spearman_mem_logp_out;
  summary["reliability"] = m.reliability ? to_json(*m.reliability) : json(nullptr);
  summary["predicted_replication"] = num(m.replication);
  summary["reliability_sentence"] =
      m.reliability ? reliability_sentence(*m.reliability) : unmeasured_reliability_sentence();
  if (m.validation) summary["validation"] = to_json(*m.validation);
  if (m.memorization_check) {
    json& j = summary["is_memorization"] = to_json(m.memorization_check->verdict);
    for (const auto& [name, views] : m.memorization_check->examples) {
      json& rows = j["examples"][name] = json::array();
      for (const ExampleView& e : views) rows.push_back(e.row);
    }
  }
  if (m.membership) {
    const MembershipView& v = *m.membership;
    json exposed = json::array();
    for (const ExampleView& e : v.exposed) exposed.push_back(to_json(e, false));
    summary["membership"] = {{"models", v.models},
                             {"lira_variance", v.lira_variance},
                             {"rmia_gamma", v.rmia_gamma},
                             {"risk_attack", v.risk_attack},
                             {"attacks", attack_rows(v.attacks)},
                             {"spearman_risk_mem", num(v.spearman_risk_mem)},
                             {"examples_with_risk", v.examples_with_risk},
                             {"most_exposed", exposed}};
    if (!v.denoise.empty()) {
      json& by_t = summary["membership"]["denoise"] = json::object();
      for (const auto& [t, attacks] : v.denoise) by_t[std::to_string(t)] = attack_rows(attacks);
    }
  }
  // What noise alone gives: M under the permutation null, and every attack's null beside its figures.
  json null_attacks = json::object();
  if (m.membership)
    for (const AttackResult& a : m.membership->attacks)
      if (a.null.draws > 0) {
        const json row = to_json(a, false);
        null_attacks[to_string(a.attack)] = {{"null", row["null"]}, {"above_null", row["above_null"]}};
      }
  summary["null"] = {{"mem", m.mem_null ? to_json(*m.mem_null, m.analysis.fdr) : json(nullptr)},
                     {"attacks", null_attacks}};
  summary["memorized"] = {{"fdr", m.analysis.fdr}, {"examples", m.analysis.n_discovered}};
  if (m.extraction) {
    json models = json::array();
    for (const ExtractionModel& x : m.extraction->models) models.push_back(to_json(x));
    summary["extraction"] = {
        {"settings", to_json(m.extraction->settings)}, {"overall", to_json(m.extraction->overall)}, {"models", models}};
  }
  return summary;
}

}  // namespace memscope
