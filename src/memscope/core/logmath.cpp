#include "memscope/core/logmath.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace memscope {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}  // namespace

double logsumexp(const std::vector<double>& v) {
  double m = -kInf;
  for (double x : v) {
    if (std::isnan(x)) return kNaN;
    m = std::max(m, x);
  }
  if (m == -kInf) return -kInf;
  if (m == kInf) return kInf;
  double s = 0;
  for (double x : v) s += std::exp(x - m);
  return m + std::log(s);
}

double logmeanexp(const std::vector<double>& v) {
  if (v.empty()) return kNaN;
  return logsumexp(v) - std::log(static_cast<double>(v.size()));
}

double relative_variance(const std::vector<double>& v) {
  const size_t n = v.size();
  if (n < 2) return kNaN;
  double m = *std::max_element(v.begin(), v.end());
  if (!std::isfinite(m)) return kNaN;
  double mean = 0;
  for (double x : v) mean += std::exp(x - m);
  mean /= n;
  double var = 0;
  for (double x : v) var += (std::exp(x - m) - mean) * (std::exp(x - m) - mean);
  var /= (n - 1);
  return var / (mean * mean);
}

double logmeanexp_var(const std::vector<double>& v) { return relative_variance(v) / static_cast<double>(v.size()); }

}  // namespace memscope
