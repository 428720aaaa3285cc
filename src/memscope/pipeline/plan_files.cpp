#include "memscope/pipeline/plan_files.h"

#include <filesystem>

#include <fmt/format.h>

#include "memscope/config/config_json.h"
#include "memscope/config/validate.h"
#include "memscope/core/error.h"
#include "memscope/core/version.h"
#include "memscope/data/loaders.h"
#include "memscope/io/atomic.h"
#include "memscope/io/hash.h"
#include "memscope/io/npy.h"
#include "memscope/pipeline/run_layout.h"
#include "memscope/plan/plan.h"

namespace memscope {

namespace fs = std::filesystem;

std::string mask_sha256(const torch::Tensor& mask) {
  const torch::Tensor bytes = mask.to(torch::kUInt8).contiguous();
  return sha256_hex(bytes.data_ptr<uint8_t>(), size_t(bytes.numel()));
}

PlanOutcome write_plan(const RunConfig& c, int64_t n, const std::string& dir) {
  MEMSCOPE_CHECK(n >= 0, "plan: ", n, " examples");
  const RunConfig r = resolved(c);
  Dataset data;
  if (n == 0) {
    data = load_dataset(r.data, r.seed);
    n = data.size();
  }
  const Plan plan = make_plan(n, r.plan, r.seed);
  const torch::Tensor mask = plan.in_mask();
  PlanOutcome o{dir, n, int64_t(plan.jobs.size()), mask_sha256(mask), data.x.defined()};
  std::error_code ec;
  fs::create_directories(PlanLayout(dir).train(), ec);
  MEMSCOPE_CHECK(!ec, "plan: cannot create ", dir, ": ", ec.message());
  const PlanLayout files(dir);
  nlohmann::json jobs = nlohmann::json::array();
  for (const Job& job : plan.jobs) {
    write_npy(files.train(job.id), torch::tensor(job.train, torch::kInt64));
    jobs.push_back({{"id", job.id},
                    {"repeat", job.repeat},
                    {"fold", job.fold},
                    {"seed", job.seed},
                    {"train_size", int64_t(job.train.size())},
                    {"train", files.train_name(job.id)}});
  }
  write_npy(files.mask(), mask);
  write_npy(files.keep(), mask.t().contiguous());
  if (o.data) {
    std::vector<int64_t> shape = {n};
    shape.insert(shape.end(), data.shape.begin(), data.shape.end());
    write_npy(files.images(), data.x.reshape(shape));
    write_npy(files.labels(), data.label);
    write_npy(files.index(), data.index);
  }
  const nlohmann::json config = to_json(r);
  write_atomic(files.plan(), nlohmann::json{{"memscope_version", kVersion},
                                            {"examples", n},
                                            {"models", o.models},
                                            {"mask_sha256", o.mask_sha256},
                                            {"seed", r.seed},
                                            {"plan", config.at("plan")},
                                            {"data", o.data ? config.at("data") : nlohmann::json(nullptr)},
                                            {"data_name", o.data ? data.name : ""},
                                            {"jobs", jobs}}
                                     .dump(1) +
                                 "\n");
  return o;
}

}  // namespace memscope
