#include "memscope/pipeline/run_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "memscope/config/config_json.h"
#include "memscope/core/error.h"
#include "memscope/core/seeds.h"
#include "memscope/core/version.h"
#include "memscope/io/atomic.h"
#include "memscope/io/npy.h"
#include "memscope/models/factory.h"

namespace memscope {

namespace fs = std::filesystem;

namespace {

uint64_t fnv1a(const std::string& s, uint64_t h = 0xcbf29ce484222325ULL) {
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

}  // namespace

RunDir::RunDir(const std::string& dir, const RunConfig& cfg, const std::string& data_hash)
    : dir_(dir), layout_(dir), cfg_(cfg), identity_(identity_json(cfg)) {
  identity_["data_hash"] = data_hash;
  std::error_code ec;
  if (fs::exists(dir_) && !fs::is_directory(dir_))
    throw ConfigError("out", str(dir_, " exists and is not a directory"));
  const std::string config = layout_.config();
  if (!fs::exists(config) && fs::exists(dir_)) {
    // Another process of the same run may be creating it: jobs/, temporary files, and its
    // config.json appearing while we look are fine; anything else is somebody else's folder.
    for (const auto& e : fs::directory_iterator(dir_)) {
      const std::string name = e.path().filename().string();
      if (!RunLayout::may_precede_config(name))
        throw ConfigError("out", str(dir_, " is not empty and holds no memscope run (no config.json)"));
    }
  }
  remove_stale_temporaries(dir_);
  fs::create_directories(layout_.jobs(), ec);
  if (ec) throw ConfigError("out", str("cannot create ", dir_, ": ", ec.message()));
  // config.json first: another process starting on the same new directory must find a run in
  // it, not a half-made folder of other files. Then the identity check, whoever wrote it.
  if (!fs::exists(config)) write_config(nlohmann::json::object(), nlohmann::json::array());
  const nlohmann::json theirs = read_json_object(config).value("identity", nlohmann::json());
  if (theirs != identity_) {
    std::string diffs;
    for (const auto& op : nlohmann::json::diff(theirs, identity_)) {
      const std::string p = op.value("path", "");
      const nlohmann::json::json_pointer ptr(p);
      diffs += str(diffs.empty() ? "" : "; ", p.substr(1), ": ", theirs.contains(ptr) ? theirs[ptr].dump() : "unset",
                   " there, ", identity_.contains(ptr) ? identity_[ptr].dump() : "unset", " here");
    }
    throw ConfigError("out", str(dir_, " holds a run with a different configuration or data (", diffs,
                                 "); use another --out or the same options and data"));
  }
}

std::string RunDir::job_key(const Job& job) const {
  uint64_t h = fnv1a(identity_.dump());
  h = fnv1a(kVersion, h);
  h = fnv1a(str(job.id, ":", job.seed, ":", job.train.size()), h);
  for (int64_t i : job.train) h = mix64(h ^ uint64_t(i));
  return fmt::format("{:016x}", h);
}

bool RunDir::job_done(const Job& job) const {
  const std::string path = layout_.job_result(job.id);
  if (!fs::exists(path)) return false;
  return json_string(read_json_object(path), "key", path) == job_key(job);
}

std::string RunDir::checkpoint_path(const Job& job) const {
  const std::string jd = layout_.job_dir(job.id);
  std::error_code ec;
  fs::create_directories(jd, ec);
  if (ec) throw Error(str("cannot create ", jd, ": ", ec.message()));
  return layout_.job_checkpoint(job.id, job_key(job));
}

void RunDir::save_job(const Job& job, const JobResult& r, const std::vector<int64_t>& epochs, DensityEnsemble& model,
                      int64_t member) const {
  const std::string jd = layout_.job_dir(job.id);
  std::error_code ec;
  fs::create_directories(jd, ec);
  if (ec) throw Error(str("cannot create ", jd, ": ", ec.message()));
  // Serialized in memory first: LibTorch's zip writer, given a stream that fails (a full disk),
  // throws from its destructor while unwinding and the process aborts ("terminate called").
  std::ostringstream weights;
  model.save_member(member, weights);
  write_atomic(layout_.job_model(job.id), weights.str());
  write_npy(layout_.job_logp(job.id), torch::stack(r.logp));
  if (!r.logp_se.empty()) write_npy(layout_.job_logp_se(job.id), torch::stack(r.logp_se));
  if (r.denoise_loss.defined()) write_npy(layout_.job_denoise_loss(job.id), r.denoise_loss);
  nlohmann::json meta = {{"key", job_key(job)},
                         {"id", job.id},
                         {"repeat", job.repeat},
                         {"fold", job.fold},
                         {"seed", job.seed},
                         {"n_train", job.train.size()},
                         {"status", r.status},
                         {"diverged_epoch", r.diverged_epoch},
                         {"seconds", r.seconds},
                         {"train_seconds", r.train_seconds},
                         {"eval_seconds", r.eval_seconds},
                         {"train_loss", r.train_loss},
                         {"heldout_loss", r.heldout_loss},
                         {"eval_epochs", epochs},
                         {"eval_samples", r.eval_samples},
                         {"memscope_version", kVersion}};
  if (r.sample_choice) meta["sample_choice"] = to_json(*r.sample_choice);
  write_atomic(layout_.job_result(job.id), meta.dump(2) + "\n");
  remove_checkpoints(job);
}

void RunDir::remove_checkpoints(const Job& job) const {
  const std::string jd = layout_.job_dir(job.id);
  std::error_code ec;
  if (!fs::is_directory(jd, ec)) return;
  for (const auto& e : fs::directory_iterator(jd, ec))
    if (RunLayout::is_checkpoint(e.path().filename().string())) fs::remove(e.path(), ec);
}

RunDir::Claim::~Claim() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<RunDir::Claim> RunDir::try_claim(const Job& job) const {
  const std::string path = layout_.job_lock(job.id);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  MEMSCOPE_CHECK(fd >= 0, "cannot create ", path, ": ", std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  return Claim(fd);
}

nlohmann::json RunDir::job_meta(const Job& job) const { return read_json_object(layout_.job_result(job.id)); }

torch::Tensor RunDir::job_logp(const Job& job) const { return read_npy(layout_.job_logp(job.id)); }

torch::Tensor RunDir::job_logp_se(const Job& job) const {
  const std::string path = layout_.job_logp_se(job.id);
  return fs::exists(path) ? read_npy(path) : torch::Tensor();
}

torch::Tensor RunDir::job_denoise_loss(const Job& job) const {
  const std::string path = layout_.job_denoise_loss(job.id);
  return fs::exists(path) ? read_npy(path) : torch::Tensor();
}

void RunDir::write_manifest(const Plan& plan) const {
  nlohmann::json jobs = nlohmann::json::array();
  for (const Job& job : plan.jobs)
    jobs.push_back({{"id", job.id},
                    {"repeat", job.repeat},
                    {"fold", job.fold},
                    {"seed", job.seed},
                    {"n_train", job.train.size()},
                    {"key", job_key(job)}});
  const nlohmann::json m = {{"memscope_version", kVersion}, {"identity", identity_}, {"jobs", jobs}};
  write_atomic(layout_.manifest(), m.dump(2) + "\n");
}

void RunDir::write_config(const nlohmann::json& data, const nlohmann::json& jobs) const {
  nlohmann::json j = {{"memscope_version", kVersion},
                      {"torch_version", TORCH_VERSION},
                      {"identity", identity_},
                      {"config", to_json(cfg_)},
                      {"data", data},
                      {"jobs", jobs}};
  write_atomic(layout_.config(), j.dump(2) + "\n");
}

}  // namespace memscope
