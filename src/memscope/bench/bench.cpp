#include "memscope/bench/bench.h"

#include <sys/resource.h>

#include <torch/cuda.h>

#include <chrono>

#include "memscope/config/config_json.h"
#include "memscope/core/threads.h"
#include "memscope/core/version.h"
#include "memscope/pipeline/run.h"

namespace memscope {

double measure_sgemm_peak(int threads, const torch::Device& device, int reps) {
  set_threads(threads);
  torch::NoGradGuard no_grad;
  const int64_t n = device.is_cpu() ? 2048 : 8192;
  const auto opts = torch::TensorOptions().device(device);
  torch::Tensor a = torch::randn({n, n}, opts), b = torch::randn({n, n}, opts), c = torch::empty({n, n}, opts);
  auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize();
  };
  at::mm_out(c, a, b);  // warm up
  sync();
  double best = 0;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    at::mm_out(c, a, b);
    sync();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, 2.0 * n * n * n / s / 1e9);
  }
  return best;
}

bool same_workload(const RunConfig& a, const RunConfig& b) {
  auto work = [](const RunConfig& c) {
    nlohmann::json j = identity_json(c);
    j.erase("seed");
    j["plan"]["repeats"] = c.plan.repeats;
    return j;
  };
  return work(a) == work(b);
}

BenchReport run_bench(const RunConfig& cfg) {
  BenchReport r;
  r.threads = resolve_threads(cfg.threads);
  r.peak_gflops = measure_sgemm_peak(r.threads, torch::Device(cfg.device));
  const RunOutcome o = run(cfg);
  r.total_seconds = o.seconds;
  r.train_seconds = o.train_seconds;
  r.eval_seconds = o.eval_seconds;
  for (double m : o.scores.mem) r.mean_mem += m / double(o.scores.mem.size());
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  r.peak_rss_kb = ru.ru_maxrss;
  r.train_flops = o.train_flops;
  r.train_examples = o.train_examples;
  r.eval_flops = o.eval_flops;
  return r;
}

nlohmann::json BenchReport::to_json(const RunConfig& cfg) const {
  auto rate = [](double flops, double s) { return s > 0 ? flops / s / 1e9 : 0.0; };
  return {
      {"memscope_version", kVersion},
      {"config", memscope::to_json(cfg)},
      {"threads", threads},
      {"seconds", {{"total", total_seconds}, {"train", train_seconds}, {"evaluate", eval_seconds}}},
      {"matmul_tflop", {{"train", train_flops / 1e12}, {"evaluate", eval_flops / 1e12}}},
      {"gflops", {{"train", rate(train_flops, train_seconds)}, {"evaluate", rate(eval_flops, eval_seconds)}}},
      {"train_examples_per_second", train_seconds > 0 ? train_examples / train_seconds : 0.0},
      {"sgemm_peak_gflops", peak_gflops},
      {"fraction_of_peak",
       {{"train", rate(train_flops, train_seconds) / peak_gflops},
        {"evaluate", rate(eval_flops, eval_seconds) / peak_gflops}}},
      {"peak_rss_mb", peak_rss_kb / 1024.0},
      {"reference_seconds", reference_workload ? nlohmann::json(kReferenceSeconds) : nlohmann::json()},
      {"speedup_vs_reference",
       reference_workload && total_seconds > 0 ? nlohmann::json(kReferenceSeconds / total_seconds) : nlohmann::json()},
      {"mean_mem", mean_mem}};
}

}  // namespace memscope
