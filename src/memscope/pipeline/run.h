#pragma once
// The main job: data -> plan -> train/evaluate jobs -> log p matrix -> scores, in a run directory
// that a re-run resumes.
#include <optional>
#include <string>
#include <vector>

#include "memscope/core/config.h"
#include "memscope/score/membership.h"
#include "memscope/score/reliability.h"
#include "memscope/score/scores.h"

namespace memscope {

struct RunOutcome {
  std::string dir;
  int64_t jobs_total = 0, jobs_trained = 0, jobs_skipped = 0, jobs_diverged = 0;
  /// Wall seconds of the whole call, and of the training and evaluation of the jobs it ran.
  double seconds = 0, train_seconds = 0, eval_seconds = 0;
  /// Matmul FLOPs of the training and evaluation of the jobs this call ran.
  double train_flops = 0, eval_flops = 0;
  /// Training examples x steps over all jobs trained here (each job's training set times its epochs).
  double train_examples = 0;
  /// Scores (empty while jobs are missing, in run).
  Scores scores;
  /// Split-half reliability of the rankings (with two or more repeats and scores).
  std::optional<Reliability> reliability;
  /// Membership attacks on the last epoch (with scores).
  std::optional<MembershipResult> membership;
  /// Jobs of the plan without a finished result.
  std::vector<int64_t> missing;
};

/// Runs (or resumes) the plan of cfg in cfg.out and writes its scores. Throws memscope::Error on
/// bad configuration or input; jobs finished before an error stay on disk.
RunOutcome run(const RunConfig& cfg_in);

/// Aggregates whatever jobs of the run in dir have finished into its scores (examples then have
/// fewer models: n_in and n_out say how many) and lists the missing jobs in the outcome.
/// membership: settings of the membership attacks that replace the run's stored ones.
RunOutcome score_run(const std::string& dir, const std::optional<MembershipConfig>& membership = std::nullopt,
                     const std::optional<double>& fdr = std::nullopt,
                     const std::optional<int64_t>& null_draws = std::nullopt);

}  // namespace memscope
