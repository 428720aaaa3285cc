#pragma once
// A run directory's config.json read back as the configuration it stores.
#include <string>

#include "memscope/core/config.h"

namespace memscope {

/// The configuration stored in a run's config.json (its "config" section); throws memscope::Error
/// naming path when the file is not JSON, not an object, or holds a malformed configuration.
RunConfig read_run_config_file(const std::string& path);

}  // namespace memscope
