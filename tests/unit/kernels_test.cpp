#include "memscope/models/kernels.h"

#include <gtest/gtest.h>

#include "memscope/core/threads.h"

using namespace memscope;

TEST(Kernels, SoftplusSumMatchesLibTorchOverTheWholeRange) {
  for (int threads : {1, 2, 3}) {
    set_threads(threads);
    // Large enough to be split over threads; values from -60 to 60 (softplus ~ 0 to ~ x).
    torch::Tensor l = (torch::rand({3, 700, 129}) - 0.5) * 120;
    l[0][0][0] = 0;
    l[1][2][3] = 88;
    l[2][5][7] = -88;
    torch::Tensor got = softplus_sum(l), want = torch::softplus(l.to(torch::kFloat64)).sum(-1);
    ASSERT_EQ(got.sizes(), torch::IntArrayRef({3, 700}));
    EXPECT_TRUE(torch::allclose(got.to(torch::kFloat64), want, 1e-5, 1e-3))
        << (got.to(torch::kFloat64) - want).abs().max();
  }
  // Strided input and a single row.
  torch::Tensor t = torch::randn({10, 8}).t();
  EXPECT_TRUE(torch::allclose(softplus_sum(t), torch::softplus(t).sum(-1), 1e-5, 1e-5));
  set_threads(1);
}
