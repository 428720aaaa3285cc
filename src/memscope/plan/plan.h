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

/// Random-subset plan of M = c.models models over n examples, balanced as in the LiRA experiments, block
/// by block (c.subset_blocks; empty: one block of M): every model m draws u_m ~ U(0, 1)^n from its own
/// stream below root_seed, and example i trains the round(B f) models of each block (B models) with the
/// smallest u_m[i], f = c.subset_fraction. So a block's masks and seeds depend on nothing after it: the
/// plan of blocks {6} is the first 6 jobs of the plan of blocks {6, 2}, byte for byte. Throws unless
/// 1 <= round(B f) < B for every block and the blocks sum to M.
Plan make_subsets_plan(int64_t n, const PlanConfig& c, uint64_t root_seed);

/// The blocks of a subsets design of requested.models models on a run directory whose plan has the blocks
/// `existing` (empty: a new run). Explicit requested.subset_blocks win; otherwise the existing blocks are
/// kept and more models add one block of the rest (fewer models keep the blocks up to that many, which must
/// end at a block boundary; ConfigError naming "models" otherwise).
std::vector<int64_t> resolve_subset_blocks(const PlanConfig& requested, const std::vector<int64_t>& existing);

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
