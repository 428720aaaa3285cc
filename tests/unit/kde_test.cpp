// The Gaussian kernel density estimate (kde:H): exact log densities, leave-one-out and fold removal
// against brute-force sums, the bandwidth's validation, and the model through the ensemble interface.
#include "memscope/models/kde.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "memscope/config/names.h"
#include "memscope/core/config.h"
#include "memscope/core/error.h"
#include "memscope/models/factory.h"
#include "test_util.h"

using namespace memscope;

namespace {

/// log((1/|S|) sum_{j in S} N(q; x_j, H^2 I)) by a plain loop in double. x: [n, D], q: [D].
double brute_log_density(const torch::Tensor& x, const torch::Tensor& q, const std::vector<int64_t>& S, double H) {
  const int64_t D = x.size(1);
  std::vector<double> terms;
  for (int64_t j : S) {
    double d2 = 0;
    for (int64_t d = 0; d < D; ++d) {
      const double diff = q[d].item<double>() - x[j][d].item<double>();
      d2 += diff * diff;
    }
    terms.push_back(-0.5 * double(D) * std::log(2 * M_PI * H * H) - d2 / (2 * H * H));
  }
  double mx = -INFINITY;
  for (double t : terms) mx = std::max(mx, t);
  double sum = 0;
  for (double t : terms) sum += std::exp(t - mx);
  return mx + std::log(sum) - std::log(double(S.size()));
}

torch::Tensor sample_data(int64_t n, int64_t D) {
  torch::manual_seed(3);
  return torch::randn({n, D}, torch::kFloat64);
}

}  // namespace

TEST(Kde, LeaveOneOutEqualsBruteForceSums) {
  const torch::Tensor x = sample_data(25, 3);
  for (double H : {0.05, 0.7, 5.0}) {
    const ExactLoo loo = kde_exact_loo(x, H);
    for (int64_t i = 0; i < 25; ++i) {
      std::vector<int64_t> all, others;
      for (int64_t j = 0; j < 25; ++j) {
        all.push_back(j);
        if (j != i) others.push_back(j);
      }
      EXPECT_NEAR(loo.logp_full[i].item<double>(), brute_log_density(x, x[i], all, H), 1e-9) << "H " << H;
      EXPECT_NEAR(loo.logp_loo[i].item<double>(), brute_log_density(x, x[i], others, H), 1e-9) << "H " << H;
    }
    EXPECT_TRUE(torch::allclose(loo.mem, loo.logp_full - loo.logp_loo));
    EXPECT_TRUE(torch::isnan(loo.leverage).all().item<bool>());  // not defined for a KDE
  }
}

TEST(Kde, FoldRemovedDensitiesEqualBruteForceSums) {
  const torch::Tensor x = sample_data(20, 2);
  torch::manual_seed(5);
  const torch::Tensor mask = torch::rand({20, 3}) < 0.7;
  const torch::Tensor lp = kde_fold_log_prob(x, mask, 0.4);
  ASSERT_EQ(lp.sizes(), torch::IntArrayRef({20, 3}));
  for (int64_t j = 0; j < 3; ++j) {
    std::vector<int64_t> train;
    for (int64_t i = 0; i < 20; ++i)
      if (mask[i][j].item<bool>()) train.push_back(i);
    for (int64_t i = 0; i < 20; ++i) EXPECT_NEAR(lp[i][j].item<double>(), brute_log_density(x, x[i], train, 0.4), 1e-9);
  }
}

TEST(Kde, TheEnsembleFitsEachMemberToItsTrainingSetAndSavesIt) {
  const torch::Tensor x = sample_data(30, 4).to(torch::kFloat32).to(torch::kFloat64);  // saved as float32
  ModelConfig c;
  c.family = parse_model_family("kde:0.8");
  ASSERT_TRUE(is_closed_form(c));
  auto model = std::dynamic_pointer_cast<KdeEnsemble>(make_ensemble({4}, c, {0, 0}));
  ASSERT_TRUE(model);
  model->fit(0, x.slice(0, 0, 10));
  model->fit(1, x.slice(0, 10, 30));
  const torch::Tensor lp = model->log_prob(x.to(torch::kFloat32), {});
  ASSERT_EQ(lp.sizes(), torch::IntArrayRef({2, 30}));
  std::vector<int64_t> first, second;
  for (int64_t i = 0; i < 30; ++i) (i < 10 ? first : second).push_back(i);
  for (int64_t i = 0; i < 30; ++i) {
    EXPECT_NEAR(lp[0][i].item<double>(), brute_log_density(x, x[i], first, 0.8), 1e-3);
    EXPECT_NEAR(lp[1][i].item<double>(), brute_log_density(x, x[i], second, 0.8), 1e-3);
  }
  std::stringstream archive;
  model->save_member(1, archive);
  auto loaded = make_ensemble({4}, c, {0});
  loaded->load_member(0, archive);
  EXPECT_TRUE(torch::equal(loaded->log_prob(x.to(torch::kFloat32), {})[0], lp[1]));
}

TEST(Kde, TheBandwidthIsParsedOnceAndMustBePositive) {
  const ModelFamily f = parse_model_family("kde:0.25");
  EXPECT_EQ(f.kind, Family::kKde);
  EXPECT_EQ(f.bandwidth, 0.25);
  EXPECT_EQ(to_string(f), "kde:0.25");
  EXPECT_EQ(parse_model_family(to_string(parse_model_family("kde:1e-3"))), parse_model_family("kde:0.001"));
  EXPECT_TRUE(f.closed_form());
  EXPECT_FALSE(f.linear_gaussian());
  for (const char* bad : {"kde:0", "kde:-1", "kde:nan", "kde:inf"}) {
    try {
      parse_model_family(bad);
      ADD_FAILURE() << bad;
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.key(), "model");
      EXPECT_NE(std::string(e.what()).find("must be > 0"), std::string::npos) << e.what();
    }
  }
  for (const char* bad : {"kde:", "kde:wide", "kde:1x"}) EXPECT_THROW(parse_model_family(bad), ConfigError) << bad;
  EXPECT_THROW(KdeEnsemble(1, 3, 0.0), ConfigError);
}
