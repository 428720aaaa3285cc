#pragma once
// Designs: K folds x R repeats, or M models on random balanced subsets, of one Dataset, as jobs with
// in-sets and seeds.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "memscope/core/config.h"

namespace memscope {

struct Job {
  /// Position in the plan, 0..J-1 (kfold: repeat * folds + fold; subsets: the model).
  int64_t id = 0;
  /// kfold: the repeat and fold. subsets: every model is an independent draw, its own repeat
  /// (repeat = id, fold = 0).
  int64_t repeat = 0;
  int64_t fold = 0;
  /// Seed of every random choice inside the job (initialisation, minibatches, noise, evaluation).
  uint64_t seed = 0;
  /// Positions (into the Dataset) of the examples the job trains on, ascending.
  std::vector<int64_t> train;
};

struct Plan {
  int64_t n = 0;
  std::vector<Job> jobs;
  /// [N, J] bool: in_mask[i][j] is true when job j trains on example i.
  torch::Tensor in_mask() const;
};

/// K-fold x R-repeat plan over n examples: repeat r permutes 0..n-1 with a stream derived from
/// root_seed, cuts it into K folds of sizes differing by at most one, and job (r, k) trains on all
/// but fold k. Throws when K > n.
Plan make_kfold_plan(int64_t n, const PlanConfig& c, uint64_t root_seed);

/// Random-subset plan of M = c.models models over n examples, balanced as in the LiRA experiments:
/// every model m draws u_m ~ U(0, 1)^n from its own stream below root_seed, and example i trains the
/// round(M f) models with the smallest u_m[i], f = c.subset_fraction. Throws unless 1 <= round(M f) < M.
Plan make_subsets_plan(int64_t n, const PlanConfig& c, uint64_t root_seed);

/// The plan of c.design.
Plan make_plan(int64_t n, const PlanConfig& c, uint64_t root_seed);

/// The repeat of each of J jobs of design c (kfold: j / folds; subsets: j), for compute_scores.
std::vector<int64_t> job_repeats(const PlanConfig& c, int64_t jobs);

/// Groups of a plan's jobs that are independent of each other, for delete-one-group jackknives: the
/// repeats of a K-fold plan (empty for a single repeat, whose folds depend on each other), or the
/// models of a subsets design dealt into min(jobs, kMaxGroups) groups (empty below 2 models).
inline constexpr int64_t kMaxGroups = 16;
std::vector<int64_t> independent_groups(const PlanConfig& c, int64_t jobs);

}  // namespace memscope
