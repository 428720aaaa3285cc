#include "memscope/score/membership_json.h"

#include <algorithm>
#include <functional>

#include "memscope/config/names.h"
#include "memscope/core/error.h"
#include "memscope/io/atomic.h"
#include "memscope/io/json.h"

namespace memscope {

using json = nlohmann::json;

namespace {

json to_json(const Spread& s) {
  json j = {{"mean", num(s.mean)}, {"sd", num(s.sd)}, {"min", num(s.min)}, {"max", num(s.max)}, {"targets", s.targets}};
  if (!s.unavailable.empty()) j["unavailable"] = s.unavailable;
  return j;
}

/// {"0.1": f(0), "0.01": f(1), "0.001": f(2)}: a figure per low FPR.
json fpr_keys(const std::function<json(size_t)>& f) {
  json j = json::object();
  for (size_t k = 0; k < kLowFpr.size(); ++k) j[str(kLowFpr[k])] = f(k);
  return j;
}

json numbers(const std::vector<double>& v) {
  json j = json::array();
  for (double x : v) j.push_back(num(x));
  return j;
}

Spread spread_from(const JsonFields& f) {
  Spread s;
  s.mean = f.real("mean"), s.sd = f.real("sd"), s.min = f.real("min"), s.max = f.real("max");
  s.targets = f.integer("targets");
  if (f.has("unavailable")) s.unavailable = f.string("unavailable");
  return s;
}

/// A figure per low FPR from {"0.1": ..., ...}, each read by get.
template <typename T>
std::array<T, 3> per_fpr(const JsonFields& f, const std::function<T(const JsonFields&, const char*)>& get) {
  std::array<T, 3> out;
  for (size_t k = 0; k < kLowFpr.size(); ++k) out[k] = get(f, str(kLowFpr[k]).c_str());
  return out;
}

std::array<double, 3> reals_per_fpr(const JsonFields& f) {
  return per_fpr<double>(f, [](const JsonFields& g, const char* k) { return g.real(k); });
}
std::array<Spread, 3> spreads_per_fpr(const JsonFields& f) {
  return per_fpr<Spread>(f, [](const JsonFields& g, const char* k) { return spread_from(g.object(k)); });
}

Attack attack_named(const JsonFields& f) {
  const std::string name = f.string("attack");
  for (Attack a : all_attacks())
    if (to_string(a) == name) return a;
  throw Error(str(f.path(), ": ", f.place("attack"), ": unknown attack '", name, "'"));
}

AttackResult attack_from(const JsonFields& f) {
  AttackResult a;
  a.attack = attack_named(f);
  a.auc = spread_from(f.object("auc"));
  a.tpr = spreads_per_fpr(f.object("tpr_at_fpr"));
  const JsonFields pooled = f.object("pooled");
  a.pooled_auc = pooled.real("auc");
  a.pooled_tpr = reals_per_fpr(pooled.object("tpr_at_fpr"));
  const JsonFields roc = f.object("roc");
  a.pooled_roc = roc.reals("pooled_tpr");
  a.mean_roc = roc.reals("mean_tpr");
  a.pairs_without_score = f.integer("pairs_without_score");
  for (size_t i = 0; i < f.array("targets").size(); ++i) {
    const JsonFields t = f.element("targets", i);
    a.targets.push_back({t.integer("target"), t.integer("members"), t.integer("nonmembers"), t.real("auc"),
                         reals_per_fpr(t.object("tpr_at_fpr"))});
  }
  if (f.has("unavailable")) a.unavailable = f.string("unavailable");
  if (f.has("null")) {
    const JsonFields n = f.object("null");
    a.null.draws = n.integer("draws");
    a.null.auc = spread_from(n.object("auc"));
    a.null.tpr = spreads_per_fpr(n.object("tpr_at_fpr"));
    a.null.pooled_roc = n.reals("pooled_tpr");
  }
  return a;
}

MemNull mem_null_from(const JsonFields& f) {
  MemNull m;
  m.draws = f.integer("draws");
  m.mem_mean = spread_from(f.object("mem_mean"));
  m.discoveries = spread_from(f.object("discoveries"));
  m.any_discovery = f.real("any_discovery");
  m.mem_se_scale = f.real("mem_se_scale");
  m.mem_log_se_scale = f.real("mem_log_se_scale");
  const JsonFields q = f.object("mem_quantiles");
  m.q50 = q.real("q0.5"), m.q95 = q.real("q0.95"), m.q99 = q.real("q0.99");
  return m;
}

template <typename E>
E choice(const JsonFields& f, const char* key) {
  try {
    return parse_choice<E>(f.string(key), key);
  } catch (const ConfigError& e) {
    throw Error(str(f.path(), ": ", e.what()));
  }
}

}  // namespace

json to_json(const AttackResult& a, bool full) {
  json j = {{"attack", to_string(a.attack)},
            {"auc", to_json(a.auc)},
            {"tpr_at_fpr", fpr_keys([&](size_t k) { return to_json(a.tpr[k]); })},
            {"pooled",
             {{"auc", num(a.pooled_auc)}, {"tpr_at_fpr", fpr_keys([&](size_t k) { return num(a.pooled_tpr[k]); })}}},
            {"pairs_without_score", a.pairs_without_score}};
  if (full) {
    json targets = json::array();
    for (const TargetResult& t : a.targets)
      targets.push_back({{"target", t.target},
                         {"members", t.members},
                         {"nonmembers", t.nonmembers},
                         {"auc", num(t.auc)},
                         {"tpr_at_fpr", fpr_keys([&](size_t k) { return num(t.tpr[k]); })}});
    j["targets"] = targets;
    j["roc"] = {{"fpr", roc_grid()}, {"pooled_tpr", numbers(a.pooled_roc)}, {"mean_tpr", numbers(a.mean_roc)}};
  }
  if (!a.unavailable.empty()) j["unavailable"] = a.unavailable;
  if (a.null.draws > 0) {
    j["null"] = {{"draws", a.null.draws},
                 {"auc", to_json(a.null.auc)},
                 {"tpr_at_fpr", fpr_keys([&](size_t k) { return to_json(a.null.tpr[k]); })}};
    if (full) j["null"]["pooled_tpr"] = numbers(a.null.pooled_roc);
    j["above_null"] = {
        {"auc", above_null(a.auc.mean, a.null.auc)},
        {"tpr_at_fpr", fpr_keys([&](size_t k) { return json(above_null(a.pooled_tpr[k], a.null.tpr[k])); })}};
  }
  return j;
}

json to_json(const MemNull& n, double fdr) {
  if (n.draws <= 0) return nullptr;
  return {{"draws", n.draws},
          {"fdr", fdr},
          {"mem_mean", to_json(n.mem_mean)},
          {"discoveries", to_json(n.discoveries)},
          {"any_discovery", num(n.any_discovery)},
          {"mem_se_scale", num(n.mem_se_scale)},
          {"mem_log_se_scale", num(n.mem_log_se_scale)},
          {"mem_quantiles", {{"q0.5", num(n.q50)}, {"q0.95", num(n.q95)}, {"q0.99", num(n.q99)}}}};
}

json to_json(const MembershipResult& r) {
  json attacks = json::array();
  for (const AttackResult& a : r.attacks) attacks.push_back(to_json(a, true));
  return {{"examples", r.examples},
          {"models", r.models},
          {"fdr", r.fdr},
          {"null", to_json(r.mem_null, r.fdr)},
          {"lira_variance", to_string(r.config.lira_variance)},
          {"rmia_gamma", r.config.rmia_gamma},
          {"risk_attack", to_string(r.risk_attack)},
          {"attacks", attacks}};
}

MembershipResult membership_from_json(const json& j, const std::string& path) {
  const JsonFields f(j, path, "");
  MembershipResult r;
  r.examples = f.integer("examples");
  r.models = f.integer("models");
  r.fdr = f.real("fdr");
  if (!f.at("null").is_null()) r.mem_null = mem_null_from(f.object("null"));
  r.config.lira_variance = choice<LiraVariance>(f, "lira_variance");
  r.config.rmia_gamma = f.real("rmia_gamma");
  const std::string risk = f.string("risk_attack");
  for (Attack a : all_attacks())
    if (to_string(a) == risk) r.risk_attack = a;
  for (size_t i = 0; i < f.array("attacks").size(); ++i) r.attacks.push_back(attack_from(f.element("attacks", i)));
  return r;
}

MembershipResult read_membership_json(const std::string& path) { return membership_from_json(read_json(path), path); }

json to_json(const DenoiseMembership& d) {
  json by_t = json::object();
  for (const auto& [t, r] : d) by_t[std::to_string(t)] = to_json(r);
  return {{"timesteps", by_t}};
}

DenoiseMembership read_membership_denoise_json(const std::string& path) {
  const json j = read_json(path);
  const JsonFields f(j, path, "");
  MEMSCOPE_CHECK(f.at("timesteps").is_object(), path, ": timesteps should be a JSON object");
  DenoiseMembership d;
  for (const auto& [t, file] : f.at("timesteps").items()) {
    MEMSCOPE_CHECK(!t.empty() && t.size() < 10 && t.find_first_not_of("0123456789") == std::string::npos, path,
                   ": timesteps: '", t, "' is not a timestep");
    d.emplace_back(std::stoll(t), membership_from_json(file, path + ": timesteps." + t));
  }
  std::sort(d.begin(), d.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return d;
}

}  // namespace memscope
