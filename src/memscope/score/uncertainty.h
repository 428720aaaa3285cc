#pragma once
// Building blocks of the per-example error bars: the leave-one-model-out jackknife of a log-mean-exp,
// the spread of a log-mean-exp of normal draws, and empirical-Bayes (moderated) variances.
#include <cstdint>
#include <vector>

namespace memscope {

/// Leave-one-out jackknife variance of logmeanexp(v): (n-1)/n sum_k (L_k - mean L)^2 with L_k the
/// log-mean-exp without v_k. NaN if n < 2.
double logmeanexp_jackknife_var(const std::vector<double>& v);

/// Standard deviation of logmeanexp(x_1..x_n) for x_m iid normal with standard deviation sigma (any
/// mean). sigma for n = 1; otherwise simulated once per (n, grid point) with a fixed generator (10,000
/// draws, sigma grid step 0.1, linear interpolation; relative Monte Carlo error under 1%).
double logmeanexp_normal_sd(int64_t n, double sigma);

/// Digamma and trigamma functions (x > 0) and the inverse of trigamma (y > 0).
double digamma(double x);
double trigamma(double x);
double trigamma_inverse(double y);

/// Sample variances shrunk toward a common prior fitted to all of them.
struct ModeratedVariances {
  /// (d0 s0^2 + d_i s_i^2) / (d0 + d_i) per input; s0^2 where d_i = 0 or s_i^2 is not finite.
  std::vector<double> var;
  /// Prior degrees of freedom d0 (+infinity: the sample variances scatter no more than chance, all get s0^2).
  double prior_df = 0;
  /// Prior variance s0^2 (NaN when no input has a finite, positive variance with d_i > 0).
  double prior_var = 0;
};

/// Empirical-Bayes moderation of sample variances s2 with df degrees of freedom (Smyth 2004, the limma
/// moderated t): log s2 is matched in mean and variance to a scaled inverse chi-square prior
/// (d0, s0^2). Inputs with df <= 0, s2 <= 0 or non-finite s2 do not enter the fit. s2, df: same size.
ModeratedVariances moderate_variances(const std::vector<double>& s2, const std::vector<double>& df);

}  // namespace memscope
