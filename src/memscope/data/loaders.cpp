#include "memscope/data/loaders.h"

#include <filesystem>

#include "memscope/config/names.h"
#include "memscope/core/error.h"
#include "memscope/core/seeds.h"
#include "memscope/data/idx.h"
#include "memscope/data/image_sources.h"
#include "memscope/io/csv.h"
#include "memscope/io/npy.h"

namespace memscope {

namespace {

Images from_idx(const std::string& images_path, const std::string& labels_path) {
  torch::Tensor images = read_idx_images(images_path);  // [N, H, W] uint8
  const int64_t n_all = images.size(0);
  torch::Tensor labels = torch::full({n_all}, -1, torch::kInt64);
  if (!labels_path.empty()) {
    torch::Tensor l = read_idx_labels(labels_path);
    MEMSCOPE_CHECK(l.size(0) == n_all, "idx: ", labels_path, " holds ", l.size(0), " labels but ", images_path,
                   " holds ", n_all, " images");
    labels = l.to(torch::kInt64);
  }
  return {images.unsqueeze(1), labels};
}

}  // namespace

/// A 2-D table of numbers as a Dataset of flat examples without labels.
Dataset from_table(torch::Tensor x, const std::string& name, int64_t limit) {
  MEMSCOPE_CHECK_KEY(x.dim() == 2 && x.size(0) > 0 && x.size(1) > 0, "data", name,
                     " must be a 2-D [N, D] array, got shape ", x.sizes());
  MEMSCOPE_CHECK_KEY(torch::isfinite(x).all().item<bool>(), "data", name, " holds NaN or infinite values");
  const int64_t n = limit > 0 ? std::min(limit, x.size(0)) : x.size(0);
  Dataset d;
  d.x = x.slice(0, 0, n).to(torch::kFloat32).contiguous();
  d.label = torch::full({n}, -1, torch::kInt64);
  d.index = torch::arange(n, torch::kInt64);
  d.shape = {1, 1, x.size(1)};
  d.name = name;
  return d;
}

/// Images as a Dataset: the first c.limit, scaled to [0, 1], 28x28 grey images padded to 32x32
/// when c.pad32, binarized unless c.binarize is "none", flattened to [N, C*H*W].
Dataset from_images(Images im, Dataset d, const DataConfig& c, uint64_t root_seed) {
  const int64_t n = c.limit > 0 ? std::min(c.limit, im.pixels.size(0)) : im.pixels.size(0);
  MEMSCOPE_CHECK_KEY(n >= 2, "data", d.name, " has ", n, " examples; need at least 2");
  torch::Tensor img = im.pixels.slice(0, 0, n).to(torch::kFloat32);  // [n, C, H, W]
  if (im.pixels.scalar_type() == torch::kUInt8) img.div_(255.0);
  if (c.pad32 && img.size(1) == 1 && img.size(2) == 28 && img.size(3) == 28)
    img = pad_images(img.squeeze(1), 2).unsqueeze(1);
  if (c.binarize != Binarize::kNone)
    img = binarize(img, c.binarize, make_generator(derive_seed(root_seed, SeedTag::kBinarize)));
  d.shape = {img.size(1), img.size(2), img.size(3)};
  d.x = img.reshape({n, -1}).contiguous();
  d.label = im.labels.slice(0, 0, n).clone();
  d.index = torch::arange(n, torch::kInt64);
  return d;
}

namespace {

/// A table as a Dataset, binarized as c says (its values must then lie in [0, 1]).
Dataset table_dataset(const torch::Tensor& values, const std::string& name, const DataConfig& c, uint64_t root_seed) {
  Dataset d = from_table(values, name, c.limit);
  MEMSCOPE_CHECK_KEY(d.size() >= 2, "data", d.name, " has ", d.size(), " examples; need at least 2");
  if (c.binarize != Binarize::kNone) {
    MEMSCOPE_CHECK_KEY(d.x.min().item<float>() >= 0 && d.x.max().item<float>() <= 1, "binarize", to_string(c.binarize),
                       ": ", d.name, " has values outside [0, 1]; use --binarize none");
    d.x = binarize(d.x, c.binarize, make_generator(derive_seed(root_seed, SeedTag::kBinarize)));
  }
  return d;
}

/// The data with each of the first K examples R times in all ({K, R} = c.duplicate).
Dataset with_duplicates(Dataset d, const DataConfig& c) {
  if (c.duplicate.empty()) return d;
  const int64_t K = c.duplicate[0], R = c.duplicate[1];
  MEMSCOPE_CHECK_KEY(K <= d.size(), "duplicate", K, " examples to duplicate, but ", d.name, " has ", d.size());
  const torch::Tensor rows = torch::cat({torch::arange(d.size()), torch::arange(K).repeat({R - 1})});
  d.x = d.x.index_select(0, rows).contiguous();
  d.index = d.index.index_select(0, rows);
  d.label = d.label.index_select(0, rows);
  return d;
}

Dataset load_source(const DataConfig& c, uint64_t root_seed) {
  Dataset d;
  const DataSource& s = c.source;
  Images im;
  switch (s.kind) {
    case DataKind::kNpy:
    case DataKind::kCsv: {
      torch::Tensor values = s.kind == DataKind::kNpy ? read_npy(s.path) : read_numeric_csv(s.path).values;
      d.name = s.path;
      if (values.dim() == 4) return from_images(images_from_array(values, s.path), std::move(d), c, root_seed);
      return table_dataset(values, s.path, c, root_seed);
    }
    case DataKind::kFashionMnist: {
      const std::string dir = kFashionMnistDir;
      MEMSCOPE_CHECK_KEY(std::filesystem::exists(dir + "/train-images-idx3-ubyte.gz"), "data", "fashion-mnist: ", dir,
                         " has no train-images-idx3-ubyte.gz; install Debian's dataset-fashion-mnist (scripts/setup.sh "
                         "does)");
      im = from_idx(dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz");
      d.name = "fashion-mnist";
      break;
    }
    case DataKind::kIdx:
      im = from_idx(s.path, s.labels);
      d.name = s.path;
      break;
    case DataKind::kMnistDigits:
      im = read_mnist_digits(mnist_digits_dir());
      d.name = "mnist-digits";
      break;
    case DataKind::kCifar10:
      d.name = s.path;
      im = read_cifar10(d.name, c.limit);
      break;
    case DataKind::kImages:
    case DataKind::kCelebA: {
      d.name = s.path;
      const bool celeba = s.kind == DataKind::kCelebA;
      // The CelebA recipe of the paper: the 148x148 face box, resized to 32x32 (or --resize).
      const std::vector<int64_t> crop = celeba && c.crop.empty() ? std::vector<int64_t>{15, 40, 163, 188} : c.crop;
      im = read_image_folder(d.name, crop, celeba && c.resize == 0 ? 32 : c.resize, c.limit);
      break;
    }
  }
  return from_images(std::move(im), std::move(d), c, root_seed);
}

}  // namespace

Dataset load_dataset(const DataConfig& c, uint64_t root_seed) { return with_duplicates(load_source(c, root_seed), c); }

}  // namespace memscope
