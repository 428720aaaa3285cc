#include "memscope/train/checkpoint.h"

#include <sstream>

#include "memscope/core/error.h"
#include "memscope/io/atomic.h"

namespace memscope {

namespace {

torch::Tensor doubles(const std::vector<double>& v) { return torch::tensor(v, torch::kFloat64); }
std::vector<double> doubles(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

}  // namespace

void save_checkpoint(const std::string& path, const MemberCheckpoint& c) {
  torch::serialize::OutputArchive ar;
  auto scalar = [](double v) { return torch::tensor({v}, torch::kFloat64); };
  ar.write("epoch", scalar(double(c.epoch)));
  const int64_t model_bytes = int64_t(c.model.size());
  ar.write("model", torch::from_blob(const_cast<char*>(c.model.data()), {model_bytes}, torch::kUInt8).clone());
  ar.write("adam_steps", scalar(double(c.adam_steps)));
  ar.write("adam_count", scalar(double(c.adam_moments.size())));
  for (size_t i = 0; i < c.adam_moments.size(); ++i) ar.write(str("adam_", i), c.adam_moments[i]);
  ar.write("shuffle_state", c.shuffle_state);
  ar.write("noise_state", c.noise_state);
  ar.write("flip_state", c.flip_state);
  ar.write("active", scalar(c.active));
  ar.write("diverged_epoch", scalar(double(c.result.diverged_epoch)));
  ar.write("train_loss", doubles(c.result.train_loss));
  ar.write("heldout_loss", doubles(c.result.heldout_loss));
  ar.write("logp", c.result.logp.empty() ? torch::empty({0}) : torch::stack(c.result.logp));
  ar.write("logp_se", c.result.logp_se.empty() ? torch::empty({0}) : torch::stack(c.result.logp_se));
  ar.write("seconds", doubles({c.result.train_seconds, c.result.eval_seconds}));
  // In memory first: LibTorch's writer aborts the process when its stream fails (a full disk);
  // write_atomic turns that into an error naming the file.
  std::ostringstream bytes;
  ar.save_to(bytes);
  write_atomic(path, bytes.str());
}

MemberCheckpoint load_checkpoint(const std::string& path) {
  torch::serialize::InputArchive ar;
  ar.load_from(path);
  auto read = [&](const char* key) {
    torch::Tensor t;
    ar.read(key, t);
    return t;
  };
  auto scalar = [&](const char* key) { return read(key).item<double>(); };
  MemberCheckpoint c;
  c.epoch = int64_t(scalar("epoch"));
  const torch::Tensor model = read("model").contiguous();
  c.model.assign(static_cast<const char*>(model.data_ptr()), size_t(model.numel()));
  c.adam_steps = int64_t(scalar("adam_steps"));
  for (int64_t i = 0, n = int64_t(scalar("adam_count")); i < n; ++i)
    c.adam_moments.push_back(read(str("adam_", i).c_str()));
  c.shuffle_state = read("shuffle_state");
  c.noise_state = read("noise_state");
  c.flip_state = read("flip_state");
  c.active = scalar("active") != 0;
  c.result.diverged_epoch = int64_t(scalar("diverged_epoch"));
  if (c.result.diverged_epoch > 0) c.result.status = "diverged";
  c.result.train_loss = doubles(read("train_loss"));
  c.result.heldout_loss = doubles(read("heldout_loss"));
  const torch::Tensor logp = read("logp");
  if (logp.dim() == 2)
    for (int64_t e = 0; e < logp.size(0); ++e) c.result.logp.push_back(logp[e].clone());
  torch::Tensor logp_se;
  if (ar.try_read("logp_se", logp_se) && logp_se.dim() == 2)
    for (int64_t e = 0; e < logp_se.size(0); ++e) c.result.logp_se.push_back(logp_se[e].clone());
  const std::vector<double> seconds = doubles(read("seconds"));
  c.result.train_seconds = seconds.at(0);
  c.result.eval_seconds = seconds.at(1);
  return c;
}

}  // namespace memscope
