#pragma once
// The report page: one self-contained HTML file (every script, style and image inlined, a Content
// Security Policy that forbids any network request) rendered from a ReportModel.
#include <string>

#include "memscope/report/report_model.h"

namespace memscope {

/// The chart libraries the page inlines (vega, vega-lite and vega-embed, minified).
struct ReportAssets {
  /// vega.min.js, vega-lite.min.js and vega-embed.min.js.
  std::string vega, vega_lite, vega_embed;
};

/// The page of m. Its style and script are web/page.css and web/page.js of the source tree,
/// compiled in. Throws memscope::Error when an asset contains "</script" (it cannot be inlined).
std::string render_html(const ReportModel& m, const ReportAssets& assets);

/// Text with &, <, >, " and ' escaped for HTML.
std::string html_escape(const std::string& s);

}  // namespace memscope
