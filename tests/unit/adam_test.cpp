#include "memscope/train/adam.h"

#include <gtest/gtest.h>

#include "memscope/core/threads.h"
#include "memscope/models/kernels.h"

namespace memscope {

namespace {

// Gradients of step s for a [G, 3, 70] parameter (70: not a multiple of the vector width).
torch::Tensor gradient(int64_t s, int64_t G) {
  torch::manual_seed(100 + s);
  return torch::randn({G, 3, 70}) * (1 + s);
}

}  // namespace

TEST(MemberAdam, EachMemberFollowsLibTorchsAdamAndSkippedStepsChangeNothing) {
  constexpr int64_t G = 3, kSteps = 6;
  set_threads(2);
  torch::manual_seed(1);
  torch::Tensor p = torch::randn({G, 3, 70}).requires_grad_();
  std::vector<torch::Tensor> ref_p;
  std::vector<std::unique_ptr<torch::optim::Adam>> ref;
  for (int64_t g = 0; g < G; ++g) {
    ref_p.push_back(p[g].detach().clone().requires_grad_());
    ref.push_back(
        std::make_unique<torch::optim::Adam>(std::vector<torch::Tensor>{ref_p[g]}, torch::optim::AdamOptions(1e-2)));
  }
  MemberAdam adam({p}, G, 1e-2);
  for (int64_t s = 0; s < kSteps; ++s) {
    const torch::Tensor grad = gradient(s, G);
    std::vector<bool> update = {true, s % 2 == 0, s != 3};  // member 1 skips odd steps, member 2 step 3
    const torch::Tensor before = p.detach().clone();
    p.mutable_grad() = grad.clone();
    adam.step(update);
    for (int64_t g = 0; g < G; ++g) {
      if (!update[g]) {
        EXPECT_TRUE(torch::equal(p[g], before[g])) << "member " << g << " step " << s;
        continue;
      }
      ref_p[g].mutable_grad() = grad[g].clone();
      ref[g]->step();
    }
  }
  for (int64_t g = 0; g < G; ++g)
    EXPECT_TRUE(torch::allclose(p[g], ref_p[g], 1e-6, 1e-6)) << "member " << g << ": " << (p[g] - ref_p[g]).abs().max();
  set_threads(1);
}

TEST(MemberAdam, RestoredStateContinuesAsIfUninterrupted) {
  constexpr int64_t G = 2;
  torch::manual_seed(2);
  const torch::Tensor init = torch::randn({G, 3, 70});
  torch::Tensor a = init.clone().requires_grad_(), b = init.clone().requires_grad_();
  MemberAdam straight({a}, G, 1e-3), first({b}, G, 1e-3);
  for (int64_t s = 0; s < 3; ++s) {
    a.mutable_grad() = gradient(s, G);
    b.mutable_grad() = gradient(s, G);
    straight.step({true, true});
    first.step({true, s > 0});
  }
  MemberAdam resumed({b}, G, 1e-3);
  for (int64_t g = 0; g < G; ++g) {
    auto [steps, moments] = first.state(g);
    EXPECT_EQ(steps, 3 - g);
    resumed.restore(g, steps, moments);
  }
  for (int64_t s = 3; s < 5; ++s) {
    a.mutable_grad() = gradient(s, G);
    b.mutable_grad() = gradient(s, G);
    straight.step({true, true});
    resumed.step({true, true});
  }
  EXPECT_TRUE(torch::equal(a[0], b[0]));      // the same steps: bit for bit
  EXPECT_FALSE(torch::allclose(a[1], b[1]));  // member 1 missed step 0
}

TEST(Kernels, FusedAdamStepEqualsTheLibTorchOperationsStep) {
  torch::manual_seed(3);
  const int64_t n = 100003;
  torch::Tensor p = torch::randn({n}), g = torch::randn({n}), m = torch::randn({n}) * 0.1, v = torch::rand({n});
  torch::Tensor p2 = p.clone(), m2 = m.clone(), v2 = v.clone();
  for (int threads : {1, 2}) {
    set_threads(threads);
    adam_update(p.data_ptr<float>(), g.data_ptr<float>(), m.data_ptr<float>(), v.data_ptr<float>(), n, 0.9f, 0.999f,
                1e-3f, 1.2f, 1e-8f);
    adam_update(p2, g, m2, v2, 0.9, 0.999, 1e-3, 1.2, 1e-8);
    EXPECT_TRUE(torch::allclose(m, m2, 1e-5, 1e-7)) << (m - m2).abs().max();
    EXPECT_TRUE(torch::allclose(v, v2, 1e-5, 1e-7)) << (v - v2).abs().max();
    EXPECT_TRUE(torch::allclose(p, p2, 1e-5, 1e-6));
  }
  set_threads(1);
}

TEST(Kernels, FusedAdamStepIsFiniteForSubnormalMoments) {
  // A diffusion model's zero-initialised layers give gradients near 1e-20, whose squares are
  // subnormal; the vectorised fast-math sqrt once turned them into NaN weights.
  const int64_t n = 64;
  torch::Tensor p = torch::zeros({n}), g = torch::full({n}, 1e-21f), m = torch::zeros({n}), v = torch::zeros({n});
  g[0] = 0;
  v[1] = 1e-41f;  // subnormal already
  adam_update(p.data_ptr<float>(), g.data_ptr<float>(), m.data_ptr<float>(), v.data_ptr<float>(), n, 0.9f, 0.999f,
              1e-3f, 1.2f, 1e-8f);
  EXPECT_TRUE(torch::isfinite(p).all().item<bool>()) << p;
  EXPECT_EQ(p[0].item<float>(), 0.0f);
  EXPECT_LT(p.abs().max().item<float>(), 1e-3f);
}

}  // namespace memscope
