#pragma once
// A finished run read back from its directory: what score, report and extract start from.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "memscope/analysis/diagnostics.h"
#include "memscope/core/config.h"
#include "memscope/data/dataset.h"
#include "memscope/models/density_model.h"
#include "memscope/pipeline/run_layout.h"
#include "memscope/score/membership_json.h"
#include "memscope/score/reliability.h"
#include "memscope/score/scores.h"

namespace memscope {

struct FinishedRun {
  /// Its files.
  RunLayout layout{""};
  /// The configuration (resolved, out set to the directory).
  RunConfig cfg;
  /// The data as it was preprocessed.
  Dataset data;
  /// Scores at the last evaluated epoch.
  Scores scores;
  std::vector<int64_t> epochs;
  /// [N, J] bool; [E, N] float64 (undefined if absent).
  torch::Tensor mask, mem_by_epoch;
  /// Examples are images (C x H x W with H > 1).
  bool images = false;
  /// Split-half reliability of the rankings (runs of two or more repeats).
  std::optional<Reliability> reliability;
  /// Outlierness, leverage and neighbour spillover of every example (as in scores.csv).
  ExampleDiagnostics diagnostics;
  /// membership.json (absent when the run has none); scores.mia_risk comes from scores.csv.
  std::optional<MembershipResult> membership;
  /// membership-denoise.json of a diffusion run with loss timesteps (empty when absent).
  DenoiseMembership membership_denoise;
};

/// Split-half reliability of a plan's rankings: K-fold plans by repeat (job j is in repeat j / folds;
/// nothing for a single repeat), subset designs by model (units: models). logp: [N, J] at one epoch,
/// mask: [N, J].
std::optional<Reliability> run_reliability(const torch::Tensor& logp, const torch::Tensor& mask,
                                           const PlanConfig& plan);

/// The configuration a run directory was made with (out set to dir).
RunConfig load_run_config(const std::string& dir);

/// Reads DIR; throws memscope::Error naming what is missing or inconsistent.
FinishedRun load_finished_run(const std::string& dir);

/// Loads member `job` of a finished run into a one-member ensemble.
std::shared_ptr<DensityEnsemble> load_job_model(const FinishedRun& run, int64_t job);
/// Loads the models of jobs into one ensemble, member k being jobs[k] (to sample them in one batch).
std::shared_ptr<DensityEnsemble> load_job_models(const FinishedRun& run, const std::vector<int64_t>& jobs);

}  // namespace memscope
