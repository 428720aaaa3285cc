#include "memscope/pipeline/run_config_file.h"

#include <nlohmann/json.hpp>

#include "memscope/config/config_json.h"
#include "memscope/core/error.h"
#include "memscope/io/atomic.h"

namespace memscope {

RunConfig read_run_config_file(const std::string& path) {
  const nlohmann::json doc = read_json_object(path);
  try {
    return run_config_from_json(doc.value("config", nlohmann::json::object()));
  } catch (const Error& e) {
    throw Error(str(path, ": ", e.what()));
  }
}

}  // namespace memscope
