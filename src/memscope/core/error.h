#pragma once
// memscope::Error and MEMSCOPE_CHECK: every user-facing failure is one of these, with a message that
// names the component and the offending value.
#include <sstream>
#include <stdexcept>
#include <string>

namespace memscope {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

/// A bad configuration value: what() is "KEY: problem", KEY being the configuration key (as in a
/// TOML file: "iw_samples"). The program shows it under the flag's name ("--iw-samples: ...").
class ConfigError : public Error {
 public:
  ConfigError(const std::string& key, const std::string& problem) : Error(key + ": " + problem), key_(key) {}
  const std::string& key() const { return key_; }

 private:
  std::string key_;
};

namespace detail {
inline void append(std::ostringstream&) {}
template <typename T, typename... Rest>
void append(std::ostringstream& os, const T& first, const Rest&... rest) {
  os << first;
  append(os, rest...);
}
}  // namespace detail

/// Concatenates the arguments (streamed) into one message.
template <typename... Args>
std::string str(const Args&... args) {
  std::ostringstream os;
  detail::append(os, args...);
  return os.str();
}

}  // namespace memscope

/// Throws memscope::Error with the concatenated message when cond is false.
#define MEMSCOPE_CHECK(cond, ...)                                       \
  do {                                                                  \
    if (!(cond)) throw ::memscope::Error(::memscope::str(__VA_ARGS__)); \
  } while (0)

/// Throws ConfigError(key, message) when cond is false.
#define MEMSCOPE_CHECK_KEY(cond, key, ...)                                           \
  do {                                                                               \
    if (!(cond)) throw ::memscope::ConfigError((key), ::memscope::str(__VA_ARGS__)); \
  } while (0)
