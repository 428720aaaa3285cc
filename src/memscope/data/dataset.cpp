#include "memscope/data/dataset.h"

#include "memscope/core/error.h"

namespace memscope {

torch::Tensor pad_images(const torch::Tensor& images, int64_t p) {
  MEMSCOPE_CHECK(images.dim() == 3, "pad_images: expected [N, H, W], got ", images.sizes());
  return torch::constant_pad_nd(images, {p, p, p, p}, 0.0);
}

torch::Tensor hflip_rows(const torch::Tensor& x, const std::vector<int64_t>& shape, const torch::Tensor& flip) {
  MEMSCOPE_CHECK(shape.size() == 3 && shape[0] * shape[1] * shape[2] == x.size(-1), "hflip: rows of ", x.size(-1),
                 " values are not images of shape ", c10::IntArrayRef(shape));
  std::vector<int64_t> img(x.sizes().begin(), x.sizes().end() - 1);
  const int64_t lead = int64_t(img.size());
  img.insert(img.end(), shape.begin(), shape.end());
  std::vector<int64_t> mask_shape(flip.sizes().begin(), flip.sizes().end());
  mask_shape.push_back(1);
  return torch::where(flip.reshape(mask_shape), x.reshape(img).flip({lead + 2}).reshape(x.sizes()), x);
}

torch::Tensor binarize(const torch::Tensor& x, const std::string& mode, at::Generator gen) {
  if (mode == "threshold") return (x > 0.5).to(torch::kFloat32);
  MEMSCOPE_CHECK(mode == "sample", "binarize: unknown mode '", mode, "'");
  return at::bernoulli(x.to(torch::kFloat32), gen);
}

}  // namespace memscope
