#include "memscope/models/gaussian.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "memscope/core/error.h"
#include "memscope/core/logmath.h"
#include "memscope/core/threads.h"

namespace memscope {

namespace {

torch::Tensor eye(int64_t d) { return torch::eye(d, torch::kFloat64); }

/// Why C = W / n + ridge I is not usable, for the error message.
std::string singular_reason(const GaussianStats& s, double ridge) {
  const int64_t constant = (s.scatter.diagonal() <= 0).sum().item<int64_t>();
  const int64_t D = s.mean.size(0);
  std::string why = str("covariance of ", s.n, " examples in ", D, " dimensions is singular or ill-conditioned");
  if (constant) why += str(" (", constant, " coordinates are constant)");
  if (D >= s.n) why += str(" (D = ", D, " >= n = ", s.n, ")");
  if (ridge > 0) why += str(" even with --ridge ", ridge);
  return why + "; pass --ridge R (e.g. 1e-3) to fit C + R I";
}

/// The Cholesky factor of C, or a memscope::Error when C is not safely positive definite.
torch::Tensor checked_cholesky(const torch::Tensor& C, const GaussianStats& s, double ridge, const char* who) {
  auto [L, info] = torch::linalg_cholesky_ex(C);
  MEMSCOPE_CHECK(info.item<int64_t>() == 0, who, ": ", singular_reason(s, ridge));
  torch::Tensor diag = L.diagonal();
  const double ratio = (diag.min() / diag.max()).item<double>();
  MEMSCOPE_CHECK(ratio * ratio > 1e-12, who, ": ", singular_reason(s, ridge));
  return L;
}

}  // namespace

GaussianStats gaussian_stats(const torch::Tensor& x) {
  MEMSCOPE_CHECK(x.dim() == 2 && x.size(0) >= 1, "gaussian: expected [n, D] data, got ", x.sizes());
  torch::Tensor x64 = x.to(torch::kFloat64);
  GaussianStats s;
  s.n = x.size(0);
  s.mean = x64.mean(0);
  torch::Tensor d = x64 - s.mean;
  s.scatter = torch::matmul(d.t(), d);
  return s;
}

GaussianStats remove_subset(const GaussianStats& all, const GaussianStats& b) {
  const int64_t n = all.n, m = b.n;
  MEMSCOPE_CHECK(m < n, "gaussian: cannot remove ", m, " of ", n, " examples");
  GaussianStats s;
  s.n = n - m;
  s.mean = (double(n) * all.mean - double(m) * b.mean) / double(n - m);
  torch::Tensor diff = b.mean - all.mean;
  s.scatter = all.scatter - b.scatter - (double(n) * m / double(n - m)) * torch::outer(diff, diff);
  return s;
}

GaussianDensity GaussianDensity::fit(const GaussianStats& s, double ridge) {
  const int64_t D = s.mean.size(0);
  torch::Tensor C = s.scatter / double(s.n) + ridge * eye(D);
  torch::Tensor L = checked_cholesky(C, s, ridge, "gaussian");
  GaussianDensity g;
  g.mean_ = s.mean;
  g.whiten_ = torch::linalg_solve_triangular(L, eye(D), /*upper=*/false);  // L^-1
  g.logdet_ = 2 * L.diagonal().log().sum().item<double>();
  return g;
}

GaussianDensity GaussianDensity::fit_ppca(const GaussianStats& s, int64_t q, double ridge) {
  const int64_t D = s.mean.size(0);
  MEMSCOPE_CHECK(q >= 1 && q < D, "ppca: the number of components must be in [1, ", D - 1, "], got ", q);
  auto [evals, evecs] = torch::linalg_eigh(s.scatter / double(s.n) + ridge * eye(D));  // ascending
  torch::Tensor top = evals.slice(0, D - q).flip(0), U = evecs.slice(1, D - q).flip(1);
  const double s2 = evals.slice(0, 0, D - q).mean().item<double>();
  MEMSCOPE_CHECK(s2 > 1e-12 * std::max(1e-300, top[0].item<double>()), "ppca: ", singular_reason(s, ridge));
  GaussianDensity g;
  g.mean_ = s.mean;
  // P = (I - U diag(1 - sqrt(s2 / l)) U^T) / sqrt(s2) satisfies P^T P = C^-1.
  torch::Tensor c = 1 - (s2 / top).sqrt();
  g.whiten_ = (eye(D) - torch::matmul(U * c, U.t())) / std::sqrt(s2);
  g.logdet_ = top.log().sum().item<double>() + double(D - q) * std::log(s2);
  return g;
}

torch::Tensor GaussianDensity::log_prob(const torch::Tensor& x) const {
  torch::Tensor d = x.to(torch::kFloat64) - mean_;
  torch::Tensor quad = torch::matmul(d, whiten_.t()).square().sum(-1);
  return -0.5 * (quad + logdet_ + double(dim()) * kLog2Pi);
}

LinearGaussianEnsemble::LinearGaussianEnsemble(int64_t members, int64_t dim, int64_t q, double ridge)
    : dim_(dim), q_(q), ridge_(ridge), fits_(members) {}

void LinearGaussianEnsemble::fit(int64_t g, const torch::Tensor& x) {
  const GaussianStats s = gaussian_stats(x);
  fits_[g] = q_ > 0 ? GaussianDensity::fit_ppca(s, q_, ridge_) : GaussianDensity::fit(s, ridge_);
}

torch::Tensor LinearGaussianEnsemble::log_prob(const torch::Tensor& x, const torch::Tensor&) {
  std::vector<torch::Tensor> rows;
  for (const auto& f : fits_) {
    MEMSCOPE_CHECK(f.mean().defined(), "gaussian: log_prob of a member that was never fitted");
    rows.push_back(f.log_prob(x.to(torch::kCPU)).to(torch::kFloat32));
  }
  return torch::stack(rows).to(x.device());
}

void LinearGaussianEnsemble::save_member(int64_t g, std::ostream& os) const {
  torch::serialize::OutputArchive archive;
  archive.write("mean", fits_[g].mean());
  archive.write("whiten", fits_[g].whiten());
  archive.write("logdet", torch::tensor(fits_[g].logdet(), torch::kFloat64));
  archive.save_to(os);
}

void LinearGaussianEnsemble::load_member(int64_t g, std::istream& is) {
  torch::serialize::InputArchive archive;
  archive.load_from(is);
  torch::Tensor mean, whiten, logdet;
  archive.read("mean", mean);
  archive.read("whiten", whiten);
  archive.read("logdet", logdet);
  fits_[g] = GaussianDensity(mean, whiten, logdet.item<double>());
}

ExactLoo gaussian_exact_loo(const torch::Tensor& x, double ridge) {
  const GaussianStats s = gaussian_stats(x);
  const int64_t n = s.n, D = s.mean.size(0);
  MEMSCOPE_CHECK(n >= 3, "gaussian: leave-one-out needs at least 3 examples, got ", n);
  ExactLoo r;
  r.logp_full = GaussianDensity::fit(s, ridge).log_prob(x);
  // Without x_i: C_-i = A - c d_i d_i^T with A = W / (n - 1) + ridge I and c = n / (n - 1)^2, and
  // x_i - mean_-i = n / (n - 1) d_i. With g_i = d_i^T A^-1 d_i (matrix determinant lemma and
  // Sherman-Morrison): log det C_-i = log det A + log(1 - c g_i), and the quadratic form is
  // (n / (n - 1))^2 g_i / (1 - c g_i).
  const double nn = double(n), c = nn / ((nn - 1) * (nn - 1)), k = nn / (nn - 1);
  GaussianStats shrunk = s;
  shrunk.n = n - 1;  // A = W / (n - 1) + ridge I
  torch::Tensor L = checked_cholesky(s.scatter / (nn - 1) + ridge * eye(D), shrunk, ridge, "gaussian");
  const double logdet_a = 2 * L.diagonal().log().sum().item<double>();
  torch::Tensor d = x.to(torch::kFloat64) - s.mean;
  torch::Tensor g = torch::linalg_solve_triangular(L, d.t(), /*upper=*/false).square().sum(0);  // [n]
  torch::Tensor one_minus = 1 - c * g;
  const int64_t bad = (one_minus <= 1e-12).sum().item<int64_t>();
  MEMSCOPE_CHECK(bad == 0, "gaussian: removing one of ", bad,
                 " examples makes the covariance singular; pass --ridge R (e.g. 1e-3)");
  r.logp_loo = -0.5 * (double(D) * kLog2Pi + logdet_a + one_minus.log() + k * k * g / one_minus);
  r.mem = r.logp_full - r.logp_loo;
  // Leverage of the hat matrix of [1, X]: h_ii = 1/n + d_i^T W^-1 d_i = (1 + a_i) / n, with
  // a_i = d_i^T S^-1 d_i = n d_i^T W^-1 d_i = n g_i / (n - 1).
  r.leverage = ridge == 0 ? (1 + k * g) / nn : torch::full({n}, kNaN, torch::kFloat64);
  return r;
}

namespace {

/// Top q eigenvalues of diag(a) - c z z^T (a descending) and, for each, (u^T z)^2 with u its unit
/// eigenvector. Equal poles are merged (their multiplicity minus one stays put, orthogonal to z);
/// the remaining eigenvalues are the roots of the secular equation 1 = c sum_k w_k / (a_k - mu),
/// one between each pair of consecutive poles and one below the last, found by bisection.
void downdated_top(const double* a, const double* z, int64_t D, double c, int64_t q, std::vector<double>& mu,
                   std::vector<double>& proj2) {
  std::vector<double> pole, weight;
  std::vector<std::pair<double, double>> found;  // (eigenvalue, (u^T z)^2)
  const double scale = std::max(std::abs(a[0]), 1e-300);
  for (int64_t k = 0; k < D; ++k) {
    const double w = z[k] * z[k];
    if (!pole.empty() && pole.back() - a[k] <= 1e-13 * scale) {
      weight.back() += w;                    // same eigenvalue: merge
      found.emplace_back(pole.back(), 0.0);  // one copy stays, orthogonal to z
    } else if (w <= 1e-300) {
      found.emplace_back(a[k], 0.0);  // z has no component here: the eigenpair is unchanged
    } else {
      pole.push_back(a[k]);
      weight.push_back(w);
    }
  }
  double zz = 0;
  for (int64_t k = 0; k < D; ++k) zz += z[k] * z[k];
  auto secular = [&](double m) {  // c sum_k z_k^2 / (a_k - m) - 1, increasing in m between poles
    double sum = 0;
    for (int64_t k = 0; k < D; ++k) sum += z[k] * z[k] / (a[k] - m);
    return c * sum - 1;
  };
  // Roots decrease with j, so the q largest are those of the first q intervals.
  for (size_t j = 0; j < pole.size() && int64_t(j) < q; ++j) {
    double hi = pole[j];
    double lo = j + 1 < pole.size() ? pole[j + 1] : pole[j] - c * zz;
    for (int it = 0; it < 200 && hi - lo > 1e-15 * std::max(std::abs(hi), 1e-300); ++it) {
      const double mid = 0.5 * (lo + hi);
      if (mid <= lo || mid >= hi) break;
      (secular(mid) > 0 ? hi : lo) = mid;
    }
    const double m = 0.5 * (lo + hi);
    // u = (diag(a) - m)^-1 z / norm; u^T z = (1 / c) / norm by the secular equation.
    double norm2 = 0;
    for (int64_t k = 0; k < D; ++k) norm2 += z[k] * z[k] / ((a[k] - m) * (a[k] - m));
    found.emplace_back(m, 1.0 / (c * c * norm2));
  }
  std::sort(found.begin(), found.end(), [](auto& x, auto& y) { return x.first > y.first; });
  mu.clear();
  proj2.clear();
  for (int64_t j = 0; j < q; ++j) {
    mu.push_back(found[j].first);
    proj2.push_back(found[j].second);
  }
}

}  // namespace

ExactLoo ppca_exact_loo(const torch::Tensor& x, int64_t q, double ridge) {
  const GaussianStats s = gaussian_stats(x);
  const int64_t n = s.n, D = s.mean.size(0);
  MEMSCOPE_CHECK(n >= 3, "ppca: leave-one-out needs at least 3 examples, got ", n);
  MEMSCOPE_CHECK(q >= 1 && q < D, "ppca: the number of components must be in [1, ", D - 1, "], got ", q);
  ExactLoo r;
  r.logp_full = GaussianDensity::fit_ppca(s, q, ridge).log_prob(x);
  // Without x_i the covariance is A - c d_i d_i^T (as for the Gaussian). In A's eigenbasis
  // (a descending, V) this is diag(a) - c z z^T with z = V^T d_i; the residual r = n/(n-1) d_i.
  const double nn = double(n), c = nn / ((nn - 1) * (nn - 1)), k = nn / (nn - 1);
  auto [evals, evecs] = torch::linalg_eigh(s.scatter / (nn - 1) + ridge * eye(D));
  torch::Tensor a = evals.flip(0).contiguous(), V = evecs.flip(1);
  const double trace_a = a.sum().item<double>();
  torch::Tensor d = x.to(torch::kFloat64) - s.mean;
  torch::Tensor Z = torch::matmul(d, V).contiguous();  // [n, D]
  r.logp_loo = torch::empty({n}, torch::kFloat64);
  const double* ap = a.data_ptr<double>();
  const double* zp = Z.data_ptr<double>();
  double* out = r.logp_loo.data_ptr<double>();
  parallel_range(n, 16, [&](int64_t begin, int64_t end) {
    std::vector<double> mu, proj2;
    for (int64_t i = begin; i < end; ++i) {
      const double* z = zp + i * D;
      downdated_top(ap, z, D, c, q, mu, proj2);
      double zz = 0, top = 0, logdet = 0;
      for (int64_t j = 0; j < D; ++j) zz += z[j] * z[j];
      for (double m : mu) top += m;
      const double s2 = (trace_a - c * zz - top) / double(D - q);
      double quad = k * k * zz;  // |r|^2
      for (int64_t j = 0; j < q; ++j) {
        logdet += std::log(mu[j]);
        quad -= (1 - s2 / mu[j]) * k * k * proj2[j];
      }
      logdet += double(D - q) * std::log(s2);
      out[i] = -0.5 * (double(D) * kLog2Pi + logdet + quad / s2);
    }
  });
  r.mem = r.logp_full - r.logp_loo;
  r.leverage = torch::full({n}, kNaN, torch::kFloat64);
  return r;
}

}  // namespace memscope
