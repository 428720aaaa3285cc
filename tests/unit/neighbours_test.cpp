#include "memscope/analysis/neighbours.h"

#include <gtest/gtest.h>

using namespace memscope;

TEST(Neighbours, BlockedSearchEqualsBruteForce) {
  torch::manual_seed(1);
  torch::Tensor refs = torch::rand({5000, 12}), queries = torch::rand({1500, 12});
  Neighbours nn = nearest_neighbours(queries, refs, 3);
  torch::Tensor d = torch::cdist(queries.to(torch::kFloat64), refs.to(torch::kFloat64)) / std::sqrt(12.0);
  auto [want_d, want_i] = d.topk(3, 1, false);
  EXPECT_TRUE(torch::equal(nn.index, want_i));
  EXPECT_TRUE(torch::allclose(nn.distance.to(torch::kFloat64), want_d, 1e-4, 1e-5));
}

TEST(Neighbours, ExcludesTheQuerysOwnRowAndFindsPlantedCopies) {
  torch::manual_seed(2);
  torch::Tensor data = torch::rand({4500, 8});
  data[4321] = data[17] + 0.001;  // a near-duplicate across blocks
  Neighbours nn = nearest_neighbours(data, data, 2, torch::arange(4500));
  EXPECT_EQ(nn.index[17][0].item<int64_t>(), 4321);
  EXPECT_EQ(nn.index[4321][0].item<int64_t>(), 17);
  EXPECT_NEAR(nn.distance[17][0].item<float>(), 0.001, 1e-4);
  EXPECT_FALSE((nn.index.select(1, 0) == torch::arange(4500)).any().item<bool>());
}
