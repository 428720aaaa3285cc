#pragma once
// run --budget: spend a fixed amount of compute where it buys reliability. A short pilot (the run's own
// configuration with 2 repeats, evaluated with 8 importance samples) measures on this machine what a model
// costs to train and to evaluate, how noisy each model's log p is (between models, and from its importance
// samples, as --iw-samples auto measures it), and how reproducible the ranking by M is. From these the
// reliability and the time of any K-fold plan (repeats R, samples S) are predicted, and the best plan that fits
// the budget (or the cheapest that reaches a target) is proposed. The pilot runs in the plan's own directory,
// so a plan at the pilot's 8 samples keeps the pilot's models and trains only the repeats it adds.
//
// The prediction: each model's log p of an example has variance V(S) = between + scale S^-decay; M averages
// over models, so R repeats at S samples hold as much information as R V(S0) / V(S) repeats of the pilot's
// S0, and the pilot's split-half reliability r0 of R0 repeats projects to them by Spearman-Brown; r0's own
// sampling error (Fisher: 1.03 / sqrt(n - 3) for a Spearman of n examples) gives the range. The time is
// K ((R - kept) (train + eval_per_sample S) + R other) seconds, each term measured on the pilot per model: kept
// is the pilot's repeats when S is the pilot's (else 0), other is the rest of the run (data, scores, the null,
// the attacks, the report), whose larger parts grow with the models.
#include <cstdint>
#include <optional>
#include <string>

#include "memscope/core/config.h"
#include "memscope/train/evaluate.h"

namespace memscope {

/// What a pilot run measured.
struct PilotFacts {
  int64_t folds = 0, repeats = 0, samples = 0;
  /// Split-half reliability of M and of mem_log projected to the pilot's whole run (repeats repeats at samples),
  /// and M's with the split-half r two standard errors lower and higher.
  double mem = NAN, mem_log = NAN, mem_lo = NAN, mem_hi = NAN;
  /// Wall seconds per model of training, of evaluation per importance sample, and of the rest of the run (data,
  /// scores, the null, the report); pilot: the pilot's own wall seconds.
  double train_per_model = NAN, eval_per_sample = NAN, other_per_model = NAN, pilot = NAN;
  /// The Monte Carlo variance of log p against S, and the variance between models (--iw-samples auto's pilot).
  SampleChoice mc;
  /// Repeats of the pilot that a plan at the pilot's samples keeps rather than trains again (0 unless the pilot
  /// ran in the plan's directory).
  int64_t kept_repeats = 0;
};

/// A plan and what it is predicted to give.
struct PlanPrediction {
  int64_t repeats = 0, samples = 0;
  double seconds = NAN, mem = NAN, mem_log = NAN, mem_lo = NAN, mem_hi = NAN;
};

/// The reliability and time of K folds x repeats at samples importance samples, from the pilot.
PlanPrediction predict_plan(const PilotFacts& f, int64_t repeats, int64_t samples);

struct BudgetProposal {
  /// The most reliable plan (for M) within the budget; none when even 2 repeats at 8 samples do not fit.
  std::optional<PlanPrediction> best;
  /// The cheapest plan whose M reaches the target (none when no plan up to max_repeats does).
  std::optional<PlanPrediction> for_target;
};

/// Searches repeats 2 ... max_repeats and samples 8, 16, ..., 1024.
BudgetProposal propose_plan(const PilotFacts& f, double budget_seconds, double target, int64_t max_repeats = 10000);

/// Runs (or resumes) the pilot of c in dir and measures it: c with 2 repeats at 8 importance samples, whose Monte
/// Carlo noise is measured as --iw-samples auto does, its report included. K-fold designs only.
PilotFacts run_pilot(const RunConfig& c, const std::string& dir);

/// Every figure (non-finite ones as null).
nlohmann::json to_json(const PilotFacts& f);
nlohmann::json to_json(const PlanPrediction& p);

/// "10m", "90s", "1.5h" or a number of seconds; an error names --budget.
double parse_budget(const std::string& text);

}  // namespace memscope
