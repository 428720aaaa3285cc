#pragma once
// The main job: data -> plan -> train/evaluate jobs -> log p matrix -> scores, in a run directory
// that a re-run resumes.
#include <string>

#include "memscope/core/config.h"
#include "memscope/score/scores.h"

namespace memscope {

struct RunOutcome {
  std::string dir;
  int64_t jobs_total = 0, jobs_trained = 0, jobs_skipped = 0, jobs_diverged = 0;
  /// Wall seconds of the whole call, and of the training and evaluation of the jobs it ran.
  double seconds = 0, train_seconds = 0, eval_seconds = 0;
  /// Matmul FLOPs of the training and evaluation of the jobs this call ran.
  double train_flops = 0, eval_flops = 0;
  Scores scores;
};

/// Runs (or resumes) the plan of cfg in cfg.out and writes its scores. Throws memscope::Error on
/// bad configuration or input; jobs finished before an error stay on disk.
RunOutcome run(const RunConfig& cfg_in);

}  // namespace memscope
