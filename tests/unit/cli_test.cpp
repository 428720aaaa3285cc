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

TEST(Cli, ImageOptionsParseFromFlagsAndToml) {
  const std::string dir = test::scratch_dir();
  write_atomic(dir + "/c.toml", "model = \"conv-vae\"\ndecoder = \"logit-gaussian\"\nhflip = true\ncrop = [1, 2, 30, 40]\n");
  std::string shown;
  cli::Command c = cli::parse({"run", "--config", dir + "/c.toml", "--resize", "64", "--data", "celeba:faces"}, &shown);
  EXPECT_EQ(c.run.model.family, "conv-vae");
  EXPECT_EQ(c.run.model.decoder, "logit-gaussian");
  EXPECT_TRUE(c.run.train.hflip);
  EXPECT_EQ(c.run.data.crop, (std::vector<int64_t>{1, 2, 30, 40}));
  EXPECT_EQ(c.run.data.resize, 64);
  RunConfig r = resolved(c.run);
  EXPECT_EQ(r.data.binarize, "none");  // continuous decoders keep pixel values
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
  EXPECT_NE(message([](RunConfig& c) { c.model.decoder = "poisson"; }).find("--decoder"), std::string::npos);
  EXPECT_NE(message([](RunConfig& c) { c.model.decoder = "gaussian"; }).find("MLP VAE has the Bernoulli decoder only"),
            std::string::npos);
  EXPECT_NE(message([](RunConfig& c) { c.model.family = "conv-vae", c.model.decoder = "gaussian", c.data.binarize = "sample"; })
                .find("continuous"),
            std::string::npos);
  EXPECT_NE(message([](RunConfig& c) { c.data.crop = {5, 5, 2, 9}; }).find("--crop"), std::string::npos);
  // A run's configuration round-trips through config.json.
  RunConfig back = run_config_from_json(to_json(r));
  EXPECT_EQ(identity_json(back), identity_json(r));
}
