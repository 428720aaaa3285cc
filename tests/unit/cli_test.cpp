#include "cli.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include <fstream>
#include <iterator>
#include <type_traits>

#include "memscope/config/config_json.h"
#include "memscope/config/names.h"
#include "memscope/config/validate.h"
#include "memscope/core/error.h"
#include "memscope/core/options.h"
#include "memscope/io/atomic.h"
#include "test_util.h"

using namespace memscope;

TEST(Cli, FlagsOverrideTheTomlFile) {
  const std::string dir = test::scratch_dir();
  write_atomic(dir + "/c.toml",
               "folds = 3\nepochs = 7\nhidden = [64, 32]\nlr = 0.0001\ndata = \"idx:a.idx\"\nno_pad = true\n");
  std::string shown;
  cli::Command c = cli::parse({"run", "--config", dir + "/c.toml", "--epochs", "2"}, &shown);
  EXPECT_EQ(c.command, cli::Subcommand::kRun);
  EXPECT_EQ(c.run.plan.folds, 3);
  EXPECT_EQ(c.run.train.epochs, 2);
  EXPECT_EQ(c.run.model.hidden, (std::vector<int64_t>{64, 32}));
  EXPECT_DOUBLE_EQ(c.run.train.lr, 1e-4);
  EXPECT_EQ(c.run.data.source, (DataSource{DataKind::kIdx, "a.idx", ""}));
  EXPECT_FALSE(c.run.data.pad32);
  EXPECT_EQ(c.run.plan.repeats, 1);  // default kept
  // "auto" is the word for 0 importance samples, on the command line and in the file.
  EXPECT_EQ(cli::parse({"run", "--iw-samples", "auto"}, &shown).run.eval.iw_samples, 0);
  write_atomic(dir + "/auto.toml", "iw_samples = \"auto\"\n");
  EXPECT_EQ(cli::parse({"run", "--config", dir + "/auto.toml"}, &shown).run.eval.iw_samples, 0);
  EXPECT_EQ(cli::parse({"run", "--iw-samples", "64"}, &shown).run.eval.iw_samples, 64);
  // A list on the command line replaces the file's (it used to be appended to it), in both spellings.
  for (const std::string& flag : {"--hidden=16", "--hidden"}) {
    std::vector<std::string> args = {"run", "--config", dir + "/c.toml", flag};
    if (flag == "--hidden") args.push_back("8,4");
    c = cli::parse(args, &shown);
    EXPECT_EQ(c.run.model.hidden, flag == "--hidden" ? (std::vector<int64_t>{8, 4}) : (std::vector<int64_t>{16}));
    EXPECT_EQ(c.run.plan.folds, 3);
  }
}

TEST(Cli, BadFilesAndFlagsAreReported) {
  const std::string dir = test::scratch_dir();
  std::string shown;
  write_atomic(dir + "/unknown.toml", "epoch = 3\n");
  try {
    cli::parse({"run", "--config", dir + "/unknown.toml"}, &shown);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown key 'epoch'"), std::string::npos) << e.what();
  }
  write_atomic(dir + "/broken.toml", "epochs = = 3\n");
  EXPECT_THROW(cli::parse({"run", "--config", dir + "/broken.toml"}, &shown), Error);
  EXPECT_THROW(cli::parse({"run", "--config", dir + "/missing.toml"}, &shown), Error);
  EXPECT_THROW(cli::parse({"run", "--folds", "many"}, &shown), CLI::ParseError);
  EXPECT_THROW(cli::parse({"run", "--bogus"}, &shown), CLI::ParseError);
  cli::parse({"--version"}, &shown);
  EXPECT_NE(shown.find("memscope"), std::string::npos);
}

TEST(Config, NonsenseValuesAreRejectedNamingTheOption) {
  auto message = [](auto mutate) {
    RunConfig c;
    mutate(c);
    try {
      validate(c);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message([](RunConfig& c) { c.plan.folds = 0; }).find("folds: "), std::string::npos);
  EXPECT_NE(message([](RunConfig& c) { c.train.lr = -1; }).find("lr: must be in (0, 1000)"), std::string::npos);
  EXPECT_NE(message([](RunConfig& c) { c.eval.iw_samples = -1; }).find("iw_samples: must be >= 0, got -1"),
            std::string::npos);
  EXPECT_NE(message([](RunConfig& c) {
              c.model.hidden = {64, 0};
            }).find("hidden: values must be >= 1, got 0"),
            std::string::npos);
  EXPECT_NE(test::error_of([] {
              parse_choice<Binarize>("maybe");
            }).find("binarize: expected sample, threshold, none or auto"),
            std::string::npos);
  EXPECT_EQ(message([](RunConfig&) {}), "");
  EXPECT_EQ(eval_epochs({7, 64, 1e-3, 0}, {8, 3}), (std::vector<int64_t>{3, 6, 7}));
  EXPECT_EQ(eval_epochs({6, 64, 1e-3, 0}, {8, 3}), (std::vector<int64_t>{3, 6}));
  EXPECT_EQ(eval_epochs({6, 64, 1e-3, 0}, {8, 0}), (std::vector<int64_t>{6}));
}

TEST(Cli, ImageOptionsParseFromFlagsAndToml) {
  const std::string dir = test::scratch_dir();
  write_atomic(dir + "/c.toml",
               "model = \"conv-vae\"\ndecoder = \"logit-gaussian\"\nhflip = true\ncrop = [1, 2, 30, 40]\n");
  std::string shown;
  cli::Command c = cli::parse({"run", "--config", dir + "/c.toml", "--resize", "64", "--data", "celeba:faces"}, &shown);
  EXPECT_EQ(c.run.model.family, (ModelFamily{Family::kConvVae, 0}));
  EXPECT_EQ(c.run.model.decoder, Decoder::kLogitGaussian);
  EXPECT_TRUE(c.run.train.hflip);
  EXPECT_EQ(c.run.data.crop, (std::vector<int64_t>{1, 2, 30, 40}));
  EXPECT_EQ(c.run.data.resize, 64);
  RunConfig r = resolved(c.run);
  EXPECT_EQ(r.data.binarize, Binarize::kNone);  // continuous decoders keep pixel values
  EXPECT_NO_THROW(validate(r));
  // The identity (what decides results) holds the new options; a default run's does not mention them.
  EXPECT_EQ(identity_json(r)["model"]["decoder"], "logit-gaussian");
  EXPECT_EQ(identity_json(r)["train"]["hflip"], true);
  EXPECT_FALSE(identity_json(RunConfig())["model"].contains("decoder"));
  auto message = [](auto mutate) {
    RunConfig c;
    mutate(c);
    try {
      validate(resolved(c));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(test::error_of([] { parse_choice<Decoder>("poisson"); }).find("decoder: "), std::string::npos);
  EXPECT_NE(message([](RunConfig& c) {
              c.model.decoder = Decoder::kGaussian;
            }).find("MLP VAE has the Bernoulli decoder only"),
            std::string::npos);
  EXPECT_NE(message([](RunConfig& c) {
              c.model.family = {Family::kConvVae, 0}, c.model.decoder = Decoder::kGaussian,
              c.data.binarize = Binarize::kSample;
            }).find("continuous"),
            std::string::npos);
  EXPECT_NE(message([](RunConfig& c) { c.data.crop = {5, 5, 2, 9}; }).find("crop: "), std::string::npos);
  for (std::vector<int64_t> d : {std::vector<int64_t>{3}, {3, 1}, {0, 4}, {1, 2, 3}})
    EXPECT_NE(message([&](RunConfig& c) { c.data.duplicate = d; }).find("duplicate: "), std::string::npos);
  // A run's configuration round-trips through config.json.
  RunConfig back = run_config_from_json(to_json(r));
  EXPECT_EQ(identity_json(back), identity_json(r));
}

TEST(Options, TheTableDerivesFlagsJsonAndIdentity) {
  // Every option of the table is a flag of run, a key of config.json, and round-trips through it.
  RunConfig c;
  c.data.source = {DataKind::kIdx, "a.idx", "b.idx"};
  c.model.family = {Family::kPpca, 7};
  c.model.decoder = Decoder::kGaussian;
  c.data.binarize = Binarize::kThreshold;
  c.progress = ProgressMode::kNone;
  c.train.lr = 0.25;
  c.plan.design = Design::kSubsets;
  c.plan.subset_blocks = {16};  // one block of the 16 models
  c.membership.lira_variance = LiraVariance::kGlobal;
  const nlohmann::json j = to_json(c);
  std::vector<std::string> args = {"run"};
  int options = 0, identity = 0;
  for_each_option(c, [&](const OptionSpec& o, const auto& field) {
    ++options;
    const nlohmann::json& v = o.section[0] ? j.at(o.section).at(o.name) : j.at(o.name);
    using T = std::decay_t<decltype(field)>;
    if constexpr (std::is_same_v<T, bool>) {
      if (field != o.negated) args.push_back(flag_of(o.key));
    } else {
      args.push_back(flag_of(o.key));
      if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
        std::string joined;
        for (int64_t e : field) joined += (joined.empty() ? "" : ",") + std::to_string(e);
        args.push_back(joined.empty() ? "1" : joined);
      } else {
        args.push_back(v.is_string() ? v.get<std::string>() : v.dump());
      }
    }
    identity += o.scope == Scope::kIdentity;
  });
  EXPECT_EQ(options, 48);
  EXPECT_EQ(j.at("data").at("source"), "idx:a.idx:b.idx");
  EXPECT_EQ(j.at("model").at("family"), "ppca:7");
  std::string shown;
  cli::Command parsed = cli::parse(args, &shown);
  parsed.run.data.crop = c.data.crop;                      // "--crop 1" above only exercised the flag
  parsed.run.eval.loss_timesteps = c.eval.loss_timesteps;  // likewise "--loss-timesteps 1"
  parsed.run.data.duplicate = c.data.duplicate;            // and "--duplicate 1"
  EXPECT_EQ(to_json(parsed.run), j);
  // Process settings are not restored from a run directory; everything else is.
  const RunConfig back = run_config_from_json(j);
  EXPECT_EQ(back.progress, ProgressMode::kAuto);
  EXPECT_EQ(back.model.family, c.model.family);
  EXPECT_EQ(back.train.lr, 0.25);
  // The identity holds the identity options and the when-set ones that differ from their default.
  const nlohmann::json id = identity_json(c);
  int in_identity = 0;
  for (const auto& [key, v] : id.items()) in_identity += v.is_object() ? int(v.size()) : 1;
  EXPECT_EQ(in_identity, identity + 2);  // + model.decoder and plan.design, set to non-default values
  EXPECT_EQ(id.at("plan").at("design"), "subsets");
  EXPECT_FALSE(id.at("plan").contains("repeats"));
  EXPECT_FALSE(id.at("plan").contains("subset_blocks"));
  EXPECT_FALSE(id.contains("threads"));
}

TEST(Options, LibraryErrorsNameKeysThatMapToFlags) {
  try {
    validate([] {
      RunConfig c;
      c.eval.eval_every = -1;
      return c;
    }());
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "eval_every");
    EXPECT_EQ(flag_of(e.key()), "--eval-every");
    EXPECT_EQ(std::string(e.what()), "eval_every: must be >= 0, got -1");
  }
  EXPECT_EQ(parse_data_source("celeba:/x").kind, DataKind::kCelebA);
  EXPECT_NE(test::error_of([] { parse_data_source("idx:"); }).find("needs a path"), std::string::npos);
  EXPECT_NE(test::error_of([] { parse_data_source("fashion-mnist:x"); }).find("unknown source"), std::string::npos);
  EXPECT_NE(test::error_of([] { parse_model_family("ppca:0"); }).find("positive number of components"),
            std::string::npos);
  EXPECT_EQ(to_string(parse_data_source("idx:i.gz:l.gz")), "idx:i.gz:l.gz");
}

TEST(Cli, DocsOptionsIsTheGeneratedTable) {
  std::string shown;
  cli::parse({"help", "--markdown"}, &shown);
  std::ifstream is(std::string(MEMSCOPE_SOURCE_DIR) + "/docs/options.md");
  const std::string committed((std::istreambuf_iterator<char>(is)), std::istreambuf_iterator<char>());
  EXPECT_NE(shown.find("| `--fdr` |"), std::string::npos);
  EXPECT_EQ(committed, shown) << "docs/options.md is stale: build/memscope help --markdown > docs/options.md";
}

namespace {

/// The section of docs/options.md (as help --markdown writes it) of one command.
std::string markdown_section(const std::string& command) {
  std::string md;
  cli::parse({"help", "--markdown"}, &md);
  const size_t start = md.find("\n## " + command + "\n");
  if (start == std::string::npos) return "";
  return md.substr(start, md.find("\n## ", start + 1) - start);
}

/// The flags that a table visits.
template <typename Table>
std::vector<std::string> flags_of(Table table) {
  std::vector<std::string> flags;
  table([&](const OptionSpec& o, const auto&) { flags.push_back(flag_of(o.key)); });
  return flags;
}

/// The ConfigError that parsing args throws, as the program prints it ("--samples: must be ...").
std::string parse_error(const std::vector<std::string>& args) {
  std::string shown;
  try {
    cli::parse(args, &shown);
  } catch (const ConfigError& e) {
    return flag_of(e.key()) + std::string(e.what()).substr(e.key().size());
  }
  ADD_FAILURE() << "no ConfigError for " << args.at(0);
  return "";
}

}  // namespace

TEST(Cli, EveryOptionOfEveryCommandIsInTheGeneratedTable) {
  ExtractConfig x;
  ReportConfig r;
  NullBankConfig nb;
  RunConfig run;
  const std::vector<std::pair<std::string, std::vector<std::string>>> expected = {
      {"extract", flags_of([&](auto&& v) { for_each_extract_option(x, v); })},
      {"report", flags_of([&](auto&& v) { for_each_report_option(r, v); })},
      {"run", flags_of([&](auto&& v) { for_each_report_option(r, v); })},
      {"score", flags_of([&](auto&& v) { for_each_scoring_option(run, v); })},
      {"null-bank", flags_of([&](auto&& v) { for_each_null_bank_option(nb, v); })},
      {"null-bank", flags_of([&](auto&& v) { for_each_plan_option(run, v); })},
      {"Options of a run", flags_of([&](auto&& v) { for_each_option(run, v); })},
      {"extract", {"--run", "--no-report"}},
      {"report", {"--run"}},
      {"score", {"--run", "--bank", "--out"}},
      {"null-bank", {"--out", "--mask", "--n"}},
      {"run", {"--config", "--shard"}},
      {"train", {"--config", "--run", "--shard"}},
      {"bench", {"--config", "--json"}},
      {"exact", {"--config", "--compare"}},
      {"help", {"--markdown"}},
  };
  for (const auto& [command, flags] : expected) {
    const std::string section = markdown_section(command);
    EXPECT_FALSE(section.empty()) << command;
    EXPECT_FALSE(flags.empty()) << command;
    for (const std::string& flag : flags)
      EXPECT_NE(section.find("\n| `" + flag + "` |"), std::string::npos) << command << " lacks " << flag;
  }
  EXPECT_NE(markdown_section("extract").find("| `--samples` | `10000` | >= 1 |"), std::string::npos);
  EXPECT_NE(markdown_section("report").find("| `--run` | required |"), std::string::npos);
  // A default that differs by command is given with the command.
  EXPECT_NE(markdown_section("Options of a run").find("| `--epochs` | `100` (bench: `5`) | >= 1 | `train.epochs` |"),
            std::string::npos);
}

TEST(Cli, BadValuesOfEveryCommandAreErrorsNamingTheFlag) {
  EXPECT_EQ(parse_error({"extract", "--run", "r", "--samples", "0"}), "--samples: must be >= 1, got 0");
  EXPECT_EQ(parse_error({"extract", "--run", "r", "--delta", "0"}), "--delta: must be > 0, got 0");
  EXPECT_EQ(parse_error({"extract", "--run", "r", "--sample-steps", "-1"}), "--sample-steps: must be >= 0, got -1");
  EXPECT_NE(parse_error({"extract", "--run", "r", "--draw", "maybe"}).find("--draw: expected mean or bernoulli"),
            std::string::npos);
  EXPECT_EQ(parse_error({"report", "--run", "r", "--high-quantile", "2"}), "--high-quantile: must be in (0, 1), got 2");
  EXPECT_EQ(parse_error({"run", "--high-quantile", "0"}), "--high-quantile: must be in (0, 1), got 0");
  EXPECT_EQ(parse_error({"score", "--run", "r", "--fdr", "1.5"}), "--fdr: must be in (0, 1), got 1.5");
  EXPECT_EQ(parse_error({"score", "--bank", "b", "--rmia-gamma", "inf"}), "--rmia-gamma: must be > 0, got inf");
  EXPECT_EQ(parse_error({"null-bank", "--out", "o", "--missing", "1"}), "--missing: must be in [0, 1), got 1");
  EXPECT_EQ(parse_error({"null-bank", "--out", "o", "--folds", "1"}), "--folds: must be >= 2, got 1");
  EXPECT_EQ(parse_error({"null-bank", "--out", "o", "--n", "0"}), "--n: must be >= 1, got 0");
  EXPECT_EQ(parse_error({"bench", "--iw-samples", "-1"}), "--iw-samples: must be >= 0, got -1");
  std::string shown;
  EXPECT_THROW(cli::parse({"extract", "--samples", "5"}, &shown), CLI::RequiredError);  // --run
  EXPECT_THROW(cli::parse({"score"}, &shown), CLI::RequiredError);                      // --run or --bank
  EXPECT_THROW(cli::parse({"score", "--run", "r", "--bank", "b"}, &shown), CLI::ExcludesError);
  EXPECT_THROW(cli::parse({"extract", "--run", "r", "--samples", "many"}, &shown), CLI::ParseError);
}

TEST(Cli, OptionsOfEveryCommandReachTheirConfig) {
  std::string shown;
  cli::Command c = cli::parse({"extract", "--run", "r", "--samples", "5", "--jobs", "0,3", "--draw", "bernoulli",
                               "--sampler", "ddim", "--sample-steps", "7", "--no-report"},
                              &shown);
  EXPECT_EQ(c.command, cli::Subcommand::kExtract);
  EXPECT_EQ(c.extract.run_dir, "r");
  EXPECT_EQ(c.extract.samples, 5);
  EXPECT_EQ(c.extract.jobs, (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(c.extract.draw, Draw::kBernoulli);
  EXPECT_EQ(c.extract.sampler, Sampler::kDdim);
  EXPECT_EQ(c.extract.sample_steps, 7);
  EXPECT_TRUE(c.no_report);
  c = cli::parse({"score", "--bank", "b", "--out", "o", "--fdr", "0.1", "--lira-variance", "global"}, &shown);
  EXPECT_EQ(c.command, cli::Subcommand::kScore);
  EXPECT_EQ(c.bank_dir, "b");
  EXPECT_EQ(c.bank_out, "o");
  EXPECT_DOUBLE_EQ(c.run.analysis.fdr, 0.1);
  EXPECT_EQ(c.run.membership.lira_variance, LiraVariance::kGlobal);
  EXPECT_TRUE(c.analysis_set && c.membership_set);
  c = cli::parse({"score", "--run", "r"}, &shown);
  EXPECT_FALSE(c.analysis_set || c.membership_set);
  c = cli::parse({"report", "--run", "r", "--high-quantile", "0.9"}, &shown);
  EXPECT_EQ(c.command, cli::Subcommand::kReport);
  EXPECT_DOUBLE_EQ(c.report.high_quantile, 0.9);
  c = cli::parse({"null-bank", "--out", "o", "--n", "50", "--design", "subsets", "--models", "8", "--seed", "3",
                  "--offset-sd", "2", "--tail-df", "0", "--planted", "4"},
                 &shown);
  EXPECT_EQ(c.command, cli::Subcommand::kNullBank);
  EXPECT_EQ(c.null_n, 50);
  EXPECT_EQ(c.run.plan.design, Design::kSubsets);
  EXPECT_EQ(c.run.plan.models, 8);
  EXPECT_EQ(c.run.seed, 3u);
  EXPECT_DOUBLE_EQ(c.null_bank.model_offset_sd, 2);
  EXPECT_DOUBLE_EQ(c.null_bank.tail_df, 0);
  EXPECT_EQ(c.null_bank.planted, 4);
  c = cli::parse({"bench", "--json", "b.json", "--epochs", "2"}, &shown);
  EXPECT_EQ(c.json_out, "b.json");
  EXPECT_EQ(c.run.train.epochs, 2);
  EXPECT_EQ(c.run.data.limit, 6000);  // the fmnist-6k workload's
  c = cli::parse({"exact", "--compare", "d"}, &shown);
  EXPECT_EQ(c.compare_dir, "d");
  EXPECT_EQ(c.run.model.family.kind, Family::kGaussian);
  c = cli::parse({"train", "--run", "d", "--shard", "1/3"}, &shown);
  EXPECT_EQ(c.run_dir, "d");
  EXPECT_EQ(c.run.shard_index, 1);
  EXPECT_EQ(c.run.shard_count, 3);
}
