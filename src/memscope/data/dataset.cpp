#include "memscope/data/dataset.h"

#include "memscope/core/error.h"

namespace memscope {

torch::Tensor pad_images(const torch::Tensor& images, int64_t p) {
  MEMSCOPE_CHECK(images.dim() == 3, "pad_images: expected [N, H, W], got ", images.sizes());
  return torch::constant_pad_nd(images, {p, p, p, p}, 0.0);
}

torch::Tensor binarize(const torch::Tensor& x, const std::string& mode, at::Generator gen) {
  if (mode == "threshold") return (x > 0.5).to(torch::kFloat32);
  MEMSCOPE_CHECK(mode == "sample", "binarize: unknown mode '", mode, "'");
  return at::bernoulli(x.to(torch::kFloat32), gen);
}

}  // namespace memscope
