#include "memscope/models/kernels.h"

#include <cmath>
#include <thread>
#include <vector>

#include "memscope/core/error.h"
#include "memscope/core/threads.h"

namespace memscope {

namespace {

// Compiled with -O3 -ffast-math (CMakeLists.txt) so that exp and log vectorise through glibc's
// libmvec; one clone for AVX2 machines, one for the rest.
__attribute__((target_clones("avx2", "default"))) void softplus_row_sums(const float* l, int64_t rows,
                                                                         int64_t cols, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = l + r * cols;
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t d = 0; d < cols; ++d) s += std::fmax(x[d], 0.0f) + std::log(1.0f + std::exp(-std::fabs(x[d])));
    out[r] = s;
  }
}

constexpr int64_t kMinValuesPerThread = 1 << 16;

}  // namespace

torch::Tensor softplus_sum(const torch::Tensor& logits) {
  MEMSCOPE_CHECK(logits.scalar_type() == torch::kFloat32 && logits.device().is_cpu(),
                 "softplus_sum: needs a float32 CPU tensor");
  torch::Tensor l = logits.contiguous();
  const int64_t cols = l.size(-1), rows = cols ? l.numel() / cols : 0;
  std::vector<int64_t> out_shape(l.sizes().begin(), l.sizes().end() - 1);
  torch::Tensor out = torch::empty(out_shape, torch::kFloat32);
  const float* in = l.data_ptr<float>();
  float* o = out.data_ptr<float>();
  const int64_t threads = std::max<int64_t>(1, std::min<int64_t>(kernel_threads(), rows * cols / kMinValuesPerThread));
  std::vector<std::thread> pool;
  const int64_t per = (rows + threads - 1) / threads;
  for (int64_t t = 1; t < threads; ++t) {
    const int64_t r0 = std::min(rows, t * per), r1 = std::min(rows, r0 + per);
    pool.emplace_back([=] { softplus_row_sums(in + r0 * cols, r1 - r0, cols, o + r0); });
  }
  softplus_row_sums(in, std::min(rows, per), cols, o);
  for (auto& th : pool) th.join();
  return out;
}

}  // namespace memscope
