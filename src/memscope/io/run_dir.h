#pragma once
// The run directory: what a run writes, where, and how a resumed run finds what is done.
//
//   DIR/config.json            resolved configuration, memscope version, data, per-job status
//   DIR/manifest.json          every job of the plan: id, repeat, fold, seed, training-set size, key
//   DIR/index.npy, labels.npy  [N] int64 original index and label of every example
//   DIR/mask.npy               [N, J] bool: job j trained on example i
//   DIR/epochs.npy             [E] int64 evaluated epochs
//   DIR/logp.npy               [E, N, J] float32 log p of every example under every job (NaN: missing)
//   DIR/mem_by_epoch.npy       [E, N] float64 memorization score at every evaluated epoch
//   DIR/scores.csv             per-example scores at the last evaluated epoch
//   DIR/jobs/job-NNNNN/        model.pt (final weights), logp.npy ([E, N]), result.json (written last),
//                              checkpoint-KEY.pt while training (--checkpoint-every)
//   DIR/report.html, summary.json    the report (memscope report, or at the end of memscope run)
//   DIR/extraction.json        memscope extract's findings, shown by the report
//   DIR/validation.json        memscope exact --compare's agreement with exact values, shown by the report
#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "memscope/core/config.h"
#include "memscope/data/dataset.h"
#include "memscope/score/scores.h"
#include "memscope/plan/plan.h"
#include "memscope/train/trainer.h"

namespace memscope {

/// A finished run read back: its configuration, the data as it was preprocessed, and the scores
/// at the last evaluated epoch.
struct FinishedRun {
  nlohmann::json config;  // config.json
  RunConfig cfg;
  Dataset data;
  Scores scores;
  std::vector<int64_t> epochs;
  torch::Tensor mask, mem_by_epoch;  // [N, J] bool; [E, N] (undefined if absent)
  bool images = false;               // examples are images (C x H x W with H > 1)
};

/// The configuration a run directory was made with (out set to dir).
RunConfig load_run_config(const std::string& dir);

/// Reads DIR; throws memscope::Error naming what is missing or inconsistent.
FinishedRun load_finished_run(const std::string& dir);

/// Loads member `job` of a finished run into a one-member ensemble.
std::shared_ptr<DensityEnsemble> load_job_model(const std::string& dir, const FinishedRun& run, int64_t job);

class RunDir {
 public:
  /// Opens dir for a run of cfg on data with content_hash data_hash, creating it if needed. Throws
  /// when dir holds a run made with a different configuration or data (naming the differences)
  /// or is a non-empty directory of other files.
  RunDir(const std::string& dir, const RunConfig& cfg, const std::string& data_hash);

  const std::string& path() const { return dir_; }
  std::string file(const std::string& name) const { return dir_ + "/" + name; }
  std::string job_dir(int64_t id) const;

  /// Paths in a run directory dir, for readers of finished runs: job id's final weights
  /// (jobs/job-NNNNN/model.pt), the report's report.html and summary.json, and the extraction.json
  /// and validation.json that memscope extract and memscope exact --compare add.
  static std::string job_model_path(const std::string& dir, int64_t id);
  static std::string report_html_path(const std::string& dir) { return dir + "/report.html"; }
  static std::string summary_json_path(const std::string& dir) { return dir + "/summary.json"; }
  static std::string extraction_json_path(const std::string& dir) { return dir + "/extraction.json"; }
  static std::string validation_json_path(const std::string& dir) { return dir + "/validation.json"; }

  /// Key of a job's result: a hash of the run identity (configuration and data content), the
  /// memscope version, the job's id, seed and training set.
  std::string job_key(const Job& job) const;
  /// True when the job's result.json exists and carries the job's key.
  bool job_done(const Job& job) const;
  /// Where the job keeps its training state under --checkpoint-every (creating the job's
  /// directory); the key in the name means a checkpoint of another identity is never resumed.
  std::string checkpoint_path(const Job& job) const;
  /// Writes the job's weights and log p, then its result.json (the commit point), atomically, and
  /// removes its checkpoints.
  void save_job(const Job& job, const JobResult& r, const std::vector<int64_t>& epochs, DensityEnsemble& model,
                int64_t member) const;
  /// The job's result.json.
  nlohmann::json job_meta(const Job& job) const;
  /// [E, N] float32 log p of a finished job.
  torch::Tensor job_logp(const Job& job) const;

  /// An exclusive claim on a job (flock on jobs/job-NNNNN.lock): released when the object dies
  /// or the process does, so a killed process never blocks a resume.
  class Claim {
   public:
    explicit Claim(int fd) : fd_(fd) {}
    Claim(Claim&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    Claim(const Claim&) = delete;
    ~Claim();

   private:
    int fd_;
  };
  /// Claims the job, or returns nothing when another process holds it.
  std::optional<Claim> try_claim(const Job& job) const;

  /// Writes manifest.json: every job of the plan with its key.
  void write_manifest(const Plan& plan) const;
  /// Writes config.json: the configuration, version, data description and per-job status.
  void write_config(const nlohmann::json& data, const nlohmann::json& jobs) const;

 private:
  std::string dir_;
  RunConfig cfg_;
  nlohmann::json identity_;
};

}  // namespace memscope
