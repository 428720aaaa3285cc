#pragma once
// Trains a group of jobs of a trainable family together and evaluates log p(x) of every example
// under every member at the evaluation epochs (see train_group in train/trainer.h).
#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "memscope/core/config.h"
#include "memscope/data/dataset.h"
#include "memscope/models/density_model.h"
#include "memscope/plan/plan.h"
#include "memscope/train/adam.h"
#include "memscope/train/lanes.h"
#include "memscope/train/result.h"

namespace memscope {

/// Member g of the group trains for jobs[g]. Construction makes the members (in lanes, see
/// plan_lanes), their random streams and optimizers; run() then goes through the epochs:
///     restore, then for each epoch: train_epoch, evaluate (at evaluation epochs), checkpoint (when due).
/// data, jobs and cfg must outlive the trainer.
class GroupTrainer {
 public:
  /// checkpoints: empty, or one file per job (see train_group).
  GroupTrainer(const Dataset& data, const std::vector<Job>& jobs, const RunConfig& cfg, ProgressFn progress,
               std::vector<std::string> checkpoints);

  /// Restores every member whose checkpoint file exists (an unreadable one is skipped with a
  /// warning) and returns the first epoch that some member still has to train.
  int64_t restore();
  /// One epoch of every live member: minibatch steps, then its held-out loss.
  void train_epoch(int64_t epoch);
  /// log p of every example under every member, appended to the results of the members that trained
  /// this epoch (NaN for diverged ones).
  void evaluate(int64_t epoch);
  /// --iw-samples auto: the samples of this evaluation, from a pilot of every member (choose_iw_samples).
  SampleChoice choose_samples(int64_t epoch);
  /// Writes the checkpoint of every member that trained this epoch.
  void checkpoint(int64_t epoch);
  /// All of the above, from restore to the last epoch; then the results with their times.
  GroupResult run();

 private:
  /// Members [first, first + model->members()) with their own optimizer.
  struct Lane {
    /// The group's index of the lane's first member.
    int64_t first = 0;
    /// The lane's jobs, and the held-out examples ([n] int64) of each.
    std::vector<Job> jobs;
    std::vector<torch::Tensor> heldout;
    /// The lane's members and their optimizer.
    std::shared_ptr<TrainableEnsemble> model;
    std::unique_ptr<MemberAdam> adam;
  };
  /// One minibatch step's draws for the members of a lane.
  struct Batch {
    /// Rows of the data ([Gl, B] int64) and whether each is real ([Gl, B] bool, on the device).
    torch::Tensor idx, weight;
    /// Members that take this step.
    std::vector<bool> update;
    /// Noise ([B, L]) and flips ([B] bool) of each member.
    std::vector<torch::Tensor> eps, flip;
  };

  /// The lane holding member g, and g's index there.
  std::pair<Lane&, int64_t> lane_of(int64_t g);
  /// Whether member g trains in epoch.
  bool live(int64_t g, int64_t epoch) const { return active_[g] && epoch >= start_[g]; }
  /// Adds units of work done and reports the fraction to the progress callback.
  void report(double units, const std::string& what);
  /// One epoch of a lane's live members: shuffles, minibatch steps, held-out loss.
  void train_lane(Lane& lane, int64_t epoch);
  /// Step s of the shuffled orders ([n_g] int64 per member, undefined for members not live).
  Batch draw_batch(const Lane& lane, const std::vector<torch::Tensor>& order, int64_t s, int64_t epoch);
  /// One optimizer step on a batch; adds each member's summed loss to loss_sum.
  void step(Lane& lane, Batch& batch, int64_t epoch, std::vector<double>& loss_sum);
  /// Whether checkpoint(epoch) is due after epoch.
  bool checkpoint_due(int64_t epoch) const;
  /// Seconds since the trainer was made.
  double elapsed() const;

  const Dataset& data_;
  const std::vector<Job>& jobs_;
  const RunConfig& cfg_;
  /// Progress callback (may be empty) and the checkpoint files (empty, or one per job).
  ProgressFn progress_;
  std::vector<std::string> checkpoints_;
  /// When the trainer was made: the group's time starts here.
  std::chrono::steady_clock::time_point t0_;
  /// Members G, batch size B and the noise draws per training example of a member.
  int64_t members_, batch_, noise_dim_ = 0;
  torch::Device device_;
  /// The data on the device, [N, D].
  torch::Tensor x_;
  /// The epochs with an evaluation.
  std::vector<int64_t> evals_;
  /// Per member: its random streams and its training examples ([n_g] int64).
  std::vector<at::Generator> shuffle_gens_, noise_gens_, flip_gens_;
  std::vector<torch::Tensor> train_idx_;
  LanePlan plan_;
  std::vector<Lane> lanes_;
  /// Per member: still training (not vector<bool>: lanes write their own members at once), and the
  /// first epoch it trains (after its checkpoint's).
  std::vector<char> active_;
  std::vector<int64_t> start_;
  GroupResult result_;
  /// Progress in work units (see kTrainCost): one epoch's steps of the longest member, the total,
  /// and what is done; the seconds spent evaluating.
  int64_t max_steps_ = 0;
  double total_units_ = 0, done_units_ = 0, eval_seconds_ = 0;
  std::mutex report_mutex_;
};

}  // namespace memscope
