#include "memscope/models/conv_vae.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "memscope/config/names.h"
#include "memscope/core/error.h"
#include "memscope/data/dataset.h"
#include "memscope/plan/plan.h"
#include "memscope/train/trainer.h"
#include "resume_check.h"

using namespace memscope;

namespace {

ModelConfig conv_model(const std::string& decoder) {
  ModelConfig c;
  c.family = {Family::kConvVae, 0};
  c.decoder = parse_choice<Decoder>(decoder);
  c.latent = 4;
  return c;
}

/// n RGB 16x16 images on the 8-bit grid: two smooth prototypes plus noise.
Dataset rgb_data(int64_t n, int64_t channels = 3, int64_t side = 16) {
  torch::manual_seed(5);
  const int64_t D = channels * side * side;
  torch::Tensor proto = torch::rand({2, D});
  Dataset ds;
  ds.x = ((proto.index_select(0, torch::arange(n) % 2) + 0.2 * torch::randn({n, D})).clamp(0, 1) * 255).round() / 255;
  ds.index = torch::arange(n);
  ds.label = torch::arange(n) % 2;
  ds.shape = {channels, side, side};
  return ds;
}

double normal_cdf(double v) { return 0.5 * std::erfc(-v / std::sqrt(2.0)); }
double logit_of_level(double v) {  // y of v in [0, 1] under the lambda transform
  const double s = kLogitLambda + (1 - 2 * kLogitLambda) * v;
  return std::log(s / (1 - s));
}

}  // namespace

TEST(ConvVae, LogitVolumeTermIsTheLogDerivativeOfTheTransform) {
  torch::Tensor x = torch::tensor({0.0, 1.0 / 255, 0.5, 200.0 / 255, 1.0}, torch::kFloat64).unsqueeze(0);
  torch::Tensor u = torch::tensor({0.1, 0.5, 0.9, 0.3, 0.99}, torch::kFloat64).unsqueeze(0);
  auto [y, volume] = logit_dequantize(x, u);
  const double h = 1e-4;  // central difference in u; dv = du / 256
  auto [y_hi, v1] = logit_dequantize(x, u + h);
  auto [y_lo, v2] = logit_dequantize(x, u - h);
  torch::Tensor dy_dv = (y_hi - y_lo) / (2 * h / 256);
  const double expected = dy_dv.log().sum().item<double>() - 5 * std::log(256.0);
  EXPECT_NEAR(volume.item<double>(), expected, 1e-5);
  for (int d = 0; d < 5; ++d)
    EXPECT_NEAR(y[0][d].item<double>(),
                logit_of_level((std::round(x[0][d].item<double>() * 255) + u[0][d].item<double>()) / 256), 1e-12);
}

// The reported log p of an 8-bit image against the exact probability of its pixels' bins under a
// per-pixel Gaussian in logit space: P(k) = Phi((y((k+1)/256) - mu) / s) - Phi((y(k/256) - mu) / s).
TEST(ConvVae, EightBitLogitGaussianLikelihoodMatchesTheBinProbabilities) {
  ConvVaeEnsemble vae({1, 16, 16}, conv_model("logit-gaussian"), {1});
  const int64_t D = 256;
  torch::Tensor levels = torch::arange(D, torch::kFloat64);           // every 8-bit level once
  torch::Tensor x = (levels / 255).unsqueeze(0).to(torch::kFloat32);  // [1, D]
  torch::Tensor mu = torch::linspace(-2, 2, D, torch::kFloat64), lv = torch::linspace(-1, 1.5, D, torch::kFloat64);
  torch::Tensor out = torch::cat({mu, lv}).reshape({1, 1, 2, 16, 16}).to(torch::kFloat32);
  auto [y, volume] = logit_dequantize(x.unsqueeze(0), torch::full({}, 0.5));
  const double reported = (vae.log_lik(y, out) + volume).item<double>();
  double exact = 0;
  for (int64_t k = 0; k < D; ++k) {
    const double m = mu[k].item<double>(), s = std::exp(0.5 * lv[k].item<double>());
    exact += std::log(normal_cdf((logit_of_level((k + 1) / 256.0) - m) / s) -
                      normal_cdf((logit_of_level(k / 256.0) - m) / s));
  }
  EXPECT_NEAR(reported, exact, 0.02);  // midpoint rule over 256 pixels: about 0.003 off
  EXPECT_LT(reported, 0);              // a probability of a discrete image
}

TEST(ConvVae, RefusesImagesNotMultiplesOf16) {
  EXPECT_THROW(ConvVaeEnsemble({1, 28, 28}, conv_model("bernoulli"), {1}), Error);
  EXPECT_NO_THROW(ConvVaeEnsemble({3, 32, 32}, conv_model("gaussian"), {1}));
}

TEST(ConvVae, PaddingRowsDoNotEnterTheBatchStatistics) {
  for (const std::string dec : {"bernoulli", "logit-gaussian", "gaussian"}) {
    ConvVaeEnsemble a({3, 16, 16}, conv_model(dec), {3}), b({3, 16, 16}, conv_model(dec), {3});
    Dataset d = rgb_data(8);
    torch::Tensor eps = torch::randn({1, 8, a.noise_dim()});
    torch::Tensor rows = torch::tensor({1, 1, 1, 1, 1, 0, 0, 0}, torch::kBool).unsqueeze(0);
    torch::Tensor padded = torch::where(rows.t(), d.x, torch::zeros_like(d.x)).unsqueeze(0);
    torch::Tensor with_padding = a.loss(padded, eps, rows).slice(1, 0, 5);
    torch::Tensor real_only = b.loss(d.x.slice(0, 0, 5).unsqueeze(0), eps.slice(1, 0, 5));
    EXPECT_TRUE(torch::allclose(with_padding, real_only, 1e-5, 1e-3)) << dec;
    // The running statistics moved the same way too.
    for (size_t i = 0; i < a.buffers().size(); ++i)
      EXPECT_TRUE(torch::allclose(a.buffers()[i], b.buffers()[i], 1e-5, 1e-6)) << dec;
  }
}

TEST(ConvVae, EachMemberOfAGroupEqualsTheSameModelAlone) {
  ConvVaeEnsemble group({3, 16, 16}, conv_model("logit-gaussian"), {7, 8, 9});
  ConvVaeEnsemble alone({3, 16, 16}, conv_model("logit-gaussian"), {8});
  Dataset d = rgb_data(6);
  torch::Tensor eps = torch::randn({3, 6, group.noise_dim()});
  torch::Tensor x = d.x.unsqueeze(0).expand({3, 6, d.dim()}).contiguous();
  EXPECT_TRUE(torch::allclose(group.loss(x, eps)[1], alone.loss(x.slice(0, 1, 2), eps.slice(0, 1, 2))[0], 1e-5, 1e-3));
  torch::NoGradGuard ng;
  torch::Tensor e = torch::randn({3, 6, 5, 4});
  EXPECT_TRUE(torch::allclose(group.log_prob(d.x, e)[1], alone.log_prob(d.x, e.slice(0, 1, 2))[0], 1e-5, 1e-3));
}

TEST(ConvVae, SavedMemberReloadsWithItsRunningStatistics) {
  ConvVaeEnsemble a({1, 16, 16}, conv_model("gaussian"), {1, 2});
  Dataset d = rgb_data(6, 1);
  a.loss(d.x.unsqueeze(0).expand({2, 6, d.dim()}).contiguous(), torch::randn({2, 6, 4}));  // moves running stats
  std::stringstream ss;
  a.save_member(1, ss);
  ConvVaeEnsemble b({1, 16, 16}, conv_model("gaussian"), {5});
  b.load_member(0, ss);
  torch::NoGradGuard ng;
  torch::Tensor e = torch::randn({1, 6, 3, 4});
  EXPECT_TRUE(
      torch::allclose(a.log_prob(d.x, e.expand({2, 6, 3, 4}).contiguous())[1], b.log_prob(d.x, e)[0], 1e-5, 1e-4));
  auto gen = at::detail::createCPUGenerator(3);
  torch::Tensor s = b.sample(0, 5, gen);
  EXPECT_EQ(s.sizes(), torch::IntArrayRef({5, 256}));
  EXPECT_TRUE(s.min().item<float>() >= 0 && s.max().item<float>() <= 1);
}

TEST(ConvVae, GroupedTrainingEqualsOneJobAtATimeWithFlips) {
  for (const std::string dec : {"bernoulli", "logit-gaussian", "gaussian"}) {
    Dataset data = rgb_data(30);
    if (dec == "bernoulli") data.x = (data.x > 0.5).to(torch::kFloat32);
    RunConfig cfg;
    cfg.model = conv_model(dec);
    cfg.train.epochs = 2;
    cfg.train.batch_size = 8;  // 15 training examples: a partial last batch
    cfg.train.hflip = true;
    cfg.eval.iw_samples = 4;
    cfg.plan.folds = 2;
    Plan plan = make_kfold_plan(data.size(), cfg.plan, 1);
    GroupResult together = train_group(data, plan.jobs, cfg);
    for (size_t j = 0; j < plan.jobs.size(); ++j) {
      GroupResult alone = train_group(data, {plan.jobs[j]}, cfg);
      const JobResult &a = alone.jobs[0], &t = together.jobs[j];
      ASSERT_EQ(t.status, "ok") << dec;
      for (size_t e = 0; e < 2; ++e)
        EXPECT_NEAR(a.train_loss[e], t.train_loss[e], 1e-4 * std::abs(a.train_loss[e])) << dec;
      EXPECT_NEAR(a.heldout_loss.back(), t.heldout_loss.back(), 1e-4 * std::abs(a.heldout_loss.back())) << dec;
      // Grouped and single convolutions round differently in float32, and training amplifies it:
      // measured up to 1.1e-4 relative (0.34 of 3030 nats, Gaussian decoder with variance 0.01).
      EXPECT_TRUE(torch::allclose(a.logp.back(), t.logp.back(), 5e-4, 1e-2))
          << dec << " max diff " << (a.logp.back() - t.logp.back()).abs().max().item<float>() << " of "
          << a.logp.back().abs().max().item<float>();
      EXPECT_TRUE(torch::isfinite(t.logp.back()).all().item<bool>()) << dec;
    }
    EXPECT_LT(together.jobs[0].train_loss.back(), together.jobs[0].train_loss.front()) << dec;
  }
}

TEST(Augment, HflipMirrorsOnlyTheChosenRows) {
  torch::Tensor x = torch::arange(2 * 2 * 2 * 3, torch::kFloat32).reshape({2, 12});  // 2 images {2, 2, 3}
  torch::Tensor out = hflip_rows(x, {2, 2, 3}, torch::tensor({true, false}));
  EXPECT_TRUE(torch::equal(out[1], x[1]));
  EXPECT_TRUE(torch::equal(out[0], torch::tensor({2, 1, 0, 5, 4, 3, 8, 7, 6, 11, 10, 9}, torch::kFloat32)));
  EXPECT_THROW(hflip_rows(x, {1, 2, 3}, torch::tensor({true, false})), Error);
}

TEST(ConvVae, BernoulliAndConstantGaussianLikelihoodsMatchADirectSum) {
  torch::Tensor x = torch::rand({1, 2, 256});
  torch::Tensor out = torch::randn({1, 2, 1, 16, 16});
  const torch::Tensor f = out.reshape({1, 2, 256}).to(torch::kFloat64), xd = x.to(torch::kFloat64);
  ConvVaeEnsemble bern({1, 16, 16}, conv_model("bernoulli"), {1});
  torch::Tensor p = torch::sigmoid(f);
  torch::Tensor direct_b = (xd * p.log() + (1 - xd) * (1 - p).log()).sum(-1);
  EXPECT_TRUE(torch::allclose(bern.log_lik(x, out).to(torch::kFloat64), direct_b, 1e-5, 1e-3));
  ConvVaeEnsemble gauss({1, 16, 16}, conv_model("gaussian"), {1});
  const double var = 0.01;  // the initial variance 0.1^2
  torch::Tensor direct_g = (-0.5 * (xd - p).square() / var - 0.5 * std::log(2 * M_PI * var)).sum(-1);
  EXPECT_TRUE(torch::allclose(gauss.log_lik(x, out).to(torch::kFloat64), direct_g, 1e-5, 1e-2));
}

TEST(ConvVae, AJobKilledMidTrainingResumesFromItsCheckpointWithIdenticalResults) {
  // Batch-norm running statistics and the flip stream are part of the saved state.
  RunConfig cfg;
  cfg.model = conv_model("logit-gaussian");
  cfg.train.batch_size = 8;
  cfg.train.hflip = true;
  test::expect_exact_resume(rgb_data(30), cfg, /*rtol=*/5e-4);
}

TEST(ConvVae, GroupedTransposedConvolutionEqualsLibTorchsWithGradients) {
  torch::manual_seed(5);
  for (int64_t G : {1, 3}) {
    for (int64_t hw : {1, 2, 4}) {  // 1 and 2: the matmul-and-fold path; 4: LibTorch's
      const int64_t B = 6, Cin = 5, Cout = 7;
      torch::Tensor h = torch::randn({B, G * Cin, hw, hw}, torch::requires_grad());
      torch::Tensor w = torch::randn({G, Cin, Cout, 4, 4}, torch::requires_grad());
      torch::Tensor b = torch::randn({G * Cout}, torch::requires_grad());
      torch::Tensor got = grouped_conv_transpose(h, w, b);
      torch::Tensor want = torch::conv_transpose2d(h, w.flatten(0, 1), b, {2, 2}, {1, 1}, {0, 0}, G, {1, 1});
      ASSERT_EQ(got.sizes(), want.sizes()) << "G " << G << " hw " << hw;
      EXPECT_TRUE(torch::allclose(got, want, 1e-5, 1e-4)) << "G " << G << " hw " << hw;
      const torch::Tensor up = torch::randn_like(want);
      auto g1 = torch::autograd::grad({(got * up).sum()}, {h, w, b});
      auto g2 = torch::autograd::grad({(want * up).sum()}, {h, w, b});
      for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(torch::allclose(g1[i], g2[i], 1e-5, 1e-4)) << "gradient " << i;
    }
  }
}
