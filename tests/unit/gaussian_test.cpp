#include "memscope/models/gaussian.h"

#include <gtest/gtest.h>

#include <cmath>

#include "memscope/core/error.h"
#include "memscope/models/factory.h"
#include "memscope/plan/plan.h"
#include "memscope/train/group_trainer.h"
#include "memscope/train/trainer.h"

using namespace memscope;

namespace {

// Correlated data with a few outliers: x = z A + b.
torch::Tensor sample(int64_t n, int64_t D, uint64_t seed) {
  torch::manual_seed(seed);
  torch::Tensor A = torch::randn({D, D}, torch::kFloat64);
  torch::Tensor x = torch::matmul(torch::randn({n, D}, torch::kFloat64), A) + torch::randn({D}, torch::kFloat64);
  x[0] = x[0] * 4;  // an outlier
  return x;
}

torch::Tensor without(const torch::Tensor& x, int64_t i) { return torch::cat({x.slice(0, 0, i), x.slice(0, i + 1)}); }

}  // namespace

TEST(Gaussian, LeaveOneOutEqualsBruteForceRefits) {
  torch::Tensor x = sample(40, 5, 1);
  for (double ridge : {0.0, 0.3}) {
    ExactLoo loo = gaussian_exact_loo(x, ridge);
    for (int64_t i = 0; i < 40; ++i) {
      const double refit =
          GaussianDensity::fit(gaussian_stats(without(x, i)), ridge).log_prob(x.slice(0, i, i + 1))[0].item<double>();
      EXPECT_NEAR(loo.logp_loo[i].item<double>(), refit, 1e-9) << "i=" << i << " ridge=" << ridge;
    }
    const torch::Tensor full = GaussianDensity::fit(gaussian_stats(x), ridge).log_prob(x);
    EXPECT_TRUE(torch::allclose(loo.logp_full, full, 0, 1e-9));
  }
}

TEST(Gaussian, MatchesTheClosedFormOfDesignAndTheLeverageIdentity) {
  const int64_t n = 50, D = 4;
  torch::Tensor x = sample(n, D, 2);
  ExactLoo loo = gaussian_exact_loo(x, 0.0);
  // a_i = d_i^T S^-1 d_i with S the ML covariance.
  torch::Tensor d = x - x.mean(0);
  torch::Tensor S = torch::matmul(d.t(), d) / double(n);
  torch::Tensor a = (torch::matmul(d, torch::inverse(S)) * d).sum(1);
  // The hat matrix of the regression design [1, X].
  torch::Tensor X1 = torch::cat({torch::ones({n, 1}, torch::kFloat64), x}, 1);
  torch::Tensor H = torch::matmul(torch::matmul(X1, torch::inverse(torch::matmul(X1.t(), X1))), X1.t());
  for (int64_t i = 0; i < n; ++i) {
    const double ai = a[i].item<double>(), nn = double(n);
    const double m = 0.5 * D * std::log(nn / (nn - 1)) + 0.5 * std::log((nn - 1 - ai) / (nn - 1)) +
                     ai * (1 + ai) / (2 * (nn - 1 - ai));
    EXPECT_NEAR(loo.mem[i].item<double>(), m, 1e-9) << i;
    EXPECT_NEAR(loo.leverage[i].item<double>(), (1 + ai) / nn, 1e-12);
    EXPECT_NEAR(loo.leverage[i].item<double>(), H[i][i].item<double>(), 1e-10);
  }
  // Memorization is monotone in leverage here: the outlier (row 0) has the largest of both.
  EXPECT_EQ(loo.mem.argmax().item<int64_t>(), loo.leverage.argmax().item<int64_t>());
}

TEST(Gaussian, FoldRemovalStatisticsEqualDirectStatistics) {
  torch::Tensor x = sample(30, 3, 3);
  torch::Tensor fold = torch::tensor({1, 4, 7, 8, 20}), rest = torch::ones({30}, torch::kBool);
  rest.index_fill_(0, fold, false);
  GaussianStats removed = remove_subset(gaussian_stats(x), gaussian_stats(x.index_select(0, fold)));
  GaussianStats direct = gaussian_stats(x.index({rest}));
  EXPECT_EQ(removed.n, 25);
  EXPECT_TRUE(torch::allclose(removed.mean, direct.mean, 0, 1e-12));
  EXPECT_TRUE(torch::allclose(removed.scatter, direct.scatter, 0, 1e-10));
}

TEST(Ppca, LeaveOneOutEqualsBruteForceRefits) {
  torch::Tensor x = sample(30, 7, 4);
  for (int64_t q : {1, 3}) {
    ExactLoo loo = ppca_exact_loo(x, q, 0.0);
    for (int64_t i = 0; i < 30; ++i) {
      const double refit = GaussianDensity::fit_ppca(gaussian_stats(without(x, i)), q, 0.0)
                               .log_prob(x.slice(0, i, i + 1))[0]
                               .item<double>();
      EXPECT_NEAR(loo.logp_loo[i].item<double>(), refit, 1e-8) << "i=" << i << " q=" << q;
    }
  }
}

TEST(Ppca, LeaveOneOutWithConstantCoordinatesAndRidge) {
  // Two constant coordinates: repeated eigenvalues (the ridge) that the downdate must keep.
  torch::Tensor x = torch::cat({sample(25, 4, 5), torch::full({25, 2}, 0.5, torch::kFloat64)}, 1);
  EXPECT_THROW(GaussianDensity::fit(gaussian_stats(x), 0.0), Error);
  ExactLoo loo = ppca_exact_loo(x, 2, 0.05);
  for (int64_t i = 0; i < 25; ++i) {
    const double refit = GaussianDensity::fit_ppca(gaussian_stats(without(x, i)), 2, 0.05)
                             .log_prob(x.slice(0, i, i + 1))[0]
                             .item<double>();
    EXPECT_NEAR(loo.logp_loo[i].item<double>(), refit, 1e-8) << i;
  }
}

TEST(Gaussian, SingularCovarianceIsAClearError) {
  torch::Tensor x = torch::cat({sample(20, 3, 6), torch::zeros({20, 1}, torch::kFloat64)}, 1);
  try {
    gaussian_exact_loo(x, 0.0);
    FAIL();
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("1 coordinates are constant"), std::string::npos) << m;
    EXPECT_NE(m.find("--ridge"), std::string::npos) << m;
  }
  EXPECT_NO_THROW(gaussian_exact_loo(x, 1e-3));
  EXPECT_THROW(gaussian_exact_loo(sample(3, 5, 7), 0.0), Error);  // D >= n
}

TEST(GaussianEnsemble, TheFactoryMakesFittedAndTrainedKindsByFamily) {
  ModelConfig c;
  c.family = {Family::kGaussian, 0};
  EXPECT_TRUE(is_closed_form(c));
  EXPECT_NE(dynamic_cast<ClosedFormEnsemble*>(make_ensemble({6}, c, {1, 2}).get()), nullptr);
  c.family = {Family::kPpca, 2};
  EXPECT_TRUE(is_closed_form(c));
  EXPECT_NE(dynamic_cast<ClosedFormEnsemble*>(make_ensemble({6}, c, {1}).get()), nullptr);
  c.family = {Family::kMlpVae, 0};
  EXPECT_FALSE(is_closed_form(c));
  const auto vae = make_ensemble({6}, c, {1});
  EXPECT_NE(dynamic_cast<TrainableEnsemble*>(vae.get()), nullptr);
  EXPECT_EQ(dynamic_cast<ClosedFormEnsemble*>(vae.get()), nullptr);
}

TEST(GaussianEnsemble, AGroupIsFittedToEachJobsTrainingSetNotTrained) {
  Dataset data;
  data.x = sample(60, 4, 3).to(torch::kFloat32);
  data.index = torch::arange(60);
  data.label = torch::full({60}, -1, torch::kInt64);
  data.shape = {4};
  RunConfig cfg;
  cfg.model.family = {Family::kGaussian, 0};
  cfg.model.ridge = 1e-3;
  cfg.train.epochs = 3;
  cfg.eval.eval_every = 1;
  cfg.plan.folds = 3;
  cfg.threads = 1;
  const Plan plan = make_kfold_plan(data.size(), cfg.plan, 2);
  const std::vector<std::string> no_files = {"/nonexistent/a.pt", "/nonexistent/b.pt", "/nonexistent/c.pt"};
  const GroupResult r = train_group(data, plan.jobs, cfg, nullptr, no_files);  // checkpoints are not used
  ASSERT_EQ(r.jobs.size(), 3u);
  ASSERT_EQ(r.models.size(), 1u);
  for (int64_t g = 0; g < 3; ++g) {
    const JobResult& j = r.jobs[g];
    const torch::Tensor train = torch::tensor(plan.jobs[g].train, torch::kInt64);
    // The maximum-likelihood fit to the job's training examples, and nothing else.
    const torch::Tensor expected =
        GaussianDensity::fit(gaussian_stats(data.x.index_select(0, train)), cfg.model.ridge).log_prob(data.x);
    ASSERT_EQ(j.logp.size(), 3u);  // the same exact log p at every evaluation epoch
    for (const torch::Tensor& lp : j.logp) EXPECT_TRUE(torch::allclose(lp.to(torch::kFloat64), expected, 1e-5, 1e-4));
    ASSERT_EQ(j.train_loss.size(), 1u);
    EXPECT_NEAR(j.train_loss[0], -expected.index_select(0, train).mean().item<double>(), 1e-4);
    EXPECT_TRUE(j.heldout_loss.empty());
    EXPECT_EQ(j.status, "ok");
    EXPECT_EQ(r.member(g).second, g);
  }
  // The trainer of gradient-trained families refuses a fitted one.
  EXPECT_THROW(GroupTrainer(data, plan.jobs, cfg, nullptr, {}), Error);
}
