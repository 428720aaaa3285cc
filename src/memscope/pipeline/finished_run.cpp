#include "memscope/pipeline/finished_run.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "memscope/core/error.h"
#include "memscope/data/loaders.h"
#include "memscope/io/atomic.h"
#include "memscope/io/csv.h"
#include "memscope/io/npy.h"
#include "memscope/models/factory.h"
#include "memscope/plan/plan.h"
#include "memscope/train/trainer.h"

namespace memscope {

namespace fs = std::filesystem;

std::optional<Reliability> run_reliability(const torch::Tensor& logp, const torch::Tensor& mask,
                                           const PlanConfig& plan) {
  const int64_t J = logp.size(1), folds = plan.folds, repeats = J / folds;
  if (plan.design == Design::kSubsets) {
    if (J < 4) return std::nullopt;
    Reliability r = split_half_reliability(logp, mask, halves_by_model(J), double(J));
    r.unit = "models";
    return r;
  }
  if (repeats < 2 || J % folds != 0) return std::nullopt;
  std::vector<int64_t> repeat_of_job;
  for (int64_t j = 0; j < J; ++j) repeat_of_job.push_back(j / folds);
  return split_half_reliability(logp, mask, halves_by_repeat(repeat_of_job), double(repeats));
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
  r.config = read_json(files.config());
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
  r.reliability = run_reliability(logp[logp.size(0) - 1], r.mask, r.cfg.plan);
  r.diagnostics = diagnose_examples(r.data.x, logp[logp.size(0) - 1], r.mask, r.scores, r.cfg.analysis.neighbours);
  if (fs::exists(files.mem_by_epoch())) r.mem_by_epoch = read_npy(files.mem_by_epoch());
  if (fs::exists(files.membership())) r.membership = read_json_object(files.membership());
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
