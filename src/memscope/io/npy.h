#pragma once
// NPY files (NumPy's format, version 1.0 written; 1.0 to 3.0 read), little-endian; written in C order, read in
// C or Fortran order.
#include <torch/torch.h>

#include <string>

namespace memscope {

/// Writes a CPU tensor of float32, float64, int64, uint8 or bool atomically to path.
void write_npy(const std::string& path, const torch::Tensor& t);
/// Reads an NPY file of those types; throws memscope::Error naming path and the problem
/// (bad magic, unsupported dtype, size not matching the shape). An array in Fortran order comes back contiguous.
torch::Tensor read_npy(const std::string& path);

}  // namespace memscope
