#include "memscope/analysis/extraction.h"

#include <gtest/gtest.h>

using namespace memscope;

namespace {

// Smooth random "images": a few prototypes plus noise, in [0, 1].
torch::Tensor draw(int64_t n, int64_t d, const torch::Tensor& protos) {
  torch::Tensor which = torch::randint(protos.size(0), {n}, torch::kInt64);
  return (protos.index_select(0, which) + 0.2 * torch::randn({n, d})).clamp(0, 1);
}

}  // namespace

TEST(Extraction, PlantedCopiesAreFoundWithTheirIndicesAndFreshDataIsNot) {
  torch::manual_seed(3);
  const int64_t d = 64;
  torch::Tensor protos = torch::rand({6, d});
  torch::Tensor train = draw(2000, d, protos), fresh = draw(300, d, protos);
  torch::Tensor planted_idx = torch::tensor({5, 77, 1234, 1999}, torch::kInt64);
  torch::Tensor copies = (train.index_select(0, planted_idx) + 0.01 * torch::randn({4, d})).clamp(0, 1);
  torch::Tensor samples = torch::cat({fresh, copies});
  SampleMatches m = match_samples(samples, train, 0.5, 50);
  const torch::Tensor plain = m.l2 <= 0.15, adaptive = m.ratio <= 1;  // the default rules
  for (int64_t k = 0; k < 4; ++k) {
    EXPECT_EQ(m.nearest[300 + k].item<int64_t>(), planted_idx[k].item<int64_t>());
    EXPECT_TRUE(adaptive[300 + k].item<bool>());
    EXPECT_TRUE(plain[300 + k].item<bool>());
  }
  // Fresh draws from the same distribution are not copies under the adaptive rule.
  EXPECT_EQ(adaptive.slice(0, 0, 300).sum().item<int64_t>(), 0);
  EXPECT_EQ(plain.slice(0, 0, 300).sum().item<int64_t>(), 0);
}

TEST(Extraction, DataCopyingStatisticSeparatesCopiesFromFreshSamples) {
  torch::manual_seed(4);
  const int64_t d = 16;
  torch::Tensor protos = torch::rand({5, d});
  torch::Tensor train = draw(3000, d, protos), test = draw(1000, d, protos);
  torch::Tensor fresh = draw(1000, d, protos);
  torch::Tensor copying = (train.slice(0, 0, 1000) + 0.002 * torch::randn({1000, d})).clamp(0, 1);
  const double ct_copy = data_copying_ct(train, test, copying, 10, 1);
  const double ct_fresh = data_copying_ct(train, test, fresh, 10, 1);
  EXPECT_LT(ct_copy, -5) << ct_copy;
  EXPECT_LT(std::abs(ct_fresh), 2.5) << ct_fresh;
}
