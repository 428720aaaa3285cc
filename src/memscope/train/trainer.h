#pragma once
// Trains (or fits) a group of jobs together as DensityEnsembles and evaluates log p(x) of every
// example under every member at the evaluation epochs.
#include <string>
#include <vector>

#include "memscope/core/config.h"
#include "memscope/data/dataset.h"
#include "memscope/plan/plan.h"
#include "memscope/train/result.h"

namespace memscope {

/// Trains the jobs as one ensemble (member g <-> jobs[g]), each member drawing its own shuffled
/// minibatches of its own in-set and its own noise from streams derived from its job seed, with
/// Adam per member; evaluates every example under every member at each epoch of eval_epochs.
/// A member's results do not depend on which other jobs share its group. With cfg.train.hflip,
/// each training example is flipped horizontally with probability 1/2 (a stream per job).
/// checkpoints: empty, or one file per job. Every cfg.train.checkpoint_every epochs each member's
/// state (weights, Adam moments and step count, random streams, results so far) is written there
/// atomically; a member whose file exists resumes after its epoch, with the results it would have
/// had uninterrupted.
/// Closed-form families (is_closed_form) are instead fitted once to each job's training examples;
/// their exact log p stands for every evaluation epoch (checkpoints are not used).
GroupResult train_group(const Dataset& data, const std::vector<Job>& jobs, const RunConfig& cfg,
                        const ProgressFn& progress = nullptr, const std::vector<std::string>& checkpoints = {});

}  // namespace memscope
