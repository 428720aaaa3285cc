#pragma once
// The configuration as JSON (config.json and the run's identity), derived from the option table
// (core/options.h), and read back.
#include <nlohmann/json.hpp>

#include "memscope/core/config.h"

namespace memscope {

/// What determines the results of a run's jobs (the options of the identity kind, see
/// core/options.h), as JSON.
nlohmann::json identity_json(const RunConfig& c);
/// The whole resolved configuration as JSON.
nlohmann::json to_json(const RunConfig& c);
/// The configuration to_json wrote (missing keys keep their defaults). Throws memscope::Error
/// naming the key for a value of the wrong type or out of range (never nlohmann's exceptions).
RunConfig run_config_from_json(const nlohmann::json& j);

}  // namespace memscope
