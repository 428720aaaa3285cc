#pragma once
// Building blocks of the per-example error bars: the leave-one-model-out jackknife of a log-mean-exp,
// the spread of a log-mean-exp of normal draws, and empirical-Bayes (moderated) variances.
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace memscope {

/// The mean of v (NaN when empty), and the sum of squared deviations from it.
double mean_of(const std::vector<double>& v);
double sum_sq_dev(const std::vector<double>& v);

/// Leave-one-out jackknife variance of logmeanexp(v): (n-1)/n sum_k (L_k - mean L)^2 with L_k the
/// log-mean-exp without v_k. NaN if n < 2.
double logmeanexp_jackknife_var(const std::vector<double>& v);

/// Standard deviation of logmeanexp(x_1..x_n) for x_m iid normal with standard deviation sigma (any
/// mean). sigma for n = 1; otherwise simulated once per (n, grid point) with a fixed generator (10,000
/// draws, sigma grid step 0.1, linear interpolation; relative Monte Carlo error under 1%).
double logmeanexp_normal_sd(int64_t n, double sigma);

/// The balanced log-mean-exp: the mean of logmeanexp over the k-subsets of v (1 <= k <= n), every
/// subset when there are at most kMaxSubsets of them, else kMaxSubsets subsets drawn from a stream seeded
/// by `stream` (the same for every call with that stream). Under exchangeable draws its expectation is
/// that of a log-mean-exp of k draws, whatever n: comparing it with the log-mean-exp of k draws of the
/// other side is unbiased when membership has no effect. NaN when k is 0 or above n.
inline constexpr int64_t kMaxSubsets = 256;
double subset_logmeanexp(const std::vector<double>& v, size_t k, uint64_t stream);

/// Regularized incomplete beta function I_x(a, b) (a, b > 0, x in [0, 1]).
double incomplete_beta(double a, double b, double x);
/// P(T <= t) for Student's t with df degrees of freedom (df > 0; +infinity: the standard normal).
double student_t_cdf(double t, double df);
/// The p-quantile of Student's t with df degrees of freedom (bisection on student_t_cdf; p in (0, 1)).
double student_t_quantile(double p, double df);
/// Benjamini-Hochberg adjusted p-values (q-values) of p: q_i = min over p_j >= p_i of p_j m / rank_j, m the
/// number of finite p (NaN stays NaN and does not count).
std::vector<double> bh_qvalues(const std::vector<double>& p);

/// The standard deviation of logmeanexp(sigma r_1 .. sigma r_n) for r drawn from an empirical distribution of
/// standardized residuals (mean 0, variance 1): the spread of a log-mean-exp under the data's own tail
/// shape, which a normal understates when the tails are heavy (a log-mean-exp of many draws follows its
/// largest ones). Fewer than kMinResiduals residuals: the normal's (logmeanexp_normal_sd). Simulated once per
/// (n, grid point) with a fixed generator (4,000 draws, sigma grid step 0.1, linear interpolation).
class LogMeanExpSpread {
 public:
  static constexpr size_t kMinResiduals = 200;
  explicit LogMeanExpSpread(std::vector<double> residuals);
  double sd(int64_t n, double sigma);

 private:
  double at(int64_t n, int64_t k);
  std::vector<double> residuals_;
  std::map<std::pair<int64_t, int64_t>, double> table_;
};

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
