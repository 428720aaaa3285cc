#pragma once
// The text forms of the configuration's typed choices (as in flags, TOML and config.json) and their
// parsers: text becomes an enum here, once, at the boundary. A parser throws ConfigError naming the
// key and listing the accepted forms.
//
// A new typed choice is its enum (core/config.h) and one Choice<E> below: to_string, parse_choice, the
// flag, the TOML key and config.json follow for every enum that has one.
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "memscope/core/config.h"
#include "memscope/core/error.h"

namespace memscope {

/// The texts of an enum's values, and the option's key (named in errors when no other key is given).
template <typename E>
struct Choice;

template <typename E>
using ChoiceNames = std::vector<std::pair<E, const char*>>;

template <>
struct Choice<Binarize> {
  static constexpr const char* key = "binarize";
  static inline const ChoiceNames<Binarize> names = {{Binarize::kSample, "sample"},
                                                     {Binarize::kThreshold, "threshold"},
                                                     {Binarize::kNone, "none"},
                                                     {Binarize::kAuto, "auto"}};
};
template <>
struct Choice<Decoder> {
  static constexpr const char* key = "decoder";
  static inline const ChoiceNames<Decoder> names = {{Decoder::kBernoulli, "bernoulli"},
                                                    {Decoder::kLogitGaussian, "logit-gaussian"},
                                                    {Decoder::kGaussian, "gaussian"}};
};
template <>
struct Choice<ProgressMode> {
  static constexpr const char* key = "progress";
  static inline const ChoiceNames<ProgressMode> names = {{ProgressMode::kAuto, "auto"},
                                                         {ProgressMode::kBar, "bar"},
                                                         {ProgressMode::kLog, "log"},
                                                         {ProgressMode::kNone, "none"}};
};
template <>
struct Choice<Design> {
  static constexpr const char* key = "design";
  static inline const ChoiceNames<Design> names = {{Design::kKfold, "kfold"}, {Design::kSubsets, "subsets"}};
};
template <>
struct Choice<LiraVariance> {
  static constexpr const char* key = "lira_variance";
  static inline const ChoiceNames<LiraVariance> names = {{LiraVariance::kPerExample, "per-example"},
                                                         {LiraVariance::kGlobal, "global"}};
};
template <>
struct Choice<Direction> {
  static constexpr const char* key = "direction";
  static inline const ChoiceNames<Direction> names = {{Direction::kHigher, "higher"}, {Direction::kLower, "lower"}};
};
template <>
struct Choice<Schedule> {
  static constexpr const char* key = "schedule";
  static inline const ChoiceNames<Schedule> names = {{Schedule::kLinear, "linear"}, {Schedule::kCosine, "cosine"}};
};
template <>
struct Choice<Sampler> {
  static constexpr const char* key = "sampler";
  static inline const ChoiceNames<Sampler> names = {{Sampler::kDdpm, "ddpm"}, {Sampler::kDdim, "ddim"}};
};
template <>
struct Choice<Draw> {
  static constexpr const char* key = "draw";
  static inline const ChoiceNames<Draw> names = {{Draw::kMean, "mean"}, {Draw::kBernoulli, "bernoulli"}};
};

/// Whether E is a typed choice (has a Choice<E>).
template <typename E, typename = void>
struct is_choice : std::false_type {};
template <typename E>
struct is_choice<E, std::void_t<decltype(Choice<E>::names)>> : std::true_type {};
template <typename E>
inline constexpr bool is_choice_v = is_choice<E>::value;

/// "a, b or c": the texts of E.
template <typename E>
std::string choice_listing() {
  const ChoiceNames<E>& names = Choice<E>::names;
  std::string s;
  for (size_t k = 0; k < names.size(); ++k)
    s += str(k == 0 ? "" : k + 1 == names.size() ? " or " : ", ", names[k].second);
  return s;
}

/// The text of a typed choice.
template <typename E, std::enable_if_t<is_choice_v<E>, int> = 0>
std::string to_string(E e) {
  for (const auto& [v, n] : Choice<E>::names)
    if (v == e) return n;
  return "?";
}

/// The typed choice of a text; throws ConfigError naming key and listing the accepted texts.
template <typename E>
E parse_choice(const std::string& text, const std::string& key = Choice<E>::key) {
  for (const auto& [v, n] : Choice<E>::names)
    if (text == n) return v;
  throw ConfigError(key, str("expected ", choice_listing<E>(), ", got '", text, "'"));
}

// The choices with a structure of their own: a model family with its parameter (ppca:Q, kde:H) and a
// data source with its path.
std::string to_string(const DataSource& s);
std::string to_string(const ModelFamily& f);
DataSource parse_data_source(const std::string& text, const std::string& key = "data");
ModelFamily parse_model_family(const std::string& text, const std::string& key = "model");

}  // namespace memscope
