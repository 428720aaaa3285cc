#pragma once
// How the members of a group split into lanes (consecutive sub-ensembles with an optimizer each).
#include <cstdint>
#include <vector>

namespace memscope {

/// ceil(a / b) for a >= 0, b > 0: batches of b that hold a items.
inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Lanes of a group of G members.
struct LanePlan {
  /// Lane l holds members [bounds[l], bounds[l + 1]); bounds[0] = 0 and bounds.back() = G.
  std::vector<int64_t> bounds;
  /// Lanes [0, side_by_side) train at once, each on one core; the lanes after them (plan_lanes
  /// makes at most one) train one after another on all cores.
  int64_t side_by_side = 0;
  /// The lanes after them hold one model each and run its operations on LibTorch's pool on every
  /// core (plan_lanes' per_model).
  bool pool = false;
  /// Number of lanes.
  int64_t lanes() const { return int64_t(bounds.size()) - 1; }
};

/// On a CPU with T threads and G = q T + r members: T lanes of q members side by side when q > 0
/// and T > 1, then the r left over (or all G when q = 0 or T = 1) as one lane on all cores; with
/// per_model (convolution-heavy diffusion models), G lanes of one member one after another on
/// LibTorch's pool. On a GPU (cpu false) one lane of all G. Throws memscope::Error for G < 1 or T < 1.
LanePlan plan_lanes(int64_t members, int64_t threads, bool cpu, bool per_model = false);

}  // namespace memscope
