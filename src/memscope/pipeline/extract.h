#pragma once
// memscope extract: sample the models of a finished run and find the training images they
// reproduce, with the held-out examples of each model as the built-in control.
#include <cstdint>
#include <string>
#include <vector>

#include "memscope/core/config.h"
#include "memscope/report/report_files.h"

namespace memscope {

struct ExtractConfig {
  /// A finished run directory.
  std::string run_dir;
  /// Samples drawn from each selected model.
  int64_t samples = 10000;
  /// Jobs whose models to sample (empty: all finished ones).
  std::vector<int64_t> jobs;
  /// kMean: decoder means; kBernoulli: one Bernoulli draw of them.
  Draw draw = Draw::kMean;
  /// Plain rule: l2 <= delta.
  double delta = 0.15;
  /// Adaptive rule: l2 / (alpha * mean l2 to the n_nearest nearest examples) <= 1.
  double alpha = 0.5;
  int64_t n_nearest = 50;
  /// k-means cells of the data-copying test.
  int64_t cells = 20;
  /// ddpm: ancestral sampling (DDPM) or deterministic DDIM, on sample_steps evenly spaced timesteps
  /// (0: all of the model's).
  Sampler sampler = Sampler::kDdpm;
  int64_t sample_steps = 0;
};

/// Writes DIR/extraction.csv (job,sample,nearest_index,l2,ratio,in_training,extracted_l2,extracted),
/// DIR/copies.csv (index,label,mem,models,samples: how many models and samples copy each example
/// under the adaptive rule) and DIR/extraction.json (per model and overall: rates of copies of
/// in-training and of held-out examples, C_T of Meehan et al., rank correlation of copies with M,
/// the closest copied pairs as images), which the run's report shows. Returns what extraction.json holds.
ExtractionFile extract(const ExtractConfig& c);

}  // namespace memscope
