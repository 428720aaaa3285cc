// memscope: the command-line program. Parses arguments into config, calls the library.
#include <CLI/CLI.hpp>
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <fmt/format.h>
#include <malloc.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <optional>

#include "cli.h"
#include "memscope/bench/bench.h"
#include "memscope/config/names.h"
#include "memscope/core/cluster.h"
#include "memscope/core/error.h"
#include "memscope/core/options.h"
#include "memscope/io/atomic.h"
#include "memscope/io/json.h"
#include "memscope/pipeline/bank.h"
#include "memscope/pipeline/budget.h"
#include "memscope/pipeline/exact.h"
#include "memscope/pipeline/finished_run.h"
#include "memscope/pipeline/plan_files.h"
#include "memscope/pipeline/run.h"
#include "memscope/pipeline/run_layout.h"
#include "memscope/plan/plan.h"

namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::string missing_line(const memscope::RunOutcome& o) {
  std::string ids;
  for (size_t k = 0; k < o.missing.size() && k < 20; ++k) ids += (k ? "," : "") + std::to_string(o.missing[k]);
  if (o.missing.size() > 20) ids += ",...";
  return std::to_string(o.missing.size()) + " of " + std::to_string(o.jobs_total) + " jobs not finished (" + ids + ")";
}

/// One line per membership attack: AUC (mean +- sd over targets) and the pooled TPR at 1% and 0.1% FPR, each
/// beside what the permutation null gives; or why the attack has no figures.
std::string membership_lines(const memscope::MembershipResult& r) {
  using memscope::above_null;
  auto beside = [](double real, const memscope::Spread& null) {
    if (!std::isfinite(real)) return std::string("n/a");
    if (null.targets == 0) return fmt::format("{:.4f}", real);
    return fmt::format("{:.4f} (noise {:.4f}{})", real, null.mean, above_null(real, null) ? "" : ", not above noise");
  };
  const int64_t draws = r.attacks.empty() ? 0 : r.attacks[0].null.draws;
  std::string text = fmt::format("membership ({} models as targets; AUC: mean over targets, TPR: pooled{}):\n",
                                 r.models, draws > 0 ? fmt::format("; noise: {} permutations", draws) : "");
  for (const memscope::AttackResult& a : r.attacks) {
    if (!a.unavailable.empty()) {
      text += fmt::format("  {:<13} not measured: {}\n", memscope::to_string(a.attack), a.unavailable);
      continue;
    }
    text += fmt::format("  {:<13} AUC {}  TPR@1% {}  TPR@0.1% {}\n", memscope::to_string(a.attack),
                        beside(a.auc.mean, a.null.auc), beside(a.pooled_tpr[1], a.null.tpr[1]),
                        beside(a.pooled_tpr[2], a.null.tpr[2]));
  }
  return text;
}

/// The memorized examples: discoveries at the FDR, beside what the permutation null gives; mean M and the
/// paper's plug-in.
std::string memorized_line(const memscope::Scores& s, const memscope::MembershipResult& r) {
  double mean = 0, plugin = 0, n = 0;
  for (size_t i = 0; i < s.mem.size(); ++i)
    if (std::isfinite(s.mem[i])) mean += s.mem[i], plugin += s.mem_plugin[i], n += 1;
  std::string line =
      s.difference ? fmt::format(
                         "M is not defined (the statistic is not a log-likelihood); mean in-minus-out difference {:.3f}"
                         "\nsignificant difference (> 0 at FDR {}): {} of {} examples",
                         mean / n, r.fdr, memscope::discoveries(s, r.fdr), s.mem.size())
                   : fmt::format(
                         "mean memorization M {:.3f} nats (the paper's plug-in {:.3f})\nmemorized (M > 0 at FDR {}): "
                         "{} of {} examples",
                         mean / n, plugin / n, r.fdr, memscope::discoveries(s, r.fdr), s.mem.size());
  if (r.mem_null.draws > 0)
    line += fmt::format(" (noise alone: {:.1f} on average, any in {:.0f}% of {} permutations)",
                        r.mem_null.discoveries.mean, 100 * r.mem_null.any_discovery, r.mem_null.draws);
  return line + "\n";
}

/// How many of the memorized examples a second seed would find again, when the run can tell ("" otherwise).
std::string replication_line(const memscope::RunOutcome& o, double fdr) {
  if (!o.reliability || o.scores.difference) return "";
  const double share = memscope::predicted_replication(o.scores, o.reliability->mem.whole_run, fdr);
  return std::isfinite(share) ? fmt::format(
                                    "a second run with another seed would find about {:.0f}% of them again "
                                    "(predicted from the reliability of M)\n",
                                    100 * share)
                              : "";
}

/// After run or score: the scores and the report, or what is missing.
int finish(const memscope::RunOutcome& o, memscope::ReportConfig report) {
  if (memscope::cluster::rank() != 0) {  // rank 0 writes the scores and the report
    std::cout << "memscope: rank " << memscope::cluster::rank() << ": " << o.jobs_trained << " jobs trained\n";
    return 0;
  }
  if (!o.missing.empty() && o.scores.mem.empty()) {
    std::cout << "memscope: " << o.jobs_trained << " jobs trained here; " << missing_line(o) << "\n"
              << "when all have finished: build/memscope score --run " << o.dir << "\n";
    return 0;
  }
  report.run_dir = o.dir;
  const memscope::RunLayout files(o.dir);
  std::string report_line;
  try {
    memscope::write_report(report);
    report_line = "report: " + files.report() + " (numbers in summary.json)\n";
  } catch (const std::exception& e) {
    report_line = std::string("report: not written: ") + first_line(e.what()) + "\n";
  }
  const memscope::ModelsLost lost = memscope::models_lost(o.scores, o.jobs_total);
  std::cout << "memscope: " << o.jobs_trained << " jobs trained, " << o.jobs_skipped << " resumed, " << o.jobs_diverged
            << " diverged, in " << o.seconds << " s\n"
            << (o.membership ? memorized_line(o.scores, *o.membership) + replication_line(o, o.membership->fdr) : "")
            << (o.missing.empty() ? "" : "partial scores: " + missing_line(o) + "\n")
            << (lost.examples == 0 ? ""
                                   : fmt::format("{} examples rest on fewer models (at most {} of {} lost to diverged "
                                                 "or missing jobs; see n_in, n_out)\n",
                                                 lost.examples, lost.most, o.jobs_total))
            << (o.membership ? membership_lines(*o.membership) : "") << "scores: " << files.scores() << "\n"
            << "membership: " << files.membership() << "\n"
            << "raw:    logp.npy, mask.npy, epochs.npy, mem_by_epoch.npy in " << o.dir << "\n"
            << "config: " << files.config() << "\n"
            << report_line
            << (o.reliability ? memscope::reliability_sentence(*o.reliability)
                              : memscope::unmeasured_reliability_sentence())
            << "\n";
  return 0;
}

/// score --bank: an external bank's scores and membership tests.
int bank_command(const memscope::cli::Command& cmd) {
  const memscope::BankOutcome o =
      memscope::score_bank(cmd.bank_dir, cmd.bank_out, cmd.run.membership, cmd.run.analysis);
  const memscope::RunLayout files(o.out);
  std::cout << "memscope: bank of " << o.examples << " examples x " << o.models << " models (" << o.layout
            << " layout; statistic " << o.statistic << ", " << memscope::to_string(o.direction) << " for a member"
            << (o.plan_checked ? "; mask matches its plan" : "") << ") scored in " << o.seconds << " s\n"
            << memorized_line(o.scores, o.membership) << membership_lines(o.membership)
            << (o.reliability ? memscope::reliability_sentence(*o.reliability)
                              : memscope::unmeasured_reliability_sentence())
            << "\nscores: " << files.scores() << "\n"
            << "membership: " << files.membership() << "\n"
            << (o.report_error.empty() ? "report: " + files.report() + " (numbers in summary.json)\n"
                                       : "report: not written: " + first_line(o.report_error) + "\n");
  return 0;
}

int bench_command(memscope::RunConfig cfg, const std::string& json_out) {
  namespace fs = std::filesystem;
  const bool temporary = cfg.out.empty();
  if (temporary) {
    std::string tmpl = (fs::temp_directory_path() / "memscope-bench-XXXXXX").string();
    MEMSCOPE_CHECK(::mkdtemp(tmpl.data()) != nullptr, "bench: cannot create a temporary directory");
    cfg.out = tmpl;
  } else {
    MEMSCOPE_CHECK(!fs::exists(memscope::RunLayout(cfg.out).config()), "--out: ", cfg.out,
                   " already holds a run; a benchmark needs a fresh directory");
  }
  memscope::BenchReport r = memscope::run_bench(cfg);
  r.reference_workload = memscope::same_workload(cfg, memscope::cli::fmnist_6k());
  const nlohmann::json j = r.to_json(cfg);
  auto line = [&](const char* phase, const char* key) {
    fmt::print("{:<9}{:7.1f} s {:7.2f} TFLOP {:7.1f} GFLOP/s ({:.0f}% of peak)\n", phase,
               j["seconds"][key].get<double>(), j["matmul_tflop"][key].get<double>(), j["gflops"][key].get<double>(),
               100 * j["fraction_of_peak"][key].get<double>());
  };
  fmt::print("workload: {}, {} examples, {} folds x {} repeats, {} epochs, S = {}, {} threads\n",
             memscope::to_string(cfg.model.family), cfg.data.limit, cfg.plan.folds, cfg.plan.repeats, cfg.train.epochs,
             memscope::eval_samples(cfg.model, cfg.eval) > 0
                 ? std::to_string(memscope::eval_samples(cfg.model, cfg.eval))
                 : "auto",
             r.threads);
  if (r.reference_workload)
    fmt::print("total    {:7.1f} s   ({:.2f}x the paper's code, {} s)\n", r.total_seconds,
               j["speedup_vs_reference"].get<double>(), memscope::kReferenceSeconds);
  else
    fmt::print("total    {:7.1f} s   (not the fmnist-6k workload: no reference time)\n", r.total_seconds);
  line("train", "train");
  fmt::print("         {:.0f} training examples x steps per second over all models\n",
             j["train_examples_per_second"].get<double>());
  line("evaluate", "evaluate");
  fmt::print("sgemm peak {:.1f} GFLOP/s (float32, same process); peak RSS {:.0f} MiB; mean M {:.3f}\n", r.peak_gflops,
             r.peak_rss_kb / 1024.0, r.mean_mem);
  const std::string json_path = !json_out.empty() ? json_out : (temporary ? "" : memscope::RunLayout(cfg.out).bench());
  if (!json_path.empty()) {
    memscope::write_atomic(json_path, j.dump(2) + "\n");
    fmt::print("figures: {}\n", json_path);
  }
  if (temporary) fs::remove_all(cfg.out);
  return 0;
}

/// train: a shard of the plan, from options or from a run directory's configuration.
int train_command(const memscope::cli::Command& cmd) {
  memscope::RunConfig cfg = cmd.run;
  if (!cmd.run_dir.empty()) {  // the run directory's configuration; only how-to-run settings from flags
    memscope::RunConfig stored = memscope::load_run_config(cmd.run_dir);
    stored.threads = cfg.threads;
    stored.progress = cfg.progress;
    stored.device = cfg.device;
    stored.shard_index = cfg.shard_index;
    stored.shard_count = cfg.shard_count;
    cfg = stored;
  }
  const memscope::RunOutcome o = memscope::run(cfg);
  std::cout << "memscope: shard " << cfg.shard_index << "/" << cfg.shard_count << ": " << o.jobs_trained
            << " jobs trained; " << (o.missing.empty() ? "all jobs finished" : missing_line(o)) << "\n"
            << "scores: build/memscope score --run " << o.dir << "\n";
  return 0;
}

/// A plan and its prediction, in one line.
std::string plan_text(const memscope::PlanPrediction& p, int64_t folds) {
  return fmt::format(
      "{} folds x {} repeats at {} importance samples: reliability of M {:.2f} ({:.2f} to {:.2f}; mem_log {:.2f}), "
      "{:.0f} s",
      folds, p.repeats, p.samples, p.mem, p.mem_lo, p.mem_hi, p.mem_log, p.seconds);
}

/// run --budget: the pilot, the proposal, the run, and the prediction beside what the run measured.
int budget_command(const memscope::cli::Command& cmd) {
  using memscope::PlanPrediction;
  const double budget = memscope::parse_budget(cmd.budget);
  // The pilot runs in the run's own directory, so that a plan at its samples keeps its models; a plan at other
  // samples sets it aside in OUT-pilot first (where a later call finds it again).
  const std::string aside = cmd.run.out + "-pilot";
  std::string pilot_dir = std::filesystem::exists(aside) ? aside : cmd.run.out;
  memscope::PilotFacts f = memscope::run_pilot(cmd.run, pilot_dir);
  if (pilot_dir == cmd.run.out) f.kept_repeats = f.repeats;
  const double left = budget - f.pilot;
  std::cout << fmt::format(
      "pilot: {} folds x {} repeats in {:.0f} s ({}): per model {:.1f} s training, {:.3f} s per importance sample, "
      "{:.1f} s the rest; reliability of M {:.2f} ({:.2f} to {:.2f}), mem_log {:.2f}; log p varies by {:.3g} between "
      "models and {:.3g} S^-{:.2f} from its importance samples\n",
      f.folds, f.repeats, f.pilot, pilot_dir, f.train_per_model, f.eval_per_sample, f.other_per_model, f.mem, f.mem_lo,
      f.mem_hi, f.mem_log, f.mc.between, f.mc.scale, f.mc.decay);
  const double target = cmd.target_reliability > 0 ? cmd.target_reliability : 0.9;
  const memscope::BudgetProposal b = memscope::propose_plan(f, left, target);
  std::cout << (b.for_target ? fmt::format("reliability {:.2f} needs {}\n", target, plan_text(*b.for_target, f.folds))
                             : fmt::format("reliability {:.2f}: no plan up to 10000 repeats reaches it\n", target));
  std::optional<PlanPrediction> chosen = b.best;
  if (cmd.target_reliability > 0 && b.for_target && b.for_target->seconds <= left) chosen = b.for_target;
  MEMSCOPE_CHECK_KEY(chosen.has_value(), "budget", cmd.budget, " leaves ", std::max(0.0, left),
                     " s after the pilot; 2 repeats at 8 samples need ",
                     std::ceil(memscope::predict_plan(f, 2, 8).seconds), " s");
  if (chosen->samples != f.samples && pilot_dir == cmd.run.out) {
    std::filesystem::rename(cmd.run.out, aside);
    pilot_dir = aside;
    f.kept_repeats = 0;
  }
  std::cout << "running " << plan_text(*chosen, f.folds) << " (predicted) in " << cmd.run.out
            << (pilot_dir == cmd.run.out ? fmt::format(", keeping the pilot's {} repeats", f.repeats)
                                         : fmt::format(" (the pilot is in {})", pilot_dir))
            << "\n";
  memscope::RunConfig rc = cmd.run;
  rc.plan.repeats = chosen->repeats;
  rc.eval.iw_samples = chosen->samples;
  const auto t0 = std::chrono::steady_clock::now();
  const memscope::RunOutcome o = memscope::run(rc);
  const int status = finish(o, cmd.report);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double mem = o.reliability ? o.reliability->mem.whole_run : NAN;
  const double mem_log = o.reliability ? o.reliability->mem_log.whole_run : NAN;
  std::cout << fmt::format(
      "budget: predicted reliability of M {:.2f} (mem_log {:.2f}) in {:.0f} s; measured {:.2f} ({:.2f}) in {:.0f} s, "
      "{:.0f} s with the pilot\n",
      chosen->mem, chosen->mem_log, chosen->seconds, mem, mem_log, seconds, seconds + f.pilot);
  nlohmann::json facts = {{"budget_seconds", budget},
                          {"target", target},
                          {"pilot", memscope::to_json(f)},
                          {"predicted", memscope::to_json(*chosen)},
                          {"measured",
                           {{"seconds", seconds},
                            {"reliability_mem", memscope::num(mem)},
                            {"reliability_mem_log", memscope::num(mem_log)}}}};
  facts["pilot"]["dir"] = pilot_dir;
  memscope::write_atomic(cmd.run.out + "/budget.json", facts.dump(1) + "\n");
  return status;
}

/// plan: the files a user's own training code follows.
int plan_command(const memscope::cli::Command& cmd) {
  const memscope::PlanOutcome o = memscope::write_plan(cmd.run, cmd.plan_n, cmd.plan_out);
  const memscope::PlanLayout files(o.dir);
  std::cout << fmt::format("memscope: plan of {} models over {} examples in {} (mask sha256 {}...)\n", o.models,
                           o.examples, o.dir, o.mask_sha256.substr(0, 12))
            << "mask:  " << files.mask() << " [N, J] (and keep.npy, [J, N])\n"
            << "train: " << files.train(0) << " ... " << files.train(o.models - 1) << " (indices, int64)\n"
            << (o.data ? "data:  " + files.images() + ", " + files.labels() + "\n" : "")
            << "next:  train model j on its indices; write log p of every example under every model as BANK/logp.npy "
               "[N, J] beside mask.npy and a bank.json with the plan's mask_sha256; then: memscope score --bank BANK\n";
  return 0;
}

int report_command(const memscope::cli::Command& cmd) {
  memscope::write_report(cmd.report);
  const memscope::RunLayout files(cmd.report.run_dir);
  std::cout << "report: " << files.report() << "\nsummary: " << files.summary() << "\n";
  return 0;
}

int extract_command(const memscope::cli::Command& cmd) {
  const memscope::ExtractionOverall o = memscope::extract(cmd.extract).overall;
  std::cout << fmt::format(
                   "extract: {} samples copy a training example, {} a held-out one (adaptive rule); rates {} vs "
                   "{}\n",
                   o.copies_of_training, o.copies_of_held_out, o.copy_rate_training, o.copy_rate_held_out)
            << "pairs:   " << cmd.extract.run_dir << "/extraction.csv, copies.csv, extraction.json\n";
  if (cmd.no_report) return 0;
  memscope::ReportConfig rc = cmd.report;
  rc.run_dir = cmd.extract.run_dir;
  memscope::write_report(rc);
  std::cout << "report:  " << memscope::RunLayout(rc.run_dir).report() << "\n";
  return 0;
}

int exact_command(const memscope::cli::Command& cmd) {
  const memscope::ExactOutcome o = memscope::exact(cmd.run, cmd.compare_dir);
  const memscope::RunLayout files(o.dir);
  std::cout << "exact leave-one-out: " << files.scores() << "\n"
            << "K-fold target:       " << files.kfold_target() << "\n"
            << "summary:             " << files.summary() << "\n";
  return 0;
}

int command(const std::vector<std::string>& args) {
  try {
    std::string shown;
    memscope::cli::Command cmd = memscope::cli::parse(args, &shown);
    if (!shown.empty()) {
      std::cout << shown;
      return 0;
    }
    using memscope::cli::Subcommand;
    switch (cmd.command) {
      case Subcommand::kRun:
        return cmd.budget.empty() ? finish(memscope::run(cmd.run), cmd.report) : budget_command(cmd);
      case Subcommand::kScore:
        if (!cmd.bank_dir.empty()) return bank_command(cmd);
        return finish(
            memscope::score_run(cmd.run_dir, cmd.membership_set ? std::optional(cmd.run.membership) : std::nullopt,
                                cmd.analysis_set ? std::optional(cmd.run.analysis.fdr) : std::nullopt,
                                cmd.analysis_set ? std::optional(cmd.run.analysis.null_draws) : std::nullopt),
            cmd.report);
      case Subcommand::kNullBank: {
        // The design's mask, unless --mask names one to read.
        const torch::Tensor mask = cmd.null_mask.empty()
                                       ? memscope::make_plan(cmd.null_n, cmd.run.plan, cmd.run.seed).in_mask()
                                       : torch::Tensor();
        memscope::write_null_bank(cmd.bank_dir, mask, cmd.null_mask, cmd.null_bank);
        std::cout << "memscope: null bank in " << cmd.bank_dir
                  << " (logp.npy, mask.npy); check it with: memscope score --bank " << cmd.bank_dir << "\n";
        return 0;
      }
      case Subcommand::kPlan: return plan_command(cmd);
      case Subcommand::kTrain: return train_command(cmd);
      case Subcommand::kReport: return report_command(cmd);
      case Subcommand::kExtract: return extract_command(cmd);
      case Subcommand::kExact: return exact_command(cmd);
      case Subcommand::kBench: return bench_command(cmd.run, cmd.json_out);
      case Subcommand::kNone: break;
    }
    return 2;
  } catch (const CLI::ParseError& e) {
    std::cerr << "memscope: error: " << first_line(e.what()) << " (see memscope --help)\n";
    return 2;
  } catch (const memscope::ConfigError& e) {  // the library names keys; here they are flags
    std::cerr << "memscope: error: " << memscope::flag_of(e.key()) << std::string(e.what()).substr(e.key().size())
              << "\n";
    return 1;
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

}  // namespace

int main(int argc, char** argv) {
  // Tensors of a few MiB are allocated and freed at every training step and evaluation chunk;
  // by default glibc maps each one afresh and returns it to the kernel when freed, so every step
  // page-faults it in again (measured: about 5% of training time). Keep freed memory instead.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's largest
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  memscope::cluster::init(&argc, &argv);
  spdlog::set_default_logger(spdlog::stderr_color_mt("memscope"));
  spdlog::set_pattern(memscope::cluster::size() > 1 ? fmt::format("[%H:%M:%S rank {}/{}] %v", memscope::cluster::rank(),
                                                                  memscope::cluster::size())
                                                    : "[%H:%M:%S] %v");
  const int code = command(std::vector<std::string>(argv + 1, argv + argc));
  // An error on one rank would leave the others waiting for it: end them all.
  if (code != 0 && memscope::cluster::size() > 1) memscope::cluster::abort(code);
  memscope::cluster::finalize();
  return code;
}
