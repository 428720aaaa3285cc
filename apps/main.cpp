// memscope: the command-line program. Parses arguments into config, calls the library.
#include <CLI/CLI.hpp>
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli.h"
#include "memscope/core/error.h"
#include "memscope/run.h"

namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

int run_command(const memscope::RunConfig& cfg) {
  const memscope::RunOutcome o = memscope::run(cfg);
  double mean = 0;
  for (double m : o.scores.mem) mean += m;
  mean /= double(std::max<size_t>(1, o.scores.mem.size()));
  std::cout << "memscope: " << o.jobs_trained << " jobs trained, " << o.jobs_skipped << " resumed, "
            << o.jobs_diverged << " diverged, in " << o.seconds << " s; mean memorization " << mean << "\n"
            << "scores: " << o.dir << "/scores.csv\n"
            << "raw:    " << o.dir << "/logp.npy, mask.npy, epochs.npy, mem_by_epoch.npy\n"
            << "config: " << o.dir << "/config.json\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("memscope"));
  spdlog::set_pattern("[%H:%M:%S] %v");
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    std::string shown;
    memscope::cli::Command cmd = memscope::cli::parse(args, &shown);
    if (!shown.empty()) {
      std::cout << shown;
      return 0;
    }
    if (cmd.name == "run") return run_command(cmd.run);
    return 2;
  } catch (const CLI::ParseError& e) {
    std::cerr << "memscope: error: " << first_line(e.what()) << " (see memscope --help)\n";
    return 2;
  } catch (const memscope::Error& e) {
    std::cerr << "memscope: error: " << e.what() << "\n";
    return 1;
  } catch (const c10::Error& e) {
    std::cerr << "memscope: error: " << first_line(e.what_without_backtrace()) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "memscope: error: " << first_line(e.what()) << "\n";
    return 1;
  }
}
