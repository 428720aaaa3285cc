#include "memscope/data/loaders.h"

#include <filesystem>

#include "memscope/core/error.h"
#include "memscope/core/seeds.h"
#include "memscope/data/idx.h"
#include "memscope/io/csv.h"
#include "memscope/io/npy.h"

namespace memscope {

namespace {

Dataset from_idx(const std::string& images_path, const std::string& labels_path, int64_t limit) {
  torch::Tensor images = read_idx_images(images_path);
  const int64_t n_all = images.size(0);
  torch::Tensor labels = torch::full({n_all}, -1, torch::kInt64);
  if (!labels_path.empty()) {
    torch::Tensor l = read_idx_labels(labels_path);
    MEMSCOPE_CHECK(l.size(0) == n_all, "idx: ", labels_path, " holds ", l.size(0), " labels but ",
                   images_path, " holds ", n_all, " images");
    labels = l.to(torch::kInt64);
  }
  const int64_t n = limit > 0 ? std::min(limit, n_all) : n_all;
  Dataset d;
  d.x = images.slice(0, 0, n).to(torch::kFloat32).div_(255.0);
  d.label = labels.slice(0, 0, n).clone();
  d.index = torch::arange(n, torch::kInt64);
  d.name = images_path;
  return d;
}

}  // namespace

/// A 2-D table of numbers as a Dataset of flat examples without labels.
Dataset from_table(torch::Tensor x, const std::string& name, int64_t limit) {
  MEMSCOPE_CHECK(x.dim() == 2 && x.size(0) > 0 && x.size(1) > 0, "--data: ", name, " must be a 2-D [N, D] array, got shape ",
                 x.sizes());
  MEMSCOPE_CHECK(torch::isfinite(x).all().item<bool>(), "--data: ", name, " holds NaN or infinite values");
  const int64_t n = limit > 0 ? std::min(limit, x.size(0)) : x.size(0);
  Dataset d;
  d.x = x.slice(0, 0, n).to(torch::kFloat32).contiguous();
  d.label = torch::full({n}, -1, torch::kInt64);
  d.index = torch::arange(n, torch::kInt64);
  d.shape = {1, 1, x.size(1)};
  d.name = name;
  return d;
}

Dataset load_dataset(const DataConfig& c, uint64_t root_seed) {
  Dataset d;
  const std::string& s = c.source;
  if (s.rfind("npy:", 0) == 0 || s.rfind("csv:", 0) == 0) {
    const std::string path = s.substr(4);
    d = from_table(s[0] == 'n' ? read_npy(path) : read_numeric_csv(path).values, path, c.limit);
    MEMSCOPE_CHECK(d.size() >= 2, "--data: ", d.name, " has ", d.size(), " examples; need at least 2");
    if (c.binarize == "sample" || c.binarize == "threshold") {
      MEMSCOPE_CHECK(d.x.min().item<float>() >= 0 && d.x.max().item<float>() <= 1, "--binarize ", c.binarize, ": ",
                     d.name, " has values outside [0, 1]; use --binarize none");
      d.x = binarize(d.x, c.binarize, make_generator(derive_seed(root_seed, SeedTag::kBinarize)));
    }
    return d;
  }
  if (s == "fashion-mnist") {
    const std::string dir = kFashionMnistDir;
    MEMSCOPE_CHECK(std::filesystem::exists(dir + "/train-images-idx3-ubyte.gz"), "--data fashion-mnist: ", dir,
                   " has no train-images-idx3-ubyte.gz; install Debian's dataset-fashion-mnist (scripts/setup.sh does)");
    d = from_idx(dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz", c.limit);
    d.name = "fashion-mnist";
  } else if (s.rfind("idx:", 0) == 0) {
    std::string rest = s.substr(4);
    size_t colon = rest.find(':');
    std::string images = rest.substr(0, colon);
    std::string labels = colon == std::string::npos ? "" : rest.substr(colon + 1);
    MEMSCOPE_CHECK(!images.empty(), "--data: 'idx:' needs an image file, as idx:IMAGES[:LABELS]");
    d = from_idx(images, labels, c.limit);
  } else {
    throw Error(str("--data: unknown source '", s, "' (expected fashion-mnist, idx:IMAGES[:LABELS], npy:FILE or csv:FILE)"));
  }
  MEMSCOPE_CHECK(d.x.size(0) >= 2, "--data: ", d.name, " has ", d.x.size(0), " examples; need at least 2");
  torch::Tensor img = d.x;  // [N, H, W]
  if (c.pad32 && img.size(1) == 28 && img.size(2) == 28) img = pad_images(img, 2);
  if (c.binarize != "none") img = binarize(img, c.binarize, make_generator(derive_seed(root_seed, SeedTag::kBinarize)));
  d.shape = {1, img.size(1), img.size(2)};
  d.x = img.reshape({img.size(0), -1}).contiguous();
  return d;
}

}  // namespace memscope
