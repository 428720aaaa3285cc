#pragma once
// memscope extract: sample the models of a finished run and find the training images they
// reproduce, with the held-out examples of each model as the built-in control.
#include <cstdint>
#include <string>
#include <vector>

#include <limits>

#include "memscope/core/config.h"
#include "memscope/core/options.h"
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

/// The option table of extract (core/options.h): visit(spec, field) for each setting of c but run_dir (the
/// program's --run), c may be const. extract() checks the ranges; apps/cli.cpp derives the flags.
template <typename Config, typename Visit>
void for_each_extract_option(Config& c, Visit&& visit) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  visit(command_option("samples", "samples drawn from each model", {1}), c.samples);
  visit(command_option("jobs", "jobs whose models to sample, e.g. 0,3 (default: every finished one)"), c.jobs);
  visit(command_option("draw", "what a sample is: mean (the decoder's means) | bernoulli (one Bernoulli draw of them)"),
        c.draw);
  visit(command_option("delta", "plain rule: a sample copies its nearest training image when l2 <= delta",
                       {0, kInf, true}),
        c.delta);
  visit(
      command_option("alpha", "adaptive rule: a copy when l2 / (alpha mean l2 to the n nearest) <= 1", {0, kInf, true}),
      c.alpha);
  visit(command_option("n_nearest", "n of the adaptive rule", {1}), c.n_nearest);
  visit(command_option("cells", "k-means cells of the data-copying test", {1}), c.cells);
  visit(command_option("sampler", "ddpm: ddpm (ancestral) | ddim (deterministic)"), c.sampler);
  visit(command_option("sample_steps", "ddpm: sampling steps, evenly spaced (0: all --timesteps of the model)", {0}),
        c.sample_steps);
}

/// Writes DIR/extraction.csv (job,sample,nearest_index,l2,ratio,in_training,extracted_l2,extracted),
/// DIR/copies.csv (index,label,mem,models,samples: how many models and samples copy each example
/// under the adaptive rule) and DIR/extraction.json (per model and overall: rates of copies of
/// in-training and of held-out examples, C_T of Meehan et al., rank correlation of copies with M,
/// the closest copied pairs as images), which the run's report shows. Returns what extraction.json holds.
ExtractionFile extract(const ExtractConfig& c);

}  // namespace memscope
