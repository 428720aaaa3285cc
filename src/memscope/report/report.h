#pragma once
// The self-contained HTML report of a run, and summary.json with every number it shows.
#include <string>

#include <nlohmann/json.hpp>

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
  /// Progress lines ("auto", "log", "bar", "none").
  std::string progress = "auto";
};

/// Writes run_dir/report.html (one file, every script, style and image inlined, a Content
/// Security Policy that forbids any network request) and run_dir/summary.json. Returns the summary.
nlohmann::json write_report(const ReportConfig& c);

/// $MEMSCOPE_ASSETS, or report/node_modules of the source tree memscope was built from.
std::string default_asset_dir();

/// Text with &, <, >, " and ' escaped for HTML.
std::string html_escape(const std::string& s);

}  // namespace memscope
