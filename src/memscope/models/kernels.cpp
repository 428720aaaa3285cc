#include "memscope/models/kernels.h"

#include <cmath>

#include "memscope/core/error.h"
#include "memscope/core/threads.h"

namespace memscope {

namespace {

constexpr float kTiny = 1e-30f;

// Compiled with -O3 -ffast-math (CMakeLists.txt) so that exp and log vectorise through glibc's
// libmvec; one clone for AVX2 machines, one for the rest.
__attribute__((target_clones("avx2", "default"))) void softplus_row_sums(const float* l, int64_t rows, int64_t cols,
                                                                         float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = l + r * cols;
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t d = 0; d < cols; ++d) s += std::fmax(x[d], 0.0f) + std::log(1.0f + std::exp(-std::fabs(x[d])));
    out[r] = s;
  }
}

__attribute__((target_clones("avx2", "default"))) void adam_span(float* p, const float* g, float* m, float* v,
                                                                 int64_t n, float b1, float b2, float step_size,
                                                                 float inv_sqrt_bc2, float eps) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float mi = b1 * m[i] + (1 - b1) * g[i];
    const float vi = b2 * v[i] + (1 - b2) * g[i] * g[i];
    m[i] = mi;
    v[i] = vi;
    // Under fast-math the vectorised sqrt is x * rsqrt(x), which is NaN for a subnormal x (rsqrt
    // flushes it to zero): kTiny keeps v normal and is far below anything eps lets matter.
    p[i] -= step_size * mi / (std::sqrt(vi + kTiny) * inv_sqrt_bc2 + eps);
  }
}

constexpr int64_t kMinValuesPerThread = 1 << 16;

}  // namespace

void adam_update(float* p, const float* g, float* m, float* v, int64_t n, float b1, float b2, float step_size,
                 float inv_sqrt_bc2, float eps) {
  parallel_range(n, kMinValuesPerThread, [&](int64_t b, int64_t e) {
    adam_span(p + b, g + b, m + b, v + b, e - b, b1, b2, step_size, inv_sqrt_bc2, eps);
  });
}

void adam_update(torch::Tensor p, const torch::Tensor& g, torch::Tensor m, torch::Tensor v, double b1, double b2,
                 double step_size, double inv_sqrt_bc2, double eps) {
  m.mul_(b1).add_(g, 1 - b1);
  v.mul_(b2).addcmul_(g, g, 1 - b2);
  p.addcdiv_(m, v.sqrt().mul_(inv_sqrt_bc2).add_(eps), -step_size);
}

torch::Tensor softplus_sum(const torch::Tensor& logits) {
  if (!logits.device().is_cpu() || logits.scalar_type() != torch::kFloat32)
    return torch::softplus(logits).sum(-1);  // GPUs fuse this well themselves
  torch::Tensor l = logits.contiguous();
  const int64_t cols = l.size(-1), rows = cols ? l.numel() / cols : 0;
  std::vector<int64_t> out_shape(l.sizes().begin(), l.sizes().end() - 1);
  torch::Tensor out = torch::empty(out_shape, torch::kFloat32);
  const float* in = l.data_ptr<float>();
  float* o = out.data_ptr<float>();
  parallel_range(rows, kMinValuesPerThread / std::max<int64_t>(1, cols),
                 [&](int64_t b, int64_t e) { softplus_row_sums(in + b * cols, e - b, cols, o + b); });
  return out;
}

}  // namespace memscope
