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

/// The standard deviation of draw(d) over d = 0 .. draws - 1.
template <typename Draw>
double sd_over_draws(int64_t draws, Draw draw) {
  double sum = 0, sum2 = 0;
  for (int64_t d = 0; d < draws; ++d) {
    const double l = draw(d);
    sum += l;
    sum2 += l * l;
  }
  const double mean = sum / double(draws);
  return std::sqrt(std::max(0.0, (sum2 - double(draws) * mean * mean) / double(draws - 1)));
}

/// at(k) at sigma on the grid k * kGridStep, interpolated linearly.
template <typename At>
double on_grid(double sigma, At at) {
  const int64_t k = int64_t(sigma / kGridStep);
  const double f = sigma / kGridStep - double(k);
  return (1 - f) * at(k) + f * at(k + 1);
}

/// sd over the draws of logmeanexp(sigma z_d) for sigma = k * kGridStep (n >= 2).
double simulated_sd(const std::vector<double>& z, int64_t n, int64_t k) {
  const double sigma = double(k) * kGridStep;
  return sd_over_draws(kDraws, [&](int64_t d) {
    const double* x = z.data() + d * n;
    const double mx = *std::max_element(x, x + n);
    double acc = 0;
    for (int64_t m = 0; m < n; ++m) acc += std::exp(sigma * (x[m] - mx));
    return sigma * mx + std::log(acc / double(n));
  });
}

}  // namespace

double mean_of(const std::vector<double>& v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  double m = 0;
  for (double x : v) m += x / double(v.size());
  return m;
}

double sum_sq_dev(const std::vector<double>& v) {
  const double m = mean_of(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return ss;
}

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
  return on_grid(sigma, at);
}

double subset_logmeanexp(const std::vector<double>& v, size_t k, uint64_t stream) {
  const size_t n = v.size();
  if (k == 0 || k > n) return kNaN;
  if (k == n) return logmeanexp(v);
  double combos = 1;  // C(n, k), stopped once above the limit
  for (size_t j = 1; j <= k && combos <= double(kMaxSubsets); ++j) combos = combos * double(n - k + j) / double(j);
  std::vector<double> pick(k);
  double sum = 0;
  if (combos <= double(kMaxSubsets) + 0.5) {
    std::vector<size_t> c(k);
    for (size_t j = 0; j < k; ++j) c[j] = j;
    int64_t count = 0;
    while (true) {
      for (size_t j = 0; j < k; ++j) pick[j] = v[c[j]];
      sum += logmeanexp(pick), ++count;
      size_t j = k;  // the next combination in lexicographic order
      while (j > 0 && c[j - 1] == n - k + j - 1) --j;
      if (j == 0) break;
      ++c[j - 1];
      for (size_t l = j; l < k; ++l) c[l] = c[l - 1] + 1;
    }
    return sum / double(count);
  }
  std::seed_seq seq{uint32_t(stream), uint32_t(stream >> 32), uint32_t(n), uint32_t(k)};
  std::mt19937_64 gen(seq);
  std::vector<double> w(v);
  for (int64_t d = 0; d < kMaxSubsets; ++d) {
    for (size_t j = 0; j < k; ++j) std::swap(w[j], w[j + size_t(gen() % (n - j))]);  // partial Fisher-Yates
    pick.assign(w.begin(), w.begin() + std::ptrdiff_t(k));
    sum += logmeanexp(pick);
  }
  return sum / double(kMaxSubsets);
}

namespace {

/// The continued fraction of the incomplete beta function (modified Lentz), for x < (a + 1) / (a + b + 2).
double beta_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300, kEps = 1e-15;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  d = 1 / (std::fabs(d) < kTiny ? kTiny : d);
  double h = d;
  for (int m = 1; m <= 500; ++m) {
    for (int half = 0; half < 2; ++half) {
      const double num = half == 0 ? m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
                                   : -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
      d = 1 + num * d;
      d = 1 / (std::fabs(d) < kTiny ? kTiny : d);
      c = 1 + num / c;
      c = std::fabs(c) < kTiny ? kTiny : c;
      h *= d * c;
      if (half == 1 && std::fabs(d * c - 1) < kEps) return h;
    }
  }
  return h;
}

}  // namespace

double incomplete_beta(double a, double b, double x) {
  MEMSCOPE_CHECK(a > 0 && b > 0 && x >= 0 && x <= 1, "uncertainty: incomplete_beta(", a, ", ", b, ", ", x, ")");
  if (x == 0 || x == 1) return x;
  const double front =
      std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return front * beta_fraction(a, b, x) / a;
  return 1 - front * beta_fraction(b, a, 1 - x) / b;
}

double student_t_cdf(double t, double df) {
  if (std::isnan(t) || !(df > 0)) return kNaN;
  if (std::isinf(df) || df > 1e7) return 0.5 * std::erfc(-t / std::sqrt(2.0));
  if (std::isinf(t)) return t > 0 ? 1 : 0;
  const double tail = 0.5 * incomplete_beta(df / 2, 0.5, df / (df + t * t));  // P(T > |t|)
  return t > 0 ? 1 - tail : tail;
}

double student_t_quantile(double p, double df) {
  MEMSCOPE_CHECK(p > 0 && p < 1, "uncertainty: t quantile of ", p);
  double lo = -1, hi = 1;
  while (student_t_cdf(lo, df) > p) lo *= 2;
  while (student_t_cdf(hi, df) < p) hi *= 2;
  for (int it = 0; it < 200 && hi - lo > 1e-12 * std::max(1.0, std::abs(hi)); ++it) {
    const double mid = (lo + hi) / 2;
    (student_t_cdf(mid, df) < p ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

std::vector<double> bh_qvalues(const std::vector<double>& p) {
  std::vector<size_t> order;
  for (size_t i = 0; i < p.size(); ++i)
    if (!std::isnan(p[i])) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
  std::vector<double> q(p.size(), kNaN);
  const double m = double(order.size());
  double running = 1;
  for (size_t r = order.size(); r-- > 0;) {
    running = std::min(running, p[order[r]] * m / double(r + 1));
    q[order[r]] = running;
  }
  return q;
}

LogMeanExpSpread::LogMeanExpSpread(std::vector<double> residuals) : residuals_(std::move(residuals)) {
  residuals_.erase(std::remove_if(residuals_.begin(), residuals_.end(), [](double r) { return !std::isfinite(r); }),
                   residuals_.end());
  if (residuals_.size() < kMinResiduals) {
    residuals_.clear();
    return;
  }
  double ms = 0;  // to unit mean square: the shape of the tails, not their scale
  for (double r : residuals_) ms += r * r / double(residuals_.size());
  for (double& r : residuals_) r /= std::sqrt(ms);
}

double LogMeanExpSpread::sd(int64_t n, double sigma) {
  MEMSCOPE_CHECK(n >= 1, "uncertainty: logmeanexp of ", n, " draws");
  if (residuals_.empty()) return logmeanexp_normal_sd(n, sigma);
  if (!std::isfinite(sigma) || sigma < 0) return kNaN;
  if (n == 1) return sigma;
  return on_grid(sigma, [&](int64_t k) { return at(n, k); });
}

double LogMeanExpSpread::at(int64_t n, int64_t k) {
  auto it = table_.find({n, k});
  if (it != table_.end()) return it->second;
  constexpr int64_t kEmpiricalDraws = 4000;
  std::mt19937_64 gen(0x6c6d6573707264ULL + uint64_t(n));  // the same residuals for every grid point
  const double sigma = double(k) * kGridStep;
  std::vector<double> x(static_cast<size_t>(n));
  return table_[{n, k}] = sd_over_draws(kEmpiricalDraws, [&](int64_t) {
           for (auto& v : x) v = sigma * residuals_[size_t(gen() % residuals_.size())];
           return logmeanexp(x);
         });
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
