#include "memscope/score/reliability.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "memscope/core/error.h"
#include "memscope/core/logmath.h"
#include "memscope/score/compare.h"
#include "memscope/score/scores.h"

namespace memscope {

namespace {

/// x: [N] with NaN where `keep` is false. keep: [N] bool.
torch::Tensor masked(const std::vector<double>& v, const torch::Tensor& keep) {
  torch::Tensor x = torch::tensor(v, torch::kFloat64);
  return torch::where(keep, x, torch::full_like(x, kNaN));
}

HalfAgreement agree(const torch::Tensor& a, const torch::Tensor& b, double units, double target) {
  HalfAgreement h;
  h.spearman = spearman(a, b);
  h.top5_overlap = top_share_agreement(a, b, 0.05);
  h.whole_run = spearman_brown(h.spearman, 2);
  h.units_for_target = units_for_reliability(h.spearman, units / 2, target);
  return h;
}

}  // namespace

torch::Tensor halves_by_repeat(const std::vector<int64_t>& repeat_of_job) {
  torch::Tensor h = torch::zeros({int64_t(repeat_of_job.size())}, torch::kBool);
  for (size_t j = 0; j < repeat_of_job.size(); ++j) {
    MEMSCOPE_CHECK(repeat_of_job[j] >= 0, "reliability: job ", j, " has repeat ", repeat_of_job[j]);
    h[int64_t(j)] = repeat_of_job[j] % 2 == 0;
  }
  return h;
}

torch::Tensor halves_by_model(int64_t jobs) {
  MEMSCOPE_CHECK(jobs >= 0, "reliability: ", jobs, " jobs");
  return torch::arange(jobs) % 2 == 0;
}

double spearman_brown(double r, double k) { return k * r / (1 + (k - 1) * r); }

double units_for_reliability(double r, double units_measured, double target) {
  MEMSCOPE_CHECK(target > 0 && target < 1, "reliability: target ", target, " outside (0, 1)");
  if (!std::isfinite(r)) return kNaN;
  if (r <= 0) return std::numeric_limits<double>::infinity();
  return units_measured * target * (1 - r) / (r * (1 - target));
}

double Reliability::projected(const HalfAgreement& a, double to_units) const {
  return spearman_brown(a.spearman, to_units / (units / 2));
}

Reliability split_half_reliability(const torch::Tensor& logp, const torch::Tensor& in_mask,
                                   const torch::Tensor& first_half, double units, double target) {
  MEMSCOPE_CHECK(logp.dim() == 2 && in_mask.sizes() == logp.sizes(), "reliability: logp ", logp.sizes(),
                 " and in_mask ", in_mask.sizes(), " must both be [N, J]");
  MEMSCOPE_CHECK(first_half.dim() == 1 && first_half.size(0) == logp.size(1), "reliability: halves ",
                 first_half.sizes(), " for ", logp.size(1), " jobs");
  MEMSCOPE_CHECK(units >= 2, "reliability: a run of ", units, " units cannot be split in halves");
  torch::Tensor half = first_half.to(torch::kBool);
  torch::Tensor mask = in_mask.to(torch::kBool);
  torch::Tensor a_idx = half.nonzero().flatten(), b_idx = (~half).nonzero().flatten();
  const Scores a = compute_scores(logp.index_select(1, a_idx), mask.index_select(1, a_idx));
  const Scores b = compute_scores(logp.index_select(1, b_idx), mask.index_select(1, b_idx));
  const int64_t N = logp.size(0);
  torch::Tensor keep = torch::zeros({N}, torch::kBool);
  for (int64_t i = 0; i < N; ++i)
    keep[i] = a.n_in[size_t(i)] > 0 && a.n_out[size_t(i)] > 0 && b.n_in[size_t(i)] > 0 && b.n_out[size_t(i)] > 0;
  Reliability r;
  r.units = units;
  r.target = target;
  r.examples = keep.sum().item<int64_t>();
  r.mem = agree(masked(a.mem, keep), masked(b.mem, keep), units, target);
  r.mem_log = agree(masked(a.mem_log, keep), masked(b.mem_log, keep), units, target);
  if (r.examples < 2) r.mem.top5_overlap = r.mem_log.top5_overlap = kNaN;
  for (int64_t i = 0; i < N; ++i) {
    if (!keep[i].item<bool>()) continue;
    r.rows.push_back(i);
    r.mem_a.push_back(a.mem[size_t(i)]);
    r.mem_b.push_back(b.mem[size_t(i)]);
  }
  return r;
}

namespace {

nlohmann::json finite(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

nlohmann::json to_json(const HalfAgreement& a) {
  return {{"split_half_spearman", finite(a.spearman)},
          {"split_half_top5_overlap", finite(a.top5_overlap)},
          {"projected_whole_run", finite(a.whole_run)},
          {"units_for_target", finite(a.units_for_target)}};
}

}  // namespace

nlohmann::json to_json(const Reliability& r) {
  return {{"mem", to_json(r.mem)}, {"mem_log", to_json(r.mem_log)}, {"units", r.units}, {"unit", r.unit},
          {"target", r.target},    {"examples", r.examples}};
}

double predicted_replication(const Scores& s, double reliability, double fdr) {
  if (!std::isfinite(reliability)) return NAN;
  const double rho = std::clamp(reliability, 0.0, 1.0);
  auto scored = [&](size_t i) { return std::isfinite(s.mem[i]) && s.mem_se[i] > 0; };
  double threshold = INFINITY, mean = 0, n = 0;
  for (size_t i = 0; i < s.mem.size(); ++i) {
    if (!scored(i)) continue;
    mean += s.mem[i], n += 1;
    if (s.mem_q[i] <= fdr) threshold = std::min(threshold, s.mem[i] / s.mem_se[i]);
  }
  if (!std::isfinite(threshold)) return NAN;
  mean /= n;
  double found = 0, discovered = 0;
  for (size_t i = 0; i < s.mem.size(); ++i) {
    if (!scored(i) || !(s.mem_q[i] <= fdr)) continue;
    const double truth = mean + rho * (s.mem[i] - mean), se = s.mem_se[i];
    const double z = (truth - threshold * se) / std::sqrt(rho * se * se + se * se);
    found += 0.5 * std::erfc(-z / std::sqrt(2.0));  // P(second estimate / se above the threshold)
    discovered += 1;
  }
  return found / discovered;
}

std::string reliability_sentence(const Reliability& r) {
  const HalfAgreement& m = r.mem;
  std::string s = fmt::format(
      "Ranking by M: split-half reliability {:.2f} (top-5% overlap {:.2f}), projected {:.2f} for the whole run of {} "
      "{}; about {} {} would reach {:.1f} (mem_log: {:.2f} projected).",
      m.spearman, m.top5_overlap, m.whole_run, int64_t(r.units), r.unit,
      std::isfinite(m.units_for_target) ? fmt::format("{:.0f}", std::ceil(m.units_for_target))
                                        : std::string("no number of"),
      r.unit, r.target, r.mem_log.whole_run);
  if (!(m.whole_run >= 0.5)) s += " Below 0.5: another run would mostly not reproduce the top of this ranking.";
  return s;
}

std::string unmeasured_reliability_sentence() {
  return "Reproducibility not measured: a run of one repeat cannot be split in halves (use --repeats 2 or more, or "
         "--until-reliability 0.9).";
}

}  // namespace memscope
