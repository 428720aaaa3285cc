#include "memscope/pipeline/exact.h"

#include <chrono>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "memscope/config/names.h"
#include "memscope/config/validate.h"
#include "memscope/core/error.h"
#include "memscope/core/threads.h"
#include "memscope/core/version.h"
#include "memscope/data/loaders.h"
#include "memscope/io/atomic.h"
#include "memscope/io/csv.h"
#include "memscope/io/npy.h"
#include "memscope/models/gaussian.h"
#include "memscope/models/kde.h"
#include "memscope/pipeline/run_layout.h"
#include "memscope/plan/plan.h"
#include "memscope/score/compare.h"
#include "memscope/score/scores.h"
#include "memscope/train/device.h"

namespace memscope {

namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

/// Exact leave-one-out of the configured closed-form family. x: [n, D] float64.
ExactLoo family_exact_loo(const torch::Tensor& x, const ModelConfig& m) {
  if (m.family.kind == Family::kKde) return kde_exact_loo(x, m.family.bandwidth);
  const int64_t q = m.family.components;
  return q > 0 ? ppca_exact_loo(x, q, m.ridge) : gaussian_exact_loo(x, m.ridge);
}

/// log p of every example under the closed-form fit to each job's training set.
/// x: [n, D] float64, mask: [n, J] bool -> [n, J] float64.
torch::Tensor family_fold_log_prob(const torch::Tensor& x, const torch::Tensor& mask, const ModelConfig& m) {
  if (m.family.kind == Family::kKde) return kde_fold_log_prob(x, mask, m.family.bandwidth);
  const int64_t n = x.size(0), J = mask.size(1), q = m.family.components;
  const GaussianStats all = gaussian_stats(x);
  torch::Tensor logp = torch::empty({n, J}, torch::kFloat64);
  for (int64_t j = 0; j < J; ++j) {
    const torch::Tensor held_out = (~mask.select(1, j)).nonzero().flatten();
    const GaussianStats s = remove_subset(all, gaussian_stats(x.index_select(0, held_out)));
    const GaussianDensity fit = q > 0 ? GaussianDensity::fit_ppca(s, q, m.ridge) : GaussianDensity::fit(s, m.ridge);
    logp.select(1, j).copy_(fit.log_prob(x));
  }
  return logp;
}

}  // namespace

ExactOutcome exact(const RunConfig& cfg_in, const std::string& compare_dir) {
  validate(cfg_in);
  check_device(cfg_in.device);
  const RunConfig cfg = resolved(cfg_in);
  MEMSCOPE_CHECK_KEY(cfg.model.family.closed_form(), "model", "exact needs gaussian, ppca:Q or kde:H, got '",
                     to_string(cfg.model.family), "'");
  set_threads(resolve_threads(cfg.threads));
  const Dataset data = load_dataset(cfg.data, cfg.seed);
  const int64_t n = data.size(), D = data.dim();
  spdlog::info("exact: {} on {} examples in {} dimensions from {}", to_string(cfg.model.family), n, D, data.name);
  const std::string dir = cfg.out;
  const RunLayout files(dir);
  if (fs::exists(dir) && !fs::is_empty(dir) && !fs::exists(files.summary()))
    throw ConfigError("out", str(dir, " is not empty and holds no memscope exact result"));
  std::error_code ec;
  fs::create_directories(dir, ec);
  MEMSCOPE_CHECK_KEY(!ec, "out", "cannot create ", dir, ": ", ec.message());

  const torch::Tensor x = data.x.to(torch::kFloat64);
  auto t = std::chrono::steady_clock::now();
  const ExactLoo loo = family_exact_loo(x, cfg.model);
  const double loo_seconds = seconds_since(t);
  spdlog::info("exact: leave-one-out of {} examples in {:.2f} s", n, loo_seconds);

  // The K-fold target: the same plan as `memscope run`, each fold-removed fit in closed form.
  t = std::chrono::steady_clock::now();
  const Plan plan = make_plan(n, cfg.plan, cfg.seed);
  const torch::Tensor mask = plan.in_mask();
  const int64_t J = int64_t(plan.jobs.size());
  const torch::Tensor logp = family_fold_log_prob(x, mask, cfg.model);
  const Scores kfold = compute_scores(logp, mask);
  const double kfold_seconds = seconds_since(t);
  spdlog::info("exact: K-fold target of {} fold-removed fits in {:.2f} s", J, kfold_seconds);

  const int64_t* idx = data.index.data_ptr<int64_t>();
  const int64_t* lab = data.label.data_ptr<int64_t>();
  CsvWriter loo_csv({"index", "label", "logp_in", "logp_out", "mem", "leverage"}, 12, true);
  CsvWriter kfold_csv({"index", "label", "logp_in", "logp_out", "mem", "n_in", "n_out"}, 12, true);
  auto full = loo.logp_full.accessor<double, 1>(), out = loo.logp_loo.accessor<double, 1>(),
       mem = loo.mem.accessor<double, 1>(), lev = loo.leverage.accessor<double, 1>();
  for (int64_t i = 0; i < n; ++i) {
    loo_csv.row(idx[i], lab[i], full[i], out[i], mem[i], lev[i]);
    kfold_csv.row(idx[i], lab[i], kfold.logp_in[i], kfold.logp_out[i], kfold.mem[i], kfold.n_in[i], kfold.n_out[i]);
  }
  loo_csv.write(files.scores());
  kfold_csv.write(files.kfold_target());
  write_npy(files.logp_kfold(), logp);
  write_npy(files.mask(), mask);

  const torch::Tensor kfold_mem = torch::tensor(kfold.mem, torch::kFloat64);
  nlohmann::json summary = {
      {"memscope_version", kVersion},
      {"model", to_string(cfg.model.family)},
      {"ridge", cfg.model.ridge},
      {"data", {{"name", data.name}, {"n", n}, {"dim", D}, {"binarize", to_string(cfg.data.binarize)}}},
      {"plan", {{"folds", cfg.plan.folds}, {"repeats", cfg.plan.repeats}, {"seed", cfg.seed}}},
      {"seconds", {{"loo", loo_seconds}, {"kfold_target", kfold_seconds}}},
      {"loo_mem", {{"mean", loo.mem.mean().item<double>()}, {"max", loo.mem.max().item<double>()}}},
      {"kfold_target_vs_loo", compare_scores(kfold_mem, loo.mem)},
  };
  if (cfg.model.ridge == 0 && cfg.model.family.kind == Family::kGaussian)
    summary["spearman_mem_leverage"] = spearman(loo.mem, loo.leverage);
  if (!compare_dir.empty()) {
    const std::string path = RunLayout(compare_dir).scores();
    const CsvTable run = read_numeric_csv(path);
    const torch::Tensor run_index = run.column("index", path).to(torch::kInt64);
    MEMSCOPE_CHECK(run_index.size(0) == n && torch::equal(run_index, data.index), "exact: ", path,
                   " scores other examples than --data (compare a run on the same data)");
    const torch::Tensor run_mem = run.column("mem", path);
    summary["compared_run"] = compare_dir;
    summary["kfold_estimate_vs_kfold_target"] = compare_scores(run_mem, kfold_mem);
    summary["kfold_estimate_vs_loo"] = compare_scores(run_mem, loo.mem);
    // The run's report shows these numbers in its validation section.
    const nlohmann::json validation = {{"exact_dir", dir},
                                       {"model", to_string(cfg.model.family)},
                                       {"kfold_estimate_vs_kfold_target", summary["kfold_estimate_vs_kfold_target"]},
                                       {"kfold_estimate_vs_loo", summary["kfold_estimate_vs_loo"]},
                                       {"kfold_target_vs_loo", summary["kfold_target_vs_loo"]}};
    write_atomic(RunLayout(compare_dir).validation(), validation.dump(2) + "\n");
  }
  write_atomic(files.summary(), summary.dump(2) + "\n");
  return {dir, summary};
}

}  // namespace memscope
