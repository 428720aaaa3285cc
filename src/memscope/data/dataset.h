#pragma once
// Dataset: the examples of a run in memory as one contiguous tensor, with each example's original
// index in its source and its label.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "memscope/core/config.h"

namespace memscope {

struct Dataset {
  /// [N, D] float32, contiguous, values in [0, 1].
  torch::Tensor x;
  /// [N] int64: 0-based position of each example in its source file.
  torch::Tensor index;
  /// [N] int64: class label, -1 where the source has none.
  torch::Tensor label;
  /// Shape of one example, e.g. {1, 32, 32}; its product is D.
  std::vector<int64_t> shape;
  /// Where the data came from (for messages and the report).
  std::string name;

  int64_t size() const { return x.size(0); }
  int64_t dim() const { return x.size(1); }
};

/// 16 hex digits: a hash of the preprocessed examples, their indices, labels and shape. Part of
/// every job's identity, so results computed on other data are never mixed in.
std::string content_hash(const Dataset& d);

/// Pads [N, H, W] images with zeros on every side to [N, H + 2p, W + 2p].
torch::Tensor pad_images(const torch::Tensor& images, int64_t p);
/// Mirrors rows of flat images left to right where flip is true. x: [..., D] with D the product of
/// shape {C, H, W}; flip: [...] bool -> [..., D].
torch::Tensor hflip_rows(const torch::Tensor& x, const std::vector<int64_t>& shape, const torch::Tensor& flip);
/// Binarizes [N, ...] values in [0, 1]: "sample" draws Bernoulli(x) once with gen,
/// "threshold" keeps x > 0.5.
torch::Tensor binarize(const torch::Tensor& x, Binarize mode, at::Generator gen);

}  // namespace memscope
