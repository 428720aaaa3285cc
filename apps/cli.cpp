#include "cli.h"

#include <CLI/CLI.hpp>
#include <toml.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <set>
#include <type_traits>

#include "memscope/config/names.h"
#include "memscope/config/validate.h"
#include "memscope/core/error.h"
#include "memscope/core/options.h"
#include "memscope/core/version.h"

namespace memscope::cli {

namespace {

std::string scalar_to_string(const toml::value& v, const std::string& path, const std::string& key) {
  if (v.is_string()) return v.as_string().str;
  if (v.is_integer()) return std::to_string(v.as_integer());
  if (v.is_floating()) return str(v.as_floating());
  if (v.is_boolean()) return v.as_boolean() ? "true" : "false";
  throw Error(str("--config: ", path, ": key '", key, "' must be a string, number, boolean or array of those"));
}

/// Offset of the first byte that is not well-formed UTF-8 (Unicode 3-7, as toml11's lexer), or npos.
size_t invalid_utf8(const std::string& text) {
  const auto* b = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    const unsigned c = b[i];
    size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;  // range of the second byte
    if (c < 0x80)
      len = 1;
    else if (c >= 0xC2 && c <= 0xDF)
      len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
      len = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4)
      len = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else
      return i;
    if (i + len > n) return i;
    for (size_t k = 1; k < len; ++k)
      if (b[i + k] < (k == 1 ? lo : 0x80) || b[i + k] > (k == 1 ? hi : 0xBF)) return i;
    i += len;
  }
  return std::string::npos;
}

/// Checks what toml11 (3.7, Debian 12) cannot survive, before it parses the file:
/// * invalid UTF-8 inside a string: its error path reads past a buffer (heap-buffer-overflow in
///   location::reset, found by fuzz/fuzz_toml); TOML files must be UTF-8 anyway;
/// * deep nesting: arrays and inline tables are parsed recursively, so a file of 100,000 '['
///   overflows the stack (SIGSEGV). Config files nest a level or two; brackets inside strings and
///   comments do not count.
void check_toml_input(const std::string& path) {
  constexpr int kMaxDepth = 64;
  std::ifstream is(path, std::ios::binary);
  if (!is) return;  // toml::parse reports it
  const std::string text((std::istreambuf_iterator<char>(is)), std::istreambuf_iterator<char>());
  const size_t bad = invalid_utf8(text);
  MEMSCOPE_CHECK(bad == std::string::npos, "--config: ", path, " is not valid UTF-8 (byte ", bad, ")");
  int depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '#') {
      i = text.find('\n', i);
      if (i == std::string::npos) break;
    } else if (c == '"' || c == '\'') {
      const bool triple = text.compare(i, 3, std::string(3, c)) == 0;
      size_t j = i + (triple ? 3 : 1);
      while (j < text.size() &&
             !(triple ? text.compare(j, 3, std::string(3, c)) == 0 : text[j] == c || text[j] == '\n')) {
        if (c == '"' && text[j] == '\\') ++j;
        ++j;
      }
      i = std::min(j + (triple ? 2 : 0), text.size());
    } else if (c == '[' || c == '{') {
      MEMSCOPE_CHECK(++depth <= kMaxDepth, "--config: ", path, " nests arrays or tables more than ", kMaxDepth,
                     " levels deep");
    } else if (c == ']' || c == '}') {
      depth = std::max(0, depth - 1);
    }
  }
}

/// A flag for every option of the table (core/options.h), bound to c's member.
void add_run_options(CLI::App& app, RunConfig& c) {
  for_each_option(c, [&](const OptionSpec& o, auto& field) {
    using T = std::decay_t<decltype(field)>;
    const std::string flag = flag_of(o.key);
    if constexpr (std::is_same_v<T, bool>) {
      app.add_flag((o.negated ? "!" : "") + flag, field, o.help);
    } else if constexpr (std::is_arithmetic_v<T> || std::is_same_v<T, std::string>) {
      app.add_option(flag, field, o.help)->capture_default_str();
    } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
      app.add_option(flag, field, o.help)->delimiter(',')->capture_default_str();
    } else {  // a typed choice: parsed from its text once, here
      app.add_option_function<std::string>(
             flag,
             [&field, key = o.key](const std::string& text) {
               if constexpr (is_choice_v<T>) field = parse_choice<T>(text, key);
               if constexpr (std::is_same_v<T, ModelFamily>) field = parse_model_family(text, key);
               if constexpr (std::is_same_v<T, DataSource>) field = parse_data_source(text, key);
             },
             o.help)
          ->default_str(to_string(field));
    }
  });
}

}  // namespace

RunConfig fmnist_6k() {
  RunConfig c;
  c.data.limit = 6000;
  c.plan.folds = 5;
  c.plan.repeats = 1;
  c.train.epochs = 5;
  c.eval.iw_samples = 256;
  c.out = "";  // bench: a fresh temporary directory
  c.progress = ProgressMode::kLog;
  return c;
}

std::vector<std::string> toml_to_flags(const std::string& path) {
  check_toml_input(path);
  toml::value root;
  try {
    root = toml::parse(path);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    throw Error(str("--config: cannot read ", path, ": ", msg.substr(0, msg.find('\n'))));
  }
  if (!root.is_table()) throw Error(str("--config: ", path, " is not a TOML table"));
  std::vector<std::string> flags;
  for (const auto& [key, v] : root.as_table()) {
    std::string name = key;
    std::replace(name.begin(), name.end(), '_', '-');
    if (v.is_table())
      throw Error(str("--config: ", path, ": key '", key, "' is a table; use flat keys named as the flags"));
    if (v.is_boolean()) {
      flags.push_back("--" + name + (v.as_boolean() ? "" : "=false"));
    } else if (v.is_array()) {
      std::string joined;
      for (const auto& e : v.as_array()) joined += (joined.empty() ? "" : ",") + scalar_to_string(e, path, key);
      flags.insert(flags.end(), {"--" + name, joined});
    } else {
      flags.insert(flags.end(), {"--" + name, scalar_to_string(v, path, key)});
    }
  }
  return flags;
}

namespace {

/// The extract subcommand, bound to cmd.extract.
CLI::App* add_extract(CLI::App& app, Command& cmd) {
  CLI::App* extract =
      app.add_subcommand("extract", "sample the models of a run and find the training images they copy");
  extract->add_option("--run", cmd.extract.run_dir, "run directory")->required();
  extract->add_option("--samples", cmd.extract.samples, "samples per model")->capture_default_str();
  extract->add_option("--jobs", cmd.extract.jobs, "jobs to sample, e.g. 0,3 (default: all)")->delimiter(',');
  extract
      ->add_option_function<std::string>(
          "--draw", [&cmd](const std::string& text) { cmd.extract.draw = parse_choice<Draw>(text); },
          "mean (decoder means) | bernoulli")
      ->default_str("mean");
  extract->add_option("--delta", cmd.extract.delta, "plain rule: l2 <= delta")->capture_default_str();
  extract->add_option("--alpha", cmd.extract.alpha, "adaptive rule: l2 / (alpha mean l2 to the n nearest) <= 1")
      ->capture_default_str();
  extract->add_option("--n-nearest", cmd.extract.n_nearest, "n of the adaptive rule")->capture_default_str();
  extract->add_option("--cells", cmd.extract.cells, "k-means cells of the data-copying test")->capture_default_str();
  extract
      ->add_option_function<std::string>(
          "--sampler", [&cmd](const std::string& text) { cmd.extract.sampler = parse_choice<Sampler>(text); },
          "ddpm: ancestral | ddim (deterministic)")
      ->default_str("ddpm");
  extract->add_option("--sample-steps", cmd.extract.sample_steps, "ddpm: sampling steps (0: all --timesteps)")
      ->capture_default_str();
  extract->add_flag("--no-report", cmd.no_report, "do not rewrite the run's report afterwards");

  return extract;
}

/// The name of a flag ("--epochs" of "--epochs=3"), or "" for a value.
std::string flag_name(const std::string& a) { return a.rfind("--", 0) == 0 ? a.substr(0, a.find('=')) : ""; }

/// args with the flags of the TOML file named by --config FILE (if any) placed before the command
/// line's own, less those the command line sets, so that flags override the file (also list-valued
/// ones, which would otherwise add up). Keys must be options of run.
std::vector<std::string> with_toml(const std::vector<std::string>& args, const CLI::App& run) {
  std::string config_file;
  std::vector<std::string> full = args;
  std::set<std::string> given;
  for (const auto& a : args) given.insert(flag_name(a));
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--config") config_file = args[i + 1];
  }
  for (const auto& a : args)
    if (a.rfind("--config=", 0) == 0) config_file = a.substr(9);
  if (!config_file.empty() && !full.empty()) {
    std::vector<std::string> flags, kept;
    std::string name;
    for (const std::string& f : toml_to_flags(config_file)) {
      if (!flag_name(f).empty()) {
        name = flag_name(f);
        MEMSCOPE_CHECK(name != "--config" && run.get_option_no_throw(name) != nullptr, "--config: ", config_file,
                       ": unknown key '", name.substr(2), "'");
      }
      if (!given.count(name)) kept.push_back(f);  // a value goes with its flag
    }
    full.insert(full.begin() + 1, kept.begin(), kept.end());
  }
  return full;
}

/// score: --run DIR or --bank DIR [--out DIR], and the membership settings.
CLI::App* add_score(CLI::App& app, Command& cmd) {
  CLI::App* score = app.add_subcommand(
      "score", "aggregate the finished jobs of a run (or an external bank) into scores, membership tests and a report");
  CLI::Option* score_run = score->add_option("--run", cmd.run_dir, "run directory");
  CLI::Option* score_bank =
      score->add_option("--bank", cmd.bank_dir, "external bank: DIR with logp.npy, mask.npy[, labels.npy, images.npy]");
  score_run->excludes(score_bank);
  score->add_option("--out", cmd.bank_out, "--bank: where the results go (default: the bank directory)")
      ->needs(score_bank);
  score->add_option_function<std::string>(
      "--lira-variance",
      [&cmd](const std::string& t) { cmd.run.membership.lira_variance = parse_choice<LiraVariance>(t); },
      "LiRA Gaussians: per-example | global (default: the run's setting, or per-example)");
  score->add_option("--rmia-gamma", cmd.run.membership.rmia_gamma, "RMIA: x beats z when r(x) - r(z) >= log gamma")
      ->capture_default_str();
  score->add_option("--fdr", cmd.run.analysis.fdr, "false-discovery rate of the examples reported as memorized")
      ->capture_default_str();
  score->add_option("--null-draws", cmd.run.analysis.null_draws, "draws of the permutation null (0: none)")
      ->capture_default_str();
  return score;
}

/// null-bank: a bank in which membership has no effect, for the design of run's options or a mask file.
CLI::App* add_null_bank(CLI::App& app, Command& cmd) {
  CLI::App* nb = app.add_subcommand(
      "null-bank", "write a bank in which membership has no effect (check a design with score --bank DIR)");
  nb->add_option("--out", cmd.bank_dir, "where logp.npy and mask.npy go")->required();
  nb->add_option("--mask", cmd.null_mask, "mask.npy [N, J] of a design (default: the design options below)");
  nb->add_option("--n", cmd.null_n, "examples N")->capture_default_str();
  PlanConfig& p = cmd.run.plan;
  nb->add_option_function<std::string>(
        "--design", [&p](const std::string& t) { p.design = parse_choice<Design>(t, "design"); }, "kfold | subsets")
      ->default_str("kfold");
  nb->add_option("--folds", p.folds, "kfold: folds K")->capture_default_str();
  nb->add_option("--repeats", p.repeats, "kfold: repeats R")->capture_default_str();
  nb->add_option("--models", p.models, "subsets: models M")->capture_default_str();
  nb->add_option("--subset-blocks", p.subset_blocks, "subsets: block sizes summing to M")->delimiter(',');
  nb->add_option("--subset-fraction", p.subset_fraction, "subsets: share of models per example")->capture_default_str();
  NullBankConfig& b = cmd.null_bank;
  nb->add_option("--scale-lo", b.scale_lo, "per-example spread of log p, low end (nats)")->capture_default_str();
  nb->add_option("--scale-hi", b.scale_hi, "per-example spread of log p, high end (nats)")->capture_default_str();
  nb->add_option("--offset-sd", b.model_offset_sd, "per-model offset sd (nats)")->capture_default_str();
  nb->add_option("--tail-df", b.tail_df, "Student t noise degrees of freedom, an integer above 2 (0: normal)")
      ->capture_default_str();
  nb->add_option("--missing", b.missing, "share of models missing (NaN columns)")->capture_default_str();
  nb->add_option("--effect", b.effect, "planted in-versus-out shift of log p (nats)")->capture_default_str();
  nb->add_option("--planted", b.planted, "examples with the planted shift (the first ones)")->capture_default_str();
  nb->add_option("--seed", cmd.run.seed, "root seed of the plan and the noise")->capture_default_str();
  return nb;
}

/// After score was parsed: one of --run and --bank, and whether the membership settings were given.
void finish_score(CLI::App& score, Command& cmd) {
  cmd.command = Subcommand::kScore;
  if (cmd.run_dir.empty() && cmd.bank_dir.empty()) throw CLI::RequiredError("--run or --bank");
  cmd.membership_set = score.count("--lira-variance") + score.count("--rmia-gamma") > 0;
  cmd.analysis_set = score.count("--fdr") + score.count("--null-draws") > 0;
  MEMSCOPE_CHECK_KEY(cmd.run.membership.rmia_gamma > 0 && std::isfinite(cmd.run.membership.rmia_gamma), "rmia_gamma",
                     "must be > 0, got ", cmd.run.membership.rmia_gamma);
  validate(cmd.run);  // the ranges of the option table (--fdr, --null-draws, ...)
}

/// report --run DIR, and the quantile of the paper's "highly memorized" set on report and run.
CLI::App* add_report(CLI::App& app, CLI::App& run, Command& cmd) {
  CLI::App* report = app.add_subcommand("report", "write DIR/report.html and DIR/summary.json for a finished run");
  report->add_option("--run", cmd.report.run_dir, "run directory")->required();
  for (CLI::App* sub : {report, &run})
    sub->add_option("--high-quantile", cmd.report.high_quantile,
                    "the paper's \"highly memorized\" (its Figure 3 only): M above this quantile")
        ->capture_default_str();
  return report;
}

/// Every option of every command as one markdown table (docs/options.md): a row per flag, description and
/// default, with the commands that take it.
std::string options_markdown(const CLI::App& app) {
  struct Row {
    std::string flag, description, default_value;
    std::vector<std::string> commands;
  };
  std::vector<Row> rows;
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name() == "help") continue;
    for (const CLI::Option* o : sub->get_options()) {
      std::string flag = o->get_name();
      if (flag == "--help" || flag.empty()) continue;
      std::string d = o->get_description(), def = o->get_default_str();
      for (std::string* text : {&d, &def})
        for (size_t k = 0; (k = text->find('|', k)) != std::string::npos; k += 2) text->insert(k, "\\");
      auto same = [&](const Row& r) { return r.flag == flag && r.description == d && r.default_value == def; };
      auto it = std::find_if(rows.begin(), rows.end(), same);
      if (it == rows.end()) it = rows.insert(rows.end(), Row{flag, d, def, {}});
      it->commands.push_back(sub->get_name());
    }
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.flag < b.flag; });
  std::string md =
      "# Options\n\nEvery option of every command, generated by `memscope help --markdown` (a test fails when this "
      "file differs from it). Keys of a `--config` TOML file are the flags of `run` without the dashes, with `_` "
      "for `-`.\n\n| option | commands | default | what it does |\n|---|---|---|---|\n";
  for (const Row& r : rows) {
    std::string commands;
    for (const std::string& c : r.commands) commands += (commands.empty() ? "" : ", ") + c;
    md += "| `" + r.flag + "` | " + commands + " | " + (r.default_value.empty() ? "" : "`" + r.default_value + "`") +
          " | " + r.description + " |\n";
  }
  return md;
}

}  // namespace

Command parse(const std::vector<std::string>& args, std::string* help_or_version) {
  Command cmd;
  CLI::App app{"memscope: per-example memorization scores of generative models"};
  app.set_version_flag("--version", std::string("memscope ") + kVersion);
  app.require_subcommand(1);
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  CLI::App* run = app.add_subcommand("run", "train the K-fold plan, estimate log p, write scores");
  run->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  std::string config_file;
  run->add_option("--config", config_file, "TOML file of options (flags override it)");
  add_run_options(*run, cmd.run);

  // bench: the same options, with the fmnist-6k workload as defaults and a fresh run directory.
  RunConfig bench_cfg = fmnist_6k();
  CLI::App* bench =
      app.add_subcommand("bench", "time the fmnist-6k workload (or any plan) per phase against the sgemm peak");
  bench->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  bench->add_option("--config", config_file, "TOML file of options (flags override it)");
  add_run_options(*bench, bench_cfg);
  bench->add_option("--json", cmd.json_out, "write the figures as JSON to this file")->capture_default_str();

  // train: a shard of a plan, for job arrays; from a run directory's config or from options.
  RunConfig train_cfg;
  CLI::App* train = app.add_subcommand("train", "train only shard I of N of a plan (scheduler job arrays); no scores");
  train->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  train->add_option("--config", config_file, "TOML file of options (flags override it)");
  add_run_options(*train, train_cfg);
  train->add_option("--run", cmd.run_dir, "an existing run directory whose configuration to use");
  std::string shard = "0/1";
  for (CLI::App* sub : {run, train})
    sub->add_option("--shard", shard, "I/N: only the jobs with id % N == I")->capture_default_str();
  CLI::App* score = add_score(app, cmd);

  CLI::App* report = add_report(app, *run, cmd);

  CLI::App* extract = add_extract(app, cmd);
  CLI::App* null_bank = add_null_bank(app, cmd);

  RunConfig exact_cfg;
  exact_cfg.model.family = {Family::kGaussian, 0, 0};
  exact_cfg.out = "runs/exact";
  CLI::App* exact = app.add_subcommand("exact", "exact leave-one-out and K-fold target for gaussian, ppca:Q or kde:H");
  exact->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  exact->add_option("--config", config_file, "TOML file of options (flags override it)");
  add_run_options(*exact, exact_cfg);
  exact->add_option("--compare", cmd.compare_dir,
                    "a run directory whose K-fold scores to check against the exact values");

  bool markdown = false;
  CLI::App* help = app.add_subcommand("help", "every option of every command (--markdown: as docs/options.md)");
  help->add_flag("--markdown", markdown, "as a markdown table");
  std::vector<std::string> full = with_toml(args, *run);
  std::vector<std::string> reversed(full.rbegin(), full.rend());  // CLI11 parses a reversed vector
  try {
    app.parse(reversed);
  } catch (const CLI::ExtrasError&) {
    // CLI11 joins the unexpected arguments back to front ("3 --bogus" for "--bogus 3").
    std::vector<std::string> extra = app.remaining(true);
    if (extra.empty()) throw;
    std::reverse(extra.begin(), extra.end());
    throw CLI::ExtrasError(extra);
  } catch (const CLI::Success& e) {
    std::ostringstream os;
    app.exit(e, os, os);
    *help_or_version = os.str();
    return cmd;
  }
  if (help->parsed()) {
    *help_or_version = markdown ? options_markdown(app) : app.help("", CLI::AppFormatMode::All);
    return cmd;
  }
  if (run->parsed()) cmd.command = Subcommand::kRun;
  if (report->parsed()) cmd.command = Subcommand::kReport;
  if (score->parsed()) finish_score(*score, cmd);
  if (train->parsed()) {
    cmd.command = Subcommand::kTrain;
    cmd.run = train_cfg;
  }
  if (run->parsed() || train->parsed()) {
    const size_t slash = shard.find('/');
    try {
      MEMSCOPE_CHECK(slash != std::string::npos, "");
      cmd.run.shard_index = std::stoll(shard.substr(0, slash));
      cmd.run.shard_count = std::stoll(shard.substr(slash + 1));
    } catch (const std::exception&) {
      throw ConfigError("shard", str("expected I/N (e.g. 3/10), got '", shard, "'"));
    }
  }
  if (extract->parsed()) cmd.command = Subcommand::kExtract;
  if (null_bank->parsed()) cmd.command = Subcommand::kNullBank;
  if (exact->parsed()) {
    cmd.command = Subcommand::kExact;
    cmd.run = exact_cfg;
  }
  if (bench->parsed()) {
    cmd.command = Subcommand::kBench;
    cmd.run = bench_cfg;
  }
  return cmd;
}

}  // namespace memscope::cli
