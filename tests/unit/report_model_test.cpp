// The report as data (build_report), its summary.json (summary_json) and its page (render_html),
// on a planted run of 20 examples whose every reported figure is known in closed form.
#include "memscope/report/report_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "memscope/io/atomic.h"
#include "memscope/report/html.h"
#include "memscope/report/images.h"
#include "memscope/report/report_files.h"
#include "memscope/report/summary.h"
#include "test_util.h"

using namespace memscope;
using json = nlohmann::json;
using test::error_of;

namespace {

constexpr int64_t kN = 20;
/// The example whose M is NaN.
constexpr int64_t kNanRow = 5;

/// Makes the examples with M above threshold the discoveries (q-value 0.01; the others 1).
void discover_above(ReportInput& in, double threshold) {
  in.scores.mem_q.clear();
  for (double m : in.scores.mem) in.scores.mem_q.push_back(m > threshold ? 0.01 : 1.0);
}

/// 20 examples: M of row i is (7 i) mod 20 (a permutation of 0..19), NaN for row 5 (so 15 is
/// missing); the discoveries are the examples above the 0.95 quantile of M (row 17, M 19); U = i - 100; x = i / 20 in
/// all 4 features (l2 distance |i - j| / 20); labels i mod 3; original index 1000 + i; row 3 rests on 2 of the 3 jobs.
/// Job 1 diverged.
ReportInput planted(bool images = false) {
  ReportInput in;
  in.run_dir = "runs/<b>planted</b>";
  in.images = images;
  in.data.x = (torch::arange(kN, torch::kFloat32) / 20).unsqueeze(1).expand({kN, 4}).contiguous();
  in.data.index = torch::arange(kN, torch::kInt64) + 1000;
  in.data.label = torch::arange(kN, torch::kInt64) % 3;
  in.data.shape = {1, 2, 2};
  in.data.name = "planted";
  for (int64_t i = 0; i < kN; ++i) {
    const double m = i == kNanRow ? NAN : double((7 * i) % 20);
    in.scores.mem.push_back(m);
    in.scores.mem_se.push_back(0.5);
    in.scores.logp_in.push_back(double(i) - 100);
    in.scores.logp_out.push_back(double(i) - 100 - m);
    in.scores.n_in.push_back(i == 3 ? 1 : 2);
    in.scores.n_out.push_back(1);
  }
  discover_above(in, 18.5);
  in.epochs = {1, 2};
  const torch::Tensor mem = torch::tensor(in.scores.mem, torch::kFloat64);
  in.mem_by_epoch = torch::stack({mem * 0.5, mem});
  in.mask = torch::zeros({kN, 3}, torch::kBool);
  in.record = parse_run_record(json::parse(R"({
    "memscope_version": "9.9.9", "torch_version": "1.13",
    "config": {"model": {"family": "mlp_vae"}, "seed": 4},
    "jobs": [
      {"id": 0, "status": "ok", "train_seconds": 1.5, "eval_seconds": 0.5, "train_loss": [3, 2],
       "heldout_loss": [3.5, 2.5]},
      {"id": 1, "status": "diverged", "diverged_epoch": 2, "train_seconds": 2, "eval_seconds": 1,
       "train_loss": [3, null]},
      {"id": 2, "status": "ok", "train_seconds": 0.25, "eval_seconds": 0.25}]})"),
                               "config.json");
  return in;
}

std::vector<double> mems(const std::vector<ExampleView>& v) {
  std::vector<double> out;
  for (const auto& e : v) out.push_back(e.mem);
  return out;
}
std::vector<int64_t> rows_of(const std::vector<ExampleView>& v) {
  std::vector<int64_t> out;
  for (const auto& e : v) out.push_back(e.row);
  return out;
}

std::string corpus(const std::string& name) { return std::string(MEMSCOPE_SOURCE_DIR) + "/fuzz/corpus/" + name; }

/// The page-data block of a rendered page.
json page_data(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"page-data\">";
  const size_t a = html.find(open) + open.size(), b = html.find("</script>", a);
  return json::parse(html.substr(a, b - a));
}

}  // namespace

TEST(ReportModel, TopBottomAndTableRowsFollowM) {
  ReportOptions opt;
  opt.grid = 4;
  opt.max_rows = 10;
  const ReportModel m = build_report(planted(), opt);
  // M = 7 i mod 20: 19 at row 17, 18 at 14, 17 at 11, 16 at 8; 0 at row 0, 1 at 3, 2 at 6, 3 at 9.
  EXPECT_EQ(rows_of(m.top), (std::vector<int64_t>{17, 14, 11, 8}));
  EXPECT_EQ(rows_of(m.bottom), (std::vector<int64_t>{0, 3, 6, 9}));
  EXPECT_EQ(m.top[0].index, 1017);
  EXPECT_EQ(m.top[0].label, 17 % 3);
  EXPECT_DOUBLE_EQ(m.top[0].logp_out, 17 - 100 - 19);
  // The 0.95 quantile of the 19 finite M (0..19 without 15) is 18 + 0.1 (position 17.1): only M = 19
  // is highly memorized. The table: max(10 / 2, 1) = 5 most memorized, then every third of the 15
  // others in M order (positions 5, 8, 11, 14, 17 of 19, 18, 17, 16, 14, 13, ...).
  EXPECT_NEAR(m.analysis.high_threshold, 18.1, 1e-12);
  EXPECT_EQ(m.analysis.n_high, 1);
  EXPECT_EQ(mems(m.rows), (std::vector<double>{19, 18, 17, 16, 14, 13, 10, 7, 4, 1}));
  EXPECT_TRUE(m.rows[0].high);
  EXPECT_FALSE(m.rows[1].high);
  EXPECT_TRUE(m.top[0].image.empty());  // tabular: no images
  // All rows fit: the NaN example comes last.
  opt.max_rows = 100;
  const ReportModel all = build_report(planted(), opt);
  ASSERT_EQ(all.rows.size(), size_t(kN));
  EXPECT_EQ(all.rows.back().row, kNanRow);
  EXPECT_TRUE(std::isnan(all.rows.back().mem));
}

TEST(ReportModel, NeighboursBinsAndChartsAreThePlantedOnes) {
  ReportOptions opt;
  opt.grid = 2;
  const ReportModel m = build_report(planted(), opt);
  ASSERT_EQ(m.neighbours.size(), 2u);
  // Row 17's nearest: 16 and 18 at 1/20, 15 and 19 at 2/20, 14 at 3/20.
  const NeighbourView& n = m.neighbours[0];
  EXPECT_EQ(n.example.row, 17);
  ASSERT_EQ(n.neighbours.size(), 5u);
  const std::vector<double> want = {0.05, 0.05, 0.1, 0.1, 0.15};
  for (size_t k = 0; k < 5; ++k) {
    EXPECT_NEAR(n.distances[k], want[k], 1e-6) << k;
    EXPECT_NEAR(std::abs(n.neighbours[k].row - 17) / 20.0, want[k], 1e-9) << k;
  }
  // Bins of U: two bars each; the counts add up to the 19 examples with finite M, one of them high.
  const size_t bins = m.analysis.logp_in_bins.size();
  ASSERT_EQ(m.bins.size(), 2 * bins);
  int64_t regular = 0, high = 0;
  for (const BinBar& b : m.bins) (b.kind == "regular" ? regular : high) += b.count;
  EXPECT_EQ(regular, 18);
  EXPECT_EQ(high, 1);
  EXPECT_EQ(m.bins[0].bin.substr(0, 4), "00: ");
  // Per bin at most three examples, most memorized first, U inside the bin; row 5 (NaN M) in its bin.
  ASSERT_EQ(m.bin_examples.size(), bins);
  for (size_t b = 0; b < bins; ++b) {
    const double lo = m.analysis.logp_in_bins[b].lo, hi = m.analysis.logp_in_bins[b].hi;
    EXPECT_LE(m.bin_examples[b].size(), 3u);
    for (size_t k = 0; k < m.bin_examples[b].size(); ++k) {
      const ExampleView& e = m.bin_examples[b][k];
      EXPECT_TRUE(e.logp_in >= lo && e.logp_in < hi) << b << " " << e.logp_in;
      // NaN M ranks last (the examples are taken in M order, NaN last).
      if (k == 0) continue;
      EXPECT_TRUE(std::isnan(e.mem) || m.bin_examples[b][k - 1].mem >= e.mem) << b << " " << k;
    }
  }
  bool nan_shown = false;
  for (const auto& bin : m.bin_examples)
    for (const ExampleView& e : bin) nan_shown |= e.row == kNanRow;
  EXPECT_TRUE(nan_shown);  // as many as two examples per bin of U: every example is shown
  // Chart series: finite M only; losses 1-based per job (null loss kept as NaN); quantiles per epoch.
  EXPECT_EQ(m.mem_values.size(), size_t(kN - 1));
  ASSERT_EQ(m.losses.size(), 6u);
  EXPECT_EQ(m.losses[1].epoch, 2);
  EXPECT_EQ(m.losses[2].set, "held-out");
  EXPECT_TRUE(std::isnan(m.losses[5].loss));
  ASSERT_EQ(m.epoch_points.size(), 4u);
  EXPECT_NEAR(m.epoch_points[0].value, 18.1 / 2, 1e-9);  // epoch 1: M / 2
  EXPECT_NEAR(m.epoch_points[2].value, 18.1, 1e-9);
}

TEST(ReportModel, RunFactsCountFailedJobsLostModelsAndTime) {
  const ReportModel m = build_report(planted(), {});
  EXPECT_EQ(m.run.jobs, 3);
  ASSERT_EQ(m.run.failed.size(), 1u);
  EXPECT_EQ(m.run.failed[0].id, 1);
  EXPECT_EQ(m.run.failed[0].status, "diverged");
  EXPECT_EQ(m.run.failed[0].diverged_epoch, 2);
  EXPECT_DOUBLE_EQ(m.run.train_seconds, 3.75);
  EXPECT_DOUBLE_EQ(m.run.eval_seconds, 1.75);
  EXPECT_EQ(m.run.lost_examples, 1);  // row 3: 1 + 1 of 3 models
  EXPECT_EQ(m.run.lost_most, 1);
  EXPECT_EQ(m.run.memscope_version, "9.9.9");
  EXPECT_EQ(m.run.config["seed"], 4);
  EXPECT_FALSE(m.nn_ratio);
}

TEST(ReportModel, NnRatioQuartilesPerGroup) {
  ReportInput in = planted();
  in.nn_ratio = NnRatioInput{torch::arange(1, kN + 1, torch::kFloat32), 0, 7, 7, "planted"};
  ReportOptions opt;
  opt.max_rows = 4;
  const ReportModel m = build_report(in, opt);
  ASSERT_TRUE(m.nn_ratio);
  // Ratio i + 1; memorized: row 17 (18). Regular: 1..20 without 18, 19 values: quartiles at
  // positions 4.5, 9 and 13.5 of the sorted values.
  EXPECT_EQ(m.nn_ratio->high.n, 1);
  EXPECT_DOUBLE_EQ(m.nn_ratio->high.median, 18);
  EXPECT_EQ(m.nn_ratio->regular.n, 19);
  EXPECT_DOUBLE_EQ(m.nn_ratio->regular.q25, 5.5);
  EXPECT_DOUBLE_EQ(m.nn_ratio->regular.median, 10);
  EXPECT_DOUBLE_EQ(m.nn_ratio->regular.q75, 14.5);
  ASSERT_EQ(m.nn_ratio->points.size(), 4u);
  EXPECT_EQ(m.nn_ratio->points[0], (std::pair<std::string, double>{"memorized", 18}));
  const json s = summary_json(m);
  EXPECT_EQ(s["nn_ratio"]["regular"]["q0.75"], 14.5);
  EXPECT_EQ(s["nn_ratio"]["model_samples"], 7);
  // A ratio of another length is refused.
  in.nn_ratio->ratio = torch::ones({3});
  EXPECT_NE(error_of([&] { build_report(in, opt); }).find("nearest-neighbour ratio"), std::string::npos);
}

TEST(ReportModel, SummaryJsonHoldsTheFiguresAndTheRunFiles) {
  ReportInput in = planted();
  in.extraction = read_extraction_json(corpus("extraction_json/extraction.json"));
  in.validation = read_validation_json(corpus("validation_json/validation.json"));
  ReportOptions opt;
  opt.grid = 3;
  const json s = summary_json(build_report(in, opt));
  EXPECT_EQ(s["run"]["n"], kN);
  EXPECT_EQ(s["run"]["jobs"], 3);
  EXPECT_EQ(s["run"]["failed_jobs"], json::parse(R"([{"id": 1, "status": "diverged", "diverged_epoch": 2}])"));
  EXPECT_EQ(s["run"]["models_lost"], json::parse(R"({"examples": 1, "most_per_example": 1})"));
  EXPECT_EQ(s["run"]["seconds"]["train"], 3.75);
  EXPECT_EQ(s["run"]["shape"], json::parse("[1, 2, 2]"));
  ASSERT_EQ(s["top"].size(), 3u);
  EXPECT_EQ(s["top"][0]["index"], 1017);
  EXPECT_EQ(s["top"][0]["mem"], 19.0);
  EXPECT_FALSE(s["top"][0].contains("image"));
  EXPECT_TRUE(s["nn_ratio"].is_null());
  EXPECT_EQ(s["spearman_mem_logp_in"], s["scores"]["spearman_mem_logp_in"]);
  // validation.json as it is; extraction.json's settings, overall and models as they are.
  EXPECT_EQ(s["validation"], read_json(corpus("validation_json/validation.json")));
  const json x = read_json(corpus("extraction_json/extraction.json"));
  EXPECT_EQ(s["extraction"], (json{{"settings", x["settings"]}, {"overall", x["overall"]}, {"models", x["models"]}}));
}

TEST(ReportModel, PageShowsSectionsChartsAndEscapedText) {
  ReportInput in = planted(true);
  ReportOptions opt;
  opt.grid = 2;
  opt.max_rows = 6;
  const ReportAssets assets{"/*vega*/", "/*vega-lite*/", "/*vega-embed*/"};
  ReportModel m = build_report(in, opt);
  EXPECT_EQ(m.top[0].image.rfind("data:image/png;base64,", 0), 0u);
  std::string html = render_html(m, assets);
  EXPECT_NE(html.find("runs/&lt;b&gt;planted&lt;/b&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<b>planted</b>"), std::string::npos);
  // The configuration as a table a person reads: a row per section, keys and values unquoted.
  EXPECT_NE(html.find("<tr><th>model</th><td>family mlp_vae</td></tr>"), std::string::npos);
  EXPECT_NE(html.find("<tr><th>seed</th><td>4</td></tr>"), std::string::npos);
  EXPECT_LT(html.find("<th>model</th>"), html.find("<th>seed</th>"));
  EXPECT_NE(html.find("Content-Security-Policy"), std::string::npos);
  EXPECT_NE(html.find("<script>/*vega-lite*/</script>"), std::string::npos);
  EXPECT_NE(html.find("vegaEmbed("), std::string::npos);  // web/page.js, compiled in
  EXPECT_NE(html.find(".kpi b{"), std::string::npos);     // web/page.css
  EXPECT_EQ(html.find("id=\"validation\""), std::string::npos);
  EXPECT_EQ(html.find("href=\"#extraction\""), std::string::npos);
  EXPECT_NE(html.find("No nearest-neighbour ratio"), std::string::npos);
  json page = page_data(html);
  EXPECT_EQ(page["specs"].size(), 7u);  // loss, hist, bins, scatter, epochs, class, class-share
  EXPECT_EQ(page["table"].size(), 6u);
  EXPECT_FALSE(page["table"][0].contains("image"));
  EXPECT_TRUE(page["grids"]["top"][0].contains("image"));
  EXPECT_EQ(page["neighbours"][0]["neighbours"].size(), 5u);
  EXPECT_EQ(page["specs"]["chart-scatter"]["data"]["values"].size(), 6u);
  EXPECT_TRUE(page["pairs"].empty());

  in.extraction = read_extraction_json(corpus("extraction_json/extraction.json"));
  in.validation = read_validation_json(corpus("validation_json/validation.json"));
  in.nn_ratio = NnRatioInput{torch::arange(1, kN + 1, torch::kFloat32), 0, 7, 7, "planted"};
  html = render_html(build_report(in, opt), assets);
  EXPECT_NE(html.find("href=\"#validation\""), std::string::npos);
  EXPECT_NE(html.find("<tr><th>kfold_estimate_vs_loo</th><td>0.9500</td><td>1.5000</td><td>n/a</td></tr>"),
            std::string::npos);
  EXPECT_NE(html.find("<tr><td>1</td><td>0</td><td>0</td><td>0.00000</td><td>0.00000</td><td>n/a</td></tr>"),
            std::string::npos);
  EXPECT_NE(html.find("<b>3</b> samples copy a training example"), std::string::npos);
  page = page_data(html);
  EXPECT_EQ(page["specs"].size(), 8u);
  EXPECT_EQ(page["specs"]["chart-ratio"]["data"]["values"].size(), 6u);
  EXPECT_EQ(page["pairs"].size(), 2u);
  EXPECT_EQ(html.find("chart-split-half"), std::string::npos);  // one repeat: no split-half scatter
  // With a split-half reliability, the scatter shows max_rows of its examples, evenly spread.
  Reliability rel;
  for (int64_t i = 0; i < kN; ++i) {
    rel.rows.push_back(i);
    rel.mem_a.push_back(double(i));
    rel.mem_b.push_back(-double(i));
  }
  in.reliability = rel;
  const ReportModel with_halves = build_report(in, opt);
  ASSERT_EQ(with_halves.split_half.size(), 6u);
  EXPECT_EQ(with_halves.split_half[1].index, 1003);  // rows 0, 3, 6, 10, 13, 16
  EXPECT_EQ(with_halves.split_half[3].a, 10.0);
  EXPECT_EQ(with_halves.split_half[3].b, -10.0);
  EXPECT_EQ(with_halves.split_half[3].label, 1);
  page = page_data(render_html(with_halves, assets));
  EXPECT_EQ(page["specs"]["chart-split-half"]["data"]["values"].size(), 6u);
  // A library that would end its script element early is refused.
  EXPECT_NE(error_of([&] { render_html(m, {"x</script>", "", ""}); }).find("cannot be inlined"), std::string::npos);
}

TEST(ReportModel, IsItMemorizationSplitsTheMemorizedAndDrawsMAgainstS) {
  ReportInput in = planted(true);
  EXPECT_FALSE(build_report(in, {}).memorization_check);  // no diagnostics: no section
  // Memorized (the discoveries): M above 13.5 (M 15 is missing): rows 17 (19), 14 (18), 11 (17),
  // 8 (16), 2 (14). Row 17 is far from its neighbours (outlier), row 14 of high leverage, row 11's
  // neighbours fall with it (learned: S = M), rows 8 and 2 none of these (memorized inliers).
  ExampleDiagnostics& d = in.diagnostics;
  d.k = 2;
  for (int64_t i = 0; i < kN; ++i) {
    d.nn_dist.push_back(i == 17 ? 1.0 : 0.05);
    d.u_rank.push_back(double(i) / (kN - 1));
    d.leverage.push_back(i == 14 ? 1.0 : 0.1);
    d.loo_mem.push_back(d.leverage.back());
    const double mem = in.scores.mem[size_t(i)];
    d.spill.spill.push_back(i == 11 ? mem : 0.0);
    d.spill.spill_se.push_back(0.1);
    d.spill.pairs.push_back(i == 0 ? 0 : 2);
    d.spill.ratio.push_back(d.spill.spill.back() / mem);
    d.spill_control.spill.push_back(0.0);
    d.spill_control.spill_se.push_back(0.1);
    d.spill_control.ratio.push_back(0.0);
  }
  d.spill.spill[0] = d.spill.ratio[0] = NAN;
  d.spill.examples_with_pairs = kN - 1;
  ReportOptions opt;
  opt.high_quantile = 0.75;
  discover_above(in, 13.5);
  ReportModel m = build_report(in, opt);
  ASSERT_TRUE(m.memorization_check);
  const Verdict& v = m.memorization_check->verdict;
  EXPECT_EQ(v.outlier.count, 1);
  EXPECT_EQ(v.leverage.count, 1);
  EXPECT_EQ(v.learned.count, 1);
  EXPECT_EQ(v.inlier.count, 2);
  EXPECT_EQ(v.inlier.n, 5);
  EXPECT_EQ(m.analysis.n_high, 5);
  std::map<std::string, std::vector<int64_t>> shown;
  for (const auto& [name, views] : m.memorization_check->examples) shown[name] = rows_of(views);
  EXPECT_EQ(shown["outlier"], (std::vector<int64_t>{17}));
  EXPECT_EQ(shown["high leverage"], (std::vector<int64_t>{14}));
  EXPECT_EQ(shown["learned"], (std::vector<int64_t>{11}));
  EXPECT_EQ(shown["memorized inlier"], (std::vector<int64_t>{8, 2}));
  EXPECT_TRUE(shown["regenerated"].empty());
  for (const SpillPoint& p : m.memorization_check->points) EXPECT_NE(p.row, 0);  // S not finite there
  // With extract's copies, row 8 is regenerated and row 2 the one memorized inlier left.
  in.copy_models = std::vector<int64_t>(kN, 0);
  (*in.copy_models)[8] = 3;
  m = build_report(in, opt);
  EXPECT_EQ(m.memorization_check->verdict.regenerated.count, 1);
  EXPECT_EQ(m.memorization_check->verdict.inlier.count, 1);
  const json summary = summary_json(m);
  EXPECT_EQ(summary["is_memorization"]["examples"]["regenerated"], json::array({8}));
  EXPECT_EQ(summary["is_memorization"]["sentences"].size(), 3u);
  const std::string html = render_html(m, {"", "", ""});
  EXPECT_NE(html.find("<section id=\"is-memorization\">"), std::string::npos);
  EXPECT_NE(html.find("Regeneration: 1 (20%"), std::string::npos);
  EXPECT_TRUE(page_data(html)["specs"].contains("chart-spill"));
  EXPECT_EQ(page_data(html)["categories"].size(), 5u);
}

TEST(ReportFiles, ReadsTheCorpusFiles) {
  const ExtractionFile x = read_extraction_json(corpus("extraction_json/extraction.json"));
  EXPECT_EQ(x.settings.jobs, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(x.settings.ct_samples, "mean");
  ASSERT_EQ(x.models.size(), 2u);
  EXPECT_DOUBLE_EQ(x.models[0].ct, -1.5);
  EXPECT_TRUE(std::isnan(x.models[1].ct));
  EXPECT_EQ(x.overall.copies_of_training, 3);
  EXPECT_TRUE(std::isnan(x.overall.mem_mean_not_copied));
  ASSERT_EQ(x.pairs.size(), 2u);
  EXPECT_TRUE(x.pairs[0].in_training);
  EXPECT_TRUE(x.pairs[0].sample_image);
  EXPECT_FALSE(x.pairs[1].train_image);
  // One struct, one JSON form: what is read writes back as it was (the optional fields of newer files included).
  ExtractionFile y = x;
  y.run = "runs/r";
  y.settings.sampler = "ddim", y.settings.sample_steps = 50;
  y.duplicated = ExtractionDuplicated{2, 7};
  for (const ExtractionFile& f : {x, y})
    EXPECT_EQ(to_json(parse_extraction_json(to_json(f), "x.json")).dump(), to_json(f).dump());
  EXPECT_EQ(parse_extraction_json(to_json(y), "x.json").duplicated->copies_of_them, 7);
  const ValidationFile v = read_validation_json(corpus("validation_json/validation.json"));
  EXPECT_EQ(v.model, "gaussian");
  EXPECT_EQ(v.kfold_target_vs_loo.n, 300);
  EXPECT_DOUBLE_EQ(v.kfold_estimate_vs_loo.spearman, 0.95);
  EXPECT_TRUE(std::isnan(v.kfold_estimate_vs_loo.top5_agreement));
}

TEST(ReportFiles, RunRecordReadsTheJobsOfConfigJson) {
  const RunRecord r = planted().record;
  EXPECT_EQ(r.torch_version, "1.13");
  ASSERT_EQ(r.jobs.size(), 3u);
  EXPECT_EQ(r.jobs[1].status, "diverged");
  EXPECT_EQ(r.jobs[1].diverged_epoch, 2);
  EXPECT_TRUE(std::isnan(r.jobs[1].train_loss[1]));  // null: diverged
  EXPECT_TRUE(r.jobs[2].train_loss.empty());         // closed form: no losses
  EXPECT_EQ(r.config["seed"], 4);
  auto error = [](const char* text) {
    return error_of([&] { parse_run_record(json::parse(text), "DIR/config.json"); });
  };
  EXPECT_EQ(error(R"({"jobs": [{"id": 0}]})"), "DIR/config.json: jobs[0].status is missing");
  EXPECT_EQ(error(R"({"jobs": [{"id": 0, "status": "ok", "train_loss": ["x"]}]})"),
            "DIR/config.json: jobs[0].train_loss[0] should be a number or null, got string");
  EXPECT_EQ(error(R"({"config": 3})"), "DIR/config.json: config should be a JSON object, got number");
}

TEST(ReportFiles, MalformedFilesNameTheFileAndTheField) {
  const json x = read_json(corpus("extraction_json/extraction.json"));
  auto error = [](const json& j) { return error_of([&] { parse_extraction_json(j, "DIR/extraction.json"); }); };
  json bad = x;
  bad["models"][1]["ct"] = "high";
  EXPECT_EQ(error(bad), "DIR/extraction.json: models[1].ct should be a number or null, got string");
  bad = x;
  bad["overall"].erase("examples_copied");
  EXPECT_EQ(error(bad), "DIR/extraction.json: overall.examples_copied is missing");
  bad = x;
  bad["settings"]["jobs"][1] = 1.5;
  EXPECT_EQ(error(bad), "DIR/extraction.json: settings.jobs[1] should be an integer, got a floating-point number");
  bad = x;
  bad["pairs"][0]["in_training"] = 1;
  EXPECT_EQ(error(bad), "DIR/extraction.json: pairs[0].in_training should be true or false, got number");
  bad = x;
  bad["pairs"][0]["job"] = 18446744073709551615ULL;
  EXPECT_NE(error(bad).find("pairs[0].job is out of range"), std::string::npos);
  EXPECT_EQ(error(json::array()), "DIR/extraction.json: the file should be a JSON object, got array");
  bad = x;
  bad["models"] = json::object();
  EXPECT_EQ(error(bad), "DIR/extraction.json: models should be an array, got object");

  json v = read_json(corpus("validation_json/validation.json"));
  v["kfold_target_vs_loo"]["n"] = nullptr;
  EXPECT_EQ(error_of([&] { parse_validation_json(v, "V.json"); }),
            "V.json: kfold_target_vs_loo.n should be an integer, got null");
  const std::string dir = test::scratch_dir();
  test::write_bytes(dir + "/validation.json", {'{', '"', 'x'});
  EXPECT_NE(error_of([&] { read_validation_json(dir + "/validation.json"); }).find("validation.json: not valid JSON"),
            std::string::npos);
}

TEST(ReportModel, MembershipSectionFromMembershipJsonAndRisk) {
  ReportInput in = planted(true);
  // Risk of row i: 1 - i / 40 (row 0 most exposed), NaN for row 7.
  for (int64_t i = 0; i < kN; ++i) in.scores.mia_risk.push_back(i == 7 ? NAN : 1 - double(i) / 40);
  MembershipResult mr;
  mr.models = 3;
  mr.config = {LiraVariance::kGlobal, 2};
  AttackResult online;
  online.attack = Attack::kLiraOnline;
  online.auc = {0.61, 0.02, NAN, NAN, 3};
  online.tpr[0] = {0.2, 0.01, NAN, NAN, 3};
  online.tpr[1].unavailable = "3 of 3 targets: fewer than 100 non-members";
  online.pooled_auc = 0.6;
  online.pooled_tpr = {0.21, NAN, NAN};
  online.pooled_roc.assign(roc_grid().size(), NAN);
  online.pooled_roc[roc_grid().size() - 11] = 0.21;  // FPR 0.1
  online.pooled_roc.back() = 1;
  online.targets.push_back({});
  mr.attacks.push_back(online);
  in.membership = mr;
  const ReportModel m = build_report(in, {0.95, 4, 100});
  ASSERT_TRUE(m.membership);
  const MembershipView& v = *m.membership;
  EXPECT_EQ(v.models, 3);
  EXPECT_EQ(v.lira_variance, "global");
  EXPECT_FALSE(summary_json(m)["membership"]["attacks"][0].contains("targets"));
  EXPECT_FALSE(summary_json(m)["membership"]["attacks"][0].contains("roc"));
  // ROC points with TPR > 0 only (log axes), plus the diagonal of chance on the grid.
  int64_t lira = 0;
  for (const RocView& p : v.roc) lira += p.attack == "lira-online";
  EXPECT_EQ(lira, 2);
  // Spearman of risk with M over the 18 rows with both (row 5 has no M, row 7 no risk): computed here
  // from ranks directly.
  std::vector<double> r, mm;
  for (int64_t i = 0; i < kN; ++i)
    if (i != kNanRow && i != 7) r.push_back(in.scores.mia_risk[i]), mm.push_back(in.scores.mem[i]);
  auto ranks = [](const std::vector<double>& x) {
    std::vector<double> rk(x.size());
    for (size_t a = 0; a < x.size(); ++a) {
      double less = 0, same = 0;
      for (size_t b = 0; b < x.size(); ++b) less += x[b] < x[a], same += x[b] == x[a];
      rk[a] = less + (same + 1) / 2;
    }
    return rk;
  };
  const std::vector<double> ra = ranks(r), rb = ranks(mm);
  double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
  for (size_t k = 0; k < ra.size(); ++k) ma += ra[k] / double(ra.size()), mb += rb[k] / double(rb.size());
  for (size_t k = 0; k < ra.size(); ++k)
    sab += (ra[k] - ma) * (rb[k] - mb), saa += (ra[k] - ma) * (ra[k] - ma), sbb += (rb[k] - mb) * (rb[k] - mb);
  EXPECT_EQ(v.examples_with_risk, 18);
  EXPECT_NEAR(v.spearman_risk_mem, sab / std::sqrt(saa * sbb), 1e-9);
  ASSERT_EQ(v.exposed.size(), 4u);
  EXPECT_EQ(rows_of(v.exposed), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_FALSE(v.exposed[0].image.empty());
  const json summary = summary_json(m);
  EXPECT_EQ(summary["membership"]["attacks"][0]["auc"]["mean"], 0.61);
  EXPECT_EQ(summary["membership"]["most_exposed"].size(), 4u);
  const std::string html = render_html(m, {"", "", ""});
  EXPECT_NE(html.find("id=\"membership\""), std::string::npos);
  EXPECT_NE(html.find("0.6100 &plusmn; 0.0200"), std::string::npos);
  EXPECT_NE(html.find("fewer than 100 non-members"), std::string::npos);
  const json d = page_data(html);
  EXPECT_TRUE(d["specs"].contains("chart-roc"));
  EXPECT_EQ(d["specs"]["chart-roc"]["encoding"]["x"]["scale"]["type"], "log");
  EXPECT_EQ(d["grids"]["exposed"].size(), 4u);
  // Without membership.json: no section.
  EXPECT_FALSE(build_report(planted(), {0.95, 4, 100}).membership);
}

TEST(ReportModel, DiffusionRunShowsTheDenoisingLossAttacksInTimestepOrderAndTheMonteCarloError) {
  ReportInput in = planted();
  in.membership = MembershipResult{};
  in.membership->models = 3;
  auto attacks = [](double auc) {
    MembershipResult r;
    AttackResult a;
    a.attack = Attack::kLiraOnline;
    a.auc = {auc, 0.01, NAN, NAN, 3};
    a.pooled_auc = auc;
    a.targets.push_back({});
    r.attacks.push_back(a);
    return r;
  };
  // As membership-denoise.json is read back: in timestep order.
  in.membership_denoise = {{50, attacks(0.875)}, {100, attacks(0.75)}};
  in.scores.mem_mc_se.assign(size_t(kN), 0.25);
  in.scores.mem_mc_se[3] = NAN;
  const ReportModel m = build_report(in, {0.95, 4, 100});
  ASSERT_TRUE(m.membership);
  ASSERT_EQ(m.membership->denoise.size(), 2u);
  EXPECT_EQ(m.membership->denoise[0].first, 50);
  EXPECT_EQ(m.membership->denoise[1].first, 100);
  EXPECT_FALSE(summary_json(m)["membership"]["denoise"]["50"][0].contains("targets"));
  EXPECT_EQ(summary_json(m)["membership"]["denoise"]["100"][0]["auc"]["mean"], 0.75);
  EXPECT_EQ(m.analysis.mem_mc_se_mean, 0.25);
  const std::string html = render_html(m, {"", "", ""});
  const size_t table = html.find("id=\"membership-denoise\"");
  ASSERT_NE(table, std::string::npos);
  EXPECT_LT(html.find("0.8750 &plusmn;", table), html.find("0.7500 &plusmn;", table));
  EXPECT_NE(html.find("mean Monte Carlo part"), std::string::npos);
  // A run without them (VAEs): neither.
  const ReportModel plain = build_report(planted(), {0.95, 4, 100});
  EXPECT_FALSE(plain.analysis.mem_mc_se_mean);
  EXPECT_EQ(render_html(plain, {"", "", ""}).find("mean Monte Carlo part"), std::string::npos);
}

TEST(ReportModel, ImagesShowTheOriginalBesideTheBinarized) {
  ReportInput in = planted(true);
  const ReportModel binarized_only = build_report(in, {0.95, 4, 100});
  EXPECT_FALSE(binarized_only.top[0].image.empty());
  EXPECT_TRUE(binarized_only.top[0].original.empty());
  in.original = 1 - in.data.x;  // another picture of every example
  const ReportModel m = build_report(in, {0.95, 4, 100});
  const ExampleView& top = m.top[0];
  const int64_t row = top.row;
  EXPECT_EQ(top.original, png_data_uri(in.original[row].view({1, 2, 2})));
  EXPECT_EQ(top.image, png_data_uri(in.data.x[row].view({1, 2, 2})));
  EXPECT_NE(top.original, top.image);
  const std::string html = render_html(m, {"", "", ""});
  EXPECT_NE(html.find("hover it to see it binarized"), std::string::npos);
  EXPECT_EQ(page_data(html)["grids"]["top"][0]["original"], top.original);
  in.original = torch::zeros({kN, 3});
  EXPECT_THROW(build_report(in, {0.95, 4, 100}), Error);
}

TEST(ReportModel, ExposedTiesAreBrokenByM) {
  ReportInput in = planted();
  for (int64_t i = 0; i < kN; ++i) in.scores.mia_risk.push_back(0.5);
  in.scores.mia_risk[10] = in.scores.mia_risk[11] = 0.9;  // M: row 10 -> 10, row 11 -> 17
  in.membership = MembershipResult{};
  const ReportModel m = build_report(in, {0.95, 2, 100});
  EXPECT_EQ(rows_of(m.membership->exposed), (std::vector<int64_t>{11, 10}));
}

TEST(ReportModel, BankReportLeavesOutWhatNeedsARun) {
  ReportInput in = planted();
  in.bank = true;
  in.record = {"9.9.9", "", json::parse(R"({"logp.npy": "[20, 3]", "labels.npy": true})"), {}};
  in.data.x = torch::zeros({kN, 0});  // no images.npy: no distances, no neighbours
  in.data.shape = {};
  for (int64_t i = 0; i < kN; ++i) in.scores.mia_risk.push_back(1 - double(i) / 40);
  in.membership = MembershipResult{};
  in.membership->models = 3;
  const ReportModel m = build_report(in, {0.95, 4, 100});
  EXPECT_TRUE(m.run.bank);
  EXPECT_EQ(m.run.jobs, 3);  // the mask's models, not config.json's jobs
  EXPECT_EQ(m.run.config["logp.npy"], "[20, 3]");
  EXPECT_TRUE(m.losses.empty());
  EXPECT_TRUE(m.neighbours.empty());
  EXPECT_FALSE(m.memorization_check);
  ASSERT_TRUE(m.membership);
  EXPECT_EQ(m.membership->exposed.size(), 4u);
  EXPECT_TRUE(m.membership->exposed[0].image.empty());
  const std::string html = render_html(m, {"", "", ""});
  EXPECT_NE(html.find("<h2>Bank</h2>"), std::string::npos);
  EXPECT_NE(html.find("labels.npy true; logp.npy [20, 3]"), std::string::npos);  // what was read
  EXPECT_NE(html.find("the bank has no images.npy"), std::string::npos);
  EXPECT_NE(html.find("a bank has no models to sample"), std::string::npos);
  EXPECT_NE(html.find("id=\"membership\""), std::string::npos);
  EXPECT_EQ(html.find("id=\"chart-loss\""), std::string::npos);
  const json page = page_data(html);
  EXPECT_FALSE(page["specs"].contains("chart-loss"));
  EXPECT_TRUE(page["specs"].contains("chart-roc"));
  EXPECT_TRUE(page["neighbours"].empty());
  EXPECT_EQ(summary_json(m)["run"]["bank"], true);
}
