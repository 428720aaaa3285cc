#include "memscope/pipeline/report_run.h"
#include "memscope/data/loaders.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "memscope/analysis/neighbours.h"
#include "memscope/config/validate.h"
#include "memscope/core/build_paths.h"
#include "memscope/core/error.h"
#include "memscope/core/progress.h"
#include "memscope/core/seeds.h"
#include "memscope/io/atomic.h"
#include "memscope/io/csv.h"
#include "memscope/models/ddpm.h"
#include "memscope/pipeline/finished_run.h"
#include "memscope/report/html.h"
#include "memscope/report/report_model.h"
#include "memscope/report/summary.h"

namespace memscope {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

/// DDIM steps of the samples of a diffusion model behind the report's nearest-neighbour ratio.
constexpr int64_t kReportDdimSteps = 50;

std::string read_asset(const std::string& dir, const std::string& rel) {
  const std::string path = dir + "/" + rel;
  MEMSCOPE_CHECK(fs::exists(path), "report: ", path, " not found; run scripts/setup.sh (npm ci in report/)");
  return read_file(path);
}

/// The nearest-neighbour ratio of the paper for every example: distance to the nearest held-out
/// real image (of job 0) over distance to the nearest of as many samples of job 0's model.
/// Nothing when the model cannot sample or job 0 has no saved weights.
std::optional<NnRatioInput> nn_ratio(const FinishedRun& r) {
  if (!fs::exists(r.layout.job_model(0)) || r.mask.size(1) == 0) return std::nullopt;
  auto model = load_job_model(r, 0);
  std::string what = "decoder mean of z ~ N(0, I)";
  if (auto* ddpm = dynamic_cast<DdpmEnsemble*>(model.get())) {  // the report's samples: fast and deterministic
    const int64_t steps = std::min<int64_t>(kReportDdimSteps, r.cfg.model.timesteps);
    ddpm->set_sampler(Sampler::kDdim, steps);
    what = str("DDIM sample, ", steps, " steps");
  }
  const torch::Tensor held_out = (~r.mask.select(1, 0).to(torch::kBool)).nonzero().flatten();
  const int64_t m = held_out.size(0);
  if (m < 2) return std::nullopt;
  const torch::Tensor samples = model->sample(0, m, make_generator(derive_seed(r.cfg.seed, SeedTag::kEval, {~0ULL})));
  if (!samples.defined()) return std::nullopt;
  // A held-out example is not its own nearest held-out neighbour.
  torch::Tensor own = torch::full({r.data.size()}, -1, torch::kInt64);
  own.index_put_({held_out}, torch::arange(m));
  const torch::Tensor real = nearest_neighbours(r.data.x, r.data.x.index_select(0, held_out), 1, own,
                                                progress_lines("report", "nearest held-out image", "examples"))
                                 .distance.select(1, 0);
  const torch::Tensor fake =
      nearest_neighbours(r.data.x, samples, 1, {}, progress_lines("report", "nearest model sample", "examples"))
          .distance.select(1, 0);
  return NnRatioInput{real / fake.clamp_min(1e-12), 0, m, m, what};
}

/// Everything build_report needs from the run directory.
ReportInput load_report_input(const std::string& dir) {
  FinishedRun r = load_finished_run(dir);
  ReportInput in;
  in.run_dir = dir;
  in.record = read_run_record(r.layout.config());
  in.data = r.data;
  in.images = r.images;
  if (r.images && r.cfg.data.binarize != Binarize::kNone) {  // what a person recognizes, beside what the models saw
    DataConfig plain = r.cfg.data;
    plain.binarize = Binarize::kNone;
    in.original = load_dataset(plain, r.cfg.seed).x;
  }
  in.scores = r.scores;
  in.epochs = r.epochs;
  in.mask = r.mask;
  in.mem_by_epoch = r.mem_by_epoch;
  in.reliability = r.reliability;
  in.diagnostics = r.diagnostics;
  if (fs::exists(r.layout.copies())) {  // memscope extract has run: models copying each example
    const CsvTable copies = read_numeric_csv(r.layout.copies());
    const torch::Tensor index = copies.column("index", r.layout.copies()).to(torch::kInt64);
    const torch::Tensor models = copies.column("models", r.layout.copies()).to(torch::kInt64).contiguous();
    MEMSCOPE_CHECK(index.size(0) == r.data.size() && torch::equal(index, r.data.index), "report: ", r.layout.copies(),
                   " lists other examples than the run");
    in.copy_models = std::vector<int64_t>(models.data_ptr<int64_t>(), models.data_ptr<int64_t>() + models.size(0));
  }
  in.membership = r.membership;
  in.membership_denoise = r.membership_denoise;
  const std::string extraction = r.layout.extraction_json(), validation = r.layout.validation();
  if (fs::exists(extraction)) in.extraction = read_extraction_json(extraction);
  if (fs::exists(validation)) in.validation = read_validation_json(validation);
  spdlog::info("report: nearest-neighbour ratio of every example");
  in.nn_ratio = nn_ratio(r);
  return in;
}

}  // namespace

std::string default_asset_dir() {
  const char* env = std::getenv("MEMSCOPE_ASSETS");
  return env && *env ? env : kAssetDir;
}

std::pair<std::string, std::string> render_report(const ReportModel& m, const std::string& asset_dir) {
  const std::string assets = asset_dir.empty() ? default_asset_dir() : asset_dir;
  const std::string html = render_html(
      m, {read_asset(assets, "vega/build/vega.min.js"), read_asset(assets, "vega-lite/build/vega-lite.min.js"),
          read_asset(assets, "vega-embed/build/vega-embed.min.js")});
  return {html, summary_json(m).dump(2) + "\n"};
}

json write_report(const ReportConfig& c) {
  for_each_report_option(c, [](const OptionSpec& o, const auto& field) { check_range(o, field); });
  const std::string& dir = c.run_dir;
  spdlog::info("report: reading {}", dir);
  const ReportModel m = build_report(load_report_input(dir), {c.high_quantile, c.grid, c.max_rows});
  const auto [html, summary] = render_report(m, c.asset_dir);
  const RunLayout files(dir);
  write_atomic(files.report(), html);
  write_atomic(files.summary(), summary);
  spdlog::info("report: {} ({:.1f} MB)", files.report(), html.size() / 1e6);
  return json::parse(summary);
}

}  // namespace memscope
