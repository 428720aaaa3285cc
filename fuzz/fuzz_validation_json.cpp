// libFuzzer target: validation.json (memscope exact --compare's agreement with exact values), as
// the report reads it. A file that parses must survive a round trip through its typed contents.
#include <cstdlib>

#include "fuzz_input.h"
#include "memscope/core/error.h"
#include "memscope/report/report_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = memscope::fuzz::input_file(data, size, "json");
  try {
    const nlohmann::json once = memscope::to_json(memscope::read_validation_json(path));
    if (memscope::to_json(memscope::parse_validation_json(once, path)) != once) std::abort();
  } catch (const memscope::Error&) {
  }
  return 0;
}
