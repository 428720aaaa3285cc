// libFuzzer target: `memscope run --config FILE` (TOML via toml11, then the flags through CLI11).
#include <CLI/CLI.hpp>

#include "cli.h"
#include "fuzz_input.h"
#include "memscope/core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = memscope::fuzz::input_file(data, size, "toml");
  try {
    std::string shown;
    memscope::cli::parse({"run", "--config", path}, &shown);
  } catch (const memscope::Error&) {
  } catch (const CLI::ParseError&) {  // a value CLI11 rejects (documented by cli::parse)
  }
  return 0;
}
