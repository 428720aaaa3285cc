#include "memscope/models/ddpm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "memscope/config/config_json.h"
#include "memscope/config/names.h"
#include "memscope/config/validate.h"
#include "memscope/core/error.h"
#include "memscope/core/options.h"
#include "memscope/data/dataset.h"
#include "memscope/plan/plan.h"
#include "memscope/train/evaluate.h"
#include "memscope/train/trainer.h"
#include "resume_check.h"

using namespace memscope;

namespace {

/// A tiny U-Net: two levels of 8 and 16 channels, T = 20.
ModelConfig ddpm_model(int64_t timesteps = 20) {
  ModelConfig c;
  c.family = {Family::kDdpm, 0};
  c.channels = {8, 16};
  c.res_blocks = 1;
  c.timesteps = timesteps;
  c.ema = 0;
  return c;
}

/// n grey 8x8 images on the 8-bit grid: two prototypes plus noise.
Dataset grey_data(int64_t n, int64_t side = 8) {
  torch::manual_seed(11);
  const int64_t D = side * side;
  torch::Tensor proto = torch::rand({2, D});
  Dataset ds;
  ds.x = ((proto.index_select(0, torch::arange(n) % 2) + 0.2 * torch::randn({n, D})).clamp(0, 1) * 255).round() / 255;
  ds.index = torch::arange(n);
  ds.label = torch::arange(n) % 2;
  ds.shape = {1, side, side};
  return ds;
}

/// Moves every weight (the last convolutions start at zero, which would make eps_theta = 0).
void perturb(DdpmEnsemble& m, double scale = 0.05) {
  torch::NoGradGuard ng;
  torch::manual_seed(3);
  for (auto& p : m.parameters()) p.add_(scale * torch::randn_like(p));
}

/// The mass of the bin [x0 - 1/255, x0 + 1/255] (open at -1 and 1) under N(mu, sigma^2) by Simpson's rule.
double bin_mass(double x0, double mu, double sigma) {
  const double lo = x0 < -0.999 ? mu - 40 * sigma : x0 - 1.0 / 255, hi = x0 > 0.999 ? mu + 40 * sigma : x0 + 1.0 / 255;
  const int n = 20000;
  const double h = (hi - lo) / n;
  double s = 0;
  for (int i = 0; i <= n; ++i) {
    const double x = lo + i * h, z = (x - mu) / sigma;
    const double f = std::exp(-0.5 * z * z) / (sigma * std::sqrt(2 * M_PI));
    s += f * (i == 0 || i == n ? 1 : (i % 2 ? 4 : 2));
  }
  return s * h / 3;
}

}  // namespace

TEST(Ddpm, DecoderTermMatchesDirectIntegration) {
  for (double sigma : {0.01, 0.2}) {
    for (int k : {0, 1, 100, 128, 254, 255}) {
      const double x0 = 2.0 * k / 255 - 1;
      for (double off : {0.0, 0.003, -0.02, 0.1, -0.15}) {
        const double mu = x0 + off;
        const double exact = std::log(bin_mass(x0, mu, sigma));
        const double got =
            log_discretized_gaussian(torch::tensor({x0}, torch::kFloat64), torch::tensor({mu}, torch::kFloat64), sigma)
                .item<double>();
        EXPECT_NEAR(got, exact, 1e-6 * std::max(1.0, std::abs(exact))) << "k " << k << " mu " << mu << " s " << sigma;
      }
    }
  }
  // Far in the tails, where Phi(b) - Phi(a) underflows in float64, it stays finite and decreasing.
  const torch::Tensor far = log_discretized_gaussian(torch::zeros({3}, torch::kFloat64),
                                                     torch::tensor({0.5, 0.9, -0.9}, torch::kFloat64), 0.01);
  EXPECT_TRUE(torch::isfinite(far).all().item<bool>());
  EXPECT_LT(far[1].item<double>(), far[0].item<double>());
  EXPECT_NEAR(far[1].item<double>(), far[2].item<double>(), 1e-6 * std::abs(far[1].item<double>()));
}

TEST(Ddpm, SchedulesAreValid) {
  for (Schedule s : {Schedule::kLinear, Schedule::kCosine}) {
    DdpmSchedule sc(1000, s);
    EXPECT_DOUBLE_EQ(sc.abar[0], 1.0);
    for (int64_t t = 1; t <= 1000; ++t) {
      ASSERT_GT(sc.beta[t], 0);
      ASSERT_LE(sc.beta[t], 0.999);
      ASSERT_LT(sc.abar[t], sc.abar[t - 1]);
    }
    EXPECT_LT(sc.abar[1000], 1e-4);
  }
  DdpmSchedule lin(1000, Schedule::kLinear);
  EXPECT_DOUBLE_EQ(lin.beta[1], 1e-4);
  EXPECT_NEAR(lin.beta[1000], 0.02, 1e-15);
}

TEST(Ddpm, StratifiedTimestepsCoverEveryStratum) {
  auto [t, n] = stratified_timesteps(torch::tensor({0.0, 0.999, 0.5}, torch::kFloat64), 20);
  EXPECT_EQ(n.sum().item<double>(), 20);
  EXPECT_EQ(t[0].item<int64_t>(), 1);   // stratum 1..6
  EXPECT_EQ(t[1].item<int64_t>(), 13);  // stratum 7..13
  EXPECT_EQ(t[2].item<int64_t>(), 17);  // stratum 14..20
}

// The estimator of the bound against the exact sum over all T = 20 timesteps: with one timestep
// per stratum (S = T) it is the sum itself; with S = 4 its mean over many draws of t (the same eps)
// is the sum, and its standard error is conservative.
TEST(Ddpm, BoundEstimatorIsUnbiasedForTheExactSumOverTimesteps) {
  const int64_t T = 20, D = 64;
  DdpmEnsemble m({1, 8, 8}, ddpm_model(T), {4});
  perturb(m);
  m.train(false);
  torch::NoGradGuard ng;
  Dataset d = grey_data(1);
  torch::manual_seed(7);
  const torch::Tensor eps = torch::randn({D});
  torch::Tensor all_t = torch::arange(1, T + 1, torch::kInt64).view({1, 1, T});
  const torch::Tensor terms = m.bound_terms(d.x, all_t, eps.view({1, 1, 1, D}).expand({1, 1, T, D}));
  const double exact = terms.sum().item<double>() + m.prior_term(d.x).item<double>();
  EXPECT_TRUE(std::isfinite(exact));
  EXPECT_GT(exact, 0);

  // S = T: every stratum is one timestep, whatever u.
  const torch::Tensor u_all = torch::randn({1, 1, T, 1});
  const torch::Tensor e_all = torch::cat({eps.view({1, 1, 1, D}).expand({1, 1, T, D}), u_all}, -1);
  EXPECT_NEAR(-m.log_prob(d.x, e_all).item<double>(), exact, 1e-4 * exact);

  const int64_t R = 400, S = 4;
  const torch::Tensor x = d.x.expand({R, D}).contiguous();
  const torch::Tensor e = torch::cat({eps.view({1, 1, 1, D}).expand({1, R, S, D}), torch::randn({1, R, S, 1})}, -1);
  auto [lp, se] = m.log_prob_with_se(x, e);
  const torch::Tensor est = -lp[0].to(torch::kFloat64);
  const double mean = est.mean().item<double>(), sd = est.std().item<double>();
  EXPECT_GT(sd, 0);
  EXPECT_NEAR(mean, exact, 4 * sd / std::sqrt(double(R))) << "sd " << sd;
  EXPECT_GE(se[0].to(torch::kFloat64).square().mean().item<double>(), 0.8 * sd * sd);
}

TEST(Ddpm, EachMemberOfAGroupEqualsTheSameModelAlone) {
  ModelConfig c = ddpm_model();
  c.attention = 4;  // the lower level of an 8x8 image
  DdpmEnsemble group({1, 8, 8}, c, {7, 8, 9});
  DdpmEnsemble alone({1, 8, 8}, c, {8});
  torch::NoGradGuard ng;
  {
    torch::manual_seed(3);  // the same perturbation of member 1 and of the lone member
    for (size_t i = 0; i < group.parameters().size(); ++i) {
      const torch::Tensor p = group.parameters()[i];
      const torch::Tensor noise = 0.05 * torch::randn(p.sizes().slice(1));
      p[1].add_(noise);
      alone.parameters()[i][0].add_(noise);
    }
  }
  Dataset d = grey_data(6);
  torch::Tensor eps = torch::randn({3, 6, group.noise_dim()});
  torch::Tensor x = d.x.unsqueeze(0).expand({3, 6, d.dim()}).contiguous();
  EXPECT_TRUE(torch::allclose(group.loss(x, eps)[1], alone.loss(x.slice(0, 1, 2), eps.slice(0, 1, 2))[0], 1e-4, 1e-5));
  group.train(false), alone.train(false);
  torch::Tensor e = torch::randn({3, 6, 5, group.eval_noise_dim()});
  auto [lg, sg] = group.log_prob_with_se(d.x, e);
  auto [la, sa] = alone.log_prob_with_se(d.x, e.slice(0, 1, 2));
  EXPECT_TRUE(torch::allclose(lg[1], la[0], 1e-5, 1e-3));
  EXPECT_TRUE(torch::allclose(sg[1], sa[0], 1e-4, 1e-3));
  const torch::Tensor noise = torch::randn({6, 2, d.dim()});
  EXPECT_TRUE(torch::allclose(group.denoising_loss(d.x, {3, 15}, noise)[1],
                              alone.denoising_loss(d.x, {3, 15}, noise)[0], 1e-4, 1e-6));
}

TEST(Ddpm, StackedTrainingStepsEqualEachModelAlone) {
  // On a CPU the trainer gives each diffusion model its own lane, so GroupedTrainingEqualsOneJobAtATime
  // does not stack; a GPU stacks. This checks the stacked steps themselves: the gradients through the
  // grouped convolutions, per-member GroupNorm, attention and dropout, then the EMA.
  ModelConfig c = ddpm_model();
  c.attention = 4;
  c.dropout = 0.1;
  c.ema = 0.9;
  DdpmEnsemble group({1, 8, 8}, c, {7, 8, 9});
  DdpmEnsemble alone({1, 8, 8}, c, {8});  // member 1's seed: the same weights and dropout stream
  perturb(group);
  {
    torch::NoGradGuard ng;
    for (size_t i = 0; i < alone.parameters().size(); ++i) alone.parameters()[i].copy_(group.parameters()[i][1]);
  }
  // SGD, not Adam: Adam's first steps are lr x sign(g), which would turn the float rounding of a
  // near-zero gradient into a whole step.
  torch::optim::SGD opt_group(group.parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  torch::optim::SGD opt_alone(alone.parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  const Dataset d = grey_data(12);
  for (int64_t step = 0; step < 3; ++step) {
    const torch::Tensor x = d.x.view({3, 4, d.dim()});  // a different minibatch per member
    const torch::Tensor eps = torch::randn({3, 4, group.noise_dim()});
    opt_group.zero_grad(), opt_alone.zero_grad();
    group.loss(x, eps).mean(1).sum().backward();  // member g's gradients are those of its own loss
    alone.loss(x.slice(0, 1, 2), eps.slice(0, 1, 2)).mean().backward();
    for (size_t i = 0; i < alone.parameters().size(); ++i)
      ASSERT_TRUE(torch::allclose(group.parameters()[i].grad()[1], alone.parameters()[i].grad()[0], 1e-3, 1e-6))
          << "step " << step << ", parameter " << i;
    opt_group.step(), opt_alone.step();
    group.after_step({true, true, true}), alone.after_step({true});
  }
  for (size_t i = 0; i < alone.parameters().size(); ++i)
    EXPECT_TRUE(torch::allclose(group.parameters()[i][1], alone.parameters()[i][0], 1e-4, 1e-6)) << "parameter " << i;
  const auto gb = group.named_buffers(), ab = alone.named_buffers();
  ASSERT_EQ(gb.size(), ab.size());
  for (const auto& b : ab)
    EXPECT_TRUE(torch::allclose(gb[b.key()][1].to(torch::kFloat64), b.value()[0].to(torch::kFloat64), 1e-4, 1e-6))
        << b.key();
}

TEST(Ddpm, GroupedTrainingEqualsOneJobAtATime) {
  Dataset data = grey_data(31);
  RunConfig cfg;
  cfg.model = ddpm_model();
  cfg.model.ema = 0.99;
  cfg.model.dropout = 0.1;
  cfg.train.epochs = 2;
  cfg.train.batch_size = 5;  // 16 and 15 training examples: 4 and 3 steps, so member 1 sits one out
  cfg.eval.elbo_samples = 4;
  cfg.eval.loss_timesteps = {2, 10};
  cfg.plan.folds = 2;
  cfg.threads = 1;
  const Plan plan = make_kfold_plan(data.size(), cfg.plan, 3);
  GroupResult together = train_group(data, plan.jobs, cfg);
  for (size_t j = 0; j < plan.jobs.size(); ++j) {
    GroupResult alone = train_group(data, {plan.jobs[j]}, cfg);
    const JobResult &a = alone.jobs[0], &t = together.jobs[j];
    ASSERT_EQ(t.status, "ok");
    for (size_t e = 0; e < 2; ++e) EXPECT_NEAR(a.train_loss[e], t.train_loss[e], 1e-4 * std::abs(a.train_loss[e]));
    EXPECT_TRUE(torch::allclose(a.logp.back(), t.logp.back(), 1e-4, 1e-2))
        << "max diff " << (a.logp.back() - t.logp.back()).abs().max().item<float>();
    ASSERT_EQ(t.logp_se.size(), 1u);
    EXPECT_TRUE(torch::isfinite(t.logp_se.back()).all().item<bool>());
    ASSERT_TRUE(t.denoise_loss.defined());
    EXPECT_EQ(t.denoise_loss.sizes(), torch::IntArrayRef({2, 31}));
    EXPECT_TRUE(torch::allclose(a.denoise_loss, t.denoise_loss, 1e-4, 1e-5));
  }
  // Common random numbers: both models saw the same timesteps and noise, so their log p differ
  // much less than the Monte Carlo error of either.
  const torch::Tensor diff = together.jobs[0].logp.back() - together.jobs[1].logp.back();
  EXPECT_LT(diff.std().item<double>(), together.jobs[0].logp_se.back().mean().item<double>());
}

TEST(Ddpm, AJobKilledMidTrainingResumesFromItsCheckpointWithIdenticalResults) {
  // EMA weights and steps and the dropout streams are part of the saved state.
  RunConfig cfg;
  cfg.model = ddpm_model();
  cfg.model.ema = 0.9;
  cfg.model.dropout = 0.2;
  cfg.train.batch_size = 8;
  test::expect_exact_resume(grey_data(30), cfg, /*rtol=*/1e-4);
}

TEST(Ddpm, SamplesAreSeededImagesAndDdimIsDeterministic) {
  ModelConfig c = ddpm_model();
  DdpmEnsemble m({1, 8, 8}, c, {1, 2});
  perturb(m);
  m.train(false);
  for (Sampler s : {Sampler::kDdpm, Sampler::kDdim}) {
    m.set_sampler(s, 5);
    auto g1 = at::detail::createCPUGenerator(9), g2 = at::detail::createCPUGenerator(9);
    const torch::Tensor a = m.sample_all(3, g1), b = m.sample_all(3, g2);
    EXPECT_EQ(a.sizes(), torch::IntArrayRef({2, 3, 64}));
    EXPECT_TRUE(torch::equal(a, b));
    EXPECT_TRUE(a.min().item<float>() >= 0 && a.max().item<float>() <= 1);
    EXPECT_EQ(m.sample(1, 4, g1).sizes(), torch::IntArrayRef({4, 64}));
  }
}

TEST(Ddpm, SavedMemberReloadsWithItsEma) {
  ModelConfig c = ddpm_model();
  c.ema = 0.5;
  DdpmEnsemble a({1, 8, 8}, c, {1, 2});
  perturb(a);
  a.after_step({true, true});
  std::stringstream ss;
  a.save_member(1, ss);
  DdpmEnsemble b({1, 8, 8}, c, {5});
  b.load_member(0, ss);
  a.train(false), b.train(false);
  torch::NoGradGuard ng;
  Dataset d = grey_data(4);
  torch::Tensor e = torch::randn({1, 4, 3, a.eval_noise_dim()});
  EXPECT_TRUE(torch::allclose(a.log_prob(d.x, e.expand({2, 4, 3, a.eval_noise_dim()}).contiguous())[1],
                              b.log_prob(d.x, e)[0], 1e-5, 1e-3));
}

TEST(Ddpm, BadInputIsAOneLineErrorNamingTheOption) {
  EXPECT_NE(test::error_of([] {
              DdpmEnsemble({1, 28, 28}, ddpm_model(), {1});
            }).find("multiples of 8"),
            std::string::npos);
  EXPECT_NE(test::error_of([] { DdpmEnsemble({1, 1, 64}, ddpm_model(), {1}); }).find("images"), std::string::npos);
  ModelConfig att = ddpm_model();
  att.attention = 16;
  EXPECT_NE(test::error_of([&] { DdpmEnsemble({1, 8, 8}, att, {1}); }).find("attention"), std::string::npos);
  RunConfig cfg;
  cfg.model = ddpm_model();
  cfg.eval.elbo_samples = 0;
  EXPECT_NE(test::error_of([&] { validate(cfg); }).find("elbo_samples"), std::string::npos);
  cfg.eval.elbo_samples = 21;
  EXPECT_NE(test::error_of([&] { validate(cfg); }).find("elbo_samples"), std::string::npos);
  cfg.eval.elbo_samples = 4;
  cfg.eval.loss_timesteps = {5, 50};
  EXPECT_NE(test::error_of([&] { validate(cfg); }).find("loss_timesteps"), std::string::npos);
  cfg.eval.loss_timesteps = {5};
  EXPECT_NO_THROW(validate(cfg));
  cfg.model.family = {Family::kConvVae, 0};
  EXPECT_NE(test::error_of([&] { validate(cfg); }).find("loss_timesteps"), std::string::npos);
}

TEST(Ddpm, ConfigRoundTripsAndDefaultsStayOutOfTheIdentity) {
  RunConfig c;
  EXPECT_FALSE(identity_json(c)["model"].contains("timesteps"));
  c.model.family = parse_model_family("ddpm");
  c.model.schedule = parse_choice<Schedule>("cosine");
  c.model.channels = {32, 64, 64};
  c.eval.loss_timesteps = {50, 100, 200};
  const RunConfig back = run_config_from_json(to_json(c));
  EXPECT_EQ(to_string(back.model.family), "ddpm");
  EXPECT_EQ(back.model.schedule, Schedule::kCosine);
  EXPECT_EQ(back.model.channels, c.model.channels);
  EXPECT_EQ(back.eval.loss_timesteps, c.eval.loss_timesteps);
  EXPECT_EQ(identity_json(c)["model"]["schedule"], "cosine");
}

TEST(Ddpm, ANanLossIsRecordedAsDiverged) {
  Dataset data = grey_data(20);
  data.x[0][5] = std::nanf("");  // in every job's training set of a 2-fold plan but one
  RunConfig cfg;
  cfg.model = ddpm_model();
  cfg.train.epochs = 1;
  cfg.train.batch_size = 20;
  cfg.eval.elbo_samples = 2;
  cfg.eval.loss_timesteps = {3};
  cfg.plan.folds = 2;
  cfg.threads = 1;
  const Plan plan = make_kfold_plan(data.size(), cfg.plan, 3);
  const GroupResult r = train_group(data, plan.jobs, cfg);
  int diverged = 0;
  for (size_t j = 0; j < plan.jobs.size(); ++j) {
    const JobResult& jr = r.jobs[j];
    const bool trained_on_nan = plan.in_mask()[0][int64_t(j)].item<bool>();
    EXPECT_EQ(jr.status, trained_on_nan ? "diverged" : "ok");
    if (!trained_on_nan) continue;
    ++diverged;
    EXPECT_TRUE(torch::isnan(jr.logp.back()).all().item<bool>());
    EXPECT_TRUE(torch::isnan(jr.denoise_loss).all().item<bool>());
  }
  EXPECT_EQ(diverged, 1);
}
