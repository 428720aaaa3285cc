#pragma once
// Trains a group of jobs together as one DensityEnsemble and evaluates log p(x) of every example
// under every member at the evaluation epochs.
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "memscope/core/config.h"
#include "memscope/data/dataset.h"
#include "memscope/models/density_model.h"
#include "memscope/plan/plan.h"

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
  /// Wall seconds of the job (its share of the group's time), in total and per phase.
  double seconds = 0, train_seconds = 0, eval_seconds = 0;
};

struct GroupResult {
  std::vector<JobResult> jobs;
  /// The trained members: consecutive sub-ensembles (one per core they trained on).
  std::vector<std::shared_ptr<DensityEnsemble>> models;
  /// Job g's model and its member index there.
  std::pair<DensityEnsemble*, int64_t> member(int64_t g) const;
};

/// Progress callback: fraction of the group's work done in [0, 1], and what is happening.
using ProgressFn = std::function<void(double fraction, const std::string& what)>;

/// A fresh ensemble of the configured family for examples of shape (e.g. {C, H, W}), one member
/// per init seed.
/// Throws memscope::Error when the configured model or augmentation cannot take data's examples
/// (a conv VAE on sizes not multiples of 16, --hflip on non-images); run calls it before it
/// writes anything.
void check_model_fits(const Dataset& data, const RunConfig& cfg);

std::shared_ptr<DensityEnsemble> make_ensemble(const std::vector<int64_t>& shape, const ModelConfig& c,
                                               const std::vector<uint64_t>& init_seeds);

/// Trains the jobs as one ensemble (member g <-> jobs[g]), each member drawing its own shuffled
/// minibatches of its own in-set and its own noise from streams derived from its job seed, with
/// Adam per member; evaluates every example under every member at each epoch of eval_epochs.
/// A member's results do not depend on which other jobs share its group. With cfg.train.hflip,
/// each training example is flipped horizontally with probability 1/2 (a stream per job).
/// checkpoints: empty, or one file per job. Every cfg.train.checkpoint_every epochs each member's
/// state (weights, Adam moments and step count, random streams, results so far) is written there
/// atomically; a member whose file exists resumes after its epoch, with the results it would have
/// had uninterrupted.
GroupResult train_group(const Dataset& data, const std::vector<Job>& jobs, const RunConfig& cfg,
                        const ProgressFn& progress = nullptr, const std::vector<std::string>& checkpoints = {});

/// log p(x) of every example under every member with S importance samples, on tiles of examples
/// processed in parallel; the noise of tile t of member g comes from derive_seed(seeds[g], kEval, {t}).
/// x: [N, D]; seeds: one per member -> [G, N] float32.
torch::Tensor evaluate_log_prob(DensityEnsemble& model, const torch::Tensor& x, int64_t samples,
                                const std::vector<uint64_t>& seeds,
                                const std::function<void(int64_t done, int64_t total)>& tick = nullptr);

}  // namespace memscope
