#include "memscope/analysis/extraction.h"

#include <cmath>
#include <vector>

#include "memscope/analysis/neighbours.h"
#include "memscope/core/error.h"
#include "memscope/core/seeds.h"

namespace memscope {

SampleMatches match_samples(const torch::Tensor& samples, const torch::Tensor& data, double alpha, int64_t n_nearest,
                            const std::function<void(int64_t, int64_t)>& tick) {
  MEMSCOPE_CHECK_KEY(alpha > 0, "alpha", "must be > 0, got ", alpha);
  MEMSCOPE_CHECK_KEY(n_nearest >= 1, "n_nearest", "must be >= 1, got ", n_nearest);
  const Neighbours nb = nearest_neighbours(samples, data, n_nearest, {}, tick);
  SampleMatches m;
  m.nearest = nb.index.select(1, 0).contiguous();
  m.l2 = nb.distance.select(1, 0).contiguous();
  m.ratio = m.l2 / (alpha * nb.distance.mean(1)).clamp_min(1e-12);
  return m;
}

namespace {

/// Cell of every row of x: the nearest of the centres.
torch::Tensor assign(const torch::Tensor& x, const torch::Tensor& centres) {
  return nearest_neighbours(x, centres, 1).index.select(1, 0);
}

/// Lloyd's k-means on x (at most 20,000 rows, 15 iterations), seeded.
torch::Tensor kmeans(const torch::Tensor& x, int64_t k, uint64_t seed) {
  auto gen = make_generator(seed);
  torch::Tensor pts =
      x.size(0) > 20000 ? x.index_select(0, torch::randperm(x.size(0), gen, torch::kInt64).slice(0, 0, 20000)) : x;
  torch::Tensor centres = pts.index_select(0, torch::randperm(pts.size(0), gen, torch::kInt64).slice(0, 0, k)).clone();
  for (int it = 0; it < 15; ++it) {
    torch::Tensor a = assign(pts, centres);
    torch::Tensor sums = torch::zeros_like(centres).index_add_(0, a, pts);
    torch::Tensor counts = torch::zeros({k}, pts.options()).index_add_(0, a, torch::ones({pts.size(0)}, pts.options()));
    torch::Tensor keep = counts > 0;
    centres = torch::where(keep.unsqueeze(1), sums / counts.clamp_min(1).unsqueeze(1), centres);
  }
  return centres;
}

/// Mann-Whitney z of a (samples) against b (test): U counts pairs with a > b (ties count half).
double mann_whitney_z(std::vector<double> a, std::vector<double> b) {
  const double m = double(a.size()), n = double(b.size());
  std::sort(b.begin(), b.end());
  double u = 0;
  for (double v : a) {
    const auto lo = std::lower_bound(b.begin(), b.end(), v), hi = std::upper_bound(b.begin(), b.end(), v);
    u += double(lo - b.begin()) + 0.5 * double(hi - lo);
  }
  return (u - m * n / 2) / std::sqrt(m * n * (m + n + 1) / 12);
}

}  // namespace

double data_copying_ct(const torch::Tensor& train, const torch::Tensor& test, const torch::Tensor& samples,
                       int64_t cells, uint64_t seed, int64_t min_per_cell) {
  MEMSCOPE_CHECK(train.size(0) >= cells && cells >= 1, "data copying: ", cells, " cells need as many training points");
  const torch::Tensor t32 = train.to(torch::kFloat32), p32 = test.to(torch::kFloat32),
                      q32 = samples.to(torch::kFloat32);
  const torch::Tensor centres = kmeans(t32, cells, seed);
  const torch::Tensor cp = assign(p32, centres), cq = assign(q32, centres);
  const torch::Tensor lp = nearest_neighbours(p32, t32, 1).distance.select(1, 0).to(torch::kFloat64).contiguous();
  const torch::Tensor lq = nearest_neighbours(q32, t32, 1).distance.select(1, 0).to(torch::kFloat64).contiguous();
  std::vector<std::vector<double>> per_p(cells), per_q(cells);
  for (int64_t i = 0; i < lp.size(0); ++i) per_p[cp[i].item<int64_t>()].push_back(lp[i].item<double>());
  for (int64_t i = 0; i < lq.size(0); ++i) per_q[cq[i].item<int64_t>()].push_back(lq[i].item<double>());
  double weighted = 0, weights = 0;
  for (int64_t c = 0; c < cells; ++c) {
    if (int64_t(per_p[c].size()) < min_per_cell || int64_t(per_q[c].size()) < min_per_cell) continue;
    const double w = double(per_p[c].size());
    weighted += w * mann_whitney_z(per_q[c], per_p[c]);
    weights += w;
  }
  return weights > 0 ? weighted / weights : std::nan("");
}

}  // namespace memscope
