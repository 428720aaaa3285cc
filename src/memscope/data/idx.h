#pragma once
// IDX files (LeCun's MNIST format), plain or gzip-compressed.
#include <torch/torch.h>

#include <string>

namespace memscope {

/// Reads an IDX file of unsigned bytes (magic 0x0000080N, N dimensions) into a uint8 tensor of the
/// stored shape. Checks the magic number, the dimensions and that the data is exactly as long as
/// the header says; throws memscope::Error naming the file and the problem.
torch::Tensor read_idx(const std::string& path);

/// Reads an image file ([N, H, W], magic 2051) and optionally a label file ([N], magic 2049) and
/// checks they agree in N.
torch::Tensor read_idx_images(const std::string& path);
torch::Tensor read_idx_labels(const std::string& path);

}  // namespace memscope
