#pragma once
// Element-wise kernels that LibTorch runs slowly on this class of machine (Debian's build computes
// softplus with scalar exp and log: ~100 M values/s per core).
#include <torch/torch.h>

namespace memscope {

/// sum_d softplus(l[r, d]) for each row of a contiguous float32 tensor, vectorised (AVX2 where the
/// CPU has it) and split over the threads set by set_threads. logits: [..., D] -> [...].
/// Agrees with torch::softplus(logits).sum(-1) to float rounding (which it is, on other devices
/// and types); no autograd.
torch::Tensor softplus_sum(const torch::Tensor& logits);

}  // namespace memscope

namespace memscope {

/// One Adam step (as torch.optim.Adam without weight decay) in a single pass over n contiguous
/// floats: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= step_size m / (sqrt(v) * inv_sqrt_bc2 + eps)
/// with step_size = lr / (1 - b1^t) and inv_sqrt_bc2 = 1 / sqrt(1 - b2^t). Split over kernel threads.
void adam_update(float* p, const float* g, float* m, float* v, int64_t n, float b1, float b2, float step_size,
                 float inv_sqrt_bc2, float eps);

/// The same step with LibTorch operations, for tensors on any device (p, m, v updated in place).
void adam_update(torch::Tensor p, const torch::Tensor& g, torch::Tensor m, torch::Tensor v, double b1, double b2,
                 double step_size, double inv_sqrt_bc2, double eps);

}  // namespace memscope
