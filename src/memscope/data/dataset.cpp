#include "memscope/data/dataset.h"

#include <cstring>

#include <fmt/format.h>

#include "memscope/config/names.h"
#include "memscope/core/error.h"
#include "memscope/core/seeds.h"

namespace memscope {

namespace {

uint64_t hash_tensor(const torch::Tensor& t, uint64_t h) {
  const torch::Tensor c = t.contiguous().cpu();
  const auto* bytes = static_cast<const unsigned char*>(c.data_ptr());
  const size_t n = size_t(c.numel()) * c.element_size();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, bytes + i, 8);
    h = mix64(h ^ w);
  }
  for (; i < n; ++i) h = mix64(h ^ bytes[i]);
  return mix64(h ^ n);
}

}  // namespace

std::string content_hash(const Dataset& d) {
  uint64_t h = 0;
  for (int64_t s : d.shape) h = mix64(h ^ uint64_t(s));
  h = hash_tensor(d.x.to(torch::kFloat32), h);
  h = hash_tensor(d.index.to(torch::kInt64), h);
  h = hash_tensor(d.label.to(torch::kInt64), h);
  return fmt::format("{:016x}", h);
}

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

torch::Tensor binarize(const torch::Tensor& x, Binarize mode, at::Generator gen) {
  if (mode == Binarize::kThreshold) return (x > 0.5).to(torch::kFloat32);
  MEMSCOPE_CHECK(mode == Binarize::kSample, "binarize: mode ", to_string(mode), " does not binarize");
  return at::bernoulli(x.to(torch::kFloat32), gen);
}

}  // namespace memscope
