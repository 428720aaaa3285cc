#include "memscope/config/config_json.h"

#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "memscope/config/names.h"
#include "memscope/core/error.h"
#include "memscope/core/options.h"

namespace memscope {

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
      if constexpr (is_choice_v<T>) field = parse_choice<T>(text, name);
      if constexpr (std::is_same_v<T, ModelFamily>) field = parse_model_family(text, name);
      if constexpr (std::is_same_v<T, DataSource>) field = parse_data_source(text, name);
    } catch (const ConfigError& e) {
      throw Error(str("config: ", e.what()));
    }
  }
}

}  // namespace

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

}  // namespace memscope
