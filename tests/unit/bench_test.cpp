#include "memscope/bench/bench.h"

#include <gtest/gtest.h>

#include "memscope/config/names.h"
#include "memscope/core/config.h"
#include "test_util.h"

using namespace memscope;

TEST(Bench, CountsTheMatmulFlopsOfWhatRanAndMeasuresAPeak) {
  const std::string dir = test::scratch_dir();
  test::write_image_set(dir, 120, 8, 8);  // D = 64
  RunConfig c;
  c.data.source = parse_data_source("idx:" + dir + "/images.idx:" + dir + "/labels.idx");
  c.model.hidden = {32};
  c.model.latent = 4;
  c.train.epochs = 3;
  c.train.batch_size = 16;
  c.plan.folds = 3;
  c.eval.iw_samples = 8;
  c.eval.eval_every = 2;  // evaluations after epochs 2 and 3
  c.out = dir + "/run";
  c.progress = ProgressMode::kNone;
  c.threads = 2;
  const BenchReport r = run_bench(c);

  // Closed form for the MLP 64-32-(2x4) / 4-32-64, by hand: multiply-adds per example.
  const double enc = 64 * 32 + 32 * 8, dec = 4 * 32 + 32 * 64, first = 64 * 32;
  const double forward = 2 * (enc + dec), train_step = 3 * forward - 2 * first;
  // 3 jobs of 80 training and 40 held-out examples, 3 epochs each.
  EXPECT_DOUBLE_EQ(r.train_flops, 3 * 3 * (80 * train_step + 40 * forward));
  const double eval_per_example = 2 * (enc + 8 * dec + 32 * 64 + 8 * 32);
  EXPECT_DOUBLE_EQ(r.eval_flops, 3 * 2 * 120 * eval_per_example);  // 3 models, 2 evaluations, 120 examples

  EXPECT_GT(r.peak_gflops, 0);  // measured: any positive figure (machines differ)
  EXPECT_GT(r.train_seconds, 0);
  EXPECT_GT(r.eval_seconds, 0);
  EXPECT_LE(r.train_seconds + r.eval_seconds, r.total_seconds * 1.01);
  EXPECT_GT(r.peak_rss_kb, 0);
  const nlohmann::json j = r.to_json(c);
  EXPECT_TRUE(j["speedup_vs_reference"].is_null());  // not the reference's workload
  EXPECT_NEAR(j["fraction_of_peak"]["train"].get<double>(), r.train_flops / r.train_seconds / 1e9 / r.peak_gflops,
              1e-9);
}

TEST(Bench, SameWorkloadIgnoresSeedsThreadsAndPlaces) {
  RunConfig a, b;
  a.data.limit = b.data.limit = 6000;
  b.seed = 7;
  b.threads = 1;
  b.train.group_size = 2;
  b.out = "/elsewhere";
  EXPECT_TRUE(same_workload(a, b));
  b.plan.repeats = 2;
  EXPECT_FALSE(same_workload(a, b));
  b.plan.repeats = a.plan.repeats;
  b.eval.iw_samples = a.eval.iw_samples + 1;
  EXPECT_FALSE(same_workload(a, b));
}
