#include "memscope/io/run_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "memscope/core/error.h"
#include "memscope/core/seeds.h"
#include "memscope/core/version.h"
#include "memscope/io/atomic.h"
#include "memscope/data/loaders.h"
#include "memscope/io/npy.h"

namespace memscope {

namespace fs = std::filesystem;

namespace {

uint64_t fnv1a(const std::string& s, uint64_t h = 0xcbf29ce484222325ULL) {
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

}  // namespace

RunConfig load_run_config(const std::string& dir) {
  MEMSCOPE_CHECK(fs::exists(dir + "/config.json"), "run: ", dir, " has no config.json (not a memscope run directory)");
  RunConfig cfg = read_run_config_file(dir + "/config.json");
  cfg.out = dir;
  return cfg;
}

FinishedRun load_finished_run(const std::string& dir) {
  FinishedRun r;
  r.cfg = resolved(load_run_config(dir));
  MEMSCOPE_CHECK(fs::exists(dir + "/logp.npy"), "run: ", dir, " has no logp.npy (the run has not finished)");
  r.config = read_json(dir + "/config.json");
  r.data = load_dataset(r.cfg.data, r.cfg.seed);
  torch::Tensor logp = read_npy(dir + "/logp.npy");
  r.mask = read_npy(dir + "/mask.npy");
  torch::Tensor ep = read_npy(dir + "/epochs.npy");
  const int64_t N = r.data.size();
  MEMSCOPE_CHECK(logp.dim() == 3 && logp.size(1) == N && r.mask.dim() == 2 && r.mask.size(0) == N &&
                     r.mask.size(1) == logp.size(2) && ep.size(0) == logp.size(0),
                 "run: ", dir, ": logp.npy ", logp.sizes(), ", mask.npy ", r.mask.sizes(), " and epochs.npy ",
                 ep.sizes(), " do not agree with ", N, " examples");
  r.epochs.assign(ep.data_ptr<int64_t>(), ep.data_ptr<int64_t>() + ep.size(0));
  r.scores = compute_scores(logp[logp.size(0) - 1], r.mask);
  if (fs::exists(dir + "/mem_by_epoch.npy")) r.mem_by_epoch = read_npy(dir + "/mem_by_epoch.npy");
  r.images = r.data.shape.size() == 3 && r.data.shape[1] > 1;
  return r;
}

std::shared_ptr<DensityEnsemble> load_job_model(const std::string& dir, const FinishedRun& run, int64_t job) {
  const std::string weights = RunDir::job_model_path(dir, job);
  MEMSCOPE_CHECK(fs::exists(weights), "run: ", weights, " does not exist (job ", job, " has not finished)");
  auto model = make_ensemble(run.data.shape, run.cfg.model, {0});
  std::ifstream is(weights, std::ios::binary);
  MEMSCOPE_CHECK(is, "run: cannot read ", weights);
  try {
    model->load_member(0, is);
  } catch (const c10::Error& e) {
    throw Error(str("run: ", weights, " is not a readable model archive"));
  }
  return model;
}

RunDir::RunDir(const std::string& dir, const RunConfig& cfg, const std::string& data_hash)
    : dir_(dir), cfg_(cfg), identity_(identity_json(cfg)) {
  identity_["data_hash"] = data_hash;
  std::error_code ec;
  if (fs::exists(dir_) && !fs::is_directory(dir_)) throw Error(str("--out: ", dir_, " exists and is not a directory"));
  const std::string config = file("config.json");
  if (!fs::exists(config) && fs::exists(dir_)) {
    // Another process of the same run may be creating it: jobs/, temporary files, and its
    // config.json appearing while we look are fine; anything else is somebody else's folder.
    for (const auto& e : fs::directory_iterator(dir_)) {
      const std::string name = e.path().filename().string();
      if (name != "jobs" && name != "config.json" && name[0] != '.')
        throw Error(str("--out: ", dir_, " is not empty and holds no memscope run (no config.json)"));
    }
  }
  remove_stale_temporaries(dir_);
  fs::create_directories(dir_ + "/jobs", ec);
  if (ec) throw Error(str("--out: cannot create ", dir_, ": ", ec.message()));
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
    throw Error(str("--out: ", dir_, " holds a run with a different configuration or data (", diffs,
                    "); use another --out or the same options and data"));
  }
}

std::string RunDir::job_dir(int64_t id) const { return fmt::format("{}/jobs/job-{:05d}", dir_, id); }

std::string RunDir::job_model_path(const std::string& dir, int64_t id) {
  return fmt::format("{}/jobs/job-{:05d}/model.pt", dir, id);
}

std::string RunDir::job_key(const Job& job) const {
  uint64_t h = fnv1a(identity_.dump());
  h = fnv1a(kVersion, h);
  h = fnv1a(str(job.id, ":", job.seed, ":", job.train.size()), h);
  for (int64_t i : job.train) h = mix64(h ^ uint64_t(i));
  return fmt::format("{:016x}", h);
}

bool RunDir::job_done(const Job& job) const {
  const std::string path = job_dir(job.id) + "/result.json";
  if (!fs::exists(path)) return false;
  return json_string(read_json_object(path), "key", path) == job_key(job);
}

std::string RunDir::checkpoint_path(const Job& job) const {
  const std::string jd = job_dir(job.id);
  std::error_code ec;
  fs::create_directories(jd, ec);
  if (ec) throw Error(str("cannot create ", jd, ": ", ec.message()));
  return jd + "/checkpoint-" + job_key(job) + ".pt";
}

void RunDir::save_job(const Job& job, const JobResult& r, const std::vector<int64_t>& epochs,
                      DensityEnsemble& model, int64_t member) const {
  const std::string jd = job_dir(job.id);
  std::error_code ec;
  fs::create_directories(jd, ec);
  if (ec) throw Error(str("cannot create ", jd, ": ", ec.message()));
  // Serialized in memory first: LibTorch's zip writer, given a stream that fails (a full disk),
  // throws from its destructor while unwinding and the process aborts ("terminate called").
  std::ostringstream weights;
  model.save_member(member, weights);
  write_atomic(jd + "/model.pt", weights.str());
  write_npy(jd + "/logp.npy", torch::stack(r.logp));
  nlohmann::json meta = {{"key", job_key(job)},       {"id", job.id},
                         {"repeat", job.repeat},      {"fold", job.fold},
                         {"seed", job.seed},          {"n_train", job.train.size()},
                         {"status", r.status},        {"diverged_epoch", r.diverged_epoch},
                         {"seconds", r.seconds},      {"train_seconds", r.train_seconds},
                         {"eval_seconds", r.eval_seconds}, {"train_loss", r.train_loss},
                         {"heldout_loss", r.heldout_loss},
                         {"eval_epochs", epochs},     {"memscope_version", kVersion}};
  write_atomic(jd + "/result.json", meta.dump(2) + "\n");
  for (const auto& e : fs::directory_iterator(jd))
    if (e.path().filename().string().rfind("checkpoint-", 0) == 0) fs::remove(e.path(), ec);
}

RunDir::Claim::~Claim() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<RunDir::Claim> RunDir::try_claim(const Job& job) const {
  const std::string path = fmt::format("{}/jobs/job-{:05d}.lock", dir_, job.id);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  MEMSCOPE_CHECK(fd >= 0, "cannot create ", path, ": ", std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  return Claim(fd);
}

nlohmann::json RunDir::job_meta(const Job& job) const { return read_json_object(job_dir(job.id) + "/result.json"); }

torch::Tensor RunDir::job_logp(const Job& job) const { return read_npy(job_dir(job.id) + "/logp.npy"); }

void RunDir::write_manifest(const Plan& plan) const {
  nlohmann::json jobs = nlohmann::json::array();
  for (const Job& job : plan.jobs)
    jobs.push_back({{"id", job.id}, {"repeat", job.repeat}, {"fold", job.fold}, {"seed", job.seed},
                    {"n_train", job.train.size()}, {"key", job_key(job)}});
  const nlohmann::json m = {{"memscope_version", kVersion}, {"identity", identity_}, {"jobs", jobs}};
  write_atomic(file("manifest.json"), m.dump(2) + "\n");
}

void RunDir::write_config(const nlohmann::json& data, const nlohmann::json& jobs) const {
  nlohmann::json j = {{"memscope_version", kVersion}, {"torch_version", TORCH_VERSION},
                      {"identity", identity_},       {"config", to_json(cfg_)},
                      {"data", data},                {"jobs", jobs}};
  write_atomic(file("config.json"), j.dump(2) + "\n");
}

}  // namespace memscope
