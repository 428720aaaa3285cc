#include "memscope/analysis/neighbours.h"

#include <algorithm>
#include <limits>

#include "memscope/core/error.h"

namespace memscope {

namespace {
constexpr int64_t kQueryBlock = 1024, kRefBlock = 4096;
}

Neighbours nearest_neighbours(const torch::Tensor& queries, const torch::Tensor& refs, int64_t k,
                              const torch::Tensor& exclude, const std::function<void(int64_t, int64_t)>& tick) {
  MEMSCOPE_CHECK(queries.dim() == 2 && refs.dim() == 2 && queries.size(1) == refs.size(1), "neighbours: queries ",
                 queries.sizes(), " and refs ", refs.sizes(), " must be [*, D] alike");
  torch::NoGradGuard no_grad;
  const int64_t Q = queries.size(0), R = refs.size(0), D = refs.size(1);
  k = std::min(k, R - (exclude.defined() ? 1 : 0));
  MEMSCOPE_CHECK(k >= 1, "neighbours: no reference rows to search");
  torch::Tensor q32 = queries.to(torch::kFloat32), r32 = refs.to(torch::kFloat32);
  torch::Tensor r_norm = r32.square().sum(1);  // [R]
  Neighbours out{torch::empty({Q, k}, torch::kInt64), torch::empty({Q, k}, torch::kFloat32)};
  for (int64_t q0 = 0; q0 < Q; q0 += kQueryBlock) {
    const int64_t q1 = std::min(Q, q0 + kQueryBlock);
    torch::Tensor qb = q32.slice(0, q0, q1), q_norm = qb.square().sum(1, true);
    torch::Tensor best_d = torch::full({q1 - q0, k}, std::numeric_limits<float>::infinity());
    torch::Tensor best_i = torch::zeros({q1 - q0, k}, torch::kInt64);
    for (int64_t r0 = 0; r0 < R; r0 += kRefBlock) {
      const int64_t r1 = std::min(R, r0 + kRefBlock);
      // |a - b|^2 = |a|^2 + |b|^2 - 2 a.b, clamped at 0 against rounding.
      torch::Tensor d2 =
          (q_norm + r_norm.slice(0, r0, r1).unsqueeze(0) - 2 * torch::matmul(qb, r32.slice(0, r0, r1).t()))
              .clamp_min(0);
      if (exclude.defined()) {
        torch::Tensor own = exclude.slice(0, q0, q1) - r0;  // column of the query's own row, if in this block
        torch::Tensor in_block = (own >= 0) & (own < r1 - r0);
        torch::Tensor rows = in_block.nonzero().flatten();
        if (rows.numel()) d2.index_put_({rows, own.index_select(0, rows)}, std::numeric_limits<float>::infinity());
      }
      const int64_t kk = std::min(k, r1 - r0);
      auto [d, i] = d2.topk(kk, 1, /*largest=*/false);
      torch::Tensor cat_d = torch::cat({best_d, d}, 1), cat_i = torch::cat({best_i, i + r0}, 1);
      auto [bd, pos] = cat_d.topk(k, 1, /*largest=*/false);
      best_d = bd;
      best_i = cat_i.gather(1, pos);
    }
    out.index.slice(0, q0, q1).copy_(best_i);
    out.distance.slice(0, q0, q1).copy_((best_d / double(D)).sqrt());
    if (tick) tick(q1, Q);
  }
  return out;
}

}  // namespace memscope
