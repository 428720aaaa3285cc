#include "memscope/plan/plan.h"

#include <algorithm>

#include "memscope/core/error.h"
#include "memscope/core/seeds.h"

namespace memscope {

torch::Tensor Plan::in_mask() const {
  torch::Tensor mask = torch::zeros({n, static_cast<int64_t>(jobs.size())}, torch::kBool);
  auto a = mask.accessor<bool, 2>();
  for (const Job& j : jobs)
    for (int64_t i : j.train) a[i][j.id] = true;
  return mask;
}

Plan make_kfold_plan(int64_t n, const PlanConfig& c, uint64_t root_seed) {
  MEMSCOPE_CHECK_KEY(c.folds >= 2, "folds", "must be >= 2, got ", c.folds);
  MEMSCOPE_CHECK_KEY(c.folds <= n, "folds", c.folds, " folds need at least as many examples, have ", n);
  MEMSCOPE_CHECK_KEY(c.repeats >= 1, "repeats", "must be >= 1, got ", c.repeats);
  Plan plan;
  plan.n = n;
  for (int64_t r = 0; r < c.repeats; ++r) {
    auto gen = make_generator(derive_seed(root_seed, SeedTag::kPermutation, {uint64_t(r)}));
    torch::Tensor perm = torch::randperm(n, gen, torch::kInt64);
    const int64_t* p = perm.data_ptr<int64_t>();
    std::vector<int64_t> fold_of(n);
    for (int64_t k = 0; k < c.folds; ++k)
      for (int64_t pos = k * n / c.folds; pos < (k + 1) * n / c.folds; ++pos) fold_of[p[pos]] = k;
    for (int64_t k = 0; k < c.folds; ++k) {
      Job job;
      job.id = r * c.folds + k;
      job.repeat = r;
      job.fold = k;
      job.seed = derive_seed(root_seed, SeedTag::kJob, {uint64_t(job.id)});
      for (int64_t i = 0; i < n; ++i)
        if (fold_of[i] != k) job.train.push_back(i);
      plan.jobs.push_back(std::move(job));
    }
  }
  return plan;
}

}  // namespace memscope
