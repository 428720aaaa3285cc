#include "memscope/core/config.h"

#include <torch/cuda.h>
#include <torch/types.h>

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>

#include "memscope/core/error.h"
#include "memscope/core/options.h"
#include "memscope/io/atomic.h"

namespace memscope {

namespace {

/// The text forms of an enum's values.
template <typename E>
using Names = std::vector<std::pair<E, const char*>>;

const Names<Binarize> kBinarizeNames = {{Binarize::kSample, "sample"},
                                        {Binarize::kThreshold, "threshold"},
                                        {Binarize::kNone, "none"},
                                        {Binarize::kAuto, "auto"}};
const Names<Decoder> kDecoderNames = {
    {Decoder::kBernoulli, "bernoulli"}, {Decoder::kLogitGaussian, "logit-gaussian"}, {Decoder::kGaussian, "gaussian"}};
const Names<ProgressMode> kProgressNames = {{ProgressMode::kAuto, "auto"},
                                            {ProgressMode::kBar, "bar"},
                                            {ProgressMode::kLog, "log"},
                                            {ProgressMode::kNone, "none"}};
const Names<Design> kDesignNames = {{Design::kKfold, "kfold"}, {Design::kSubsets, "subsets"}};
const Names<LiraVariance> kLiraVarianceNames = {{LiraVariance::kPerExample, "per-example"},
                                                {LiraVariance::kGlobal, "global"}};
const Names<Schedule> kScheduleNames = {{Schedule::kLinear, "linear"}, {Schedule::kCosine, "cosine"}};
const Names<Sampler> kSamplerNames = {{Sampler::kDdpm, "ddpm"}, {Sampler::kDdim, "ddim"}};
const Names<Draw> kDrawNames = {{Draw::kMean, "mean"}, {Draw::kBernoulli, "bernoulli"}};
const Names<Family> kFamilyNames = {{Family::kMlpVae, "mlp-vae"},
                                    {Family::kConvVae, "conv-vae"},
                                    {Family::kGaussian, "gaussian"},
                                    {Family::kDdpm, "ddpm"}};
// Data sources: name, and whether a path follows a colon.
const Names<DataKind> kDataNames = {{DataKind::kFashionMnist, "fashion-mnist"},
                                    {DataKind::kMnistDigits, "mnist-digits"},
                                    {DataKind::kIdx, "idx"},
                                    {DataKind::kNpy, "npy"},
                                    {DataKind::kCsv, "csv"},
                                    {DataKind::kCifar10, "cifar10"},
                                    {DataKind::kImages, "images"},
                                    {DataKind::kCelebA, "celeba"}};

template <typename E>
const char* name_of(const Names<E>& names, E e) {
  for (const auto& [v, n] : names)
    if (v == e) return n;
  return "?";
}

/// "a, b or c".
template <typename E>
std::string listing(const Names<E>& names) {
  std::string s;
  for (size_t k = 0; k < names.size(); ++k)
    s += str(k == 0 ? "" : k + 1 == names.size() ? " or " : ", ", names[k].second);
  return s;
}

template <typename E>
E parse_name(const Names<E>& names, const std::string& text, const std::string& key) {
  for (const auto& [v, n] : names)
    if (text == n) return v;
  throw ConfigError(key, str("expected ", listing(names), ", got '", text, "'"));
}

bool has_path(DataKind k) { return k != DataKind::kFashionMnist && k != DataKind::kMnistDigits; }

}  // namespace

std::string to_string(Binarize b) { return name_of(kBinarizeNames, b); }
std::string to_string(Decoder d) { return name_of(kDecoderNames, d); }
std::string to_string(ProgressMode p) { return name_of(kProgressNames, p); }
std::string to_string(Draw d) { return name_of(kDrawNames, d); }
std::string to_string(Design d) { return name_of(kDesignNames, d); }
std::string to_string(LiraVariance v) { return name_of(kLiraVarianceNames, v); }
std::string to_string(Schedule s) { return name_of(kScheduleNames, s); }
std::string to_string(Sampler s) { return name_of(kSamplerNames, s); }
std::string to_string(const ModelFamily& f) {
  if (f.kind == Family::kPpca) return str("ppca:", f.components);
  if (f.kind == Family::kKde) return fmt::format("kde:{}", f.bandwidth);  // shortest text that reads back exactly
  return name_of(kFamilyNames, f.kind);
}
std::string to_string(const DataSource& s) {
  std::string text = name_of(kDataNames, s.kind);
  if (has_path(s.kind)) text += ":" + s.path;
  if (!s.labels.empty()) text += ":" + s.labels;
  return text;
}

Binarize parse_binarize(const std::string& text, const std::string& key) {
  return parse_name(kBinarizeNames, text, key);
}
Decoder parse_decoder(const std::string& text, const std::string& key) { return parse_name(kDecoderNames, text, key); }
ProgressMode parse_progress(const std::string& text, const std::string& key) {
  return parse_name(kProgressNames, text, key);
}

Draw parse_draw(const std::string& text, const std::string& key) { return parse_name(kDrawNames, text, key); }
Design parse_design(const std::string& text, const std::string& key) { return parse_name(kDesignNames, text, key); }
LiraVariance parse_lira_variance(const std::string& text, const std::string& key) {
  return parse_name(kLiraVarianceNames, text, key);
}
Schedule parse_schedule(const std::string& text, const std::string& key) {
  return parse_name(kScheduleNames, text, key);
}
Sampler parse_sampler(const std::string& text, const std::string& key) { return parse_name(kSamplerNames, text, key); }

ModelFamily parse_model_family(const std::string& text, const std::string& key) {
  if (text.rfind("ppca:", 0) == 0) {
    const std::string q = text.substr(5);
    MEMSCOPE_CHECK_KEY(
        !q.empty() && q.size() < 7 && q.find_first_not_of("0123456789") == std::string::npos && std::stoll(q) >= 1, key,
        "expected ppca:Q with Q a positive number of components, got '", text, "'");
    return {Family::kPpca, std::stoll(q)};
  }
  if (text.rfind("kde:", 0) == 0) {
    const std::string h = text.substr(4);
    char* end = nullptr;
    const double bandwidth = h.empty() ? NAN : std::strtod(h.c_str(), &end);
    MEMSCOPE_CHECK_KEY(!h.empty() && end == h.c_str() + h.size(), key, "expected kde:H with H a number, got '", text,
                       "'");
    MEMSCOPE_CHECK_KEY(std::isfinite(bandwidth) && bandwidth > 0, key, "kde bandwidth H must be > 0, got '", text, "'");
    return {Family::kKde, 0, bandwidth};
  }
  for (const auto& [v, n] : kFamilyNames)
    if (text == n) return {v, 0, 0};
  throw ConfigError(key,
                    str("unknown model family '", text, "' (known: mlp-vae, conv-vae, ddpm, gaussian, ppca:Q, kde:H)"));
}

DataSource parse_data_source(const std::string& text, const std::string& key) {
  const size_t colon = text.find(':');
  const std::string kind = text.substr(0, colon);
  for (const auto& [v, n] : kDataNames) {
    if (kind != n || has_path(v) != (colon != std::string::npos)) continue;
    DataSource s{v, colon == std::string::npos ? "" : text.substr(colon + 1), ""};
    if (v == DataKind::kIdx) {  // idx:IMAGES[:LABELS]
      const size_t second = s.path.find(':');
      if (second != std::string::npos) s.labels = s.path.substr(second + 1), s.path.resize(second);
    }
    MEMSCOPE_CHECK_KEY(!s.path.empty() || !has_path(v), key, "'", kind, ":' needs a path, as in ", kind,
                       v == DataKind::kIdx ? ":IMAGES[:LABELS]" : ":PATH");
    return s;
  }
  throw ConfigError(key, str("unknown source '", text,
                             "' (expected fashion-mnist, mnist-digits, idx:IMAGES[:LABELS], npy:FILE, csv:FILE, "
                             "cifar10:PATH, images:DIR or celeba:DIR)"));
}

namespace {

/// A value's JSON form: enums and other typed choices as their text.
template <typename T>
nlohmann::json json_value(const T& v) {
  if constexpr (std::is_enum_v<T> || std::is_same_v<T, ModelFamily> || std::is_same_v<T, DataSource>)
    return to_string(v);
  else
    return v;
}

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
  } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
    if (!v.is_array()) throw bad("an array of integers");
    T out;
    for (const auto& e : v) {
      typename T::value_type x{};
      get_checked(e, x, name);
      out.push_back(x);
    }
    field = out;
  } else {  // text: a string, or a typed choice parsed from one
    if (!v.is_string()) throw bad("a string");
    const std::string text = v.get<std::string>();
    try {
      if constexpr (std::is_same_v<T, std::string>) field = text;
      if constexpr (std::is_same_v<T, Binarize>) field = parse_binarize(text, name);
      if constexpr (std::is_same_v<T, Decoder>) field = parse_decoder(text, name);
      if constexpr (std::is_same_v<T, ProgressMode>) field = parse_progress(text, name);
      if constexpr (std::is_same_v<T, ModelFamily>) field = parse_model_family(text, name);
      if constexpr (std::is_same_v<T, DataSource>) field = parse_data_source(text, name);
      if constexpr (std::is_same_v<T, Design>) field = parse_design(text, name);
      if constexpr (std::is_same_v<T, LiraVariance>) field = parse_lira_variance(text, name);
      if constexpr (std::is_same_v<T, Schedule>) field = parse_schedule(text, name);
    } catch (const ConfigError& e) {
      throw Error(str("config: ", e.what()));
    }
  }
}

std::string range_text(const Range& r) {
  if (std::isinf(r.hi)) return str(r.lo_open ? "> " : ">= ", r.lo);
  return str("in ", r.lo_open ? "(" : "[", r.lo, ", ", r.hi, r.hi_open ? ")" : "]");
}

bool in_range(double v, const Range& r) {
  return (r.lo_open ? v > r.lo : v >= r.lo) && (r.hi_open ? v < r.hi : v <= r.hi);
}

/// Throws ConfigError when a numeric option (or an element of a list option) is out of its range.
template <typename T>
void check_range(const OptionSpec& o, const T& v) {
  if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
    MEMSCOPE_CHECK_KEY(in_range(double(v), o.range), o.key, "must be ", range_text(o.range), ", got ", v);
  } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
    if (std::isinf(o.range.lo)) return;
    MEMSCOPE_CHECK_KEY(!v.empty(), o.key, "needs at least one value");
    for (int64_t e : v)
      MEMSCOPE_CHECK_KEY(in_range(double(e), o.range), o.key, "values must be ", range_text(o.range), ", got ", e);
  }
}

}  // namespace

std::string flag_of(const std::string& key) {
  std::string flag = "--" + key;
  for (char& ch : flag)
    if (ch == '_') ch = '-';
  return flag;
}

nlohmann::json identity_json(const RunConfig& c_in) {
  const RunConfig defaults;
  nlohmann::json j = nlohmann::json::object(), d = to_json(defaults);
  // subsets: the first block decides the identity (see the option table); more blocks only add jobs.
  RunConfig c = c_in;
  if (c.plan.design == Design::kSubsets && !c.plan.subset_blocks.empty()) c.plan.models = c.plan.subset_blocks[0];
  for_each_option(c, [&](const OptionSpec& o, const auto& field) {
    const nlohmann::json v = json_value(field);
    const bool set = o.section[0] ? d[o.section][o.name] != v : d[o.name] != v;
    if (o.scope != Scope::kIdentity && !(o.scope == Scope::kIdentityWhenSet && set)) return;
    (o.section[0] ? j[o.section][o.name] : j[o.name]) = v;
  });
  return j;
}

nlohmann::json to_json(const RunConfig& c) {
  nlohmann::json j = nlohmann::json::object();
  for_each_option(c, [&](const OptionSpec& o, const auto& field) {
    (o.section[0] ? j[o.section][o.name] : j[o.name]) = json_value(field);
  });
  return j;
}

RunConfig run_config_from_json(const nlohmann::json& j) {
  MEMSCOPE_CHECK(j.is_object(), "config: expected a JSON object, got ", j.type_name());
  RunConfig c;
  for_each_option(c, [&](const OptionSpec& o, auto& field) {
    if (o.scope == Scope::kProcess) return;  // how that process ran, not this one
    const nlohmann::json* parent = &j;
    if (o.section[0]) {
      const auto s = j.find(o.section);
      if (s == j.end()) return;
      MEMSCOPE_CHECK(s->is_object(), "config: '", o.section, "' should be an object, got ", s->type_name());
      parent = &*s;
    }
    const auto v = parent->find(o.name);
    if (v != parent->end()) get_checked(*v, field, o.section[0] ? str(o.section, ".", o.name) : std::string(o.name));
  });
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

namespace {

/// The diffusion options: consistent timesteps, and set only for --model ddpm.
void validate_diffusion(const RunConfig& c) {
  const ModelConfig& m = c.model;
  const int64_t T = m.timesteps;
  const std::vector<int64_t>& lt = c.eval.loss_timesteps;
  if (!m.family.diffusion()) {
    MEMSCOPE_CHECK_KEY(lt.empty(), "loss_timesteps", "applies to --model ddpm only");
    return;
  }
  MEMSCOPE_CHECK_KEY(m.channels.size() <= 4, "channels", "at most 4 levels (images with sides multiples of 8), got ",
                     m.channels.size());
  MEMSCOPE_CHECK_KEY(m.channels[0] % 2 == 0, "channels",
                     "the first level's channels (the time embedding) must be even, got ", m.channels[0]);
  MEMSCOPE_CHECK_KEY(c.eval.elbo_samples <= T, "elbo_samples", "must be <= --timesteps ", T, " (one per stratum), got ",
                     c.eval.elbo_samples);
  for (int64_t t : lt)
    MEMSCOPE_CHECK_KEY(t >= 1 && t <= T, "loss_timesteps", "timesteps must be in [1, --timesteps ", T, "], got ", t);
}

/// The checks that involve more than one option, or more than a range.
void validate_choices(const RunConfig& c) {
  const Binarize b = c.data.binarize;
  const Decoder dec = c.model.decoder;
  const bool vae = c.model.family.vae();
  MEMSCOPE_CHECK_KEY(c.model.family.kind != Family::kMlpVae || dec == Decoder::kBernoulli, "decoder", to_string(dec),
                     ": the MLP VAE has the Bernoulli decoder only; use --model conv-vae");
  if (vae && dec == Decoder::kBernoulli)
    MEMSCOPE_CHECK_KEY(b != Binarize::kNone, "binarize",
                       "none: the Bernoulli VAE needs binary data (sample or threshold)");
  if (vae && dec != Decoder::kBernoulli)
    MEMSCOPE_CHECK_KEY(b == Binarize::kNone || b == Binarize::kAuto, "binarize", to_string(b), ": the ", to_string(dec),
                       " decoder models continuous pixels; use --binarize none");
  const std::vector<int64_t>& dup = c.data.duplicate;
  MEMSCOPE_CHECK_KEY(dup.empty() || (dup.size() == 2 && dup[0] >= 1 && dup[1] >= 2), "duplicate",
                     "expected K,R with K >= 1 examples each appearing R >= 2 times");
  const std::vector<int64_t>& crop = c.data.crop;
  MEMSCOPE_CHECK_KEY(
      crop.empty() || (crop.size() == 4 && crop[0] >= 0 && crop[1] >= 0 && crop[2] > crop[0] && crop[3] > crop[1]),
      "crop", "expected x0,y0,x1,y1 with 0 <= x0 < x1 and 0 <= y0 < y1");
  const bool folder = c.data.source.kind == DataKind::kImages || c.data.source.kind == DataKind::kCelebA;
  MEMSCOPE_CHECK_KEY(folder || (crop.empty() && c.data.resize == 0), crop.empty() ? "resize" : "crop",
                     "applies to images:DIR and celeba:DIR only, not '", to_string(c.data.source), "'");
  if (c.plan.design == Design::kSubsets) {
    const std::vector<int64_t>& blocks = c.plan.subset_blocks;
    int64_t sum = 0;
    for (int64_t b : blocks) sum += b;
    MEMSCOPE_CHECK_KEY(blocks.empty() || sum == c.plan.models, "subset_blocks", "sum to ", sum, ", but models is ",
                       c.plan.models);
    for (int64_t b : blocks.empty() ? std::vector<int64_t>{c.plan.models} : blocks) {
      const double in = std::round(double(b) * c.plan.subset_fraction);
      MEMSCOPE_CHECK_KEY(in >= 1 && in <= double(b - 1), blocks.size() > 1 ? "subset_blocks" : "subset_fraction",
                         c.plan.subset_fraction, " of ", b, " models", blocks.size() > 1 ? " (a block)" : "",
                         " puts every example in ", in, " of them; every example needs in- and out-models");
    }
    MEMSCOPE_CHECK_KEY(c.plan.until_reliability == 0, "until_reliability", "adds repeats of the kfold design only");
  }
  MEMSCOPE_CHECK_KEY(std::isfinite(c.model.ridge), "ridge", "must be >= 0, got ", c.model.ridge);
  const ModelFamily& f = c.model.family;
  MEMSCOPE_CHECK_KEY(f.kind != Family::kKde || (std::isfinite(f.bandwidth) && f.bandwidth > 0), "model",
                     "kde bandwidth H must be > 0, got ", f.bandwidth);
  validate_diffusion(c);
  MEMSCOPE_CHECK_KEY(!c.out.empty(), "out", "must not be empty");
  MEMSCOPE_CHECK_KEY(c.shard_count >= 1 && c.shard_index >= 0 && c.shard_index < c.shard_count, "shard",
                     "expected I/N with 0 <= I < N, got ", c.shard_index, "/", c.shard_count);
  std::optional<torch::Device> device;
  try {
    device = torch::Device(c.device);
  } catch (const c10::Error&) {
    throw ConfigError("device", str("expected cpu, cuda or cuda:N, got '", c.device, "'"));
  }
  MEMSCOPE_CHECK_KEY(device->is_cpu() || (device->is_cuda() && torch::cuda::is_available()), "device", c.device,
                     " is not available (this LibTorch has no CUDA, or no GPU is visible)");
}

}  // namespace

void validate(const RunConfig& c) {
  for_each_option(c, [](const OptionSpec& o, const auto& field) { check_range(o, field); });
  validate_choices(c);
}

RunConfig resolved(RunConfig c) {
  if (c.data.binarize == Binarize::kAuto)
    c.data.binarize =
        c.model.family.vae() && c.model.decoder == Decoder::kBernoulli ? Binarize::kSample : Binarize::kNone;
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
