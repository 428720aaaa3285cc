#pragma once
// The throughput benchmark: one plan timed per phase, with matmul FLOPs against the sgemm peak
// measured in the same process.
#include <cstdint>

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include "memscope/core/config.h"

namespace memscope {

/// The paper's own PyTorch code on the fmnist-6k workload on this class of machine (docs/results.md).
inline constexpr double kReferenceSeconds = 288;

struct BenchReport {
  double total_seconds = 0, train_seconds = 0, eval_seconds = 0;
  /// Matmul FLOPs of each phase.
  double train_flops = 0, eval_flops = 0;
  /// Training examples x steps over all models (each model's training set times its epochs).
  double train_examples = 0;
  /// GFLOP/s of a large float32 matmul on the same threads or GPU (best of 5).
  double peak_gflops = 0;
  int64_t peak_rss_kb = 0;
  int threads = 0;
  double mean_mem = 0;
  /// Whether the plan is the reference's workload (then the JSON compares with its time).
  bool reference_workload = false;
  nlohmann::json to_json(const RunConfig& cfg) const;
};

/// GFLOP/s of a large float32 matmul (2048^3 on a CPU with `threads` BLAS threads, 8192^3 on a
/// GPU), best of `reps`.
double measure_sgemm_peak(int threads, const torch::Device& device, int reps = 5);

/// Whether a and b do the same work: equal configurations but for seed, threads, grouping,
/// device, output and progress.
bool same_workload(const RunConfig& a, const RunConfig& b);

/// Runs cfg (into cfg.out, which must not hold a finished run) and measures it.
BenchReport run_bench(const RunConfig& cfg);

}  // namespace memscope
