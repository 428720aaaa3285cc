#pragma once
// memscope report: reads a finished run directory, builds its report (report/report_model) and
// writes report.html and summary.json into it.
#include <cstdint>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "memscope/core/options.h"

namespace memscope {

struct ReportConfig {
  /// The run directory to report on (written by memscope run).
  std::string run_dir;
  /// "Highly memorized": M above this quantile of M.
  double high_quantile = 0.95;
  /// Examples in the top and bottom image grids, and with neighbours shown.
  int64_t grid = 16;
  /// Rows of the searchable table and points of the scatter plot (the most memorized first,
  /// then an even spread of the rest).
  int64_t max_rows = 5000;
  /// Where vega, vega-lite and vega-embed are (their node_modules folder; empty: default_asset_dir()).
  std::string asset_dir;
};

/// The option table of the report's settings that run and report take (core/options.h): visit(spec, field),
/// c may be const. write_report checks the ranges; apps/cli.cpp derives the flags.
template <typename Config, typename Visit>
void for_each_report_option(Config& c, Visit&& visit) {
  visit(command_option("high_quantile", "the paper's \"highly memorized\" (its Figure 3 only): M above this quantile",
                       {0, 1, true, true}),
        c.high_quantile);
}

/// Writes run_dir/report.html (one file, every script, style and image inlined, a Content
/// Security Policy that forbids any network request) and run_dir/summary.json, each atomically.
/// Reads the run, its extraction.json and validation.json when present (throwing memscope::Error
/// naming the file when one is malformed), and samples job 0's model for the nearest-neighbour
/// ratio when it has saved weights and can sample. Returns the summary.
nlohmann::json write_report(const ReportConfig& c);

struct ReportModel;

/// The page of a built report (report/html.h) with vega, vega-lite and vega-embed from asset_dir (empty:
/// default_asset_dir()), and its summary.json text; throws memscope::Error naming a missing asset. Writes nothing.
std::pair<std::string, std::string> render_report(const ReportModel& m, const std::string& asset_dir);

/// $MEMSCOPE_ASSETS, or web/node_modules of the source tree memscope was built from.
std::string default_asset_dir();

}  // namespace memscope
