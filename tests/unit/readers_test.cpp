// Regression tests for malformed input found with the fuzz targets (fuzz/): every reader turns it
// into memscope::Error naming the file, never another exception or a crash.
#include <gtest/gtest.h>

#include <algorithm>

#include "cli.h"
#include "memscope/core/config.h"
#include "memscope/core/error.h"
#include "memscope/io/atomic.h"
#include "memscope/pipeline/run_config_file.h"
#include "test_util.h"

using namespace memscope;
using test::error_of;

// Found while writing fuzz/fuzz_run_json: a config.json whose top level is not an object (e.g. "[1]") made
// nlohmann's value() throw its type_error, and a value of the wrong type (e.g. "epochs": "3")
// made get_to throw it; a double too large for an integer field was undefined behaviour.
TEST(RunJson, MalformedConfigJsonIsAnErrorNamingTheFileAndKey) {
  const std::string dir = test::scratch_dir();
  const std::string p = dir + "/config.json";
  write_atomic(p, R"({"config": {"train": {"epochs": 3, "lr": 0.01}, "model": {"hidden": [8, 4]}, "seed": 7}})");
  const RunConfig c = read_run_config_file(p);
  EXPECT_EQ(c.train.epochs, 3);
  EXPECT_DOUBLE_EQ(c.train.lr, 0.01);
  EXPECT_EQ(c.model.hidden, (std::vector<int64_t>{8, 4}));
  EXPECT_EQ(c.seed, 7u);
  const std::pair<const char*, const char*> cases[] = {
      {"[1]", "expected a JSON object"},
      {R"({"config": [1]})", "expected a JSON object"},
      {R"({"config": {"train": 5}})", "'train' should be an object"},
      {R"({"config": {"train": {"epochs": "3"}}})", "'train.epochs' should be an integer"},
      {R"({"config": {"train": {"epochs": 1e300}}})", "'train.epochs' should be an integer"},
      {R"({"config": {"plan": {"folds": 18446744073709551615}}})", "'plan.folds' should be an integer in range"},
      {R"({"config": {"seed": -1}})", "'seed' should be an integer in range"},
      {R"({"config": {"train": {"lr": "fast"}}})", "'train.lr' should be a number"},
      {R"({"config": {"data": {"pad32": 1}}})", "'data.pad32' should be true or false"},
      {R"({"config": {"model": {"hidden": [8, "x"]}}})", "'model.hidden' should be an integer"},
      {R"({"config": {"model": {"family": null}}})", "'model.family' should be a string"},
      {R"({"config": )", "not valid JSON"},
  };
  for (const auto& [text, expected] : cases) {
    write_atomic(p, text);
    const std::string msg = error_of([&] { read_run_config_file(p); });
    EXPECT_NE(msg.find(p), std::string::npos) << text << " -> " << msg;
    EXPECT_NE(msg.find(expected), std::string::npos) << text << " -> " << msg;
  }
}

// Found while writing fuzz/fuzz_run_json: result.json's key was read with value("key", ""), which throws
// nlohmann's type_error when the file is not an object or the key is not a string.
TEST(RunJson, MalformedResultJsonIsAnError) {
  const std::string dir = test::scratch_dir();
  const std::string p = dir + "/result.json";
  write_atomic(p, R"({"key": "00ff", "id": 0})");
  EXPECT_EQ(json_string(read_json_object(p), "key", p), "00ff");
  EXPECT_EQ(json_string(read_json_object(p), "nokey", p, "none"), "none");
  write_atomic(p, "\"just a string\"");
  EXPECT_NE(error_of([&] { read_json_object(p); }).find("expected a JSON object, got string"), std::string::npos);
  write_atomic(p, R"({"key": 12})");
  EXPECT_NE(error_of([&] { json_string(read_json_object(p), "key", p); }).find("'key' should be a string"),
            std::string::npos);
}

// Found while writing fuzz/fuzz_toml: toml11 parses nested arrays recursively, so a --config file
// of 100,000 '[' overflowed the stack (SIGSEGV, reproduced standalone with toml11 3.7). Nesting
// beyond 64 levels is now refused before parsing; brackets inside strings and comments do not count.
TEST(Toml, DeepNestingIsAnErrorNotAStackOverflow) {
  const std::string dir = test::scratch_dir();
  const std::string p = dir + "/deep.toml";
  write_atomic(p, "hidden = " + std::string(100000, '[') + "\n");
  EXPECT_NE(error_of([&] { cli::toml_to_flags(p); }).find("nests arrays or tables more than 64 levels"),
            std::string::npos);
  write_atomic(p, "# [[[[ " + std::string(100, '[') + "\ndata = \"csv:[" + std::string(100, '[') +
                      "].csv\"\nhidden = [[1], [2]]\nprogress = '''" + std::string(100, '{') + "'''\n");
  EXPECT_THROW(cli::toml_to_flags(p), Error);  // hidden is an array of arrays: rejected, but parsed
  write_atomic(p, "# [[[[ " + std::string(100, '[') + "\ndata = \"csv:[\\\"" + std::string(100, '[') +
                      "].csv\"\nhidden = [1, 2]\n");
  const std::vector<std::string> flags = cli::toml_to_flags(p);
  EXPECT_NE(std::find(flags.begin(), flags.end(), "1,2"), flags.end());
}

// Found by fuzz/fuzz_toml (build-fuzz/artifacts/toml-crash-e1159f65...: `ABdata ='f\xff...`):
// toml11 3.7's error path for invalid UTF-8 in a literal string resets a location to an iterator
// of another buffer and reads past it (ASan heap-buffer-overflow). Invalid UTF-8 is refused first.
TEST(Toml, InvalidUtf8IsAnErrorBeforeToml11SeesIt) {
  const std::string dir = test::scratch_dir();
  const std::string p = dir + "/bad.toml";
  write_atomic(p, std::string("ABdata ='f\xff\xff\xff\xff\xff\xff\xff\x42"
                              "data ='f\xff\xff\xff\xff\xff\xff\xff\xff\xff\xffold=",
                              40));
  EXPECT_NE(error_of([&] { cli::toml_to_flags(p); }).find("is not valid UTF-8 (byte 10)"), std::string::npos);
  for (const char* bad : {"a = '\xc0\xaf'\n", "a = '\xed\xa0\x80'\n", "a = '\xf4\x90\x80\x80'\n", "a = '\xe2\x82'\n"}) {
    write_atomic(p, bad);
    EXPECT_THROW(cli::toml_to_flags(p), Error) << bad;
  }
  write_atomic(p, "data = 'caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80'\n");  // valid 2-, 3- and 4-byte sequences
  EXPECT_EQ(cli::toml_to_flags(p).size(), 2u);
}
