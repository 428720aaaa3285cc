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

bool has_path(DataKind k) { return k != DataKind::kFashionMnist && k != DataKind::kMnistDigits; }

}  // namespace

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
