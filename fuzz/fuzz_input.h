#pragma once
// Shared by the libFuzzer targets: memscope's readers take paths, so each input is written to a
// per-process temporary file first. A target catches memscope::Error (the documented failure of
// every reader) and nothing else: any other exception escaping is a bug that libFuzzer reports.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace memscope::fuzz {

/// Writes data to $TMPDIR/memscope-fuzz-PID.SUFFIX (the same file for every input) and returns its path.
inline const std::string& input_file(const uint8_t* data, size_t size, const char* suffix) {
  static const std::string path = [&] {
    const char* tmp = std::getenv("TMPDIR");
    return std::string(tmp && *tmp ? tmp : "/tmp") + "/memscope-fuzz-" + std::to_string(::getpid()) + "." + suffix;
  }();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || (size && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) std::abort();
  return path;
}

}  // namespace memscope::fuzz
