#include "memscope/models/member_archive.h"

#include <string>

#include "memscope/core/error.h"

namespace memscope {

void write_member(const torch::nn::Module& m, int64_t g, torch::serialize::OutputArchive& archive) {
  for (const auto& p : m.named_parameters()) archive.write(p.key(), p.value()[g].detach().to(torch::kCPU).clone());
  for (const auto& b : m.named_buffers()) archive.write(b.key(), b.value()[g].to(torch::kCPU).clone(), true);
}

void read_member(torch::nn::Module& m, int64_t g, torch::serialize::InputArchive& archive) {
  torch::NoGradGuard no_grad;
  auto read = [&](const std::string& key, torch::Tensor slot, bool buffer) {
    torch::Tensor t;
    MEMSCOPE_CHECK(archive.try_read(key, t, buffer), "model: archive lacks ", key);
    MEMSCOPE_CHECK(t.sizes() == slot.sizes(), "model: ", key, " has shape ", t.sizes(), ", expected ", slot.sizes());
    slot.copy_(t);
  };
  for (auto& p : m.named_parameters()) read(p.key(), p.value()[g], false);
  for (auto& b : m.named_buffers()) read(b.key(), b.value()[g], true);
}

}  // namespace memscope
