#include "cli.h"

#include <CLI/CLI.hpp>
#include <toml.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
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

/// A typed choice from its text (config/names.h); an error names key.
template <typename T>
T parse_typed(const std::string& text, const std::string& key) {
  if constexpr (std::is_same_v<T, ModelFamily>)
    return parse_model_family(text, key);
  else if constexpr (std::is_same_v<T, DataSource>)
    return parse_data_source(text, key);
  else
    return parse_choice<T>(text, key);
}

/// A value as the help and docs/options.md show it: "" for a flag and for an empty text or list.
template <typename T>
std::string value_text(const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return "";
  } else if constexpr (std::is_same_v<T, std::string>) {
    return v;
  } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
    std::string joined;
    for (int64_t e : v) joined += (joined.empty() ? "" : ",") + std::to_string(e);
    return joined;
  } else if constexpr (std::is_arithmetic_v<T>) {
    return str(v);
  } else {
    return to_string(v);
  }
}

/// The flag of option o on app, bound to field: a flag for a bool (--no-X sets it false), a comma-separated list
/// for a list, a typed choice parsed from its text once, here, a number or text otherwise.
template <typename T>
void add_flag(CLI::App& app, const OptionSpec& o, T& field) {
  const std::string flag = flag_of(o.key);
  CLI::Option* added = nullptr;
  if constexpr (std::is_same_v<T, bool>) {
    added = app.add_flag((o.negated ? "!" : "") + flag, field, o.help);
  } else if constexpr (std::is_arithmetic_v<T> || std::is_same_v<T, std::string>) {
    added = app.add_option(flag, field, o.help);
  } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
    added = app.add_option(flag, field, o.help)->delimiter(',');
  } else {
    added = app.add_option_function<std::string>(
        flag, [&field, key = std::string(o.key)](const std::string& text) { field = parse_typed<T>(text, key); },
        o.help);
  }
  added->default_str(value_text(field));
  if (o.zero_word != nullptr) added->transform(CLI::Transformer({{o.zero_word, "0"}}));
  if (o.required) added->required();
}

/// The valid values of option o as docs/options.md says them ("" for none; "each >= 1" for a list).
template <typename T>
std::string valid_values(const OptionSpec& o, const T&) {
  if (std::isinf(o.range.lo) && std::isinf(o.range.hi)) return "";
  return (std::is_same_v<T, std::vector<int64_t>> ? "each " : "") + range_text(o.range);
}

/// An option of a command's own table as docs/options.md shows it.
struct Row {
  OptionSpec spec;
  std::string default_value, valid;
};

/// A command: its CLI11 subcommand, derived from its option table.
struct Sub {
  CLI::App* app = nullptr;
  /// What docs/options.md says of it beside its one-line description.
  std::string notes;
  /// Where it takes every option of a run (null: it takes none but those of its own table).
  const RunConfig* run = nullptr;
  /// Its own table, with the defaults.
  std::vector<Row> own;
  /// Checks every option's value against its range (check_range, config/validate.h: the run's checks).
  std::function<void()> check;
};

/// The subcommand `name`: a flag for every option that table(visit) visits (visit(spec, field), field being where
/// the value goes), and for every option of a run into *run unless run is null.
template <typename Table>
Sub add_command(CLI::App& app, const char* name, const char* description, const char* notes, RunConfig* run,
                Table table) {
  Sub s;
  s.app = app.add_subcommand(name, description);
  s.notes = notes;
  s.run = run;
  auto every = [run, table](auto&& visit) {
    table(visit);
    if (run != nullptr) for_each_option(*run, visit);
  };
  every([&s](const OptionSpec& o, auto& field) { add_flag(*s.app, o, field); });
  table([&s](const OptionSpec& o, const auto& field) {
    s.own.push_back({o, value_text(field), valid_values(o, field)});
  });
  s.check = [every] { every([](const OptionSpec& o, const auto& field) { check_range(o, field); }); };
  return s;
}

/// The options of the program itself (not of a library's configuration), each declared once here.
const OptionSpec kConfigOption = command_option(
    "config",
    "TOML file of options of a run, keys as the flags without the dashes (iw_samples = 8); flags override it");
const OptionSpec kShardOption = command_option("shard", "I/N: only the jobs with id % N == I");
const OptionSpec kRunDirOption = command_option("run", "a finished run directory");
const OptionSpec kBudgetOption =
    command_option("budget",
                   "wall time to spend (90s, 10m, 1.5h): a pilot measures this machine and the noise, then the most "
                   "reliable plan that fits runs (repeats and --iw-samples chosen)");
const OptionSpec kTargetOption = command_option("target_reliability",
                                                "with --budget: run the cheapest plan whose M reaches this projected "
                                                "reliability, if it fits (0: the most reliable that fits)",
                                                {0, 1, false, true});

/// What parse binds besides cmd: the settings of the commands that take the options of a run with other
/// defaults (or not into cmd.run), and the values read after parsing.
struct Bound {
  RunConfig train, bench = fmnist_6k(), exact = [] {
    RunConfig c;
    c.model.family = {Family::kGaussian, 0, 0};
    c.out = "runs/exact";
    return c;
  }();
  std::string config_file, shard = "0/1";
  bool markdown = false;
};

/// The commands of the program and their option tables, in the order of the help.
std::vector<Sub> add_commands(CLI::App& app, Command& cmd, Bound& b) {
  std::vector<Sub> subs;
  subs.push_back(
      add_command(app, "run", "train the K-fold plan, estimate log p, write scores", "", &cmd.run, [&](auto&& visit) {
        visit(kConfigOption, b.config_file);
        visit(kShardOption, b.shard);
        visit(kBudgetOption, cmd.budget);
        visit(kTargetOption, cmd.target_reliability);
        for_each_report_option(cmd.report, visit);
      }));
  subs.push_back(add_command(
      app, "train", "train only shard I of N of a plan (scheduler job arrays); no scores",
      "With `--run DIR` the configuration is that run directory's, and the flags set only `--threads`, `--device`, "
      "`--progress` and `--shard`.",
      &b.train, [&](auto&& visit) {
        visit(kConfigOption, b.config_file);
        visit(command_option("run", "an existing run directory whose configuration to use"), cmd.run_dir);
        visit(kShardOption, b.shard);
      }));
  subs.push_back(add_command(
      app, "bench", "time the fmnist-6k workload (or any plan) per phase against the sgemm peak",
      "Its defaults are the fmnist-6k workload, in a temporary directory removed afterwards unless `--out` names a "
      "fresh one.",
      &b.bench, [&](auto&& visit) {
        visit(kConfigOption, b.config_file);
        visit(command_option("json", "write the figures as JSON to this file (default: bench.json in --out, if given)"),
              cmd.json_out);
      }));
  subs.push_back(add_command(app, "exact", "exact leave-one-out and K-fold target for gaussian, ppca:Q or kde:H", "",
                             &b.exact, [&](auto&& visit) {
                               visit(kConfigOption, b.config_file);
                               visit(command_option("compare",
                                                    "a run directory whose K-fold scores to check against the exact "
                                                    "values (writes its validation.json)"),
                                     cmd.compare_dir);
                             }));
  subs.push_back(add_command(
      app, "score",
      "aggregate the finished jobs of a run (or an external bank) into scores, membership tests and a report",
      "It takes `--run` or `--bank`. Its other options are options of a run: given, they replace the run's stored "
      "settings; else a run keeps its own, and a bank takes the defaults.",
      nullptr, [&](auto&& visit) {
        visit(kRunDirOption, cmd.run_dir);
        visit(command_option("bank", "external bank: DIR with logp.npy, mask.npy[, labels.npy, images.npy]"),
              cmd.bank_dir);
        visit(command_option("out", "--bank: where the results go (default: the bank directory)"), cmd.bank_out);
        for_each_scoring_option(cmd.run, visit);
      }));
  subs.push_back(add_command(app, "report", "write DIR/report.html and DIR/summary.json for a finished run", "",
                             nullptr, [&](auto&& visit) {
                               visit(required(kRunDirOption), cmd.report.run_dir);
                               for_each_report_option(cmd.report, visit);
                             }));
  subs.push_back(
      add_command(app, "extract", "sample the models of a run and find the training images they copy",
                  "Afterwards it rewrites the run's report, which shows what it found.", nullptr, [&](auto&& visit) {
                    visit(required(kRunDirOption), cmd.extract.run_dir);
                    for_each_extract_option(cmd.extract, visit);
                    visit(command_option("no_report", "do not rewrite the run's report afterwards"), cmd.no_report);
                  }));
  subs.push_back(add_command(
      app, "null-bank", "write a bank in which membership has no effect (check a design with score --bank DIR)",
      "The design is that of `--mask` or of the design options, which are options of a run; `--seed` seeds that "
      "design, not the noise (whose seed is always 0).",
      nullptr, [&](auto&& visit) {
        visit(required(command_option("out", "where logp.npy and mask.npy go")), cmd.bank_dir);
        visit(command_option("mask", "mask.npy [N, J] of a design (default: the design of the options below)"),
              cmd.null_mask);
        visit(command_option("n", "examples N of the design", {1}), cmd.null_n);
        for_each_plan_option(cmd.run, visit);
        for_each_null_bank_option(cmd.null_bank, visit);
      }));
  subs.push_back(add_command(
      app, "plan",
      "write the plan your own training code follows (mask.npy, keep.npy, train/model-NNNN.npy, plan.json)",
      "With `--data` (the default when `--n` is not given) it loads the data as `run` does and writes the examples "
      "as memscope's models see them (images.npy, labels.npy, index.npy); `--binarize auto` is `sample`, as for the "
      "default VAE. The same design options and `--seed` give the masks `run` trains with.",
      nullptr, [&](auto&& visit) {
        visit(required(command_option("out", "where the plan's files go")), cmd.plan_out);
        visit(command_option("n", "examples N (0: the examples of --data)", {0}), cmd.plan_n);
        for_each_data_option(cmd.run, visit);
        for_each_plan_option(cmd.run, visit);
      }));
  subs.push_back(add_command(
      app, "help", "every option of every command (--markdown: as docs/options.md)", "", nullptr, [&](auto&& visit) {
        visit(command_option("markdown", "as markdown, by command (docs/options.md)"), b.markdown);
      }));
  // How options of score go together (one of --run and --bank: finish_score).
  CLI::App& score = *app.get_subcommand("score");
  score.get_option("--run")->excludes(score.get_option("--bank"));
  score.get_option("--out")->needs(score.get_option("--bank"));
  return subs;
}

/// After score was parsed: one of --run and --bank, and whether the settings of a run were given.
void finish_score(const CLI::App& score, Command& cmd) {
  cmd.command = Subcommand::kScore;
  if (cmd.run_dir.empty() && cmd.bank_dir.empty()) throw CLI::RequiredError("--run or --bank");
  cmd.membership_set = score.count("--lira-variance") + score.count("--rmia-gamma") > 0;
  cmd.analysis_set = score.count("--fdr") + score.count("--null-draws") > 0;
}

/// I/N of --shard into the run's shard_index and shard_count (validate checks that I < N).
void parse_shard(const std::string& shard, RunConfig& run) {
  const size_t slash = shard.find('/');
  try {
    MEMSCOPE_CHECK(slash != std::string::npos, "");
    run.shard_index = std::stoll(shard.substr(0, slash));
    run.shard_count = std::stoll(shard.substr(slash + 1));
  } catch (const std::exception&) {
    throw ConfigError(kShardOption.key, str("expected I/N (e.g. 3/10), got '", shard, "'"));
  }
}

/// text with '|' escaped for a markdown table.
std::string cell(std::string text) {
  for (size_t k = 0; (k = text.find('|', k)) != std::string::npos; k += 2) text.insert(k, "\\");
  return text;
}

std::string code(const std::string& text) { return text.empty() ? "" : "`" + cell(text) + "`"; }

/// The options of a run (for_each_option) as a table: one row per option, with its default, and with the
/// default of each command (of those that take them) where that differs.
std::string run_options_markdown(const std::vector<const Sub*>& takers) {
  std::vector<Row> rows;
  for_each_option(*takers.at(0)->run, [&](const OptionSpec& o, const auto& v) {
    rows.push_back({o, "", valid_values(o, v)});
  });
  std::vector<std::vector<std::string>> defaults(takers.size());
  for (size_t k = 0; k < takers.size(); ++k)
    for_each_option(*takers[k]->run, [&](const OptionSpec&, const auto& v) { defaults[k].push_back(value_text(v)); });
  std::string md = "| option | default | valid values | config.json | what it does |\n|---|---|---|---|---|\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const OptionSpec& o = rows[i].spec;
    std::string def = code(defaults[0][i]), others;
    for (size_t k = 1; k < takers.size(); ++k)
      if (defaults[k][i] != defaults[0][i])
        others += (others.empty() ? "" : "; ") + takers[k]->app->get_name() + ": " +
                  (defaults[k][i].empty() ? "none" : code(defaults[k][i]));
    if (!others.empty()) def += " (" + others + ")";
    md += str("| `", flag_of(o.key), "` | ", def, " | ", rows[i].valid, " | `", o.section[0] ? o.section : "",
              o.section[0] ? "." : "", o.name, "` | ", cell(o.help), " |\n");
  }
  return md;
}

/// Throws when sub has a flag that is in none of its tables (every option must come from one).
void check_tabled(const Sub& sub) {
  std::set<std::string> tabled;
  for (const Row& r : sub.own) tabled.insert(flag_of(r.spec.key));
  if (sub.run != nullptr)
    for_each_option(*sub.run, [&](const OptionSpec& o, const auto&) { tabled.insert(flag_of(o.key)); });
  for (const CLI::Option* o : sub.app->get_options())
    MEMSCOPE_CHECK(o->get_name() == "--help" || tabled.count(o->get_name()), "help --markdown: option ", o->get_name(),
                   " of ", sub.app->get_name(), " is in no option table");
}

/// Every option of every command (docs/options.md): a section per command with its own options, and the options
/// of a run, which several commands take, in one table.
std::string options_markdown(const std::vector<Sub>& subs) {
  std::string md =
      "# Options\n\nEvery option of every command, generated from the option tables by `memscope help --markdown` "
      "(a test fails when this file differs from it).\n\n| command | what it does |\n|---|---|\n";
  std::vector<const Sub*> takers, some;
  for (const Sub& s : subs) {
    check_tabled(s);
    md += "| [`" + s.app->get_name() + "`](#" + s.app->get_name() + ") | " + cell(s.app->get_description()) + " |\n";
    if (s.run != nullptr) takers.push_back(&s);
    if (std::any_of(s.own.begin(), s.own.end(), [](const Row& r) { return r.spec.scope != Scope::kCommand; }))
      some.push_back(&s);
  }
  for (const Sub& s : subs) {
    md += "\n## " + s.app->get_name() + "\n\n`memscope " + s.app->get_name() + "`: " + s.app->get_description() + "." +
          (s.notes.empty() ? "" : " " + s.notes) + "\n";
    if (!s.own.empty()) md += "\n| option | default | valid values | what it does |\n|---|---|---|---|\n";
    for (const Row& r : s.own)
      md += "| `" + flag_of(r.spec.key) + "` | " + (r.spec.required ? "required" : code(r.default_value)) + " | " +
            r.valid + " | " + cell(r.spec.help) +
            (r.spec.scope == Scope::kCommand ? "" : "; an [option of a run](#options-of-a-run)") + " |\n";
    if (s.run != nullptr) md += "\nAnd every [option of a run](#options-of-a-run).\n";
  }
  auto names = [](const std::vector<const Sub*>& v) {
    std::string text;
    for (size_t k = 0; k < v.size(); ++k)
      text += (k == 0 ? "" : k + 1 == v.size() ? " and " : ", ") + ("`" + v[k]->app->get_name() + "`");
    return text;
  };
  md += "\n## Options of a run\n\nThe options of " + names(takers) + "; " + names(some) +
        " take some of them. They are the keys of a `--config` TOML file too (the flag without the dashes, with `_` "
        "for `-`), and a run directory's config.json holds them under the names given. A default that differs by "
        "command is given with the command.\n\n";
  return md + run_options_markdown(takers);
}

}  // namespace

Command parse(const std::vector<std::string>& args, std::string* help_or_version) {
  Command cmd;
  CLI::App app{"memscope: per-example memorization scores of generative models"};
  app.set_version_flag("--version", std::string("memscope ") + kVersion);
  app.require_subcommand(1);
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  Bound b;
  const std::vector<Sub> subs = add_commands(app, cmd, b);
  auto parsed = [&](const char* name) { return app.get_subcommand(name)->parsed(); };
  std::vector<std::string> full = with_toml(args, *app.get_subcommand("run"));
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
  if (parsed("help")) {
    *help_or_version = b.markdown ? options_markdown(subs) : app.help("", CLI::AppFormatMode::All);
    return cmd;
  }
  for (const Sub& s : subs)
    if (s.app->parsed()) s.check();
  if (parsed("run")) cmd.command = Subcommand::kRun;
  if (parsed("report")) cmd.command = Subcommand::kReport;
  if (parsed("score")) finish_score(*app.get_subcommand("score"), cmd);
  if (parsed("train")) {
    cmd.command = Subcommand::kTrain;
    cmd.run = b.train;
  }
  if (parsed("run") || parsed("train")) parse_shard(b.shard, cmd.run);
  if (parsed("extract")) cmd.command = Subcommand::kExtract;
  if (parsed("null-bank")) cmd.command = Subcommand::kNullBank;
  if (parsed("plan")) cmd.command = Subcommand::kPlan;
  if (parsed("exact")) {
    cmd.command = Subcommand::kExact;
    cmd.run = b.exact;
  }
  if (parsed("bench")) {
    cmd.command = Subcommand::kBench;
    cmd.run = b.bench;
  }
  return cmd;
}

}  // namespace memscope::cli
