#include "memscope/pipeline/run.h"
#include "memscope/pipeline/run_layout.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "memscope/config/names.h"
#include "memscope/core/error.h"
#include "memscope/io/atomic.h"
#include "memscope/io/npy.h"
#include "memscope/report/images.h"

#include "test_util.h"
#include "tiny_run.h"

using namespace memscope;
namespace fs = std::filesystem;

using test::tiny_run;

TEST(Run, EndToEndOnAFewHundredExamples) {
  const std::string dir = test::scratch_dir();
  RunConfig c = tiny_run(dir);
  RunOutcome o = run(c);
  EXPECT_EQ(o.jobs_trained, 8);
  EXPECT_EQ(o.jobs_skipped, 0);
  ASSERT_EQ(o.scores.mem.size(), 160u);
  for (size_t i = 0; i < 160; ++i) {
    EXPECT_EQ(o.scores.n_in[i], 6);
    EXPECT_EQ(o.scores.n_out[i], 2);
    EXPECT_TRUE(std::isfinite(o.scores.mem[i]) && std::isfinite(o.scores.mem_se[i]));
  }
  // Raw material: [E, N, J] log p, [N, J] mask, epochs, and the CSV header.
  torch::Tensor logp = read_npy(RunLayout(c.out).logp());
  EXPECT_EQ(logp.sizes(), torch::IntArrayRef({2, 160, 8}));
  EXPECT_TRUE(torch::isfinite(logp).all().item<bool>());
  EXPECT_EQ(read_npy(RunLayout(c.out).mask()).sizes(), torch::IntArrayRef({160, 8}));
  EXPECT_TRUE(torch::equal(read_npy(RunLayout(c.out).epochs()), torch::tensor({2, 4}, torch::kInt64)));
  EXPECT_EQ(read_npy(RunLayout(c.out).mem_by_epoch()).sizes(), torch::IntArrayRef({2, 160}));
  const std::string csv = read_file(RunLayout(c.out).scores());
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "index,label,logp_in,logp_out,mem,mem_se,n_in,n_out,mem_log,mem_log_se,mia_risk,mem_plugin,mem_p,mem_q,"
            "nn_dist,u_rank,leverage,loo_mem,"
            "spill,spill_se,spill_pairs,spill_ratio,spill_control,spill_control_se");
  EXPECT_TRUE(fs::exists(RunLayout(c.out).job_model(7)));
  const std::string config = read_file(RunLayout(c.out).config());
  EXPECT_NE(config.find("\"train_loss\""), std::string::npos);
  EXPECT_NE(config.find("\"memscope_version\""), std::string::npos);
}

TEST(Run, AutoImportanceSamplesAreChosenFromAPilotAndRecorded) {
  const std::string dir = test::scratch_dir();
  RunConfig c = tiny_run(dir);
  c.eval.iw_samples = 0;
  c.eval.eval_every = 0;
  RunOutcome o = run(c);
  ASSERT_EQ(o.scores.mem.size(), 160u);
  const nlohmann::json cfg = nlohmann::json::parse(read_file(RunLayout(c.out).config()));
  EXPECT_EQ(cfg["config"]["eval"]["iw_samples"], 0);
  std::set<int64_t> chosen;
  for (const auto& j : cfg["jobs"]) chosen.insert(j["eval_samples"].get<int64_t>());
  ASSERT_EQ(chosen.size(), 1u);  // one group, one pilot
  EXPECT_GE(*chosen.begin(), 8);
  EXPECT_LE(*chosen.begin(), 1024);
  EXPECT_TRUE(torch::isfinite(read_npy(RunLayout(c.out).logp())).all().item<bool>());
}

TEST(Run, ResumesSkippingFinishedJobsWithIdenticalScores) {
  const std::string dir = test::scratch_dir();
  RunConfig c = tiny_run(dir);
  c.train.group_size = 3;
  run(c);
  const std::string first = read_file(RunLayout(c.out).scores());
  const torch::Tensor mem_first = read_npy(RunLayout(c.out).mem_by_epoch());
  // Same command again: nothing to train, same scores.
  RunOutcome again = run(c);
  EXPECT_EQ(again.jobs_trained, 0);
  EXPECT_EQ(read_file(RunLayout(c.out).scores()), first);
  // A run killed before jobs 6 and 7 committed: their result.json never got written.
  fs::remove(RunLayout(c.out).job_result(6));
  fs::remove_all(RunLayout(c.out).job_dir(7));
  fs::remove(RunLayout(c.out).scores());
  RunOutcome resumed = run(c);
  EXPECT_EQ(resumed.jobs_trained, 2);
  EXPECT_EQ(resumed.jobs_skipped, 6);
  // Jobs 6 and 7 trained in another group than the first time; a member does not depend on its group.
  EXPECT_TRUE(torch::allclose(mem_first, read_npy(RunLayout(c.out).mem_by_epoch()), 1e-4, 1e-3));
}

TEST(Run, MoreRepeatsOnAFinishedRunTrainOnlyTheNewJobs) {
  const std::string dir = test::scratch_dir();
  RunConfig c = tiny_run(dir);
  c.plan.repeats = 1;
  c.train.epochs = 2;
  c.eval.eval_every = 0;
  c.train.group_size = 1;
  run(c);
  const torch::Tensor first = read_npy(RunLayout(c.out).job_logp(2));
  c.plan.repeats = 2;
  RunOutcome more = run(c);
  EXPECT_EQ(more.jobs_skipped, 4);
  EXPECT_EQ(more.jobs_trained, 4);
  EXPECT_EQ(more.scores.n_out[0], 2);
  EXPECT_TRUE(torch::equal(first, read_npy(RunLayout(c.out).job_logp(2))));
  EXPECT_EQ(read_npy(RunLayout(c.out).mask()).size(1), 8);
}

TEST(Run, MoreModelsOnAFinishedSubsetsRunTrainOnlyTheNewJobs) {
  const std::string dir = test::scratch_dir();
  RunConfig c = tiny_run(dir, 64);
  c.plan.design = Design::kSubsets;
  c.plan.models = 4;
  c.train.epochs = 1;
  c.eval.eval_every = 0;
  c.train.group_size = 1;
  run(c);
  const torch::Tensor mask4 = read_npy(RunLayout(c.out).mask());
  const std::string result1 = read_file(RunLayout(c.out).job_result(1));
  const torch::Tensor logp1 = read_npy(RunLayout(c.out).job_logp(1));
  const std::string scores4 = read_file(RunLayout(c.out).scores());
  c.plan.models = 6;  // a new block of 2 models, each example in 1 of them
  const RunOutcome more = run(c);
  EXPECT_EQ(more.jobs_total, 6);
  EXPECT_EQ(more.jobs_skipped, 4);
  EXPECT_EQ(more.jobs_trained, 2);
  const torch::Tensor mask6 = read_npy(RunLayout(c.out).mask());
  ASSERT_EQ(mask6.size(1), 6);
  EXPECT_TRUE(mask6.slice(1, 0, 4).equal(mask4));
  EXPECT_TRUE(mask6.slice(1, 4, 6).to(torch::kInt64).sum(1).eq(1).all().item<bool>());
  EXPECT_EQ(read_file(RunLayout(c.out).job_result(1)), result1);  // untouched
  EXPECT_TRUE(torch::equal(logp1, read_npy(RunLayout(c.out).job_logp(1))));
  EXPECT_EQ(more.scores.n_in[0], 3);
  EXPECT_EQ(more.scores.n_out[0], 3);
  EXPECT_NE(read_file(RunLayout(c.out).scores()), scores4);
  const nlohmann::json config = read_json_object(RunLayout(c.out).config());
  EXPECT_EQ(config["config"]["plan"]["subset_blocks"], nlohmann::json({4, 2}));
  EXPECT_EQ(config["identity"]["plan"]["models"], 4);
  // Scoring the directory again rebuilds the same two-block plan from config.json.
  const RunOutcome scored = score_run(c.out);
  EXPECT_TRUE(scored.missing.empty());
  EXPECT_EQ(scored.scores.mem, more.scores.mem);
  // The same options again train nothing; a model count inside the second block is refused.
  EXPECT_EQ(run(c).jobs_trained, 0);
  c.plan.models = 5;
  EXPECT_THROW(run(c), ConfigError);
}

TEST(Run, UntilReliabilityAddsRepeatsUntilTheTargetOrTheCap) {
  const std::string dir = test::scratch_dir();
  RunConfig c = tiny_run(dir);
  c.plan.repeats = 1;
  c.train.epochs = 2;
  c.eval.eval_every = 0;
  c.plan.until_reliability = 0.999;  // out of reach for 160 tiny images: stops at the cap
  c.plan.max_repeats = 3;
  const RunOutcome o = run(c);
  EXPECT_EQ(o.jobs_total, 3 * c.plan.folds);
  EXPECT_EQ(o.jobs_trained, 3 * c.plan.folds);
  ASSERT_TRUE(o.reliability.has_value());  // three repeats split in halves
  EXPECT_EQ(o.reliability->units, 3);
  EXPECT_LT(o.reliability->mem.whole_run, 0.999);
  // Asked again with a lower cap, the finished repeats are kept: nothing is trained anew.
  c.plan.until_reliability = 0.5;
  c.plan.repeats = 2;
  c.plan.max_repeats = 3;
  const RunOutcome again = run(c);
  EXPECT_EQ(again.jobs_trained, 0);
  EXPECT_LE(again.jobs_total, 3 * c.plan.folds);
}

TEST(Run, TwoSeedsOfATinyPlanGiveCalibratedErrorBars) {
  // The two-seed check at test size, through the whole program: two runs of one plan that differ only
  // in --seed (folds, binarization, initialisation, minibatches, importance samples). Calibrated
  // error bars give z = (M1 - M2) / sqrt(se1^2 + se2^2) a standard deviation near 1 over examples.
  const std::string dir = test::scratch_dir();
  RunConfig a = tiny_run(dir, 400);
  a.plan.repeats = 3;
  a.eval.eval_every = 0;
  RunConfig b = a;
  b.seed = a.seed + 1;
  b.out = dir + "/run-b";
  const RunOutcome oa = run(a), ob = run(b);
  const double zm = test::z_sd(oa.scores.mem, oa.scores.mem_se, ob.scores.mem, ob.scores.mem_se);
  const double zl = test::z_sd(oa.scores.mem_log, oa.scores.mem_log_se, ob.scores.mem_log, ob.scores.mem_log_se);
  EXPECT_GE(zm, 0.85);
  EXPECT_LE(zm, 1.2);
  EXPECT_GE(zl, 0.85);
  EXPECT_LE(zl, 1.2);
  // The two runs share no fold assignment: the test compares independent runs.
  EXPECT_FALSE(torch::equal(read_npy(RunLayout(a.out).mask()), read_npy(RunLayout(b.out).mask())));
}

TEST(Run, RefusesADifferentConfigurationOnTheSameDirectory) {
  const std::string dir = test::scratch_dir();
  RunConfig c = tiny_run(dir);
  c.train.epochs = 1;
  c.plan.repeats = 1;
  run(c);
  c.train.epochs = 2;
  try {
    run(c);
    FAIL() << "a different configuration was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("train/epochs: 1 there, 2 here"), std::string::npos) << e.what();
  }
  // Threads and progress do not change results and may differ.
  c.train.epochs = 1;
  c.threads = 2;
  EXPECT_NO_THROW(run(c));
  // A directory of unrelated files is not taken over.
  c.out = dir;
  EXPECT_THROW(run(c), Error);
}

TEST(Run, ResultsWithAnotherKeyAreNeverMixedIntoScores) {
  const std::string dir = test::scratch_dir();
  RunConfig c = tiny_run(dir);
  c.train.epochs = 1;
  c.plan.repeats = 1;
  c.eval.eval_every = 0;
  run(c);
  // The manifest lists every job with the key its result carries.
  const nlohmann::json manifest = read_json(RunLayout(c.out).manifest());
  ASSERT_EQ(manifest["jobs"].size(), 4u);
  for (const auto& j : manifest["jobs"]) {
    const nlohmann::json result =
        read_json(fs::path(c.out) / "jobs" / fmt::format("job-{:05d}", j["id"].get<int>()) / "result.json");
    EXPECT_EQ(result["key"], j["key"]);
  }
  // A result made under another identity (say, an older version) is not counted ...
  nlohmann::json r1 = read_json(RunLayout(c.out).job_result(1));
  r1["key"] = "0123456789abcdef";
  write_atomic(RunLayout(c.out).job_result(1), r1.dump());
  RunOutcome partial = score_run(c.out);
  EXPECT_EQ(partial.missing, std::vector<int64_t>({1}));
  int64_t lost = 0;
  for (size_t i = 0; i < 160; ++i) lost += partial.scores.n_in[i] + partial.scores.n_out[i] == 3;
  EXPECT_EQ(lost, 160);  // every example lost the one model
  // ... and a re-run retrains only that job.
  RunOutcome again = run(c);
  EXPECT_EQ(again.jobs_trained, 1);
  EXPECT_EQ(again.jobs_skipped, 3);
}

TEST(Run, RefusesChangedDataBehindTheSameSpec) {
  const std::string dir = test::scratch_dir();
  RunConfig c = tiny_run(dir);
  c.train.epochs = 1;
  c.plan.repeats = 1;
  run(c);
  test::write_image_set(dir, 160, 8, 8, /*seed=*/8);  // same file names, other pixels
  try {
    run(c);
    FAIL() << "a run on other data was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("data_hash"), std::string::npos) << e.what();
  }
}

TEST(Run, EveryVaeRunsOnATinyRgbImageFolder) {
  const std::string dir = test::scratch_dir();
  torch::manual_seed(3);
  torch::Tensor protos = torch::rand({2, 3, 16, 16});
  for (int i = 0; i < 40; ++i) {
    const std::string sub = dir + (i % 2 ? "/b" : "/a");
    fs::create_directories(sub);
    torch::Tensor img = (protos[i % 2] + 0.15 * torch::randn({3, 16, 16})).clamp(0, 1);
    std::ofstream(str(sub, "/", i, ".png"), std::ios::binary) << encode_png(img);
  }
  for (const auto& [model, decoder] : std::vector<std::pair<std::string, std::string>>{{"conv-vae", "bernoulli"},
                                                                                       {"conv-vae", "logit-gaussian"},
                                                                                       {"conv-vae", "gaussian"},
                                                                                       {"mlp-vae", "bernoulli"}}) {
    RunConfig c;
    c.data.source = parse_data_source("images:" + dir);
    c.model.family = parse_model_family(model);
    c.model.decoder = parse_choice<Decoder>(decoder);
    c.model.hidden = {32, 16};
    c.model.latent = 4;
    c.train.epochs = 2;
    c.train.batch_size = 8;
    c.train.hflip = true;
    c.plan.folds = 2;
    c.eval.iw_samples = 4;
    c.out = dir + "/run-" + model + "-" + decoder;
    c.progress = ProgressMode::kNone;
    c.threads = 1;
    RunOutcome o = run(c);
    ASSERT_EQ(o.scores.mem.size(), 40u) << model << " " << decoder;
    for (size_t i = 0; i < 40; ++i) EXPECT_TRUE(std::isfinite(o.scores.mem[i])) << model << " " << decoder;
    EXPECT_TRUE(fs::exists(RunLayout(c.out).scores()));
    const std::string cfg = read_file(RunLayout(c.out).config());
    EXPECT_NE(cfg.find("\"decoder\": \"" + decoder + "\""), std::string::npos);
    EXPECT_NE(cfg.find("\"hflip\": true"), std::string::npos);
  }
}

TEST(Run, AModelThatCannotTakeTheDataFailsBeforeTheRunDirectoryExists) {
  const std::string dir = test::scratch_dir();
  RunConfig c = tiny_run(dir);  // 8 x 8 images
  c.model.family = {Family::kConvVae, 0};
  c.model.decoder = Decoder::kGaussian;
  c.data.binarize = Binarize::kNone;
  c.data.pad32 = false;
  const std::string conv_error = test::error_of([&] { run(c); });
  EXPECT_NE(conv_error.find("16"), std::string::npos) << conv_error;
  EXPECT_FALSE(fs::exists(c.out));
  c.model.family = {Family::kMlpVae, 0};
  c.model.decoder = Decoder::kBernoulli;
  c.data.source = parse_data_source("csv:" + dir + "/table.csv");
  c.train.hflip = true;
  std::ofstream(dir + "/table.csv") << "1,0,1\n0,1,0\n1,1,0\n0,0,1\n1,0,0\n0,1,1\n1,1,1\n0,0,0\n";
  c.data.binarize = Binarize::kThreshold;
  const std::string flip_error = test::error_of([&] { run(c); });
  EXPECT_NE(flip_error.find("hflip: needs images"), std::string::npos) << flip_error;
  EXPECT_FALSE(fs::exists(c.out));
}
