#pragma once
// memscope exact: exact leave-one-out memorization and the exact K-fold target for the
// closed-form density models (gaussian, ppca:Q), computed in float64 without refitting N models.
#include <string>

#include <nlohmann/json.hpp>

#include "memscope/core/config.h"

namespace memscope {

struct ExactOutcome {
  std::string dir;
  /// Everything written to DIR/summary.json.
  nlohmann::json summary;
};

/// Writes to cfg.out:
///   scores.csv         index,label,logp_in,logp_out,mem,leverage: exact leave-one-out (logp_in under
///                      the fit to all, logp_out under the fit without the example)
///   kfold_target.csv   index,label,logp_in,logp_out,mem,n_in,n_out: the exact value that the K-fold
///                      estimator of `memscope run` with the same folds, repeats and seed targets
///   logp_kfold.npy     [N, J] float64 log p under each fold-removed fit; mask.npy [N, J]
///   summary.json       settings, timings, and agreement (Spearman, max |error|, top-5% overlap) of
///                      the K-fold target with exact LOO, and of the run in compare_dir (if given)
///                      with both (also written to compare_dir/validation.json, which the run's
///                      report shows)
ExactOutcome exact(const RunConfig& cfg, const std::string& compare_dir);

}  // namespace memscope
