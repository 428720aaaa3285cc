#include "memscope/pipeline/finished_run.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "memscope/config/validate.h"
#include "memscope/core/error.h"
#include "memscope/data/loaders.h"
#include "memscope/io/atomic.h"
#include "memscope/io/csv.h"
#include "memscope/io/npy.h"
#include "memscope/models/factory.h"
#include "memscope/pipeline/run_config_file.h"
#include "memscope/plan/plan.h"
#include "memscope/train/trainer.h"

namespace memscope {

namespace fs = std::filesystem;

namespace {

/// Two independent halves of a plan's models ([J] bool): the even groups of independent_groups against
/// the odd ones, i.e. K-fold plans by repeat (undefined for a single repeat), subset designs by model
/// (undefined below 4 models).
torch::Tensor run_halves(const PlanConfig& plan, int64_t jobs) {
  const std::vector<int64_t> groups = independent_groups(plan, jobs);
  if (groups.empty() || (plan.design == Design::kSubsets && jobs < 4)) return {};
  return halves_by_repeat(groups);
}

}  // namespace

std::optional<Reliability> run_reliability(const torch::Tensor& logp, const torch::Tensor& mask,
                                           const PlanConfig& plan) {
  const int64_t J = logp.size(1);
  const torch::Tensor halves = run_halves(plan, J);
  if (!halves.defined()) return std::nullopt;
  const bool by_model = plan.design == Design::kSubsets;
  Reliability r = split_half_reliability(logp, mask, halves, double(by_model ? J : J / plan.folds));
  if (by_model) r.unit = "models";
  return r;
}

RunConfig load_run_config(const std::string& dir) {
  const RunLayout files(dir);
  MEMSCOPE_CHECK(fs::exists(files.config()), "run: ", dir, " has no config.json (not a memscope run directory)");
  RunConfig cfg = read_run_config_file(files.config());
  cfg.out = dir;
  return cfg;
}

FinishedRun load_finished_run(const std::string& dir) {
  FinishedRun r;
  r.layout = RunLayout(dir);
  const RunLayout& files = r.layout;
  r.cfg = resolved(load_run_config(dir));
  MEMSCOPE_CHECK(fs::exists(files.logp()), "run: ", dir, " has no logp.npy (the run has not finished)");
  r.data = load_dataset(r.cfg.data, r.cfg.seed);
  torch::Tensor logp = read_npy(files.logp());
  r.mask = read_npy(files.mask());
  torch::Tensor ep = read_npy(files.epochs());
  const int64_t N = r.data.size();
  MEMSCOPE_CHECK(logp.dim() == 3 && logp.size(1) == N && r.mask.dim() == 2 && r.mask.size(0) == N &&
                     r.mask.size(1) == logp.size(2) && ep.size(0) == logp.size(0),
                 "run: ", dir, ": logp.npy ", logp.sizes(), ", mask.npy ", r.mask.sizes(), " and epochs.npy ",
                 ep.sizes(), " do not agree with ", N, " examples");
  r.epochs.assign(ep.data_ptr<int64_t>(), ep.data_ptr<int64_t>() + ep.size(0));
  r.scores = compute_scores(logp[logp.size(0) - 1], r.mask, job_repeats(r.cfg.plan, r.mask.size(1)));
  if (fs::exists(files.logp_se())) add_monte_carlo_error(r.scores, read_npy(files.logp_se())[logp.size(0) - 1], r.mask);
  if (fs::exists(files.membership())) {
    r.membership = read_membership_json(files.membership());
    // The error bars as the run calibrated them against its permutation null.
    const MemNull& null = r.membership->mem_null;
    if (null.draws > 0 && std::isfinite(null.mem_se_scale))
      calibrate_error_bars(r.scores, null.mem_se_scale,
                           std::isfinite(null.mem_log_se_scale) ? null.mem_log_se_scale : 1.0);
  }
  r.reliability = run_reliability(logp[logp.size(0) - 1], r.mask, r.cfg.plan);
  r.diagnostics = diagnose_examples(r.data.x, logp[logp.size(0) - 1], r.mask, r.scores, r.cfg.analysis.neighbours,
                                    independent_groups(r.cfg.plan, r.mask.size(1)));
  if (fs::exists(files.mem_by_epoch())) r.mem_by_epoch = read_npy(files.mem_by_epoch());
  if (fs::exists(files.membership_denoise()))
    r.membership_denoise = read_membership_denoise_json(files.membership_denoise());
  if (fs::exists(files.scores())) {
    const CsvTable t = read_numeric_csv(files.scores());
    if (std::find(t.header.begin(), t.header.end(), "mia_risk") != t.header.end() && t.values.size(0) == N) {
      const torch::Tensor risk = t.column("mia_risk", files.scores()).contiguous();
      r.scores.mia_risk.assign(risk.data_ptr<double>(), risk.data_ptr<double>() + N);
    }
  }
  r.images = r.data.shape.size() == 3 && r.data.shape[1] > 1;
  return r;
}

std::shared_ptr<DensityEnsemble> load_job_model(const FinishedRun& run, int64_t job) {
  return load_job_models(run, {job});
}

std::shared_ptr<DensityEnsemble> load_job_models(const FinishedRun& run, const std::vector<int64_t>& jobs) {
  auto model = make_ensemble(run.data.shape, run.cfg.model, std::vector<uint64_t>(jobs.size(), 0));
  for (size_t k = 0; k < jobs.size(); ++k) {
    const std::string weights = run.layout.job_model(jobs[k]);
    MEMSCOPE_CHECK(fs::exists(weights), "run: ", weights, " does not exist (job ", jobs[k], " has not finished)");
    std::ifstream is(weights, std::ios::binary);
    MEMSCOPE_CHECK(is, "run: cannot read ", weights);
    try {
      model->load_member(int64_t(k), is);
    } catch (const c10::Error& e) {
      throw Error(str("run: ", weights, " is not a readable model archive"));
    }
  }
  return model;
}

}  // namespace memscope
