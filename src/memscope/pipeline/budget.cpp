#include "memscope/pipeline/budget.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <spdlog/spdlog.h>

#include "memscope/core/error.h"
#include "memscope/io/atomic.h"
#include "memscope/io/json.h"
#include "memscope/pipeline/report_run.h"
#include "memscope/pipeline/run.h"
#include "memscope/pipeline/run_layout.h"
#include "memscope/score/reliability.h"

namespace memscope {

namespace {

/// Variance of one model's log p at S samples.
double model_variance(const PilotFacts& f, double samples) {
  return f.mc.between + f.mc.scale * std::pow(samples, -f.mc.decay);
}

/// Reliability r of the pilot's whole run projected to `units` pilot-equivalent repeats (0 when r <= 0).
double project(double r, double pilot_units, double units) {
  if (!std::isfinite(r)) return NAN;
  return r <= 0 ? 0 : spearman_brown(r, units / pilot_units);
}

}  // namespace

PlanPrediction predict_plan(const PilotFacts& f, int64_t repeats, int64_t samples) {
  PlanPrediction p;
  p.repeats = repeats;
  p.samples = samples;
  const double units = double(repeats) * model_variance(f, double(f.samples)) / model_variance(f, double(samples));
  p.mem = project(f.mem, double(f.repeats), units);
  p.mem_log = project(f.mem_log, double(f.repeats), units);
  p.mem_lo = project(f.mem_lo, double(f.repeats), units);
  p.mem_hi = project(f.mem_hi, double(f.repeats), units);
  const int64_t kept = samples == f.samples ? std::min(repeats, f.kept_repeats) : 0;
  p.seconds = double(f.folds) * (double(repeats - kept) * (f.train_per_model + f.eval_per_sample * double(samples)) +
                                 double(repeats) * f.other_per_model);
  return p;
}

BudgetProposal propose_plan(const PilotFacts& f, double budget_seconds, double target, int64_t max_repeats) {
  BudgetProposal b;
  for (int64_t S = 8; S <= 1024; S *= 2) {
    for (int64_t R = 2; R <= max_repeats; ++R) {
      const PlanPrediction p = predict_plan(f, R, S);
      const bool fits = p.seconds <= budget_seconds;
      if (fits && (!b.best || p.mem > b.best->mem + 1e-9 ||
                   (std::abs(p.mem - b.best->mem) <= 1e-9 && p.seconds < b.best->seconds)))
        b.best = p;
      const bool reaches = p.mem >= target;
      if (reaches && (!b.for_target || p.seconds < b.for_target->seconds)) b.for_target = p;
      if (!fits && reaches) break;  // more repeats at this S only cost more
    }
  }
  return b;
}

PilotFacts run_pilot(const RunConfig& c, const std::string& dir) {
  MEMSCOPE_CHECK_KEY(c.plan.design == Design::kKfold, "budget", "plans K-fold designs only (--design kfold)");
  MEMSCOPE_CHECK_KEY(c.model.family.vae(), "budget", "plans importance-sampled families only (mlp-vae, conv-vae)");
  RunConfig p = c;
  p.out = dir;
  p.plan.repeats = 2;
  p.plan.until_reliability = 0;
  p.eval.iw_samples = 8;
  p.eval.measure_samples = true;
  const auto t0 = std::chrono::steady_clock::now();
  const RunOutcome o = run(p);
  MEMSCOPE_CHECK(o.missing.empty() && o.reliability, "budget: the pilot in ", dir, " did not finish");
  ReportConfig report;
  report.run_dir = dir;
  write_report(report);
  PilotFacts f;
  f.pilot = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  f.folds = p.plan.folds;
  f.repeats = p.plan.repeats;
  const Reliability& rel = *o.reliability;
  f.mem = rel.mem.whole_run;
  f.mem_log = rel.mem_log.whole_run;
  // M's whole-run reliability had the split-half r been two standard errors lower or higher.
  const double se = 1.03 / std::sqrt(std::max(1.0, double(rel.examples) - 3));
  f.mem_lo = spearman_brown(std::clamp(rel.mem.spearman - 2 * se, -1.0, 1.0), 2);
  f.mem_hi = spearman_brown(std::clamp(rel.mem.spearman + 2 * se, -1.0, 1.0), 2);
  // Per model, from the jobs' records (also when the pilot resumed finished jobs).
  const nlohmann::json cfg = read_json_object(RunLayout(dir).config());
  double train = 0, eval = 0, models = 0;
  for (const auto& j : cfg.at("jobs")) {
    MEMSCOPE_CHECK(j.contains("sample_choice"), "budget: job ", j.value("id", -1), " of the pilot in ", dir,
                   " has no record of its importance samples");
    const SampleChoice choice = sample_choice_from_json(j.at("sample_choice"));
    f.mc = choice;
    f.samples = j.at("eval_samples").get<int64_t>();
    train += j.at("train_seconds").get<double>();
    eval += j.at("eval_seconds").get<double>() - choice.seconds;
    models += 1;
  }
  MEMSCOPE_CHECK(f.mc.fallback.empty(), "budget: the pilot could not measure the noise of log p: ", f.mc.fallback);
  f.train_per_model = train / models;
  f.eval_per_sample = eval / models / double(f.samples);
  // What the run spends beyond training and evaluating; the pilot's own measurement of the noise is not part of a
  // plan.
  f.other_per_model = std::max(0.0, f.pilot - train - eval - f.mc.seconds * models) / models;
  return f;
}

nlohmann::json to_json(const PilotFacts& f) {
  return {{"seconds", f.pilot},
          {"folds", f.folds},
          {"repeats", f.repeats},
          {"samples", f.samples},
          {"reliability_mem", num(f.mem)},
          {"reliability_mem_log", num(f.mem_log)},
          {"reliability_mem_range", {num(f.mem_lo), num(f.mem_hi)}},
          {"train_per_model", f.train_per_model},
          {"eval_per_sample", f.eval_per_sample},
          {"other_per_model", f.other_per_model},
          {"kept_repeats", f.kept_repeats},
          {"monte_carlo", to_json(f.mc)}};
}

nlohmann::json to_json(const PlanPrediction& p) {
  return {{"repeats", p.repeats},
          {"samples", p.samples},
          {"seconds", p.seconds},
          {"reliability_mem", num(p.mem)},
          {"reliability_mem_log", num(p.mem_log)},
          {"reliability_mem_range", {num(p.mem_lo), num(p.mem_hi)}}};
}

double parse_budget(const std::string& text) {
  size_t used = 0;
  double value = NAN;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
  }
  const std::string unit = std::isfinite(value) ? text.substr(used) : "";
  const double scale = unit.empty() || unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : NAN;
  MEMSCOPE_CHECK_KEY(std::isfinite(value) && std::isfinite(scale) && value > 0, "budget",
                     "expected a positive time such as 90s, 10m or 1.5h, got '", text, "'");
  return value * scale;
}

}  // namespace memscope
