#include "memscope/report/images.h"

#include <png.h>

#include <cstdlib>

#include "memscope/core/error.h"

namespace memscope {

std::string base64(const std::string& in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (size_t i = 0; i < in.size(); i += 3) {
    const uint32_t b0 = uint8_t(in[i]), b1 = i + 1 < in.size() ? uint8_t(in[i + 1]) : 0,
                   b2 = i + 2 < in.size() ? uint8_t(in[i + 2]) : 0;
    const uint32_t v = (b0 << 16) | (b1 << 8) | b2;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[v & 63] : '=';
  }
  return out;
}

std::string encode_png(const torch::Tensor& image) {
  torch::Tensor img = image.dim() == 2 ? image.unsqueeze(0) : image;
  MEMSCOPE_CHECK(img.dim() == 3 && (img.size(0) == 1 || img.size(0) == 3),
                 "png: expected [H, W] or [C, H, W] with C 1 or 3, got ", image.sizes());
  // [C, H, W] floats in [0, 1] -> interleaved [H, W, C] bytes.
  torch::Tensor bytes =
      (img.to(torch::kFloat32).clamp(0, 1) * 255).round().to(torch::kUInt8).permute({1, 2, 0}).contiguous();
  png_image pi{};
  pi.version = PNG_IMAGE_VERSION;
  pi.width = png_uint_32(img.size(2));
  pi.height = png_uint_32(img.size(1));
  pi.format = img.size(0) == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  MEMSCOPE_CHECK(png_image_write_to_memory(&pi, nullptr, &size, 0, bytes.data_ptr<uint8_t>(), 0, nullptr),
                 "png: cannot size the image: ", pi.message);
  std::string out(size, '\0');
  MEMSCOPE_CHECK(png_image_write_to_memory(&pi, out.data(), &size, 0, bytes.data_ptr<uint8_t>(), 0, nullptr),
                 "png: cannot encode the image: ", pi.message);
  out.resize(size);
  return out;
}

std::string png_data_uri(const torch::Tensor& image) { return "data:image/png;base64," + base64(encode_png(image)); }

}  // namespace memscope
