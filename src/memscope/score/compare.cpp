#include "memscope/score/compare.h"

#include <cmath>

#include "memscope/core/error.h"

namespace memscope {

namespace {

/// Average ranks (1-based) of v: [N] float64.
torch::Tensor ranks(const torch::Tensor& v) {
  const int64_t n = v.size(0);
  torch::Tensor order = v.argsort();
  torch::Tensor sorted = v.index_select(0, order);
  torch::Tensor r = torch::empty({n}, torch::kFloat64);
  auto o = order.accessor<int64_t, 1>();
  auto s = sorted.accessor<double, 1>();
  auto ra = r.accessor<double, 1>();
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    while (j + 1 < n && s[j + 1] == s[i]) ++j;
    for (int64_t k = i; k <= j; ++k) ra[o[k]] = 0.5 * double(i + j) + 1;
    i = j + 1;
  }
  return r;
}

std::pair<torch::Tensor, torch::Tensor> finite_pairs(const torch::Tensor& a, const torch::Tensor& b) {
  MEMSCOPE_CHECK(a.numel() == b.numel(), "compare: ", a.numel(), " scores against ", b.numel());
  torch::Tensor x = a.to(torch::kFloat64).flatten(), y = b.to(torch::kFloat64).flatten();
  torch::Tensor keep = torch::isfinite(x) & torch::isfinite(y);
  return {x.index({keep}), y.index({keep})};
}

}  // namespace

double spearman(const torch::Tensor& a, const torch::Tensor& b) {
  auto [x, y] = finite_pairs(a, b);
  if (x.size(0) < 2) return std::nan("");
  torch::Tensor rx = ranks(x), ry = ranks(y);
  rx -= rx.mean();
  ry -= ry.mean();
  return ((rx * ry).sum() / (rx.norm() * ry.norm())).item<double>();
}

double top_share_agreement(const torch::Tensor& a, const torch::Tensor& b, double share) {
  auto [x, y] = finite_pairs(a, b);
  const int64_t n = x.size(0), k = std::max<int64_t>(1, int64_t(std::floor(share * double(n))));
  if (n == 0) return std::nan("");
  torch::Tensor in_a = torch::zeros({n}, torch::kBool), in_b = torch::zeros({n}, torch::kBool);
  in_a.index_fill_(0, std::get<1>(x.topk(k)), true);
  in_b.index_fill_(0, std::get<1>(y.topk(k)), true);
  return (in_a & in_b).sum().item<double>() / double(k);
}

nlohmann::json compare_scores(const torch::Tensor& estimate, const torch::Tensor& truth) {
  auto [x, y] = finite_pairs(estimate, truth);
  torch::Tensor err = (x - y).abs();
  return {{"n", x.size(0)},
          {"spearman", spearman(x, y)},
          {"max_abs_error", x.size(0) ? err.max().item<double>() : std::nan("")},
          {"mean_abs_error", x.size(0) ? err.mean().item<double>() : std::nan("")},
          {"top5_agreement", top_share_agreement(x, y, 0.05)}};
}

}  // namespace memscope
