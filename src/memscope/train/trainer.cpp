#include "memscope/train/trainer.h"

#include <chrono>

#include "memscope/config/names.h"
#include "memscope/core/error.h"
#include "memscope/core/seeds.h"
#include "memscope/core/threads.h"
#include "memscope/models/factory.h"
#include "memscope/train/evaluate.h"
#include "memscope/train/group_trainer.h"

namespace memscope {

namespace {

/// The group of a closed-form family: each member fitted to its job's training examples, then
/// evaluated once; the same exact log p stands for every evaluation epoch.
GroupResult fit_group(const Dataset& data, const std::vector<Job>& jobs, const RunConfig& cfg,
                      const ProgressFn& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t G = static_cast<int64_t>(jobs.size());
  const torch::Device device(cfg.device);
  const torch::Tensor X = data.x.to(device);
  std::vector<uint64_t> init_seeds;
  std::vector<torch::Tensor> train_idx;
  for (const Job& j : jobs) {
    init_seeds.push_back(derive_seed(j.seed, SeedTag::kInit));
    train_idx.push_back(torch::tensor(j.train, torch::kInt64));
  }
  const std::vector<int64_t> evals = eval_epochs(cfg.train, cfg.eval);
  GroupResult result;
  result.jobs.resize(G);
  auto model = std::dynamic_pointer_cast<ClosedFormEnsemble>(make_ensemble(data.shape, cfg.model, init_seeds));
  MEMSCOPE_CHECK(model, "train_group: model family '", to_string(cfg.model.family), "' is trained, not fitted");
  result.models = {model};
  model->to(device);
  std::vector<uint64_t> seeds;
  for (int64_t g = 0; g < G; ++g) {
    model->fit(g, X.index_select(0, train_idx[g].to(device)));
    seeds.push_back(jobs[g].seed);
  }
  const auto t_fit = std::chrono::steady_clock::now();
  torch::Tensor lp = evaluate_log_prob(*model, X, 1, seeds);
  const double eval_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_fit).count();
  const double total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (int64_t g = 0; g < G; ++g) {
    JobResult& r = result.jobs[g];
    r.train_loss.push_back(-lp[g].index_select(0, train_idx[g]).to(torch::kFloat64).mean().item<double>());
    for (size_t e = 0; e < evals.size(); ++e) r.logp.push_back(lp[g].clone());
    r.seconds = total_s / G;
    r.eval_seconds = eval_s / G;
    r.train_seconds = (total_s - eval_s) / G;
  }
  if (progress) progress(1.0, "fitted");
  return result;
}

}  // namespace

GroupResult train_group(const Dataset& data, const std::vector<Job>& jobs, const RunConfig& cfg,
                        const ProgressFn& progress, const std::vector<std::string>& checkpoints) {
  set_threads(resolve_threads(cfg.threads));
  MEMSCOPE_CHECK(!jobs.empty(), "train_group: no jobs");
  for (const Job& j : jobs) MEMSCOPE_CHECK(!j.train.empty(), "train_group: job ", j.id, " has an empty training set");
  check_model_fits(data, cfg);
  if (is_closed_form(cfg.model)) return fit_group(data, jobs, cfg, progress);
  return GroupTrainer(data, jobs, cfg, progress, checkpoints).run();
}

std::pair<DensityEnsemble*, int64_t> GroupResult::member(int64_t g) const {
  for (const auto& m : models) {
    if (g < m->members()) return {m.get(), g};
    g -= m->members();
  }
  throw Error(str("GroupResult: no member ", g));
}

}  // namespace memscope
