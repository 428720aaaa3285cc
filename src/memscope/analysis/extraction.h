#pragma once
// Regeneration tests: which training images do model samples reproduce (Carlini et al. 2023),
// and the data-copying test of Meehan et al. (2020).
#include <torch/torch.h>

#include <cstdint>
#include <functional>

namespace memscope {

struct SampleMatches {
  /// [S] int64: row of the nearest data example of every sample.
  torch::Tensor nearest;
  /// [S] float32: l2(sample, nearest) = sqrt(mean((a - b)^2)) on [0, 1] pixels.
  torch::Tensor l2;
  /// [S] float32: l2 / (alpha * mean l2 to the n_nearest nearest examples); <= 1 is a copy.
  torch::Tensor ratio;
};

/// samples: [S, D], data: [N, D] -> nearest examples and the adaptive ratio (blocked search).
SampleMatches match_samples(const torch::Tensor& samples, const torch::Tensor& data, double alpha, int64_t n_nearest,
                            const std::function<void(int64_t, int64_t)>& tick = nullptr);

/// Meehan et al.'s C_T: the data space cut into cells by k-means on train (seeded); per cell the
/// Mann-Whitney U of distances to the nearest training point of generated samples versus of
/// held-out test points, as a z-score; C_T their average weighted by the test points per cell,
/// over cells holding at least min_per_cell test points and samples. Negative: the samples lie
/// closer to the training data than fresh data does (copying); near 0: no evidence of it.
/// train: [T, D], test: [P, D], samples: [Q, D].
double data_copying_ct(const torch::Tensor& train, const torch::Tensor& test, const torch::Tensor& samples,
                       int64_t cells, uint64_t seed, int64_t min_per_cell = 5);

}  // namespace memscope
