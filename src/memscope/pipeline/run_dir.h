#pragma once
// The run directory of a run: opening it (checking that it holds this run), job keys, claims, and
// writing a job's results. Its files are named by RunLayout (pipeline/run_layout.h).
#include <optional>
#include <string>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "memscope/core/config.h"
#include "memscope/pipeline/run_layout.h"
#include "memscope/plan/plan.h"
#include "memscope/train/trainer.h"

namespace memscope {

class RunDir {
 public:
  /// Opens dir for a run of cfg on data with content_hash data_hash, creating it if needed. Throws
  /// when dir holds a run made with a different configuration or data (naming the differences)
  /// or is a non-empty directory of other files.
  RunDir(const std::string& dir, const RunConfig& cfg, const std::string& data_hash);

  const std::string& path() const { return dir_; }
  const RunLayout& layout() const { return layout_; }

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
  /// Removes the job's checkpoints (those a process killed between a job's result.json and their
  /// removal in save_job left behind).
  void remove_checkpoints(const Job& job) const;
  /// The job's result.json.
  nlohmann::json job_meta(const Job& job) const;
  /// [E, N] float32 log p of a finished job.
  torch::Tensor job_logp(const Job& job) const;
  /// A finished job's [E, N] standard errors of log p and [T', N] denoising losses (ddpm), or
  /// undefined tensors when it has none.
  torch::Tensor job_logp_se(const Job& job) const;
  torch::Tensor job_denoise_loss(const Job& job) const;

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
  RunLayout layout_;
  RunConfig cfg_;
  nlohmann::json identity_;
};

}  // namespace memscope
