#pragma once
// Exact nearest neighbours by pixel l2 distance, blocked so that memory stays bounded.
#include <torch/torch.h>

#include <functional>

namespace memscope {

struct Neighbours {
  /// [Q, k] int64 row indices into refs, nearest first.
  torch::Tensor index;
  /// [Q, k] float32 distances l2(a, b) = sqrt(mean((a - b)^2)).
  torch::Tensor distance;
};

/// The k nearest rows of refs ([R, D]) for every row of queries ([Q, D]). When exclude is defined
/// ([Q] int64), refs row exclude[q] is never a neighbour of query q (a query's own row). Works on
/// blocks of queries x refs (a few MB each); tick(done, total) reports query rows finished.
Neighbours nearest_neighbours(const torch::Tensor& queries, const torch::Tensor& refs, int64_t k,
                              const torch::Tensor& exclude = {},
                              const std::function<void(int64_t, int64_t)>& tick = nullptr);

}  // namespace memscope
