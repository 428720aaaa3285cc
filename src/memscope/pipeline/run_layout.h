#pragma once
// Where every file of a run directory (and of an exact directory) lives: the one place that
// spells their names.
//
//   DIR/config.json            resolved configuration, memscope version, data, per-job status
//   DIR/manifest.json          every job of the plan: id, repeat, fold, seed, training-set size, key
//   DIR/index.npy, labels.npy  [N] int64 original index and label of every example
//   DIR/mask.npy               [N, J] bool: job j trained on example i
//   DIR/epochs.npy             [E] int64 evaluated epochs
//   DIR/logp.npy               [E, N, J] float32 log p of every example under every job (NaN: missing)
//   DIR/logp_se.npy            [E, N, J] float32 Monte Carlo standard error of each log p (ddpm only)
//   DIR/denoise_loss.npy       [T', N, J] float32 denoising loss at --loss-timesteps, last epoch (ddpm only)
//   DIR/mem_by_epoch.npy       [E, N] float64 memorization score at every evaluated epoch
//   DIR/scores.csv             per-example scores at the last evaluated epoch
//   DIR/membership.json        membership attacks: per attack AUC, TPR at low FPR, ROC (score/membership.h)
//   DIR/membership-denoise.json  the same attacks on minus the denoising loss at each --loss-timesteps (ddpm)
//   DIR/report.html, summary.json                     the report and its numbers
//   DIR/extraction.csv, copies.csv, extraction.json   memscope extract
//   DIR/validation.json        memscope exact --compare DIR
//   DIR/bench.json             memscope bench --out DIR
//   DIR/jobs/job-NNNNN/        model.pt (final weights), logp.npy ([E, N]), result.json (written last),
//                              logp_se.npy ([E, N]) and denoise_loss.npy ([T', N]) for ddpm,
//                              checkpoint-KEY.pt while training (--checkpoint-every)
//   DIR/jobs/job-NNNNN.lock    the claim of a process training the job
//   BANK/logp.npy, mask.npy, labels.npy, images.npy   memscope score --bank BANK (an external bank)
//   BANK/bank.json             what BANK holds: the statistic, its direction, the plan it was trained from
//   PLAN/...                   memscope plan (PlanLayout below; pipeline/plan_files.h)
//   EXACT/scores.csv, kfold_target.csv, logp_kfold.npy, mask.npy, summary.json   memscope exact
#include <cstdint>
#include <string>

#include <fmt/format.h>

namespace memscope {

class RunLayout {
 public:
  explicit RunLayout(std::string dir) : dir_(std::move(dir)) {}

  const std::string& dir() const { return dir_; }
  std::string config() const { return file("config.json"); }
  std::string manifest() const { return file("manifest.json"); }
  std::string index() const { return file("index.npy"); }
  std::string labels() const { return file("labels.npy"); }
  /// An external bank's [N, C, H, W] images.
  std::string images() const { return file("images.npy"); }
  std::string mask() const { return file("mask.npy"); }
  /// An external bank's description (statistic, direction, plan hash).
  std::string bank() const { return file("bank.json"); }
  std::string epochs() const { return file("epochs.npy"); }
  std::string logp() const { return file("logp.npy"); }
  std::string logp_se() const { return file("logp_se.npy"); }
  std::string denoise_loss() const { return file("denoise_loss.npy"); }
  std::string mem_by_epoch() const { return file("mem_by_epoch.npy"); }
  std::string scores() const { return file("scores.csv"); }
  std::string membership() const { return file("membership.json"); }
  std::string membership_denoise() const { return file("membership-denoise.json"); }
  std::string report() const { return file("report.html"); }
  std::string summary() const { return file("summary.json"); }
  std::string extraction_csv() const { return file("extraction.csv"); }
  std::string copies() const { return file("copies.csv"); }
  std::string extraction_json() const { return file("extraction.json"); }
  std::string validation() const { return file("validation.json"); }
  std::string bench() const { return file("bench.json"); }
  std::string kfold_target() const { return file("kfold_target.csv"); }
  std::string logp_kfold() const { return file("logp_kfold.npy"); }

  std::string jobs() const { return file("jobs"); }
  std::string job_dir(int64_t id) const { return fmt::format("{}/jobs/job-{:05d}", dir_, id); }
  std::string job_lock(int64_t id) const { return job_dir(id) + ".lock"; }
  std::string job_model(int64_t id) const { return job_dir(id) + "/model.pt"; }
  std::string job_logp(int64_t id) const { return job_dir(id) + "/logp.npy"; }
  std::string job_logp_se(int64_t id) const { return job_dir(id) + "/logp_se.npy"; }
  std::string job_denoise_loss(int64_t id) const { return job_dir(id) + "/denoise_loss.npy"; }
  std::string job_result(int64_t id) const { return job_dir(id) + "/result.json"; }
  std::string job_checkpoint(int64_t id, const std::string& key) const {
    return job_dir(id) + "/checkpoint-" + key + ".pt";
  }
  /// True for a file name of jobs/job-NNNNN/ that a finished job no longer needs.
  static bool is_checkpoint(const std::string& name) { return name.rfind("checkpoint-", 0) == 0; }
  /// True for the names a run directory may hold before its config.json exists.
  static bool may_precede_config(const std::string& name) {
    return name == "jobs" || name == "config.json" || name[0] == '.';
  }

 private:
  std::string file(const std::string& name) const { return dir_ + "/" + name; }
  std::string dir_;
};

/// The files of a plan directory (memscope plan).
class PlanLayout {
 public:
  explicit PlanLayout(std::string dir) : dir_(std::move(dir)) {}
  std::string plan() const { return dir_ + "/plan.json"; }
  std::string mask() const { return dir_ + "/mask.npy"; }
  std::string keep() const { return dir_ + "/keep.npy"; }
  std::string images() const { return dir_ + "/images.npy"; }
  std::string labels() const { return dir_ + "/labels.npy"; }
  std::string index() const { return dir_ + "/index.npy"; }
  std::string train() const { return dir_ + "/train"; }
  /// Model j's training indices, relative to the plan directory, and its path.
  static std::string train_name(int64_t j) { return fmt::format("train/model-{:04d}.npy", j); }
  std::string train(int64_t j) const { return dir_ + "/" + train_name(j); }

 private:
  std::string dir_;
};

}  // namespace memscope
