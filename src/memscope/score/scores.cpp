#include "memscope/score/scores.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "memscope/core/error.h"
#include "memscope/core/logmath.h"
#include "memscope/io/atomic.h"
#include "memscope/io/csv.h"
#include "memscope/score/score_columns.h"
#include "memscope/score/uncertainty.h"

namespace memscope {

namespace {

double median_finite(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }), v.end());
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

/// Fills logp_sd, mem_log_se and mem_se from the pooled within-side sums of squares; residuals: the
/// deviations of log p from its side's mean, per example (each scaled by sqrt(n / (n - 1)) of its side).
void add_calibrated(Scores& s, const std::vector<double>& ss, const std::vector<double>& df,
                    const std::vector<std::vector<double>>& residuals) {
  const size_t n = ss.size();
  std::vector<double> s2(n);
  for (size_t i = 0; i < n; ++i) s2[i] = df[i] > 0 ? ss[i] / df[i] : std::numeric_limits<double>::quiet_NaN();
  const ModeratedVariances mod = moderate_variances(s2, df);
  s.prior_df = mod.prior_df;
  s.prior_sd = std::sqrt(mod.prior_var);
  std::vector<double> standardized;  // the tail shape of log p between models, pooled over examples
  for (size_t i = 0; i < n; ++i)
    for (double r : residuals[i]) standardized.push_back(r / std::sqrt(mod.var[i]));
  LogMeanExpSpread spread(std::move(standardized));
  for (size_t i = 0; i < n; ++i) {
    const double sd = std::sqrt(mod.var[i]);
    const bool both = s.n_in[i] > 0 && s.n_out[i] > 0;
    const double ni = double(s.n_in[i]), no = double(s.n_out[i]);
    s.logp_sd.push_back(sd);
    s.mem_log_se.push_back(both ? sd * std::sqrt(1 / ni + 1 / no) : std::numeric_limits<double>::quiet_NaN());
    s.df.push_back(mod.prior_df + df[i]);
    if (!both || !std::isfinite(sd)) {
      s.mem_se.push_back(std::numeric_limits<double>::quiet_NaN());
      continue;
    }
    const int64_t k = std::min(s.n_in[i], s.n_out[i]), big = std::max(s.n_in[i], s.n_out[i]);
    s.mem_se.push_back(spread.sd(k, sd) * std::sqrt(1 + double(k) / double(big)));
  }
}

/// Sum over examples of the between-repeat variance of mem_log / R and of its model-iid prediction.
/// a: [N, J] float64 accessor; in: [N, J] bool accessor.
double design_effect(const at::TensorAccessor<double, 2>& a, const at::TensorAccessor<bool, 2>& in,
                     const std::vector<int64_t>& repeat_of_job, const Scores& s, const std::vector<double>& ss,
                     const std::vector<double>& df) {
  const int64_t N = a.size(0), J = a.size(1);
  const int64_t R = repeat_of_job.empty() ? 0 : *std::max_element(repeat_of_job.begin(), repeat_of_job.end()) + 1;
  double num = 0, den = 0;
  for (int64_t i = 0; i < N; ++i) {
    if (!(df[size_t(i)] > 0)) continue;
    std::vector<double> sum_in(size_t(R), 0), sum_out(size_t(R), 0), c_in(size_t(R), 0), c_out(size_t(R), 0);
    for (int64_t j = 0; j < J; ++j) {
      if (!std::isfinite(a[i][j])) continue;
      const size_t r = size_t(repeat_of_job[size_t(j)]);
      (in[i][j] ? sum_in : sum_out)[r] += a[i][j];
      (in[i][j] ? c_in : c_out)[r] += 1;
    }
    std::vector<double> d;
    for (size_t r = 0; r < size_t(R); ++r)
      if (c_in[r] > 0 && c_out[r] > 0) d.push_back(sum_in[r] / c_in[r] - sum_out[r] / c_out[r]);
    if (d.size() < 2) continue;
    num += sum_sq_dev(d) / double(d.size() - 1) / double(d.size());
    den += ss[size_t(i)] / df[size_t(i)] * (1 / double(s.n_in[size_t(i)]) + 1 / double(s.n_out[size_t(i)]));
  }
  return den > 0 ? std::max(1.0, num / den) : 1.0;
}

}  // namespace

Scores compute_scores(const torch::Tensor& logp, const torch::Tensor& in_mask) {
  return compute_scores(logp, in_mask, {});
}

Scores compute_scores(const torch::Tensor& logp, const torch::Tensor& in_mask,
                      const std::vector<int64_t>& repeat_of_job) {
  MEMSCOPE_CHECK(logp.dim() == 2 && in_mask.sizes() == logp.sizes(), "scores: logp ", logp.sizes(), " and in_mask ",
                 in_mask.sizes(), " must both be [N, J]");
  torch::Tensor lp = logp.to(torch::kFloat64).contiguous();
  torch::Tensor mask = in_mask.to(torch::kBool).contiguous();
  const int64_t N = lp.size(0), J = lp.size(1);
  MEMSCOPE_CHECK(repeat_of_job.empty() || int64_t(repeat_of_job.size()) == J, "scores: ", repeat_of_job.size(),
                 " repeats for ", J, " jobs");
  for (int64_t r : repeat_of_job) MEMSCOPE_CHECK(r >= 0, "scores: job repeat ", r);
  auto a = lp.accessor<double, 2>();
  auto in = mask.accessor<bool, 2>();
  Scores s;
  std::vector<double> r_in(N), r_out(N), ss(N), df(N);
  std::vector<std::vector<double>> residuals(N);
  for (int64_t i = 0; i < N; ++i) {
    std::vector<double> u, v;
    for (int64_t j = 0; j < J; ++j)
      if (std::isfinite(a[i][j])) (in[i][j] ? u : v).push_back(a[i][j]);
    s.logp_in.push_back(logmeanexp(u));
    s.logp_out.push_back(logmeanexp(v));
    s.mem_plugin.push_back(s.logp_in.back() - s.logp_out.back());
    const size_t k = std::min(u.size(), v.size());
    s.mem.push_back(subset_logmeanexp(u, k, uint64_t(i)) - subset_logmeanexp(v, k, uint64_t(i)));
    s.n_in.push_back(int64_t(u.size()));
    s.n_out.push_back(int64_t(v.size()));
    r_in[i] = relative_variance(u);
    r_out[i] = relative_variance(v);
    s.mem_log.push_back(mean_of(u) - mean_of(v));
    ss[i] = sum_sq_dev(u) + sum_sq_dev(v);
    for (const std::vector<double>* side : {&u, &v}) {
      if (side->size() < 2) continue;
      const double m = mean_of(*side), scale = std::sqrt(double(side->size()) / double(side->size() - 1));
      for (double x : *side) residuals[i].push_back((x - m) * scale);
    }
    df[i] = double(std::max<size_t>(u.size(), 1) - 1 + std::max<size_t>(v.size(), 1) - 1);
  }
  const double med_in = median_finite(r_in), med_out = median_finite(r_out);
  const double pooled_in = std::isfinite(med_in) ? med_in : med_out;
  const double pooled_out = std::isfinite(med_out) ? med_out : med_in;
  for (int64_t i = 0; i < N; ++i) {
    const double ri = s.n_in[i] >= 2 ? r_in[i] : pooled_in;
    const double ro = s.n_out[i] >= 2 ? r_out[i] : pooled_out;
    s.mem_se_delta.push_back(std::sqrt(ri / double(s.n_in[i]) + ro / double(s.n_out[i])));
  }
  add_calibrated(s, ss, df, residuals);
  s.design_effect = repeat_of_job.empty() ? 1.0 : design_effect(a, in, repeat_of_job, s, ss, df);
  for (int64_t i = 0; i < N; ++i) {
    s.mem_se[size_t(i)] *= std::sqrt(s.design_effect);
    s.mem_log_se[size_t(i)] *= std::sqrt(s.design_effect);
  }
  add_significance(s);
  return s;
}

void calibrate_error_bars(Scores& s, double mem_scale, double mem_log_scale) {
  MEMSCOPE_CHECK(mem_scale > 0 && mem_log_scale > 0, "scores: error bar scales ", mem_scale, ", ", mem_log_scale);
  for (double& se : s.mem_se) se *= mem_scale / s.mem_se_scale;
  for (double& se : s.mem_log_se) se *= mem_log_scale / s.mem_log_se_scale;
  s.mem_se_scale = mem_scale, s.mem_log_se_scale = mem_log_scale;
  add_significance(s);
}

void as_difference(Scores& s) {
  s.difference = true;
  s.mem = s.mem_log, s.mem_se = s.mem_log_se;
  for (auto* column : {&s.logp_in, &s.logp_out, &s.mem_plugin, &s.mem_se_delta})
    column->assign(column->size(), std::numeric_limits<double>::quiet_NaN());
  add_significance(s);
}

void add_significance(Scores& s) {
  const size_t N = s.mem.size();
  s.mem_p.assign(N, std::numeric_limits<double>::quiet_NaN());
  for (size_t i = 0; i < N; ++i)
    if (std::isfinite(s.mem[i]) && s.mem_se[i] > 0)  // no degrees of freedom given: the normal
      s.mem_p[i] = 1 - student_t_cdf(s.mem[i] / s.mem_se[i], i < s.df.size() ? s.df[i] : INFINITY);
  s.mem_q = bh_qvalues(s.mem_p);
}

int64_t discoveries(const Scores& s, double fdr) {
  int64_t n = 0;
  for (double q : s.mem_q) n += q <= fdr;
  return n;
}

std::vector<ScoreColumn> score_columns(const Scores& s) {
  const size_t N = s.mem.size();
  auto full = [N](const std::vector<double>& v) {
    return v.size() == N ? v : std::vector<double>(N, std::numeric_limits<double>::quiet_NaN());
  };
  auto counts = [](const std::vector<int64_t>& v) { return std::vector<double>(v.begin(), v.end()); };
  const std::string m = s.difference ? "diff" : "mem";
  return {{"logp_in", full(s.logp_in)},       {"logp_out", full(s.logp_out)},     {m, full(s.mem)},
          {m + "_se", full(s.mem_se)},        {"n_in", counts(s.n_in)},           {"n_out", counts(s.n_out)},
          {"mem_log", full(s.mem_log)},       {"mem_log_se", full(s.mem_log_se)}, {"mia_risk", full(s.mia_risk)},
          {"mem_plugin", full(s.mem_plugin)}, {m + "_p", full(s.mem_p)},          {m + "_q", full(s.mem_q)}};
}

void write_scores_csv(const std::string& path, const torch::Tensor& index, const torch::Tensor& label, const Scores& s,
                      std::vector<ScoreColumn> extra) {
  torch::Tensor idx = index.to(torch::kInt64).contiguous(), lab = label.to(torch::kInt64).contiguous();
  const int64_t N = idx.size(0);
  MEMSCOPE_CHECK(int64_t(s.mem.size()) == N && lab.size(0) == N, "scores: ", N, " indices for ", s.mem.size(),
                 " scores");
  std::vector<ScoreColumn> columns = score_columns(s);
  if (!s.mem_mc_se.empty()) extra.emplace_back("mem_mc_se", s.mem_mc_se);
  columns.insert(columns.end(), extra.begin(), extra.end());
  std::vector<std::string> header = {"index", "label"};
  for (const auto& [name, values] : columns) {
    MEMSCOPE_CHECK(int64_t(values.size()) == N, "scores: column ", name, " has ", values.size(), " rows, not ", N);
    header.push_back(name);
  }
  CsvWriter out(header);
  const int64_t* ip = idx.data_ptr<int64_t>();
  const int64_t* lp = lab.data_ptr<int64_t>();
  std::vector<double> row(columns.size());
  for (int64_t i = 0; i < N; ++i) {
    for (size_t c = 0; c < columns.size(); ++c) row[c] = columns[c].second[size_t(i)];
    out.row_and(row, ip[i], lp[i]);
  }
  out.write(path);
}

void add_monte_carlo_error(Scores& s, const torch::Tensor& logp_se, const torch::Tensor& in_mask) {
  const int64_t N = int64_t(s.mem.size());
  MEMSCOPE_CHECK(logp_se.dim() == 2 && logp_se.size(0) == N && in_mask.sizes() == logp_se.sizes(), "scores: logp_se ",
                 logp_se.sizes(), " and mask ", in_mask.sizes(), " for ", N, " examples");
  const torch::Tensor var = logp_se.to(torch::kFloat64).square(), ok = torch::isfinite(var);
  const torch::Tensor in = in_mask.to(torch::kBool) & ok, out = ~in_mask.to(torch::kBool) & ok;
  auto side = [&](const torch::Tensor& m) {  // mean(se^2) / n over the side's finite entries
    const torch::Tensor n = m.sum(1).to(torch::kFloat64);
    return torch::where(m, var, torch::zeros_like(var)).sum(1) / n.square();
  };
  const torch::Tensor mc = (side(in) + side(out)).sqrt().contiguous();
  s.mem_mc_se.assign(mc.data_ptr<double>(), mc.data_ptr<double>() + N);
  for (int64_t i = 0; i < N; ++i) {
    const double m2 = s.mem_mc_se[size_t(i)] * s.mem_mc_se[size_t(i)];
    s.mem_se[size_t(i)] = std::sqrt(s.mem_se[size_t(i)] * s.mem_se[size_t(i)] + m2);
    s.mem_log_se[size_t(i)] = std::sqrt(s.mem_log_se[size_t(i)] * s.mem_log_se[size_t(i)] + m2);
  }
  add_significance(s);
}

ModelsLost models_lost(const Scores& s, int64_t jobs) {
  ModelsLost l;
  for (size_t i = 0; i < s.n_in.size(); ++i) {
    const int64_t lost = jobs - s.n_in[i] - s.n_out[i];
    l.examples += lost > 0;
    l.most = std::max(l.most, lost);
  }
  return l;
}

}  // namespace memscope
