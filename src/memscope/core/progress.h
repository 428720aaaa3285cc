#pragma once
// Progress of a plan: a two-part bar with ETAs on a terminal, plain log lines otherwise.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "memscope/core/config.h"

namespace memscope {

/// "[#####.....]" with width cells for fraction in [0, 1] (clamped).
std::string render_bar(double fraction, int width);
/// "1h02m", "3m05s", "12s"; "--" when unknown (negative or not finite).
std::string format_duration(double seconds);

/// A tick(done, total) callback for a long search or loop that logs "component: what: done/total
/// unit" at every tenth of the way.
std::function<void(int64_t, int64_t)> progress_lines(const std::string& component, const std::string& what,
                                                     const std::string& unit);

class Progress {
 public:
  enum class Mode { kBar, kLog, kNone };
  /// kAuto is kBar when stderr is a terminal and kLog otherwise; the others as named.
  static Mode mode_for(ProgressMode setting);

  /// total_jobs in the plan, of which done_jobs were finished before this process started.
  Progress(Mode mode, int64_t total_jobs, int64_t done_jobs);
  /// The group at hand holds group_jobs jobs and is group_fraction done; what says what it does.
  void update(int64_t done_jobs, int64_t group_jobs, double group_fraction, const std::string& what);
  /// Ends the bar line (no-op otherwise).
  void finish();
  /// The line update would show, without the bar escape codes (for logs and tests).
  std::string line(int64_t done_jobs, int64_t group_jobs, double group_fraction, const std::string& what,
                   bool bars) const;

 private:
  using Clock = std::chrono::steady_clock;
  Mode mode_;
  int64_t total_, start_done_;
  Clock::time_point start_, group_start_, last_draw_;
  double last_group_fraction_ = 1.0;
  bool drawn_ = false;
};

}  // namespace memscope
