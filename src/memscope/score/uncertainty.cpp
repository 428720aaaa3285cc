#include "memscope/score/uncertainty.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <utility>

#include "memscope/core/error.h"
#include "memscope/core/logmath.h"

namespace memscope {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kGridStep = 0.1;
constexpr int64_t kDraws = 10000;

/// Standard normal draws [kDraws * n], the same for every call with this n (Box-Muller on mt19937_64).
std::vector<double> normal_draws(int64_t n) {
  std::mt19937_64 gen(0x6d656d73636f7065ULL + uint64_t(n));
  std::vector<double> z(size_t(kDraws * n));
  const double two_pi = 2 * std::acos(-1.0);
  for (size_t i = 0; i < z.size(); i += 2) {
    const double u1 = (double(gen() >> 11) + 1) * 0x1.0p-53, u2 = double(gen() >> 11) * 0x1.0p-53;
    const double r = std::sqrt(-2 * std::log(u1));
    z[i] = r * std::cos(two_pi * u2);
    if (i + 1 < z.size()) z[i + 1] = r * std::sin(two_pi * u2);
  }
  return z;
}

/// sd over the draws of logmeanexp(sigma z_d) for sigma = k * kGridStep (n >= 2).
double simulated_sd(const std::vector<double>& z, int64_t n, int64_t k) {
  const double sigma = double(k) * kGridStep;
  double sum = 0, sum2 = 0;
  for (int64_t d = 0; d < kDraws; ++d) {
    const double* x = z.data() + d * n;
    const double mx = *std::max_element(x, x + n);
    double acc = 0;
    for (int64_t m = 0; m < n; ++m) acc += std::exp(sigma * (x[m] - mx));
    const double l = sigma * mx + std::log(acc / double(n));
    sum += l;
    sum2 += l * l;
  }
  const double mean = sum / double(kDraws);
  return std::sqrt(std::max(0.0, (sum2 - double(kDraws) * mean * mean) / double(kDraws - 1)));
}

}  // namespace

double logmeanexp_jackknife_var(const std::vector<double>& v) {
  const size_t n = v.size();
  if (n < 2) return kNaN;
  std::vector<double> loo(n), rest;
  for (size_t k = 0; k < n; ++k) {
    rest.assign(v.begin(), v.end());
    rest.erase(rest.begin() + std::ptrdiff_t(k));
    loo[k] = logmeanexp(rest);
  }
  double mean = 0;
  for (double l : loo) mean += l / double(n);
  double ss = 0;
  for (double l : loo) ss += (l - mean) * (l - mean);
  return double(n - 1) / double(n) * ss;
}

double logmeanexp_normal_sd(int64_t n, double sigma) {
  MEMSCOPE_CHECK(n >= 1, "uncertainty: logmeanexp of ", n, " draws");
  if (!std::isfinite(sigma) || sigma < 0) return kNaN;
  if (n == 1) return sigma;
  static std::mutex mu;
  static std::map<int64_t, std::vector<double>> draws;
  static std::map<std::pair<int64_t, int64_t>, double> table;
  auto at = [&](int64_t k) {
    auto it = table.find({n, k});
    if (it != table.end()) return it->second;
    auto& z = draws[n];
    if (z.empty()) z = normal_draws(n);
    return table[{n, k}] = simulated_sd(z, n, k);
  };
  std::lock_guard<std::mutex> lock(mu);
  const int64_t k = int64_t(sigma / kGridStep);
  const double f = sigma / kGridStep - double(k);
  return (1 - f) * at(k) + f * at(k + 1);
}

double digamma(double x) {
  double r = 0;
  for (; x < 6; x += 1) r -= 1 / x;
  const double f = 1 / (x * x);
  return r + std::log(x) - 0.5 / x - f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))));
}

double trigamma(double x) {
  double r = 0;
  for (; x < 6; x += 1) r += 1 / (x * x);
  const double f = 1 / (x * x);
  return r + 1 / x + f / 2 + f / x * (1.0 / 6 - f * (1.0 / 30 - f * (1.0 / 42 - f / 30)));
}

double trigamma_inverse(double y) {
  MEMSCOPE_CHECK(y > 0, "uncertainty: trigamma_inverse of ", y);
  if (y > 1e7) return 1 / std::sqrt(y);
  if (y < 1e-6) return 1 / y;
  double x = 0.5 + 1 / y;  // Newton on 1 / trigamma(x), as limma's trigammaInverse
  for (int it = 0; it < 50; ++it) {
    const double tri = trigamma(x), h = 1e-6 * x;
    const double tetra = (trigamma(x + h) - trigamma(x - h)) / (2 * h);
    const double dif = tri * (1 - tri / y) / tetra;
    x += dif;
    if (-dif / x < 1e-10) break;
  }
  return x;
}

ModeratedVariances moderate_variances(const std::vector<double>& s2, const std::vector<double>& df) {
  MEMSCOPE_CHECK(s2.size() == df.size(), "uncertainty: ", s2.size(), " variances with ", df.size(),
                 " degrees of freedom");
  std::vector<double> e, tri;
  for (size_t i = 0; i < s2.size(); ++i) {
    if (!(df[i] > 0) || !(s2[i] > 0) || !std::isfinite(s2[i])) continue;
    e.push_back(std::log(s2[i]) - digamma(df[i] / 2) + std::log(df[i] / 2));
    tri.push_back(trigamma(df[i] / 2));
  }
  ModeratedVariances m;
  m.var.assign(s2.size(), kNaN);
  if (e.empty()) {
    m.prior_var = kNaN;
    return m;
  }
  double emean = 0, trimean = 0;
  for (size_t i = 0; i < e.size(); ++i) emean += e[i] / double(e.size()), trimean += tri[i] / double(e.size());
  double evar = 0;
  for (double x : e) evar += (x - emean) * (x - emean);
  evar = e.size() > 1 ? evar / double(e.size() - 1) - trimean : 0;
  if (evar > 0) {
    m.prior_df = 2 * trigamma_inverse(evar);
    m.prior_var = std::exp(emean + digamma(m.prior_df / 2) - std::log(m.prior_df / 2));
  } else {
    m.prior_df = std::numeric_limits<double>::infinity();
    m.prior_var = std::exp(emean);
  }
  for (size_t i = 0; i < s2.size(); ++i) {
    const bool usable = df[i] > 0 && std::isfinite(s2[i]) && s2[i] >= 0;
    if (!usable || std::isinf(m.prior_df))
      m.var[i] = m.prior_var;
    else
      m.var[i] = (m.prior_df * m.prior_var + df[i] * s2[i]) / (m.prior_df + df[i]);
  }
  return m;
}

}  // namespace memscope
