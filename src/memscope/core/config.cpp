#include "memscope/core/config.h"

#include <torch/cuda.h>
#include <torch/types.h>

#include <cmath>
#include <limits>
#include <type_traits>
#include <optional>

#include "memscope/core/error.h"
#include "memscope/io/atomic.h"

namespace memscope {

nlohmann::json identity_json(const RunConfig& c) {
  nlohmann::json j = {
      {"data", {{"source", c.data.source}, {"limit", c.data.limit}, {"binarize", c.data.binarize},
                {"pad32", c.data.pad32}}},
      {"model", {{"family", c.model.family}, {"hidden", c.model.hidden}, {"latent", c.model.latent},
                 {"ridge", c.model.ridge}}},
      {"train", {{"epochs", c.train.epochs}, {"batch_size", c.train.batch_size}, {"lr", c.train.lr}}},
      // Not the repeats: repeat r's folds and jobs do not depend on how many repeats there are,
      // so more repeats on a finished run train only the new jobs.
      {"plan", {{"folds", c.plan.folds}}},
      {"eval", {{"iw_samples", c.eval.iw_samples}, {"eval_every", c.eval.eval_every}}},
      {"seed", c.seed},
  };
  // Options added later enter only when set, so runs made before they existed stay resumable.
  if (!c.data.crop.empty()) j["data"]["crop"] = c.data.crop;
  if (c.data.resize != 0) j["data"]["resize"] = c.data.resize;
  if (c.model.decoder != "bernoulli") j["model"]["decoder"] = c.model.decoder;
  if (c.train.hflip) j["train"]["hflip"] = true;
  return j;
}

nlohmann::json to_json(const RunConfig& c) {
  nlohmann::json j = identity_json(c);
  j["train"]["group_size"] = c.train.group_size;
  j["train"]["checkpoint_every"] = c.train.checkpoint_every;
  j["data"]["crop"] = c.data.crop;
  j["data"]["resize"] = c.data.resize;
  j["model"]["decoder"] = c.model.decoder;
  j["train"]["hflip"] = c.train.hflip;
  j["plan"]["repeats"] = c.plan.repeats;
  j["out"] = c.out;
  j["threads"] = c.threads;
  j["device"] = c.device;
  j["progress"] = c.progress;
  return j;
}

namespace {

/// v stored into field, checking its JSON type (and range, for integers) first: nlohmann's own
/// conversions throw its type_error for some mismatches and silently truncate (or, for a double
/// too large for an integer, invoke undefined behaviour) for others.
template <typename T>
void get_checked(const nlohmann::json& v, T& field, const std::string& name) {
  auto bad = [&](const char* expected) {
    return Error(str("config: '", name, "' should be ", expected, ", got ", v.dump().substr(0, 40)));
  };
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) throw bad("true or false");
    field = v.get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    if (!v.is_number_integer()) throw bad("an integer");
    const bool fits = v.is_number_unsigned()
                          ? v.get<uint64_t>() <= uint64_t(std::numeric_limits<T>::max())
                          : (v.get<int64_t>() >= int64_t(std::numeric_limits<T>::min()) &&
                             (std::is_unsigned_v<T> || v.get<int64_t>() <= int64_t(std::numeric_limits<T>::max())));
    if (!fits) throw bad("an integer in range");
    field = v.get<T>();
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number()) throw bad("a number");
    field = v.get<T>();
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) throw bad("a string");
    field = v.get<std::string>();
  } else {  // std::vector<int64_t>
    if (!v.is_array()) throw bad("an array of integers");
    T out;
    for (const auto& e : v) {
      typename T::value_type x{};
      get_checked(e, x, name);
      out.push_back(x);
    }
    field = out;
  }
}

}  // namespace

RunConfig run_config_from_json(const nlohmann::json& j) {
  MEMSCOPE_CHECK(j.is_object(), "config: expected a JSON object, got ", j.type_name());
  RunConfig c;
  auto get = [&](const char* section, const char* key, auto& field) {
    const auto s = j.find(section);
    if (s == j.end()) return;
    MEMSCOPE_CHECK(s->is_object(), "config: '", section, "' should be an object, got ", s->type_name());
    const auto v = s->find(key);
    if (v != s->end()) get_checked(*v, field, str(section, ".", key));
  };
  get("data", "source", c.data.source);
  get("data", "limit", c.data.limit);
  get("data", "binarize", c.data.binarize);
  get("data", "pad32", c.data.pad32);
  get("data", "crop", c.data.crop);
  get("data", "resize", c.data.resize);
  get("model", "family", c.model.family);
  get("model", "decoder", c.model.decoder);
  get("model", "hidden", c.model.hidden);
  get("model", "latent", c.model.latent);
  get("model", "ridge", c.model.ridge);
  get("train", "epochs", c.train.epochs);
  get("train", "batch_size", c.train.batch_size);
  get("train", "lr", c.train.lr);
  get("train", "hflip", c.train.hflip);
  get("train", "group_size", c.train.group_size);
  get("train", "checkpoint_every", c.train.checkpoint_every);
  get("plan", "folds", c.plan.folds);
  get("plan", "repeats", c.plan.repeats);
  get("eval", "iw_samples", c.eval.iw_samples);
  get("eval", "eval_every", c.eval.eval_every);
  if (j.contains("seed")) get_checked(j["seed"], c.seed, "seed");
  if (j.contains("out")) get_checked(j["out"], c.out, "out");
  return c;
}

RunConfig read_run_config_file(const std::string& path) {
  const nlohmann::json doc = read_json_object(path);
  try {
    return run_config_from_json(doc.value("config", nlohmann::json::object()));
  } catch (const Error& e) {
    throw Error(str(path, ": ", e.what()));
  }
}

void validate(const RunConfig& c) {
  MEMSCOPE_CHECK(c.data.limit >= 0, "--limit: must be >= 0, got ", c.data.limit);
  const std::string& b = c.data.binarize;
  MEMSCOPE_CHECK(b == "sample" || b == "threshold" || b == "none" || b == "auto",
                 "--binarize: expected sample, threshold, none or auto, got '", b, "'");
  MEMSCOPE_CHECK(is_vae(c.model.family) || is_linear_gaussian(c.model.family), "--model: unknown model family '",
                 c.model.family, "' (known: mlp-vae, conv-vae, gaussian, ppca:Q)");
  const std::string& dec = c.model.decoder;
  MEMSCOPE_CHECK(dec == "bernoulli" || dec == "logit-gaussian" || dec == "gaussian",
                 "--decoder: expected bernoulli, logit-gaussian or gaussian, got '", dec, "'");
  MEMSCOPE_CHECK(c.model.family != "mlp-vae" || dec == "bernoulli", "--decoder ", dec,
                 ": the MLP VAE has the Bernoulli decoder only; use --model conv-vae");
  if (is_vae(c.model.family) && dec == "bernoulli")
    MEMSCOPE_CHECK(b != "none", "--binarize none: the Bernoulli VAE needs binary data (sample or threshold)");
  if (is_vae(c.model.family) && dec != "bernoulli")
    MEMSCOPE_CHECK(b == "none" || b == "auto", "--binarize ", b, ": the ", dec,
                   " decoder models continuous pixels; use --binarize none");
  MEMSCOPE_CHECK(c.data.crop.empty() || (c.data.crop.size() == 4 && c.data.crop[0] >= 0 && c.data.crop[1] >= 0 &&
                                         c.data.crop[2] > c.data.crop[0] && c.data.crop[3] > c.data.crop[1]),
                 "--crop: expected x0,y0,x1,y1 with 0 <= x0 < x1 and 0 <= y0 < y1");
  MEMSCOPE_CHECK(c.data.resize >= 0 && c.data.resize <= 4096, "--resize: must be in [0, 4096], got ", c.data.resize);
  MEMSCOPE_CHECK(c.model.ridge >= 0 && std::isfinite(c.model.ridge), "--ridge: must be >= 0, got ", c.model.ridge);
  MEMSCOPE_CHECK(!c.model.hidden.empty(), "--hidden: needs at least one layer size");
  for (int64_t h : c.model.hidden) MEMSCOPE_CHECK(h >= 1, "--hidden: sizes must be >= 1, got ", h);
  MEMSCOPE_CHECK(c.model.latent >= 1, "--latent: must be >= 1, got ", c.model.latent);
  MEMSCOPE_CHECK(c.train.epochs >= 1, "--epochs: must be >= 1, got ", c.train.epochs);
  MEMSCOPE_CHECK(c.train.batch_size >= 1, "--batch-size: must be >= 1, got ", c.train.batch_size);
  MEMSCOPE_CHECK(c.train.lr > 0 && c.train.lr < 1e3, "--lr: must be in (0, 1000), got ", c.train.lr);
  MEMSCOPE_CHECK(c.train.group_size >= 0, "--group-size: must be >= 0, got ", c.train.group_size);
  MEMSCOPE_CHECK(c.train.checkpoint_every >= 0, "--checkpoint-every: must be >= 0, got ", c.train.checkpoint_every);
  MEMSCOPE_CHECK(c.plan.folds >= 2, "--folds: must be >= 2, got ", c.plan.folds);
  MEMSCOPE_CHECK(c.plan.repeats >= 1, "--repeats: must be >= 1, got ", c.plan.repeats);
  MEMSCOPE_CHECK(c.eval.iw_samples >= 1, "--iw-samples: must be >= 1, got ", c.eval.iw_samples);
  MEMSCOPE_CHECK(c.eval.eval_every >= 0, "--eval-every: must be >= 0, got ", c.eval.eval_every);
  MEMSCOPE_CHECK(c.threads >= 0, "--threads: must be >= 0, got ", c.threads);
  MEMSCOPE_CHECK(c.progress == "auto" || c.progress == "bar" || c.progress == "log" ||
                     c.progress == "none",
                 "--progress: expected auto, bar, log or none, got '", c.progress, "'");
  MEMSCOPE_CHECK(!c.out.empty(), "--out: must not be empty");
  MEMSCOPE_CHECK(c.shard_count >= 1 && c.shard_index >= 0 && c.shard_index < c.shard_count, "--shard: expected I/N with 0 <= I < N, got ",
                 c.shard_index, "/", c.shard_count);
  std::optional<torch::Device> device;
  try {
    device = torch::Device(c.device);
  } catch (const c10::Error&) {
    throw Error(str("--device: expected cpu, cuda or cuda:N, got '", c.device, "'"));
  }
  MEMSCOPE_CHECK(device->is_cpu() || (device->is_cuda() && torch::cuda::is_available()), "--device: ", c.device,
                 " is not available (this LibTorch has no CUDA, or no GPU is visible)");
}

int64_t ppca_components(const std::string& family) {
  if (family.rfind("ppca:", 0) != 0) return 0;
  const std::string q = family.substr(5);
  MEMSCOPE_CHECK(!q.empty() && q.size() < 7 && q.find_first_not_of("0123456789") == std::string::npos && std::stoll(q) >= 1,
                 "--model: expected ppca:Q with Q a positive number of components, got '", family, "'");
  return std::stoll(q);
}

bool is_linear_gaussian(const std::string& family) { return family == "gaussian" || ppca_components(family) > 0; }

bool is_vae(const std::string& family) { return family == "mlp-vae" || family == "conv-vae"; }

RunConfig resolved(RunConfig c) {
  if (c.data.binarize == "auto")
    c.data.binarize = is_vae(c.model.family) && c.model.decoder == "bernoulli" ? "sample" : "none";
  return c;
}

std::vector<int64_t> eval_epochs(const TrainConfig& t, const EvalConfig& e) {
  std::vector<int64_t> epochs;
  if (e.eval_every > 0)
    for (int64_t ep = e.eval_every; ep < t.epochs; ep += e.eval_every) epochs.push_back(ep);
  epochs.push_back(t.epochs);
  return epochs;
}

}  // namespace memscope
