#pragma once
// Split-half reliability of a run's rankings: score two disjoint halves of the models, compare their
// rankings, and project to the whole run and to more repeats with the Spearman-Brown formula.
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace memscope {

/// Halves of a K-fold x R plan by repeat: [J] bool, true for the jobs of repeats 0, 2, 4, ...
/// repeat_of_job: the repeat of every job.
torch::Tensor halves_by_repeat(const std::vector<int64_t>& repeat_of_job);
/// Halves of a subset design by model: [J] bool, true for jobs 0, 2, 4, ...
torch::Tensor halves_by_model(int64_t jobs);

/// Spearman-Brown: reliability of a measurement k times as long as one of reliability r.
double spearman_brown(double r, double k);
/// Units (repeats or models) for reliability `target`, from reliability r measured on `units_measured`
/// (+infinity when r <= 0).
double units_for_reliability(double r, double units_measured, double target);

/// Split-half agreement of one score.
struct HalfAgreement {
  /// Spearman between the two halves' scores (the split-half reliability r).
  double spearman = 0;
  /// Fraction of the first half's top 5% that is in the second half's top 5%.
  double top5_overlap = 0;
  /// Spearman-Brown projection to the whole run: 2r / (1 + r).
  double whole_run = 0;
  /// Units (repeats for K-fold plans) projected for the target reliability.
  double units_for_target = 0;
};

/// Split-half reliability of a run's M and mem_log.
struct Reliability {
  /// M = U - V (log-mean-exp).
  HalfAgreement mem;
  /// mem_log (mean log p).
  HalfAgreement mem_log;
  /// Units in the whole run (repeats or models); a half holds about half of them.
  double units = 0;
  /// What a unit is: "repeats" (K-fold plans) or "models" (subset designs).
  std::string unit = "repeats";
  /// The target behind units_for_target.
  double target = 0.9;
  /// Examples with in- and out-models in both halves (only these are compared).
  int64_t examples = 0;
  /// Those examples' rows in the data set and their M in each half (the split-half scatter).
  std::vector<int64_t> rows;
  std::vector<double> mem_a, mem_b;
  /// Projected reliability for `units` units (repeats), from the split-half r.
  double projected(const HalfAgreement& a, double units) const;
};

struct Scores;
/// The share of the discoveries (mem_q <= fdr) that a second run of the same plan with another seed would discover
/// again, predicted from this run alone: each example's true M is its estimate regressed toward the mean by the
/// run's reliability rho (normal prior: mean m + rho (M - m), variance rho se^2), the second run estimates it with
/// the same error bar, and discovers it above the z of this run's least significant discovery. NaN without
/// discoveries or with a reliability that is not finite (clamped to [0, 1] otherwise).
double predicted_replication(const Scores& s, double reliability, double fdr);

/// One or two sentences on how reproducible the ranking by M is, for the terminal and the report.
std::string reliability_sentence(const Reliability& r);
/// The same for a run whose reliability cannot be measured (fewer than two repeats).
std::string unmeasured_reliability_sentence();
/// JSON of every figure of r.
nlohmann::json to_json(const Reliability& r);

/// logp: [N, J] (NaN: missing or diverged); in_mask: [N, J] bool; first_half: [J] bool. Every example
/// that lacks in- or out-models in either half is left out (examples counts the rest); a split where
/// fewer than two examples remain gives NaN agreements. units: the whole run's repeats (K-fold) or models.
Reliability split_half_reliability(const torch::Tensor& logp, const torch::Tensor& in_mask,
                                   const torch::Tensor& first_half, double units, double target = 0.9);

}  // namespace memscope
