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
#define MEMSCOPE_CHECK(cond, ...)                              \
  do {                                                         \
    if (!(cond)) throw ::memscope::Error(::memscope::str(__VA_ARGS__)); \
  } while (0)
