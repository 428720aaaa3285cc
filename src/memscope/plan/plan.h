#pragma once
// Designs: K folds x R repeats of one Dataset, as jobs with in-sets and seeds.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "memscope/core/config.h"

namespace memscope {

struct Job {
  /// Position in the plan, 0..J-1 (repeat * folds + fold).
  int64_t id = 0;
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

}  // namespace memscope
