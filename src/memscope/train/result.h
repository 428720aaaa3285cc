#pragma once
// What training a group of jobs produces.
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "memscope/models/density_model.h"
#include "memscope/train/evaluate.h"

namespace memscope {

/// What one job of a group produced.
struct JobResult {
  /// "ok", or "diverged" when its loss became NaN or infinite (it then stops training).
  std::string status = "ok";
  /// Epoch (1-based) in which the loss diverged; 0 when it did not.
  int64_t diverged_epoch = 0;
  /// Mean per-example training loss (negative ELBO, nats) of every completed epoch.
  std::vector<double> train_loss;
  /// Mean loss on the job's held-out examples after every completed epoch (one-sample negative
  /// ELBO; empty for closed-form models).
  std::vector<double> heldout_loss;
  /// One [N] float32 tensor per evaluation epoch: log p of every example (NaN once diverged).
  std::vector<torch::Tensor> logp;
  /// Beside logp, the Monte Carlo standard error of each value (families that have one: ddpm, the VAEs),
  /// or empty.
  std::vector<torch::Tensor> logp_se;
  /// Samples per example of the last evaluation (importance samples or ELBO timesteps; --iw-samples auto
  /// chooses them per evaluation); 0 when there was none.
  int64_t eval_samples = 0;
  /// --iw-samples auto: the last evaluation's choice (seconds: this job's share of its pilot).
  std::optional<SampleChoice> sample_choice;
  /// ddpm with loss timesteps: [T', N] float32 denoising loss of every example at the last epoch
  /// (NaN once diverged); undefined otherwise.
  torch::Tensor denoise_loss;
  /// Wall seconds of the job (its share of the group's time), in total and per phase.
  double seconds = 0, train_seconds = 0, eval_seconds = 0;
};

struct GroupResult {
  /// One result per job, in the order of the group's jobs.
  std::vector<JobResult> jobs;
  /// The trained members: consecutive sub-ensembles (one per core they trained on).
  std::vector<std::shared_ptr<DensityEnsemble>> models;
  /// Job g's model and its member index there.
  std::pair<DensityEnsemble*, int64_t> member(int64_t g) const;
};

/// Progress callback: fraction of the group's work done in [0, 1], and what is happening.
using ProgressFn = std::function<void(double fraction, const std::string& what)>;

}  // namespace memscope
