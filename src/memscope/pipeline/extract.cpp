#include "memscope/pipeline/extract.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "memscope/analysis/extraction.h"
#include "memscope/core/error.h"
#include "memscope/core/progress.h"
#include "memscope/core/seeds.h"
#include "memscope/io/atomic.h"
#include "memscope/io/csv.h"
#include "memscope/pipeline/finished_run.h"
#include "memscope/report/images.h"
#include "memscope/score/compare.h"

namespace memscope {

using json = nlohmann::json;

namespace {

constexpr int64_t kPairsShown = 24;

}  // namespace

json extract(const ExtractConfig& c) {
  MEMSCOPE_CHECK_KEY(c.samples >= 1, "samples", "must be >= 1, got ", c.samples);
  MEMSCOPE_CHECK_KEY(c.delta > 0, "delta", "must be > 0, got ", c.delta);
  const FinishedRun run = load_finished_run(c.run_dir);
  const int64_t N = run.data.size(), J = run.mask.size(1);
  std::vector<int64_t> jobs = c.jobs;
  if (jobs.empty())
    for (int64_t j = 0; j < J; ++j) jobs.push_back(j);
  for (int64_t j : jobs) MEMSCOPE_CHECK_KEY(j >= 0 && j < J, "jobs", "job ", j, " is not in the plan (0..", J - 1, ")");
  const torch::Tensor mask = run.mask.to(torch::kBool);
  const int64_t* idx = run.data.index.data_ptr<int64_t>();
  std::vector<int64_t> copy_models(N, 0), copy_samples(N, 0);
  CsvWriter csv({"job", "sample", "nearest_index", "l2", "ratio", "in_training", "extracted_l2", "extracted"}, 6);
  json per_model = json::array();
  struct Pair {
    double ratio;
    int64_t job, sample, row;
    bool in;
    double l2;
    torch::Tensor image;
  };
  std::vector<Pair> pairs;
  int64_t total_in = 0, total_out = 0, total_in_l2 = 0, total_out_l2 = 0;
  for (int64_t j : jobs) {
    auto model = load_job_model(run, j);
    auto gen = make_generator(derive_seed(run.cfg.seed, SeedTag::kEval, {uint64_t(j), 0xE7AC7ULL}));
    torch::Tensor samples = model->sample(0, c.samples, gen);
    MEMSCOPE_CHECK(samples.defined(), "extract: model family ", to_string(run.cfg.model.family), " cannot sample");
    if (c.draw == Draw::kBernoulli) samples = at::bernoulli(samples, gen);
    const SampleMatches m = match_samples(samples, run.data.x, c.alpha, c.n_nearest, progress_lines("extract", fmt::format("job {}", j), "samples"));
    const torch::Tensor in_mask = mask.select(1, j);
    std::vector<bool> copied_here(N, false);
    int64_t in = 0, out = 0, in_l2 = 0, out_l2 = 0;
    for (int64_t s = 0; s < c.samples; ++s) {
      const int64_t row = m.nearest[s].item<int64_t>();
      const double l2 = m.l2[s].item<double>(), ratio = m.ratio[s].item<double>();
      const bool in_training = in_mask[row].item<bool>(), by_l2 = l2 <= c.delta, adaptive = ratio <= 1;
      csv.row(j, s, idx[row], l2, ratio, in_training, by_l2, adaptive);
      (in_training ? in_l2 : out_l2) += by_l2;
      if (!adaptive) continue;
      (in_training ? in : out)++;
      copy_samples[row]++;
      if (!copied_here[row]) copy_models[row]++, copied_here[row] = true;
      pairs.push_back({ratio, j, s, row, in_training, l2, samples[s].clone()});
      std::sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) { return a.ratio < b.ratio; });
      if (int64_t(pairs.size()) > kPairsShown) pairs.pop_back();
    }
    const int64_t n_in = in_mask.sum().item<int64_t>(), n_out = N - n_in;
    const torch::Tensor train = run.data.x.index({in_mask}), test = run.data.x.index({~in_mask});
    const int64_t cells = std::max<int64_t>(1, std::min<int64_t>(c.cells, std::min(train.size(0), test.size(0)) / 10));
    // C_T compares distances of samples and of real data to the training set, so the samples must
    // be of the data's kind: on binarized data, Bernoulli draws (a mean image is closer to every
    // binary image than another binary image is, which would read as copying).
    const bool binary = run.cfg.data.binarize != Binarize::kNone;
    const torch::Tensor ct_samples = binary && c.draw == Draw::kMean ? at::bernoulli(samples, gen) : samples;
    const double ct = data_copying_ct(train, test, ct_samples, cells, derive_seed(run.cfg.seed, SeedTag::kEval, {uint64_t(j), 0xC7ULL}));
    per_model.push_back({{"job", j},
                         {"samples", c.samples},
                         {"copies_of_training", in},
                         {"copies_of_held_out", out},
                         {"copies_per_training_example", double(in) / double(std::max<int64_t>(1, n_in))},
                         {"copies_per_held_out_example", double(out) / double(std::max<int64_t>(1, n_out))},
                         {"l2_copies_of_training", in_l2},
                         {"l2_copies_of_held_out", out_l2},
                         {"ct", std::isfinite(ct) ? json(ct) : json(nullptr)},
                         {"ct_cells", cells}});
    total_in += in, total_out += out, total_in_l2 += in_l2, total_out_l2 += out_l2;
    spdlog::info("extract: job {}: {} copies of training examples, {} of held-out ones (adaptive rule), C_T {:.2f}", j, in, out, ct);
  }
  // Copies per example and the memorization score.
  CsvWriter copies_csv({"index", "label", "mem", "models", "samples"}, 6);
  std::vector<double> mem_copied, mem_not, models_d;
  const int64_t* lab = run.data.label.data_ptr<int64_t>();
  for (int64_t i = 0; i < N; ++i) {
    copies_csv.row(idx[i], lab[i], run.scores.mem[i], copy_models[i], copy_samples[i]);
    (copy_models[i] ? mem_copied : mem_not).push_back(run.scores.mem[i]);
    models_d.push_back(double(copy_models[i]));
  }
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    int64_t n = 0;
    for (double x : v)
      if (std::isfinite(x)) s += x, ++n;
    return n ? json(s / double(n)) : json(nullptr);
  };
  const double n_models = double(jobs.size());
  json result = {
      {"run", c.run_dir},
      {"settings", {{"samples", c.samples}, {"draw", to_string(c.draw)},
                    {"ct_samples", binary ? std::string("bernoulli draws (binary data)") : to_string(c.draw)}, {"delta", c.delta}, {"alpha", c.alpha}, {"n_nearest", c.n_nearest}, {"jobs", jobs}}},
      {"models", per_model},
      {"overall",
       {{"copies_of_training", total_in},
        {"copies_of_held_out", total_out},
        {"l2_copies_of_training", total_in_l2},
        {"l2_copies_of_held_out", total_out_l2},
        {"copy_rate_training", double(total_in) / (n_models * c.samples)},
        {"copy_rate_held_out", double(total_out) / (n_models * c.samples)},
        {"examples_copied", int64_t(mem_copied.size())},
        {"spearman_mem_models_copying", spearman(torch::tensor(run.scores.mem, torch::kFloat64), torch::tensor(models_d, torch::kFloat64))},
        {"mem_mean_copied", mean(mem_copied)},
        {"mem_mean_not_copied", mean(mem_not)}}},
      {"pairs", json::array()}};
  result["overall"]["copy_rate_difference"] =
      result["overall"]["copy_rate_training"].get<double>() - result["overall"]["copy_rate_held_out"].get<double>();
  for (const Pair& p : pairs) {
    json e = {{"job", p.job}, {"sample", p.sample}, {"index", idx[p.row]}, {"label", lab[p.row]}, {"l2", p.l2},
              {"ratio", p.ratio}, {"in_training", p.in}, {"mem", std::isfinite(run.scores.mem[p.row]) ? json(run.scores.mem[p.row]) : json(nullptr)}};
    if (run.images) {
      const auto& sh = run.data.shape;
      e["sample_image"] = png_data_uri(p.image.view({sh[0], sh[1], sh[2]}));
      e["train_image"] = png_data_uri(run.data.x[p.row].view({sh[0], sh[1], sh[2]}));
    }
    result["pairs"].push_back(e);
  }
  csv.write(run.layout.extraction_csv());
  copies_csv.write(run.layout.copies());
  write_atomic(run.layout.extraction_json(), result.dump(2) + "\n");
  return result;
}

}  // namespace memscope
