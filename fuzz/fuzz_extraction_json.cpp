// libFuzzer target: extraction.json (memscope extract's findings), as the report reads it. Beyond
// "memscope::Error or success", a file that parses must survive a round trip: its typed contents,
// written back as JSON and parsed again, are the same.
#include <cstdlib>

#include "fuzz_input.h"
#include "memscope/core/error.h"
#include "memscope/report/report_files.h"

namespace {

nlohmann::json file_json(const memscope::ExtractionFile& x) {
  nlohmann::json models = nlohmann::json::array(), pairs = nlohmann::json::array();
  for (const auto& m : x.models) models.push_back(memscope::to_json(m));
  for (const auto& p : x.pairs) pairs.push_back(memscope::to_json(p));
  return {{"settings", memscope::to_json(x.settings)},
          {"models", models},
          {"overall", memscope::to_json(x.overall)},
          {"pairs", pairs}};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = memscope::fuzz::input_file(data, size, "json");
  try {
    const nlohmann::json once = file_json(memscope::read_extraction_json(path));
    if (file_json(memscope::parse_extraction_json(once, path)) != once) std::abort();
  } catch (const memscope::Error&) {
  }
  return 0;
}
