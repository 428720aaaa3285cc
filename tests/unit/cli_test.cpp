#include "cli.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include "memscope/core/error.h"
#include "memscope/io/atomic.h"
#include "test_util.h"

using namespace memscope;

TEST(Cli, FlagsOverrideTheTomlFile) {
  const std::string dir = test::scratch_dir();
  write_atomic(dir + "/c.toml",
               "folds = 3\nepochs = 7\nhidden = [64, 32]\nlr = 0.0001\ndata = \"idx:a.idx\"\nno_pad = true\n");
  std::string shown;
  cli::Command c = cli::parse({"run", "--config", dir + "/c.toml", "--epochs", "2"}, &shown);
  EXPECT_EQ(c.name, "run");
  EXPECT_EQ(c.run.plan.folds, 3);
  EXPECT_EQ(c.run.train.epochs, 2);
  EXPECT_EQ(c.run.model.hidden, (std::vector<int64_t>{64, 32}));
  EXPECT_DOUBLE_EQ(c.run.train.lr, 1e-4);
  EXPECT_EQ(c.run.data.source, "idx:a.idx");
  EXPECT_FALSE(c.run.data.pad32);
  EXPECT_EQ(c.run.plan.repeats, 1);  // default kept
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
  EXPECT_NE(message([](RunConfig& c) { c.plan.folds = 0; }).find("--folds"), std::string::npos);
  EXPECT_NE(message([](RunConfig& c) { c.train.lr = -1; }).find("--lr"), std::string::npos);
  EXPECT_NE(message([](RunConfig& c) { c.eval.iw_samples = 0; }).find("--iw-samples"), std::string::npos);
  EXPECT_NE(message([](RunConfig& c) { c.data.binarize = "maybe"; }).find("--binarize"), std::string::npos);
  EXPECT_EQ(message([](RunConfig&) {}), "");
  EXPECT_EQ(eval_epochs({7, 64, 1e-3, 0}, {8, 3}), (std::vector<int64_t>{3, 6, 7}));
  EXPECT_EQ(eval_epochs({6, 64, 1e-3, 0}, {8, 3}), (std::vector<int64_t>{3, 6}));
  EXPECT_EQ(eval_epochs({6, 64, 1e-3, 0}, {8, 0}), (std::vector<int64_t>{6}));
}
