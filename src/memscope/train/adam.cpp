#include "memscope/train/adam.h"

#include <cmath>

#include "memscope/core/error.h"
#include "memscope/models/kernels.h"

namespace memscope {

MemberAdam::MemberAdam(std::vector<torch::Tensor> params, int64_t members, double lr)
    : params_(std::move(params)), steps_(members, 0), lr_(lr) {
  for (auto& p : params_) {
    MEMSCOPE_CHECK(p.is_contiguous() && p.scalar_type() == torch::kFloat32 && p.size(0) == members,
                   "MemberAdam: parameters must be contiguous float32 [G, ...]");
    m_.push_back(torch::zeros_like(p));
    v_.push_back(torch::zeros_like(p));
  }
}

std::pair<int64_t, std::vector<torch::Tensor>> MemberAdam::state(int64_t g) const {
  std::vector<torch::Tensor> mv;
  for (size_t i = 0; i < params_.size(); ++i) mv.push_back(m_[i][g].cpu().clone());
  for (size_t i = 0; i < params_.size(); ++i) mv.push_back(v_[i][g].cpu().clone());
  return {steps_[g], mv};
}

void MemberAdam::restore(int64_t g, int64_t steps, const std::vector<torch::Tensor>& mv) {
  MEMSCOPE_CHECK(mv.size() == 2 * params_.size(), "checkpoint: ", mv.size(), " moments for ", params_.size(),
                 " parameters");
  torch::NoGradGuard no_grad;
  steps_[g] = steps;
  for (size_t i = 0; i < params_.size(); ++i) {
    m_[i][g].copy_(mv[i]);
    v_[i][g].copy_(mv[params_.size() + i]);
  }
}

void MemberAdam::step(const std::vector<bool>& update) {
  torch::NoGradGuard no_grad;
  const int64_t G = int64_t(steps_.size());
  for (int64_t g = 0; g < G; ++g) steps_[g] += update[g];
  for (size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    const torch::Tensor grad = p.grad().contiguous();
    const int64_t per = p.numel() / G;
    for (int64_t g = 0; g < G; ++g) {
      if (!update[g]) continue;
      const double t = double(steps_[g]);
      const double step_size = lr_ / (1 - std::pow(kBeta1, t));
      const double inv_sqrt_bc2 = 1 / std::sqrt(1 - std::pow(kBeta2, t));
      if (p.is_cpu()) {
        adam_update(p.data_ptr<float>() + g * per, grad.data_ptr<float>() + g * per, m_[i].data_ptr<float>() + g * per,
                    v_[i].data_ptr<float>() + g * per, per, float(kBeta1), float(kBeta2), float(step_size),
                    float(inv_sqrt_bc2), float(kEps));
      } else {
        adam_update(p[g], grad[g], m_[i][g], v_[i][g], kBeta1, kBeta2, step_size, inv_sqrt_bc2, kEps);
      }
    }
  }
}

}  // namespace memscope
