#include "memscope/train/device.h"

#include <torch/cuda.h>
#include <torch/types.h>

#include <optional>

#include "memscope/core/error.h"

namespace memscope {

void check_device(const std::string& text) {
  std::optional<torch::Device> device;
  try {
    device = torch::Device(text);
  } catch (const c10::Error&) {
    throw ConfigError("device", str("expected cpu, cuda or cuda:N, got '", text, "'"));
  }
  MEMSCOPE_CHECK_KEY(device->is_cpu() || (device->is_cuda() && torch::cuda::is_available()), "device", text,
                     " is not available (this LibTorch has no CUDA, or no GPU is visible)");
}

}  // namespace memscope
