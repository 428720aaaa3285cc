#include "memscope/plan/plan.h"

#include <algorithm>
#include <cmath>

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

Plan make_subsets_plan(int64_t n, const PlanConfig& c, uint64_t root_seed) {
  const std::vector<int64_t> blocks = c.subset_blocks.empty() ? std::vector<int64_t>{c.models} : c.subset_blocks;
  int64_t M = 0;
  for (int64_t b : blocks) M += b;
  MEMSCOPE_CHECK_KEY(M == c.models, "subset_blocks", "sum to ", M, ", but models is ", c.models);
  MEMSCOPE_CHECK_KEY(M >= 2, "models", "must be >= 2, got ", M);
  MEMSCOPE_CHECK_KEY(n >= 1, "limit", "the subsets design needs examples");
  // in[m][i]: model m trains on example i.
  std::vector<std::vector<char>> in(size_t(M), std::vector<char>(size_t(n), 0));
  int64_t first = 0;
  for (int64_t B : blocks) {
    const int64_t k = int64_t(std::llround(double(B) * c.subset_fraction));
    MEMSCOPE_CHECK_KEY(k >= 1 && k<B, blocks.size()> 1 ? "subset_blocks" : "subset_fraction", c.subset_fraction, " of ",
                       B, " models", blocks.size() > 1 ? str(" (models ", first, " to ", first + B - 1, ")") : "",
                       " puts every example in ", k, " of them; every example needs in- and out-models");
    std::vector<torch::Tensor> draws;
    for (int64_t m = first; m < first + B; ++m)
      draws.push_back(
          torch::rand({n}, make_generator(derive_seed(root_seed, SeedTag::kSubset, {uint64_t(m)})), torch::kFloat64));
    // [B, N]: order[r][i] is the model of the block (0..B-1) with the r-th smallest draw for example i.
    const torch::Tensor order = torch::stack(draws).argsort(int64_t{0}).contiguous();
    auto o = order.accessor<int64_t, 2>();
    for (int64_t r = 0; r < k; ++r)
      for (int64_t i = 0; i < n; ++i) in[size_t(first + o[r][i])][size_t(i)] = 1;
    first += B;
  }
  Plan plan;
  plan.n = n;
  for (int64_t m = 0; m < M; ++m) {
    Job job;
    job.id = m;
    job.repeat = m;
    job.seed = derive_seed(root_seed, SeedTag::kJob, {uint64_t(m)});
    for (int64_t i = 0; i < n; ++i)
      if (in[size_t(m)][size_t(i)]) job.train.push_back(i);
    plan.jobs.push_back(std::move(job));
  }
  return plan;
}

std::vector<int64_t> resolve_subset_blocks(const PlanConfig& requested, const std::vector<int64_t>& existing) {
  if (!requested.subset_blocks.empty()) return requested.subset_blocks;
  if (existing.empty()) return {requested.models};
  std::vector<int64_t> blocks;
  int64_t sum = 0;
  for (int64_t b : existing) {
    if (sum == requested.models) return blocks;
    sum += b;
    blocks.push_back(b);
  }
  if (sum == requested.models) return blocks;
  if (sum < requested.models) {
    blocks.push_back(requested.models - sum);
    return blocks;
  }
  std::string ends;
  sum = 0;
  for (int64_t b : existing) ends += str(ends.empty() ? "" : ", ", sum += b);
  throw ConfigError("models", str(requested.models, " models cut a block of the run's design (its blocks end at ", ends,
                                  " models); keep fewer models only at a block's end"));
}

Plan make_plan(int64_t n, const PlanConfig& c, uint64_t root_seed) {
  return c.design == Design::kSubsets ? make_subsets_plan(n, c, root_seed) : make_kfold_plan(n, c, root_seed);
}

std::vector<int64_t> job_repeats(const PlanConfig& c, int64_t jobs) {
  std::vector<int64_t> r;
  for (int64_t j = 0; j < jobs; ++j) r.push_back(c.design == Design::kSubsets ? j : j / c.folds);
  return r;
}

std::vector<int64_t> independent_groups(const PlanConfig& c, int64_t jobs) {
  if (c.design == Design::kSubsets) {
    if (jobs < 2) return {};
    std::vector<int64_t> g;
    for (int64_t j = 0; j < jobs; ++j) g.push_back(j % std::min(jobs, kMaxGroups));
    return g;
  }
  return jobs % c.folds == 0 && jobs / c.folds >= 2 ? job_repeats(c, jobs) : std::vector<int64_t>{};
}

}  // namespace memscope
