#include "memscope/config/names.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <utility>
#include <vector>

#include "memscope/core/error.h"

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

}  // namespace memscope
