#pragma once
// A check shared by the model tests: a group "killed" mid-training resumes from its checkpoints
// with exactly the results of an uninterrupted run.
#include <gtest/gtest.h>

#include <filesystem>

#include "memscope/plan/plan.h"
#include "memscope/train/trainer.h"
#include "test_util.h"

namespace memscope::test {

/// Trains two jobs of a 3-fold plan on data for 5 epochs (cfg sets the model and batch size)
/// straight through, then again with checkpoints every 2 epochs, interrupted in epoch 5, with the
/// second member's newest checkpoint lost (so the members resume from different epochs), and
/// expects equal losses and log p: bit for bit for the first member; for the second, which trained
/// epochs 1-2 in a group of one, to relative tolerance rtol (0: bit for bit), as models whose
/// stacked kernels round differently for other group sizes (grouped convolutions) need.
inline void expect_exact_resume(const Dataset& data, RunConfig cfg, double rtol = 0) {
  cfg.train.epochs = 5;
  cfg.train.checkpoint_every = 2;
  cfg.eval.iw_samples = 8;
  cfg.eval.eval_every = 1;
  cfg.plan.folds = 3;
  cfg.threads = 1;
  const Plan plan = make_kfold_plan(data.size(), cfg.plan, 5);
  const std::vector<Job> jobs(plan.jobs.begin(), plan.jobs.begin() + 2);
  const GroupResult straight = train_group(data, jobs, cfg);

  const std::string dir = scratch_dir();
  const std::vector<std::string> ckpt = {dir + "/a.pt", dir + "/b.pt"};
  struct Killed {};
  EXPECT_THROW(train_group(
                   data, jobs, cfg,
                   [](double, const std::string& what) {
                     if (what == "train epoch 5/5") throw Killed{};
                   },
                   ckpt),
               Killed);
  ASSERT_TRUE(std::filesystem::exists(ckpt[0]) && std::filesystem::exists(ckpt[1]));
  // Member b's epoch-4 checkpoint is lost; it has one of epoch 2 (from a 3-epoch run, which
  // checkpoints before its last epoch only).
  RunConfig to2 = cfg;
  to2.train.epochs = 3;
  std::filesystem::remove(ckpt[1]);
  train_group(data, {jobs[1]}, to2, nullptr, {ckpt[1]});

  const GroupResult resumed = train_group(data, jobs, cfg, nullptr, ckpt);
  for (size_t g = 0; g < 2; ++g) {
    const double tol = g == 0 ? 0 : rtol;
    const JobResult& a = straight.jobs[g];
    const JobResult& b = resumed.jobs[g];
    ASSERT_EQ(b.train_loss.size(), 5u);
    ASSERT_EQ(b.heldout_loss.size(), 5u);
    ASSERT_EQ(b.logp.size(), 5u);
    for (size_t e = 0; e < 5; ++e) {
      EXPECT_NEAR(a.train_loss[e], b.train_loss[e], tol * std::abs(a.train_loss[e]))
          << "member " << g << " epoch " << e;
      EXPECT_NEAR(a.heldout_loss[e], b.heldout_loss[e], tol * std::abs(a.heldout_loss[e])) << "member " << g;
      EXPECT_TRUE(tol == 0 ? torch::equal(a.logp[e], b.logp[e]) : torch::allclose(a.logp[e], b.logp[e], tol, 0))
          << "member " << g << " epoch " << e;
    }
  }
}

}  // namespace memscope::test
