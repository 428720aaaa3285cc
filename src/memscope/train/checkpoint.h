#pragma once
// One member's training state at the end of an epoch (--checkpoint-every), and its file.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "memscope/train/result.h"

namespace memscope {

struct MemberCheckpoint {
  /// The last epoch the member completed.
  int64_t epoch = 0;
  /// The member's weights: save_member's archive.
  std::string model;
  /// The member's Adam step count.
  int64_t adam_steps = 0;
  /// The member's Adam moments (MemberAdam::state).
  std::vector<torch::Tensor> adam_moments;
  /// States of the member's shuffle, noise and flip generators.
  torch::Tensor shuffle_state, noise_state, flip_state;
  /// The member's results so far (with its time until this checkpoint).
  JobResult result;
  /// False once the member diverged.
  bool active = true;
};

/// Writes c to path atomically. Throws memscope::Error naming the file when it cannot be written.
void save_checkpoint(const std::string& path, const MemberCheckpoint& c);
/// Reads a file that save_checkpoint wrote; throws (LibTorch's or memscope's error) otherwise.
MemberCheckpoint load_checkpoint(const std::string& path);

}  // namespace memscope
