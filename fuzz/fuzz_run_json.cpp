// libFuzzer target: the JSON files of a run directory, read back by a resumed run, `train --run`
// and `score`: config.json (read_json + run_config_from_json, as load_run_config does) and a job's
// result.json (its key, as RunDir::job_done reads it).
#include "fuzz_input.h"
#include "memscope/core/error.h"
#include "memscope/io/atomic.h"
#include "memscope/pipeline/run_config_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = memscope::fuzz::input_file(data, size, "json");
  try {
    memscope::read_run_config_file(path);
  } catch (const memscope::Error&) {
  }
  try {
    const nlohmann::json result = memscope::read_json_object(path);
    memscope::json_string(result, "key", path);
  } catch (const memscope::Error&) {
  }
  return 0;
}
