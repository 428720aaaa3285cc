#include "memscope/report/report_files.h"

#include <cmath>
#include <limits>

#include "memscope/core/error.h"
#include "memscope/io/atomic.h"
#include "memscope/io/json.h"

namespace memscope {

using json = nlohmann::json;

namespace {

using Fields = JsonFields;

ExtractionSettings parse_settings(const Fields& f) {
  ExtractionSettings s;
  s.samples = f.integer("samples");
  s.draw = f.string("draw");
  s.ct_samples = f.optional_string("ct_samples");
  s.delta = f.real("delta");
  s.alpha = f.real("alpha");
  s.n_nearest = f.integer("n_nearest");
  s.sampler = f.optional_string("sampler");
  if (f.has("sample_steps")) s.sample_steps = f.integer("sample_steps");
  s.jobs = f.integers("jobs");
  return s;
}

ExtractionModel parse_model(const Fields& f) {
  ExtractionModel m;
  m.job = f.integer("job");
  m.samples = f.integer("samples");
  m.copies_of_training = f.integer("copies_of_training");
  m.copies_of_held_out = f.integer("copies_of_held_out");
  m.copies_per_training_example = f.real("copies_per_training_example");
  m.copies_per_held_out_example = f.real("copies_per_held_out_example");
  m.l2_copies_of_training = f.integer("l2_copies_of_training");
  m.l2_copies_of_held_out = f.integer("l2_copies_of_held_out");
  m.ct = f.real("ct");
  m.ct_cells = f.integer("ct_cells");
  return m;
}

ExtractionOverall parse_overall(const Fields& f) {
  ExtractionOverall o;
  o.copies_of_training = f.integer("copies_of_training");
  o.copies_of_held_out = f.integer("copies_of_held_out");
  o.l2_copies_of_training = f.integer("l2_copies_of_training");
  o.l2_copies_of_held_out = f.integer("l2_copies_of_held_out");
  o.copy_rate_training = f.real("copy_rate_training");
  o.copy_rate_held_out = f.real("copy_rate_held_out");
  o.copy_rate_difference = f.real("copy_rate_difference");
  o.examples_copied = f.integer("examples_copied");
  o.spearman_mem_models_copying = f.real("spearman_mem_models_copying");
  o.mem_mean_copied = f.real("mem_mean_copied");
  o.mem_mean_not_copied = f.real("mem_mean_not_copied");
  return o;
}

ExtractionPair parse_pair(const Fields& f) {
  ExtractionPair p;
  p.job = f.integer("job");
  p.sample = f.integer("sample");
  p.index = f.integer("index");
  p.label = f.integer("label");
  p.l2 = f.real("l2");
  p.ratio = f.real("ratio");
  p.in_training = f.boolean("in_training");
  p.mem = f.real("mem");
  p.sample_image = f.optional_string("sample_image");
  p.train_image = f.optional_string("train_image");
  return p;
}

ScoreAgreement parse_agreement(const Fields& f) {
  ScoreAgreement a;
  a.n = f.integer("n");
  a.spearman = f.real("spearman");
  a.max_abs_error = f.real("max_abs_error");
  a.mean_abs_error = f.real("mean_abs_error");
  a.top5_agreement = f.real("top5_agreement");
  return a;
}

JobRecord parse_job(const Fields& f) {
  JobRecord r;
  r.id = f.integer("id");
  r.status = f.string("status");
  if (f.has("diverged_epoch")) r.diverged_epoch = f.integer("diverged_epoch");
  if (f.has("train_seconds")) r.train_seconds = f.real("train_seconds");
  if (f.has("eval_seconds")) r.eval_seconds = f.real("eval_seconds");
  if (f.has("train_loss")) r.train_loss = f.reals("train_loss");
  if (f.has("heldout_loss")) r.heldout_loss = f.reals("heldout_loss");
  return r;
}

}  // namespace

RunRecord parse_run_record(const json& j, const std::string& path) {
  const Fields f(j, path, "");
  RunRecord r;
  r.memscope_version = f.optional_string("memscope_version").value_or("");
  r.torch_version = f.optional_string("torch_version").value_or("");
  if (f.has("config")) {
    f.object("config");  // checks that it is an object
    r.config = f.at("config");
  }
  if (f.has("jobs"))
    for (size_t i = 0; i < f.array("jobs").size(); ++i) r.jobs.push_back(parse_job(f.element("jobs", i)));
  return r;
}

RunRecord read_run_record(const std::string& path) { return parse_run_record(read_json(path), path); }

ExtractionFile parse_extraction_json(const json& j, const std::string& path) {
  const Fields f(j, path, "");
  ExtractionFile x;
  x.run = f.optional_string("run");
  x.settings = parse_settings(f.object("settings"));
  for (size_t i = 0; i < f.array("models").size(); ++i) x.models.push_back(parse_model(f.element("models", i)));
  x.overall = parse_overall(f.object("overall"));
  for (size_t i = 0; i < f.array("pairs").size(); ++i) x.pairs.push_back(parse_pair(f.element("pairs", i)));
  if (f.has("duplicated")) {
    const Fields d = f.object("duplicated");
    x.duplicated = ExtractionDuplicated{d.integer("images"), d.integer("copies_of_them")};
  }
  return x;
}

ValidationFile parse_validation_json(const json& j, const std::string& path) {
  const Fields f(j, path, "");
  ValidationFile v;
  v.exact_dir = f.string("exact_dir");
  v.model = f.string("model");
  v.kfold_estimate_vs_kfold_target = parse_agreement(f.object("kfold_estimate_vs_kfold_target"));
  v.kfold_estimate_vs_loo = parse_agreement(f.object("kfold_estimate_vs_loo"));
  v.kfold_target_vs_loo = parse_agreement(f.object("kfold_target_vs_loo"));
  return v;
}

ExtractionFile read_extraction_json(const std::string& path) { return parse_extraction_json(read_json(path), path); }

ValidationFile read_validation_json(const std::string& path) { return parse_validation_json(read_json(path), path); }

json to_json(const ExtractionFile& x) {
  json models = json::array(), pairs = json::array();
  for (const ExtractionModel& m : x.models) models.push_back(to_json(m));
  for (const ExtractionPair& p : x.pairs) pairs.push_back(to_json(p));
  json j = {{"settings", to_json(x.settings)}, {"models", models}, {"overall", to_json(x.overall)}, {"pairs", pairs}};
  if (x.run) j["run"] = *x.run;
  if (x.duplicated)
    j["duplicated"] = {{"images", x.duplicated->images}, {"copies_of_them", x.duplicated->copies_of_them}};
  return j;
}

json to_json(const ExtractionSettings& s) {
  json j = {{"samples", s.samples},  {"draw", s.draw},           {"delta", num(s.delta)},
            {"alpha", num(s.alpha)}, {"n_nearest", s.n_nearest}, {"jobs", s.jobs}};
  if (s.ct_samples) j["ct_samples"] = *s.ct_samples;
  if (s.sampler) j["sampler"] = *s.sampler;
  if (s.sample_steps) j["sample_steps"] = *s.sample_steps;
  return j;
}

json to_json(const ExtractionModel& m) {
  return {{"job", m.job},
          {"samples", m.samples},
          {"copies_of_training", m.copies_of_training},
          {"copies_of_held_out", m.copies_of_held_out},
          {"copies_per_training_example", num(m.copies_per_training_example)},
          {"copies_per_held_out_example", num(m.copies_per_held_out_example)},
          {"l2_copies_of_training", m.l2_copies_of_training},
          {"l2_copies_of_held_out", m.l2_copies_of_held_out},
          {"ct", num(m.ct)},
          {"ct_cells", m.ct_cells}};
}

json to_json(const ExtractionOverall& o) {
  return {{"copies_of_training", o.copies_of_training},
          {"copies_of_held_out", o.copies_of_held_out},
          {"l2_copies_of_training", o.l2_copies_of_training},
          {"l2_copies_of_held_out", o.l2_copies_of_held_out},
          {"copy_rate_training", num(o.copy_rate_training)},
          {"copy_rate_held_out", num(o.copy_rate_held_out)},
          {"copy_rate_difference", num(o.copy_rate_difference)},
          {"examples_copied", o.examples_copied},
          {"spearman_mem_models_copying", num(o.spearman_mem_models_copying)},
          {"mem_mean_copied", num(o.mem_mean_copied)},
          {"mem_mean_not_copied", num(o.mem_mean_not_copied)}};
}

json to_json(const ExtractionPair& p) {
  json j = {{"job", p.job},
            {"sample", p.sample},
            {"index", p.index},
            {"label", p.label},
            {"l2", num(p.l2)},
            {"ratio", num(p.ratio)},
            {"in_training", p.in_training},
            {"mem", num(p.mem)}};
  if (p.sample_image) j["sample_image"] = *p.sample_image;
  if (p.train_image) j["train_image"] = *p.train_image;
  return j;
}

json to_json(const ScoreAgreement& a) {
  return {{"n", a.n},
          {"spearman", num(a.spearman)},
          {"max_abs_error", num(a.max_abs_error)},
          {"mean_abs_error", num(a.mean_abs_error)},
          {"top5_agreement", num(a.top5_agreement)}};
}

json to_json(const ValidationFile& v) {
  return {{"exact_dir", v.exact_dir},
          {"model", v.model},
          {"kfold_estimate_vs_kfold_target", to_json(v.kfold_estimate_vs_kfold_target)},
          {"kfold_estimate_vs_loo", to_json(v.kfold_estimate_vs_loo)},
          {"kfold_target_vs_loo", to_json(v.kfold_target_vs_loo)}};
}

}  // namespace memscope
