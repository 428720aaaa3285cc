#include "memscope/pipeline/exact.h"

#include <gtest/gtest.h>

#include "memscope/config/names.h"
#include "memscope/core/error.h"
#include "memscope/data/loaders.h"
#include "memscope/io/atomic.h"
#include "memscope/io/csv.h"
#include "memscope/io/npy.h"
#include "memscope/pipeline/run.h"
#include "test_util.h"

using namespace memscope;

namespace {

std::string write_data(const std::string& dir, int64_t n, int64_t D) {
  torch::manual_seed(8);
  torch::Tensor x = torch::matmul(torch::randn({n, D}, torch::kFloat64), torch::randn({D, D}, torch::kFloat64));
  write_npy(dir + "/x.npy", x);
  return "npy:" + dir + "/x.npy";
}

}  // namespace

TEST(Exact, KFoldPipelineWithClosedFormModelsReproducesTheExactKFoldTarget) {
  const std::string dir = test::scratch_dir();
  for (const std::string family : {"gaussian", "ppca:2", "kde:1.5"}) {
    RunConfig c;
    c.data.source = parse_data_source(write_data(dir, 90, 5));
    c.model.family = parse_model_family(family);
    c.plan.folds = 3;
    c.plan.repeats = 2;
    c.progress = ProgressMode::kNone;
    c.out = dir + "/run-" + family;
    RunOutcome o = run(c);
    EXPECT_EQ(o.jobs_trained, 6);
    c.out = dir + "/exact-" + family;
    ExactOutcome e = exact(c, dir + "/run-" + family);
    const auto& s = e.summary["kfold_estimate_vs_kfold_target"];
    EXPECT_LT(s["max_abs_error"].get<double>(), 1e-4) << e.summary.dump(2);
    EXPECT_GT(s["spearman"].get<double>(), 0.9999);
    // The K-fold target differs from exact leave-one-out (fold-size bias) but ranks alike.
    EXPECT_GT(e.summary["kfold_target_vs_loo"]["max_abs_error"].get<double>(), 1e-3);
    CsvTable loo = read_numeric_csv(c.out + "/scores.csv");
    EXPECT_EQ(loo.header, (std::vector<std::string>{"index", "label", "logp_in", "logp_out", "mem", "leverage"}));
    EXPECT_EQ(loo.values.size(0), 90);
    const bool gaussian = family == "gaussian";
    EXPECT_EQ(bool(torch::isfinite(loo.column("leverage", "")).all().item<bool>()), gaussian);
  }
}

TEST(Exact, TabularDataAndItsErrors) {
  const std::string dir = test::scratch_dir();
  write_atomic(dir + "/d.csv", "a,b\n1,2\n3,4.5\n-1,0\n");
  DataConfig c;
  c.source = parse_data_source("csv:" + dir + "/d.csv");
  c.binarize = Binarize::kNone;
  Dataset d = load_dataset(c, 0);
  EXPECT_EQ(d.size(), 3);
  EXPECT_TRUE(torch::allclose(d.x[1], torch::tensor({3.0f, 4.5f})));
  c.binarize = Binarize::kSample;  // values outside [0, 1]
  EXPECT_THROW(load_dataset(c, 0), Error);
  write_atomic(dir + "/ragged.csv", "1,2\n3\n");
  c.source = parse_data_source("csv:" + dir + "/ragged.csv");
  c.binarize = Binarize::kNone;
  EXPECT_THROW(load_dataset(c, 0), Error);
  write_atomic(dir + "/word.csv", "1,2\n3,x\n");
  c.source = parse_data_source("csv:" + dir + "/word.csv");
  try {
    load_dataset(c, 0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 2 cell 2"), std::string::npos) << e.what();
  }
  write_npy(dir + "/cube.npy", torch::zeros({2, 3, 4}));
  c.source = parse_data_source("npy:" + dir + "/cube.npy");
  EXPECT_THROW(load_dataset(c, 0), Error);
}
