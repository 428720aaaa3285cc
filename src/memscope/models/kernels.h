#pragma once
// Element-wise kernels that LibTorch runs slowly on this class of machine (Debian's build computes
// softplus with scalar exp and log: ~100 M values/s per core).
#include <torch/torch.h>

namespace memscope {

/// sum_d softplus(l[r, d]) for each row of a contiguous float32 tensor, vectorised (AVX2 where the
/// CPU has it) and split over the threads set by set_thread_owner. logits: [..., D] -> [...].
/// Agrees with torch::softplus(logits).sum(-1) to float rounding; no autograd.
torch::Tensor softplus_sum(const torch::Tensor& logits);

}  // namespace memscope
