#include "memscope/core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace memscope {

std::string render_bar(double fraction, int width) {
  if (!std::isfinite(fraction)) fraction = 0;
  const int full = static_cast<int>(std::clamp(fraction, 0.0, 1.0) * width + 1e-9);
  return "[" + std::string(full, '#') + std::string(width - full, '.') + "]";
}

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "--";
  const int64_t t = static_cast<int64_t>(std::llround(s));
  if (t >= 3600) return fmt::format("{}h{:02d}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02d}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

std::function<void(int64_t, int64_t)> progress_lines(const std::string& component, const std::string& what,
                                                     const std::string& unit) {
  auto last = std::make_shared<int64_t>(-1);
  return [=](int64_t done, int64_t total) {
    const int64_t tenth = 10 * done / std::max<int64_t>(1, total);
    if (tenth != *last) spdlog::info("{}: {}: {}/{} {}", component, what, done, total, unit);
    *last = tenth;
  };
}

Progress::Mode Progress::mode_for(ProgressMode setting) {
  switch (setting) {
    case ProgressMode::kBar: return Mode::kBar;
    case ProgressMode::kLog: return Mode::kLog;
    case ProgressMode::kNone: return Mode::kNone;
    case ProgressMode::kAuto: break;
  }
  return ::isatty(STDERR_FILENO) ? Mode::kBar : Mode::kLog;
}

Progress::Progress(Mode mode, int64_t total_jobs, int64_t done_jobs)
    : mode_(mode),
      total_(std::max<int64_t>(1, total_jobs)),
      start_done_(done_jobs),
      start_(Clock::now()),
      group_start_(start_),
      last_draw_(start_) {}

std::string Progress::line(int64_t done_jobs, int64_t group_jobs, double gf, const std::string& what, bool bars) const {
  const double now = std::chrono::duration<double>(Clock::now() - start_).count();
  const double in_group = std::chrono::duration<double>(Clock::now() - group_start_).count();
  const double plan_f = (done_jobs + group_jobs * gf) / double(total_);
  const double start_f = start_done_ / double(total_);
  const double plan_eta = plan_f > start_f ? now * (1 - plan_f) / (plan_f - start_f) : -1;
  const double group_eta = gf > 0 ? in_group * (1 - gf) / gf : -1;
  return fmt::format("plan {}{:3.0f}% {}/{} jobs ETA {} | group of {} {}{:3.0f}% ETA {} {}",
                     bars ? render_bar(plan_f, 20) + " " : "", 100 * plan_f, done_jobs, total_,
                     format_duration(plan_eta), group_jobs, bars ? render_bar(gf, 20) + " " : "", 100 * gf,
                     format_duration(group_eta), what);
}

void Progress::update(int64_t done_jobs, int64_t group_jobs, double gf, const std::string& what) {
  if (mode_ == Mode::kNone) return;
  const auto now = Clock::now();
  if (gf < last_group_fraction_) group_start_ = now;  // a new group began
  last_group_fraction_ = gf;
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (mode_ == Mode::kBar) {
    if (since < 0.2 && drawn_ && gf < 1) return;
    std::fprintf(stderr, "\r\033[K%s", line(done_jobs, group_jobs, gf, what, true).c_str());
    std::fflush(stderr);
    drawn_ = true;
  } else {
    if (since < 10 && gf < 1) return;
    spdlog::info("progress: {}", line(done_jobs, group_jobs, gf, what, false));
  }
  last_draw_ = now;
}

void Progress::finish() {
  if (mode_ == Mode::kBar && drawn_) std::fprintf(stderr, "\n");
  drawn_ = false;
}

}  // namespace memscope
