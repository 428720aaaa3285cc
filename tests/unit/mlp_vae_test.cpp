#include "memscope/models/mlp_vae.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "memscope/core/seeds.h"
#include "memscope/plan/plan.h"
#include "memscope/train/trainer.h"
#include "resume_check.h"

using namespace memscope;

namespace {

ModelConfig small_model() {
  ModelConfig c;
  c.hidden = {24, 12};
  c.latent = 3;
  return c;
}

Dataset toy_data(int64_t n, int64_t d) {
  torch::manual_seed(11);
  Dataset ds;
  torch::Tensor proto = torch::rand({2, d});
  ds.x = torch::bernoulli(proto.index_select(0, torch::arange(n) % 2)).contiguous();
  ds.index = torch::arange(n);
  ds.label = torch::arange(n) % 2;
  ds.shape = {1, 1, d};
  return ds;
}

}  // namespace

TEST(MlpVae, FusedBernoulliLikelihoodMatchesDirectComputation) {
  MlpVaeEnsemble vae(40, small_model(), {1, 2});
  torch::NoGradGuard ng;
  torch::Tensor x = torch::bernoulli(torch::full({5, 40}, 0.4));
  torch::Tensor z = torch::randn({2, 5, 9, 3});
  torch::Tensor fused = vae.bernoulli_log_lik(x, z);
  torch::Tensor logits = vae.decode(z.reshape({2, 45, 3})).reshape({2, 5, 9, 40});
  torch::Tensor direct =
      -torch::binary_cross_entropy_with_logits(logits, x.unsqueeze(1).expand_as(logits), {}, {}, at::Reduction::None)
           .sum(-1);
  EXPECT_TRUE(torch::allclose(fused, direct, 1e-4, 1e-3)) << (fused - direct).abs().max();
}

TEST(MlpVae, OneSampleImportanceWeightIsAnUnbiasedElbo) {
  // E[log w] with one sample equals the ELBO whose negative the training loss computes (with the
  // KL term in closed form), and more samples can only raise the estimate on average. An untrained
  // encoder is close to its prior, so the gain from 512 samples is small: both sides are compared
  // within their Monte Carlo errors, not by exact order.
  torch::manual_seed(5);
  MlpVaeEnsemble vae(30, small_model(), {5});
  torch::NoGradGuard ng;
  torch::Tensor x = torch::bernoulli(torch::full({3, 30}, 0.3));
  const int64_t T = 20000, R = 64;
  // T one-sample estimates per example, as a batch of T copies of x.
  torch::Tensor xs = x.repeat({T, 1});
  torch::Tensor one = vae.log_prob(xs, torch::randn({1, 3 * T, 1, 3}))[0].view({T, 3}).to(torch::kFloat64);
  torch::Tensor mc = one.mean(0), mc_se = one.std(0) / std::sqrt(double(T));
  torch::Tensor loss =
      vae.loss(xs.unsqueeze(0), torch::randn({1, 3 * T, 3}))[0].view({T, 3}).to(torch::kFloat64).mean(0);
  EXPECT_TRUE(torch::allclose(mc, -loss, 0, 0.5)) << mc << -loss;
  // R independent 512-sample estimates per example, averaged.
  torch::Tensor many =
      vae.log_prob(x.repeat({R, 1}), torch::randn({1, 3 * R, 512, 3}))[0].view({R, 3}).to(torch::kFloat64);
  torch::Tensor iw = many.mean(0), iw_se = many.std(0) / std::sqrt(double(R));
  EXPECT_TRUE((iw - mc > -4 * (mc_se.square() + iw_se.square()).sqrt()).all().item<bool>()) << iw << mc << mc_se;
}

TEST(MlpVae, SavedMemberReloadsIntoAnotherEnsemble) {
  MlpVaeEnsemble a(20, small_model(), {1, 2, 3});
  MlpVaeEnsemble b(20, small_model(), {9});
  std::stringstream ss;
  a.save_member(2, ss);
  b.load_member(0, ss);
  torch::NoGradGuard ng;
  torch::Tensor x = torch::bernoulli(torch::full({4, 20}, 0.5));
  torch::Tensor eps = torch::randn({1, 4, 6, 3});
  torch::Tensor from_a = a.log_prob(x, eps.expand({3, 4, 6, 3}).contiguous())[2];
  EXPECT_TRUE(torch::allclose(b.log_prob(x, eps)[0], from_a, 1e-5, 1e-4));
}

namespace {

// 90 examples, 4 folds (sizes 22/23: members run different step counts), 3 epochs.
RunConfig group_config() {
  RunConfig cfg;
  cfg.model = small_model();
  cfg.train.epochs = 3;
  cfg.train.batch_size = 16;
  cfg.eval.iw_samples = 8;
  cfg.plan.folds = 4;
  return cfg;
}

// The same job trained in two ways: per-epoch training and held-out losses to 1e-4 relative,
// log p of every evaluation to 1e-4 / 1e-3.
void expect_same_job(const JobResult& a, const JobResult& b) {
  ASSERT_EQ(a.train_loss.size(), 3u);
  ASSERT_EQ(b.train_loss.size(), 3u);
  for (size_t e = 0; e < 3; ++e) EXPECT_NEAR(a.train_loss[e], b.train_loss[e], 1e-4 * std::abs(a.train_loss[e]));
  for (size_t e = 0; e < 3; ++e) EXPECT_NEAR(a.heldout_loss[e], b.heldout_loss[e], 1e-4 * std::abs(a.heldout_loss[e]));
  ASSERT_EQ(a.logp.size(), b.logp.size());
  for (size_t e = 0; e < a.logp.size(); ++e) EXPECT_TRUE(torch::allclose(a.logp[e], b.logp[e], 1e-4, 1e-3));
}

}  // namespace

TEST(Trainer, GroupedTrainingEqualsOneJobAtATime) {
  Dataset data = toy_data(90, 16);
  RunConfig cfg = group_config();
  cfg.eval.eval_every = 2;
  Plan plan = make_kfold_plan(data.size(), cfg.plan, 1);
  GroupResult together = train_group(data, plan.jobs, cfg);
  ASSERT_EQ(together.jobs.size(), 4u);
  for (size_t j = 0; j < plan.jobs.size(); ++j) {
    GroupResult alone = train_group(data, {plan.jobs[j]}, cfg);
    ASSERT_EQ(together.jobs[j].logp.size(), 2u);  // epochs 2 and 3
    expect_same_job(alone.jobs[0], together.jobs[j]);
  }
  // Training makes progress: the loss falls over epochs.
  EXPECT_LT(together.jobs[0].train_loss.back(), together.jobs[0].train_loss.front());
}

TEST(Trainer, MembersSplitIntoLanesComputeWhatOneEnsembleComputes) {
  Dataset data = toy_data(90, 16);
  RunConfig cfg = group_config();
  Plan plan = make_kfold_plan(data.size(), cfg.plan, 1);
  cfg.threads = 1;  // one ensemble of 4
  GroupResult one = train_group(data, plan.jobs, cfg);
  ASSERT_EQ(one.models.size(), 1u);
  cfg.threads = 3;  // three lanes of one member side by side, then one on all three threads
  GroupResult lanes = train_group(data, plan.jobs, cfg);
  ASSERT_EQ(lanes.models.size(), 4u);
  for (size_t j = 0; j < plan.jobs.size(); ++j) {
    expect_same_job(one.jobs[j], lanes.jobs[j]);
    // member() finds job j's weights in its lane.
    auto [m1, k1] = one.member(int64_t(j));
    auto [m2, k2] = lanes.member(int64_t(j));
    EXPECT_TRUE(
        torch::allclose(m1->sample(k1, 5, make_generator(7)), m2->sample(k2, 5, make_generator(7)), 1e-4, 1e-4));
  }
}

TEST(Trainer, ADivergedJobIsRecordedAndDoesNotDisturbItsGroup) {
  Dataset data = toy_data(40, 12);
  data.x[0][3] = std::numeric_limits<float>::quiet_NaN();  // poisons every model that trains on example 0
  RunConfig cfg;
  cfg.model = small_model();
  cfg.train.epochs = 2;
  cfg.train.batch_size = 8;
  cfg.eval.iw_samples = 4;
  cfg.plan.folds = 2;
  Plan plan = make_kfold_plan(data.size(), cfg.plan, 3);
  GroupResult g = train_group(data, plan.jobs, cfg);
  const size_t poisoned =
      std::find(plan.jobs[0].train.begin(), plan.jobs[0].train.end(), 0) != plan.jobs[0].train.end() ? 0 : 1;
  const size_t clean = 1 - poisoned;
  EXPECT_EQ(g.jobs[poisoned].status, "diverged");
  EXPECT_EQ(g.jobs[poisoned].diverged_epoch, 1);
  EXPECT_TRUE(torch::isnan(g.jobs[poisoned].logp.back()).all().item<bool>());
  EXPECT_EQ(g.jobs[clean].status, "ok");
  GroupResult alone = train_group(data, {plan.jobs[clean]}, cfg);
  EXPECT_NEAR(alone.jobs[0].train_loss.back(), g.jobs[clean].train_loss.back(), 1e-3);
}

TEST(Trainer, AJobKilledMidTrainingResumesFromItsCheckpointWithIdenticalResults) {
  RunConfig cfg;
  cfg.model = small_model();
  cfg.train.batch_size = 8;
  test::expect_exact_resume(toy_data(60, 16), cfg);
}

TEST(MlpVae, MatmulFlopsCountEveryLayerAndNoInputGradientOfTheData) {
  MlpVaeEnsemble vae(1024, ModelConfig{}, {1});            // 1024-512-256-16, the paper's model
  const double enc = 1024.0 * 512 + 512 * 256 + 256 * 32;  // the last layer gives mean and log-variance
  const double dec = 16.0 * 256 + 256 * 512 + 512 * 1024;
  EXPECT_DOUBLE_EQ(vae.forward_flops_per_example(), 2 * (enc + dec));
  EXPECT_DOUBLE_EQ(vae.train_flops_per_example(), 2 * (3 * (enc + dec) - 1024.0 * 512));
}
