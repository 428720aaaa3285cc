#pragma once
// Membership inference from a bank of models: every model in turn is the target, the other models
// are its references. Attacks (the plain statistic, LiRA online and offline, RMIA online and offline)
// score every example against every target; the evaluation gives per target the ROC, AUC and TPR at
// low FPR, their mean and spread over targets, the ROC pooled over targets, and per example a
// membership risk. Pure functions of the [N, J] statistic and the [N, J] in-mask.
#include <torch/torch.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "memscope/core/config.h"
#include "memscope/score/roc.h"

namespace memscope {

enum class Attack { kBaseline, kLiraOnline, kLiraOffline, kRmiaOnline, kRmiaOffline };
/// "baseline", "lira-online", "lira-offline", "rmia-online", "rmia-offline".
std::string to_string(Attack a);
/// Every attack, in the order above.
std::vector<Attack> all_attacks();

/// logp: [N, J] statistic s_j(x_i) (log p; NaN: missing or diverged model); in_mask: [N, J] bool;
/// groups: [J] models that share a group (a K-fold repeat) are never each other's references (empty:
/// every model is its own group). Returns [N, J] float64: the attack's score of example i against target
/// model t = column t, higher meaning "member". The references of target t are the models outside its
/// group with a finite statistic of the example, so that how many in- and out-references an example has
/// does not depend on whether t trained on it (else an attack wins on noise): in a K-fold plan the other
/// repeats' models; a target alone in its group also leaves out one model drawn at random from the side
/// opposite its own (References in membership.cpp):
/// * baseline: s_t(x), one global threshold;
/// * lira-online: log N(s_t(x); mu_in, sd_in^2) - log N(s_t(x); mu_out, sd_out^2), the Gaussians fitted to
///   x's in- and out-references; lira-offline: -log P(Z >= s_t(x)), Z ~ N(mu_out, sd_out^2). With
///   kPerExample the variances are x's own (n - 1 denominator; the global one where a side has fewer
///   than two references); with kGlobal one variance per side, the within-example variances pooled over
///   all examples (for target t, from its references);
/// * rmia-online / -offline: r(x) = s_t(x) - log mean_j exp s_j(x) over all references (online) or the
///   out-references (offline); the score is the share of population points z (the target's non-members
///   other than x) with r(x) - r(z) >= log gamma, by sorting the r(z) once per target, plus
///   (1/2 + atan(r(x) - log gamma) / pi) / (population size): ties in the share (at the top, many examples
///   beat every population point, which left TPR at 0.1% FPR at 0) broken by r(x) without reordering shares.
/// NaN where s_t(x) is not finite or a side the attack needs has no reference.
torch::Tensor attack_scores(Attack a, const torch::Tensor& logp, const torch::Tensor& in_mask,
                            const MembershipConfig& c, const std::vector<int64_t>& groups = {});

/// The reference models of target t for example i, ascending: the models outside t's group whose statistic
/// of i is finite; where t is alone in its group (and t's side is not the only one), less one model drawn at
/// random (a fixed stream per i and t) from the side opposite t's membership, so the example keeps
/// n_in - 1 in- and n_out - 1 out-references whether or not t trained on it. in_row, finite_row: [J] the
/// example's mask and which models have a finite statistic; groups as attack_scores.
std::vector<int64_t> reference_models(int64_t i, int64_t t, const std::vector<bool>& in_row,
                                      const std::vector<bool>& finite_row, const std::vector<int64_t>& groups = {});

/// Whether attack a needs reference models (every attack but the baseline).
bool needs_references(Attack a);

/// What an attack gives when membership has no effect: its figures over draws of the bank with the mask's
/// rows permuted among examples (the design's structure kept).
struct AttackNull {
  int64_t draws = 0;
  /// Over draws: the mean AUC over targets, and the pooled TPR at kLowFpr.
  Spread auc;
  std::array<Spread, 3> tpr;
  /// Mean over draws of the pooled TPR on roc_grid().
  std::vector<double> pooled_roc;
};

/// What M gives over the null draws (permutation_null, score/null.h).
struct MemNull {
  int64_t draws = 0;
  /// Over draws: the mean of M, and the number of discoveries at the FDR.
  Spread mem_mean, discoveries;
  /// Share of draws with any discovery.
  double any_discovery = NAN;
  /// Quantiles 0.5, 0.95 and 0.99 of M pooled over draws.
  double q50 = NAN, q95 = NAN, q99 = NAN;
  /// The factors the draws put on the error bars of M and of mem_log (calibrate_error_bars).
  double mem_se_scale = 1, mem_log_se_scale = 1;
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
  /// Why the attack has no figures (no target has a valid reference set); empty when it has.
  std::string unavailable;
  /// The same figures with membership permuted among examples (permutation_null; draws 0: not run).
  AttackNull null;
};

/// Whether a figure clears what noise gives: above every null draw and above the null's mean plus three
/// of its standard deviations (where it has two draws or more). False when either side is not finite.
bool above_null(double figure, const Spread& null);

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
  /// M under the permutation null (draws 0: not run) and the FDR of its discoveries.
  MemNull mem_null;
  double fdr = 0.05;
};

/// Every attack on logp: [N, J] (NaN: missing) and in_mask: [N, J], evaluated one at a time (memory:
/// a few [N, J] float64 tensors); groups as attack_scores. An attack that needs references gets
/// `unavailable` and no figures when no target has a model outside its group. risk: also the per-example
/// membership risk.
MembershipResult membership(const torch::Tensor& logp, const torch::Tensor& in_mask, const MembershipConfig& c,
                            const std::vector<int64_t>& groups = {}, bool risk = true);

}  // namespace memscope
