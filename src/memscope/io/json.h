#pragma once
// Numbers in JSON (JSON has no NaN or infinity: a figure that is not finite is written as null and read
// back as NaN), and the typed reading of the files memscope writes.
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "memscope/core/error.h"

namespace memscope {

/// v as JSON; null when v is not finite.
inline nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

/// A JSON value as a number; fallback when it is not one (null, a string, missing).
inline double number_or(const nlohmann::json& j, double fallback = NAN) {
  return j.is_number() ? j.get<double>() : fallback;
}

/// The fields of one JSON object of a file, each checked for its type; errors name the file and
/// the field's place in it ("extraction.json: models[2].ct should be a number or null, got string").
class JsonFields {
 public:
  JsonFields(const nlohmann::json& obj, std::string path, std::string where)
      : path_(std::move(path)), where_(std::move(where)) {
    MEMSCOPE_CHECK(obj.is_object(), path_, ": ", where_.empty() ? "the file" : where_, " should be a JSON object, got ",
                   obj.type_name());
    obj_ = &obj;
  }

  const nlohmann::json& at(const char* key) const {
    const auto it = obj_->find(key);
    MEMSCOPE_CHECK(it != obj_->end(), path_, ": ", place(key), " is missing");
    return *it;
  }
  bool has(const char* key) const { return obj_->contains(key); }
  std::string place(const char* key) const { return where_.empty() ? key : where_ + "." + key; }
  const std::string& path() const { return path_; }

  int64_t integer(const char* key) const { return as_integer(at(key), key); }
  double real(const char* key) const {
    const nlohmann::json& v = at(key);
    if (v.is_null()) return NAN;
    MEMSCOPE_CHECK(v.is_number(), path_, ": ", place(key), " should be a number or null, got ", v.type_name());
    return v.get<double>();
  }
  bool boolean(const char* key) const {
    const nlohmann::json& v = at(key);
    MEMSCOPE_CHECK(v.is_boolean(), path_, ": ", place(key), " should be true or false, got ", v.type_name());
    return v.get<bool>();
  }
  std::string string(const char* key) const {
    const nlohmann::json& v = at(key);
    MEMSCOPE_CHECK(v.is_string(), path_, ": ", place(key), " should be a string, got ", v.type_name());
    return v.get<std::string>();
  }
  std::optional<std::string> optional_string(const char* key) const {
    if (!has(key)) return std::nullopt;
    return string(key);
  }
  std::vector<int64_t> integers(const char* key) const {
    const nlohmann::json& v = array(key);
    std::vector<int64_t> out;
    for (size_t i = 0; i < v.size(); ++i) out.push_back(as_integer(v[i], key, i));
    return out;
  }
  /// An array of numbers, null read as NaN.
  std::vector<double> reals(const char* key) const {
    const nlohmann::json& a = array(key);
    std::vector<double> out;
    for (size_t i = 0; i < a.size(); ++i) {
      MEMSCOPE_CHECK(a[i].is_number() || a[i].is_null(), path_, ": ", place(key), "[", i,
                     "] should be a number or null, got ", a[i].type_name());
      out.push_back(number_or(a[i]));
    }
    return out;
  }
  const nlohmann::json& array(const char* key) const {
    const nlohmann::json& v = at(key);
    MEMSCOPE_CHECK(v.is_array(), path_, ": ", place(key), " should be an array, got ", v.type_name());
    return v;
  }
  JsonFields object(const char* key) const { return JsonFields(at(key), path_, place(key)); }
  JsonFields element(const char* key, size_t i) const {
    return JsonFields(array(key)[i], path_, place(key) + "[" + std::to_string(i) + "]");
  }

 private:
  int64_t as_integer(const nlohmann::json& v, const char* key, std::optional<size_t> i = std::nullopt) const {
    const std::string where = place(key) + (i ? "[" + std::to_string(*i) + "]" : "");
    MEMSCOPE_CHECK(v.is_number_integer(), path_, ": ", where, " should be an integer, got ",
                   v.is_number() ? "a floating-point number" : v.type_name());
    MEMSCOPE_CHECK(!v.is_number_unsigned() || v.get<uint64_t>() <= uint64_t(std::numeric_limits<int64_t>::max()), path_,
                   ": ", where, " is out of range (", v.dump(), ")");
    return v.get<int64_t>();
  }

  const nlohmann::json* obj_ = nullptr;
  std::string path_, where_;
};

}  // namespace memscope
