#pragma once
// Helpers shared by the unit tests: scratch directories and small files in the formats memscope reads.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "memscope/core/error.h"

namespace memscope::test {

/// A fresh, empty directory for the running test.
inline std::string scratch_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const char* env = std::getenv("MEMSCOPE_TEST_TMP");
  std::filesystem::path base = env ? env : ::testing::TempDir();
  auto dir = base / (std::string(info->test_suite_name()) + "." + info->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

/// The message of the memscope::Error that f throws ("" and a test failure when it throws none).
template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no memscope::Error";
  return "";
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream os(path, std::ios::binary);
  os.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

/// An IDX file of unsigned bytes: magic 0x0000 08 ndim, big-endian dimensions, data.
inline std::vector<uint8_t> idx_bytes(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> b = {0, 0, 0x08, uint8_t(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(d >> s));
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

/// n images of h x w: a smooth random pattern per class, so a VAE has something to learn.
/// Writes DIR/images.idx and DIR/labels.idx.
inline void write_image_set(const std::string& dir, uint32_t n, uint32_t h, uint32_t w, uint64_t seed = 7) {
  torch::manual_seed(seed);
  torch::Tensor protos = torch::rand({4, int64_t(h * w)});
  std::vector<uint8_t> pix, labels;
  for (uint32_t i = 0; i < n; ++i) {
    const int64_t c = i % 4;
    torch::Tensor img = (protos[c] + 0.35 * torch::randn({int64_t(h * w)})).clamp(0, 1) * 255;
    for (int64_t k = 0; k < int64_t(h * w); ++k) pix.push_back(uint8_t(img[k].item<float>()));
    labels.push_back(uint8_t(c));
  }
  write_bytes(dir + "/images.idx", idx_bytes({n, h, w}, pix));
  write_bytes(dir + "/labels.idx", idx_bytes({n}, labels));
}

/// Standard deviation over examples of z = (a - b) / sqrt(se_a^2 + se_b^2), examples with a finite z only.
inline double z_sd(const std::vector<double>& a, const std::vector<double>& se_a, const std::vector<double>& b,
                   const std::vector<double>& se_b) {
  torch::Tensor d = torch::tensor(a, torch::kFloat64) - torch::tensor(b, torch::kFloat64);
  torch::Tensor s2 = torch::tensor(se_a, torch::kFloat64).square() + torch::tensor(se_b, torch::kFloat64).square();
  torch::Tensor z = d / s2.sqrt();
  return z.index({torch::isfinite(z)}).std().item<double>();
}

}  // namespace memscope::test
