#pragma once
// Agreement between two score vectors over the same examples (estimate versus exact value).
#include <torch/torch.h>

#include <nlohmann/json.hpp>

namespace memscope {

/// Spearman rank correlation of a and b ([N], average ranks for ties; NaN pairs dropped).
double spearman(const torch::Tensor& a, const torch::Tensor& b);
/// Of the top `share` of examples by a, the fraction that are also in the top `share` by b.
double top_share_agreement(const torch::Tensor& a, const torch::Tensor& b, double share);
/// {"spearman", "max_abs_error", "mean_abs_error", "top5_agreement", "n"} of estimate vs truth.
nlohmann::json compare_scores(const torch::Tensor& estimate, const torch::Tensor& truth);

}  // namespace memscope
