#pragma once
// summary.json: every number the report shows, for scripts.
#include <nlohmann/json.hpp>

#include "memscope/report/report_model.h"

namespace memscope {

/// memscope_version; run (dir, data, n, shape, config, torch_version, jobs, failed_jobs,
/// models_lost, seconds); scores (the analysis); top (the grid's examples); nn_ratio (or null);
/// high_mem_central90_share, spearman_mem_logp_in, spearman_mem_logp_out; and, when the run has
/// them, validation (validation.json) and extraction (extraction.json's settings, overall, models).
nlohmann::json summary_json(const ReportModel& m);

}  // namespace memscope
