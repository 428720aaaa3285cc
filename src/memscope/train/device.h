#pragma once
// The --device of a run checked against this LibTorch: where the configuration's other checks
// (validate, config/validate.h) need no LibTorch, this one asks it.
#include <string>

namespace memscope {

/// Throws ConfigError (key "device") unless device is "cpu", or "cuda" / "cuda:N" with CUDA
/// available to this LibTorch and a GPU visible.
void check_device(const std::string& device);

}  // namespace memscope
