#include "memscope/train/lanes.h"

#include "memscope/core/error.h"

namespace memscope {

// T independent chains of small matmuls, each on one core with one-thread OpenBLAS, beat T threads
// on every one of them. The r members left over then train as one more lane on all T cores, so
// that no core idles while the others finish (fmnist-6k, G = 5, T = 2: 7.6 s with one ensemble,
// 6.7 s with lanes of 2 and 3, 6.2 s with 2 + 2, then 1). The split is fixed by G and T, and every
// member draws from its own streams, so it changes only float rounding, and not from one run to
// the next.
// Convolution-heavy diffusion models (per_model) train one model at a time with oneDNN's
// convolutions on LibTorch's pool on every core: measured faster than stacked grouped convolutions
// and than lanes side by side, and it holds one model's activations (docs/results.md, "Diffusion models,
// measured").
LanePlan plan_lanes(int64_t members, int64_t threads, bool cpu, bool per_model) {
  MEMSCOPE_CHECK(members >= 1, "plan_lanes: a group needs a member, got ", members);
  MEMSCOPE_CHECK(threads >= 1, "plan_lanes: threads must be at least 1, got ", threads);
  const int64_t G = members, T = cpu ? threads : 1, q = G / T;
  LanePlan plan;
  if (cpu && per_model) {
    for (int64_t g = 0; g <= G; ++g) plan.bounds.push_back(g);
    plan.pool = true;
    return plan;
  }
  plan.side_by_side = q > 0 && T > 1 ? T : 0;  // lanes of q members, one core each
  for (int64_t l = 0; l <= plan.side_by_side; ++l) plan.bounds.push_back(l * q);
  if (plan.bounds.back() < G) plan.bounds.push_back(G);  // the last lane: all cores
  return plan;
}

}  // namespace memscope
