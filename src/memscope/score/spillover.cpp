#include "memscope/score/spillover.h"

#include <cmath>
#include <limits>

#include "memscope/core/error.h"
#include "memscope/core/logmath.h"
#include "memscope/core/threads.h"
#include "memscope/score/uncertainty.h"

namespace memscope {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

Spillover compute_spillover(const torch::Tensor& logp, const torch::Tensor& in_mask, const torch::Tensor& neighbours,
                            const std::vector<double>& logp_sd, const std::vector<double>& mem) {
  MEMSCOPE_CHECK(logp.dim() == 2 && in_mask.sizes() == logp.sizes(), "spillover: logp ", logp.sizes(), " and in_mask ",
                 in_mask.sizes(), " must both be [N, J]");
  const int64_t N = logp.size(0), J = logp.size(1);
  MEMSCOPE_CHECK(neighbours.dim() == 2 && neighbours.size(0) == N, "spillover: neighbours ", neighbours.sizes(),
                 " must be [", N, ", k]");
  MEMSCOPE_CHECK(int64_t(logp_sd.size()) == N && int64_t(mem.size()) == N, "spillover: ", logp_sd.size(),
                 " spreads and ", mem.size(), " scores for ", N, " examples");
  const torch::Tensor lp = logp.to(torch::kFloat64).contiguous();
  const torch::Tensor in = in_mask.to(torch::kBool).contiguous();
  const torch::Tensor nb = neighbours.to(torch::kInt64).contiguous();
  const int64_t k = nb.size(1);
  const double* a = lp.data_ptr<double>();
  const bool* m = in.data_ptr<bool>();
  const int64_t* y_of = nb.data_ptr<int64_t>();
  for (int64_t t = 0; t < N * k; ++t)
    MEMSCOPE_CHECK(y_of[t] >= 0 && y_of[t] < N && y_of[t] != t / k, "spillover: neighbour ", y_of[t], " of example ",
                   t / k, " is not another of the ", N, " examples");
  Spillover s;
  s.spill.assign(size_t(N), kNaN);
  s.spill_se.assign(size_t(N), kNaN);
  s.ratio.assign(size_t(N), kNaN);
  s.pairs.assign(size_t(N), 0);
  parallel_range(N, 64, [&](int64_t begin, int64_t end) {
    std::vector<double> both, x_out;
    for (int64_t x = begin; x < end; ++x) {
      double sum = 0, var = 0;
      int64_t used = 0;
      for (int64_t t = 0; t < k; ++t) {
        const int64_t y = y_of[x * k + t];
        both.clear(), x_out.clear();
        for (int64_t j = 0; j < J; ++j) {
          const double v = a[y * J + j];
          if (!m[y * J + j] || !std::isfinite(v)) continue;
          (m[x * J + j] ? both : x_out).push_back(v);
        }
        if (both.empty() || x_out.empty()) continue;
        sum += logmeanexp(both) - logmeanexp(x_out);
        const double sd = logp_sd[size_t(y)];
        const double hb = logmeanexp_normal_sd(int64_t(both.size()), sd);
        const double ho = logmeanexp_normal_sd(int64_t(x_out.size()), sd);
        var += hb * hb + ho * ho;
        ++used;
      }
      s.pairs[size_t(x)] = used;
      if (used == 0) continue;
      s.spill[size_t(x)] = sum / double(used);
      s.spill_se[size_t(x)] = std::sqrt(var) / double(used);
      const double mx = mem[size_t(x)];
      if (std::isfinite(mx) && mx != 0) s.ratio[size_t(x)] = s.spill[size_t(x)] / mx;
    }
  });
  for (int64_t p : s.pairs) s.examples_with_pairs += p > 0;
  return s;
}

}  // namespace memscope
