#pragma once
// Command line of the memscope program: flags (and a TOML file of the same keys) into config.
#include <string>
#include <vector>

#include "memscope/core/config.h"
#include "memscope/pipeline/extract.h"
#include "memscope/pipeline/report_run.h"
#include "memscope/score/null_bank.h"

namespace memscope::cli {

enum class Subcommand { kNone, kRun, kTrain, kScore, kReport, kExtract, kExact, kBench, kNullBank, kPlan };

struct Command {
  /// kNone when only --help or --version was asked.
  Subcommand command = Subcommand::kNone;
  RunConfig run;
  /// bench: where to write the figures as JSON.
  std::string json_out;
  /// report (and run, which ends with a report).
  ReportConfig report;
  ExtractConfig extract;
  /// train --run, score --run: an existing run directory.
  std::string run_dir;
  /// extract: skip rewriting the report.
  bool no_report = false;
  /// exact: a run directory to compare with.
  std::string compare_dir;
  /// score --bank: an external bank's directory, and where its results go (empty: the bank).
  std::string bank_dir, bank_out;
  /// score: --lira-variance or --rmia-gamma given (they then override a run's stored settings).
  bool membership_set = false;
  /// score: --fdr or --null-draws given (they then override a run's stored settings).
  bool analysis_set = false;
  /// null-bank: the design (cmd.run.plan, cmd.run.seed), N, an optional mask file, and the noise.
  int64_t null_n = 2000;
  std::string null_mask;
  NullBankConfig null_bank;
  /// plan: where its files go, and N (0: the examples of cmd.run.data).
  std::string plan_out;
  int64_t plan_n = 0;
  /// run --budget: the compute to spend ("10m"; empty: none), and the reliability of M to reach (0: none).
  std::string budget;
  double target_reliability = 0;
};

/// Parses the arguments (without the program name). Keys of a TOML file given by --config FILE
/// become flags placed before the command line's own, so flags override the file. Throws
/// memscope::Error on a bad file and CLI::ParseError on bad flags (including --help).
Command parse(const std::vector<std::string>& args, std::string* help_or_version);

/// The fmnist-6k workload of the benchmark: Fashion-MNIST's first 6,000 images, 5 folds x 1
/// repeat, 5 epochs, 256 importance samples, paper defaults otherwise.
RunConfig fmnist_6k();

/// The flags a TOML config file stands for: key = value -> --key value (arrays comma-joined,
/// true -> --key, false -> --key=false). Throws memscope::Error naming the file and key.
std::vector<std::string> toml_to_flags(const std::string& path);

}  // namespace memscope::cli
