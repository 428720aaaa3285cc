#pragma once
// Images for the report: PNG through libpng, as base64 data URIs.
#include <torch/torch.h>

#include <string>

namespace memscope {

/// RFC 4648 base64 of bytes.
std::string base64(const std::string& bytes);
/// PNG bytes of an image with values in [0, 1]: [H, W] or [C, H, W] with C = 1 (gray) or 3 (RGB).
std::string encode_png(const torch::Tensor& image);
/// "data:image/png;base64,..." of encode_png(image).
std::string png_data_uri(const torch::Tensor& image);

}  // namespace memscope
