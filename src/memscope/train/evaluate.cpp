#include "memscope/train/evaluate.h"

#include <algorithm>
#include <mutex>

#include "memscope/core/error.h"
#include "memscope/core/seeds.h"
#include "memscope/core/threads.h"

namespace memscope {

namespace {

// An evaluation tile: about kEvalTileRows examples x samples, and at most kEvalTileExamples
// examples, so that even few samples make enough tiles to keep every core busy.
constexpr int64_t kEvalTileRows = 16384, kEvalTileExamples = 256;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

torch::Tensor evaluate_log_prob(DensityEnsemble& model, const torch::Tensor& x, int64_t samples,
                                const std::vector<uint64_t>& seeds, const std::function<void(int64_t, int64_t)>& tick) {
  const int64_t G = model.members(), N = x.size(0), L = model.eval_noise_dim();
  MEMSCOPE_CHECK(int64_t(seeds.size()) == G, "evaluate_log_prob: ", seeds.size(), " seeds for ", G, " members");
  const int64_t tile = std::clamp<int64_t>(kEvalTileRows / samples, 1, kEvalTileExamples);
  const int64_t tiles = ceil_div(N, tile);
  torch::Tensor out = torch::empty({G, N}, torch::kFloat32);
  torch::NoGradGuard no_grad;
  std::mutex tick_mutex;
  int64_t done = 0;
  auto run_tile = [&](int64_t t) {
    const int64_t start = t * tile, b = std::min(tile, N - start);
    std::vector<torch::Tensor> eps;
    for (uint64_t seed : seeds) {
      auto gen = make_generator(derive_seed(seed, SeedTag::kEval, {uint64_t(t)}));
      eps.push_back(at::randn({b, samples, L}, gen, torch::kFloat32));
    }
    const torch::Tensor lp = model.log_prob(x.slice(0, start, start + b), torch::stack(eps).to(x.device()));
    out.slice(1, start, start + b).copy_(lp);
    std::lock_guard<std::mutex> lock(tick_mutex);
    done += b;
    if (tick) tick(done, N);
  };
  if (x.device().is_cpu()) {
    parallel_tasks(tiles, run_tile);  // tiles are independent: one per core
  } else {
    for (int64_t t = 0; t < tiles; ++t) run_tile(t);
  }
  return out;
}

}  // namespace memscope
