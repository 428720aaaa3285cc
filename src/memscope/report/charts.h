#pragma once
// The report's charts: a Vega-Lite spec per chart of the page, from the report model (no HTML).
#include <cstddef>

#include <nlohmann/json.hpp>

#include "memscope/report/report_model.h"

namespace memscope {

/// How many epochs were evaluated (one: nothing to chart over training).
size_t epochs_evaluated(const ReportModel& m);

/// Every chart of the page by the id of its element ("chart-hist": spec, ...); a chart the model has no data
/// for is left out.
nlohmann::json chart_specs(const ReportModel& m);

}  // namespace memscope
