#pragma once
// Adam for an ensemble of stacked models: one step count per member.
#include <torch/torch.h>

#include <utility>
#include <vector>

namespace memscope {

/// Adam (as torch.optim.Adam: betas 0.9, 0.999, eps 1e-8, no weight decay) with one step count
/// per member; members where update[g] is false keep their parameters and moments unchanged.
/// Parameters are [G, ...] and contiguous, so member g owns one contiguous slice of each. On the
/// CPU each slice is updated in one fused pass (adam_update in models/kernels.h); elsewhere with
/// LibTorch operations.
class MemberAdam {
 public:
  static constexpr double kBeta1 = 0.9, kBeta2 = 0.999, kEps = 1e-8;

  MemberAdam(std::vector<torch::Tensor> params, int64_t members, double lr);

  /// One step from the parameters' gradients (parameters without one are left alone).
  void step(const std::vector<bool>& update);

  /// Member g's step count and moments (m then v of every parameter), and their restoration.
  std::pair<int64_t, std::vector<torch::Tensor>> state(int64_t g) const;
  void restore(int64_t g, int64_t steps, const std::vector<torch::Tensor>& mv);

 private:
  std::vector<torch::Tensor> params_, m_, v_;
  std::vector<int64_t> steps_;
  double lr_;
};

}  // namespace memscope
