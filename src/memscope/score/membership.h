#pragma once
// Membership inference from a bank of models: every model in turn is the target, the other models
// are its references. Attacks (the plain statistic, LiRA online and offline, RMIA online and offline)
// score every example against every target; the evaluation gives per target the ROC, AUC and TPR at
// low FPR, their mean and spread over targets, the ROC pooled over targets, and per example a
// membership risk. Pure functions of the [N, J] statistic and the [N, J] in-mask.
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "memscope/core/config.h"

namespace memscope {

enum class Attack { kBaseline, kLiraOnline, kLiraOffline, kRmiaOnline, kRmiaOffline };
/// "baseline", "lira-online", "lira-offline", "rmia-online", "rmia-offline".
std::string to_string(Attack a);
/// Every attack, in the order above.
std::vector<Attack> all_attacks();

/// logp: [N, J] statistic s_j(x_i) (log p; NaN: missing or diverged model); in_mask: [N, J] bool.
/// Returns [N, J] float64: the attack's score of example i against target model t = column t, higher
/// meaning "member". The references of target t are the other models with a finite statistic of the
/// example (t itself never is one):
/// * baseline: s_t(x), one global threshold;
/// * lira-online: log N(s_t(x); mu_in, sd_in^2) - log N(s_t(x); mu_out, sd_out^2), the Gaussians fitted to
///   x's in- and out-references; lira-offline: -log P(Z >= s_t(x)), Z ~ N(mu_out, sd_out^2). With
///   kPerExample the variances are x's own (n - 1 denominator; the global one where a side has fewer
///   than two references); with kGlobal one variance per side, the within-example variances pooled over
///   all examples (for target t, from its references);
/// * rmia-online / -offline: r(x) = s_t(x) - log mean_j exp s_j(x) over all references (online) or the
///   out-references (offline); the score is the share of population points z (the target's non-members
///   other than x) with r(x) - r(z) >= log gamma, by sorting the r(z) once per target.
/// NaN where s_t(x) is not finite or a side the attack needs has no reference.
torch::Tensor attack_scores(Attack a, const torch::Tensor& logp, const torch::Tensor& in_mask,
                            const MembershipConfig& c);

/// The false-positive rates at which TPR is reported: 10%, 1%, 0.1%.
inline constexpr std::array<double, 3> kLowFpr = {0.1, 0.01, 0.001};

struct RocPoint {
  double fpr = 0, tpr = 0;
};

/// score: [n] (finite), member: [n] bool, as vectors. Area under the ROC curve, ties counted one half
/// (the Mann-Whitney U over members x non-members); NaN without members or non-members.
double roc_auc(const std::vector<double>& score, const std::vector<char>& member);
/// The ROC curve through every distinct threshold, from (0, 0) to (1, 1).
std::vector<RocPoint> roc_curve(const std::vector<double>& score, const std::vector<char>& member);
/// The largest TPR at an FPR of at most fpr on the curve.
double tpr_at_fpr(const std::vector<RocPoint>& roc, double fpr);

/// Mean and spread over targets of one figure.
struct Spread {
  double mean = NAN, sd = NAN, min = NAN, max = NAN;
  /// Targets behind it, and why the others are missing (empty when none is).
  int64_t targets = 0;
  std::string unavailable;
};

/// One attack against one target.
struct TargetResult {
  int64_t target = 0, members = 0, nonmembers = 0;
  double auc = NAN;
  /// TPR at kLowFpr; NaN when the target has fewer than 1 / FPR non-members (not measurable).
  std::array<double, 3> tpr{NAN, NAN, NAN};
};

struct AttackResult {
  Attack attack = Attack::kBaseline;
  std::vector<TargetResult> targets;
  Spread auc;
  std::array<Spread, 3> tpr;
  /// The ROC pooled over targets (every (example, target) pair), its AUC and TPR at kLowFpr.
  double pooled_auc = NAN;
  std::array<double, 3> pooled_tpr{NAN, NAN, NAN};
  /// TPR on the log-spaced FPR grid roc_grid(): pooled, and the mean over the targets where the grid
  /// point is measurable (NaN where none is).
  std::vector<double> pooled_roc, mean_roc;
  /// (example, target) pairs left out for a missing score.
  int64_t pairs_without_score = 0;
};

/// The FPR grid of AttackResult's curves: 10^-5 .. 1, 10 points a decade.
std::vector<double> roc_grid();

/// score: [N, J] attack scores (NaN: none), in_mask: [N, J] bool. Every model in turn is the target:
/// members its training examples, non-members the others.
AttackResult evaluate_attack(Attack a, const torch::Tensor& score, const torch::Tensor& in_mask);

/// score: [N, J], in_mask: [N, J]. Per example, how well its in-models are told from its out-models by
/// the score: the AUC of its scores under the models that trained on it against those under the models
/// that did not (0.5: not at all; NaN without both).
std::vector<double> membership_risk(const torch::Tensor& score, const torch::Tensor& in_mask);

struct MembershipResult {
  MembershipConfig config;
  std::vector<AttackResult> attacks;
  /// Per example: membership_risk of risk_attack's scores.
  std::vector<double> risk;
  Attack risk_attack = Attack::kLiraOnline;
  int64_t examples = 0, models = 0;
};

/// Every attack on logp: [N, J] (NaN: missing) and in_mask: [N, J], evaluated one at a time (memory:
/// a few [N, J] float64 tensors).
MembershipResult membership(const torch::Tensor& logp, const torch::Tensor& in_mask, const MembershipConfig& c);

/// membership.json: configuration, per attack the spreads, pooled figures, curves and per-target results.
nlohmann::json to_json(const MembershipResult& r);

}  // namespace memscope
