#pragma once
// Log-space arithmetic on plain vectors, stable at any magnitude.
#include <cstddef>
#include <limits>
#include <vector>

namespace memscope {

/// A quiet NaN: "no value" in the score vectors.
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
/// log(2 pi).
inline constexpr double kLog2Pi = 1.8378770664093453;

/// log(sum exp(v)); -inf for an empty vector or all -inf; NaN if any value is NaN.
double logsumexp(const std::vector<double>& v);
/// log(mean exp(v)) = logsumexp(v) - log n; NaN for an empty vector.
double logmeanexp(const std::vector<double>& v);

/// Delta-method variance of logmeanexp(v) over n draws: Var(w) / (n * mean(w)^2) with
/// w = exp(v - max v) and the unbiased sample variance. Needs n >= 2 (returns NaN otherwise).
double logmeanexp_var(const std::vector<double>& v);
/// The relative variance Var(w) / mean(w)^2 behind logmeanexp_var (n-1 denominator); NaN if n < 2.
double relative_variance(const std::vector<double>& v);

}  // namespace memscope
