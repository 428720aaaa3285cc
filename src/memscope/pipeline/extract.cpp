#include "memscope/pipeline/extract.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "memscope/analysis/extraction.h"
#include "memscope/config/names.h"
#include "memscope/config/validate.h"
#include "memscope/core/error.h"
#include "memscope/core/progress.h"
#include "memscope/core/seeds.h"
#include "memscope/io/atomic.h"
#include "memscope/io/csv.h"
#include "memscope/models/ddpm.h"
#include "memscope/pipeline/finished_run.h"
#include "memscope/report/images.h"
#include "memscope/score/compare.h"

namespace memscope {

using json = nlohmann::json;

namespace {

constexpr int64_t kPairsShown = 24;

/// A sample that copies a training or held-out example (adaptive rule).
struct Pair {
  double ratio;
  int64_t job, sample, row;
  bool in;
  double l2;
  torch::Tensor image;
};

/// The distinct images of the data: rows with the same source index (copies, --duplicate) are one
/// image, which a model trained on if it trained on any of its copies.
struct Distinct {
  explicit Distinct(const Dataset& d) : of_row(d.size()) {
    std::unordered_map<int64_t, int64_t> seen;
    const int64_t* idx = d.index.data_ptr<int64_t>();
    std::vector<int64_t> first;
    for (int64_t i = 0; i < d.size(); ++i) {
      auto [it, fresh] = seen.emplace(idx[i], int64_t(first.size()));
      if (fresh) first.push_back(i), times.push_back(0);
      of_row[size_t(i)] = it->second;
      ++times[size_t(it->second)];
    }
    rows = torch::tensor(first, torch::kInt64);
    x = d.x.index_select(0, rows);
  }
  /// in: [N] bool per row -> [U] bool per distinct image.
  torch::Tensor any(const torch::Tensor& in) const {
    return torch::zeros({rows.size(0)}, torch::kInt64)
               .index_add_(0, torch::tensor(of_row, torch::kInt64), in.to(torch::kInt64)) > 0;
  }
  torch::Tensor rows, x;               // [U] the first row of each image, [U, D] the images
  std::vector<int64_t> of_row, times;  // [N] the image of each row, [U] its rows
};

/// What the sampled models add up to.
struct Tally {
  explicit Tally(int64_t n) : copy_models(n, 0), copy_samples(n, 0) {}
  CsvWriter csv{{"job", "sample", "nearest_index", "l2", "ratio", "in_training", "extracted_l2", "extracted"}, 6};
  std::vector<int64_t> copy_models, copy_samples;
  std::vector<Pair> pairs;  // the closest kPairsShown copies
  int64_t in = 0, out = 0, in_l2 = 0, out_l2 = 0;
  int64_t of_duplicated = 0;  // copies of images that appear more than once in the data
};

/// The samples of every selected job's diffusion model ([samples, D] per job), drawn in one batch
/// over the models; nothing for other families (extract_model samples them one at a time).
std::vector<torch::Tensor> batched_samples(const ExtractConfig& c, const FinishedRun& run,
                                           const std::vector<int64_t>& jobs) {
  if (!run.cfg.model.family.diffusion()) return {};
  auto model = load_job_models(run, jobs);
  auto* ddpm = dynamic_cast<DdpmEnsemble*>(model.get());
  MEMSCOPE_CHECK(ddpm, "extract: a diffusion run without a diffusion model");
  ddpm->set_sampler(c.sampler, c.sample_steps);
  ddpm->train(false);
  spdlog::info("extract: sampling {} images from each of {} models ({}, {} steps)", c.samples, jobs.size(),
               to_string(c.sampler), c.sample_steps > 0 ? c.sample_steps : run.cfg.model.timesteps);
  auto gen = make_generator(derive_seed(run.cfg.seed, SeedTag::kEval, {0xE7AC7ULL, 0xD1FFULL}));
  const torch::Tensor all = ddpm->sample_all(c.samples, gen);
  std::vector<torch::Tensor> out;
  for (size_t k = 0; k < jobs.size(); ++k) out.push_back(all[int64_t(k)].contiguous());
  return out;
}

/// Samples job j's model (or takes its given samples), matches its samples to the data, adds them
/// to t; returns the model's figures.
ExtractionModel extract_model(const ExtractConfig& c, const FinishedRun& run, const Distinct& distinct, int64_t j,
                              Tally& t, torch::Tensor samples) {
  const int64_t N = run.data.size();
  const int64_t* idx = run.data.index.data_ptr<int64_t>();
  auto gen = make_generator(derive_seed(run.cfg.seed, SeedTag::kEval, {uint64_t(j), 0xE7AC7ULL}));
  if (!samples.defined()) samples = load_job_model(run, j)->sample(0, c.samples, gen);
  MEMSCOPE_CHECK(samples.defined(), "extract: model family ", to_string(run.cfg.model.family), " cannot sample");
  if (c.draw == Draw::kBernoulli) samples = at::bernoulli(samples, gen);
  const SampleMatches m = match_samples(samples, distinct.x, c.alpha, c.n_nearest,
                                        progress_lines("extract", fmt::format("job {}", j), "samples"));
  const torch::Tensor in_mask = run.mask.to(torch::kBool).select(1, j), in_image = distinct.any(in_mask);
  std::vector<bool> copied_here(N, false);
  int64_t in = 0, out = 0, in_l2 = 0, out_l2 = 0;
  for (int64_t s = 0; s < c.samples; ++s) {
    const int64_t u = m.nearest[s].item<int64_t>(), row = distinct.rows[u].item<int64_t>();
    const double l2 = m.l2[s].item<double>(), ratio = m.ratio[s].item<double>();
    const bool in_training = in_image[u].item<bool>(), by_l2 = l2 <= c.delta, adaptive = ratio <= 1;
    t.csv.row(j, s, idx[row], l2, ratio, in_training, by_l2, adaptive);
    (in_training ? in_l2 : out_l2) += by_l2;
    if (!adaptive) continue;
    (in_training ? in : out)++;
    t.of_duplicated += distinct.times[size_t(u)] > 1;
    t.copy_samples[row]++;
    if (!copied_here[row]) t.copy_models[row]++, copied_here[row] = true;
    t.pairs.push_back({ratio, j, s, row, in_training, l2, samples[s].clone()});
    std::sort(t.pairs.begin(), t.pairs.end(), [](const Pair& a, const Pair& b) { return a.ratio < b.ratio; });
    if (int64_t(t.pairs.size()) > kPairsShown) t.pairs.pop_back();
  }
  const int64_t n_in = in_image.sum().item<int64_t>(), n_out = distinct.rows.size(0) - n_in;
  const torch::Tensor train = run.data.x.index({in_mask}), test = run.data.x.index({~in_mask});
  const int64_t cells = std::max<int64_t>(1, std::min<int64_t>(c.cells, std::min(train.size(0), test.size(0)) / 10));
  // C_T compares distances of samples and of real data to the training set, so the samples must
  // be of the data's kind: on binarized data, Bernoulli draws (a mean image is closer to every
  // binary image than another binary image is, which would read as copying).
  const bool binary = run.cfg.data.binarize != Binarize::kNone;
  const torch::Tensor ct_samples = binary && c.draw == Draw::kMean ? at::bernoulli(samples, gen) : samples;
  const double ct = data_copying_ct(train, test, ct_samples, cells,
                                    derive_seed(run.cfg.seed, SeedTag::kEval, {uint64_t(j), 0xC7ULL}));
  t.in += in, t.out += out, t.in_l2 += in_l2, t.out_l2 += out_l2;
  spdlog::info("extract: job {}: {} copies of training examples, {} of held-out ones (adaptive rule), C_T {:.2f}", j,
               in, out, ct);
  return {j,
          c.samples,
          in,
          out,
          double(in) / double(std::max<int64_t>(1, n_in)),
          double(out) / double(std::max<int64_t>(1, n_out)),
          in_l2,
          out_l2,
          ct,
          cells};
}

double finite_mean(const std::vector<double>& v) {
  double s = 0;
  int64_t n = 0;
  for (double x : v)
    if (std::isfinite(x)) s += x, ++n;
  return n ? s / double(n) : NAN;
}

/// The closest copies, with their images when the data are images.
std::vector<ExtractionPair> shown_pairs(const FinishedRun& run, const std::vector<Pair>& pairs) {
  const int64_t* idx = run.data.index.data_ptr<int64_t>();
  const int64_t* lab = run.data.label.data_ptr<int64_t>();
  std::vector<ExtractionPair> out;
  for (const Pair& p : pairs) {
    ExtractionPair e{p.job, p.sample, idx[p.row], lab[p.row], p.l2, p.ratio, p.in, run.scores.mem[p.row], {}, {}};
    if (run.images) {
      const auto& sh = run.data.shape;
      e.sample_image = png_data_uri(p.image.view({sh[0], sh[1], sh[2]}));
      e.train_image = png_data_uri(run.data.x[p.row].view({sh[0], sh[1], sh[2]}));
    }
    out.push_back(e);
  }
  return out;
}

}  // namespace

ExtractionFile extract(const ExtractConfig& c) {
  for_each_extract_option(c, [](const OptionSpec& o, const auto& field) { check_range(o, field); });
  const FinishedRun run = load_finished_run(c.run_dir);
  MEMSCOPE_CHECK_KEY(c.sample_steps <= run.cfg.model.timesteps || !run.cfg.model.family.diffusion(), "sample_steps",
                     "must be <= the model's --timesteps ", run.cfg.model.timesteps, ", got ", c.sample_steps);
  const int64_t N = run.data.size(), J = run.mask.size(1);
  std::vector<int64_t> jobs = c.jobs;
  if (jobs.empty())
    for (int64_t j = 0; j < J; ++j) jobs.push_back(j);
  for (int64_t j : jobs) MEMSCOPE_CHECK_KEY(j >= 0 && j < J, "jobs", "job ", j, " is not in the plan (0..", J - 1, ")");
  Tally t(N);
  const Distinct distinct(run.data);
  ExtractionFile x;
  const std::vector<torch::Tensor> batched = batched_samples(c, run, jobs);
  for (size_t k = 0; k < jobs.size(); ++k)
    x.models.push_back(extract_model(c, run, distinct, jobs[k], t, batched.empty() ? torch::Tensor() : batched[k]));
  // Copies per example next to the memorization score, spillover, leverage and outlierness.
  CsvWriter copies_csv({"index", "label", "mem", "models", "samples", "spill", "leverage", "nn_dist"}, 6);
  const ExampleDiagnostics& dg = run.diagnostics;
  std::vector<double> mem_copied, mem_not, models_d;
  const int64_t* idx = run.data.index.data_ptr<int64_t>();
  const int64_t* lab = run.data.label.data_ptr<int64_t>();
  for (int64_t i = 0; i < N; ++i) {
    copies_csv.row(idx[i], lab[i], run.scores.mem[i], t.copy_models[i], t.copy_samples[i], dg.spill.spill[i],
                   dg.leverage[i], dg.nn_dist[i]);
    const bool first_copy = distinct.rows[distinct.of_row[size_t(i)]].item<int64_t>() == i;  // copies are counted there
    if (first_copy) (t.copy_models[i] ? mem_copied : mem_not).push_back(run.scores.mem[i]);
    models_d.push_back(double(t.copy_models[i]));
  }
  const double draws = double(jobs.size()) * double(c.samples);
  const bool binary = run.cfg.data.binarize != Binarize::kNone;
  const double spearman_copies =
      spearman(torch::tensor(run.scores.mem, torch::kFloat64), torch::tensor(models_d, torch::kFloat64));
  x.run = c.run_dir;
  x.settings = {c.samples,
                to_string(c.draw),
                binary ? std::string("bernoulli draws (binary data)") : to_string(c.draw),
                c.delta,
                c.alpha,
                c.n_nearest,
                to_string(c.sampler),
                c.sample_steps,
                jobs};
  x.overall = {t.in,
               t.out,
               t.in_l2,
               t.out_l2,
               double(t.in) / draws,
               double(t.out) / draws,
               double(t.in) / draws - double(t.out) / draws,
               int64_t(mem_copied.size()),
               spearman_copies,
               finite_mean(mem_copied),
               finite_mean(mem_not)};
  x.duplicated = ExtractionDuplicated{
      std::count_if(distinct.times.begin(), distinct.times.end(), [](int64_t k) { return k > 1; }), t.of_duplicated};
  x.pairs = shown_pairs(run, t.pairs);
  t.csv.write(run.layout.extraction_csv());
  copies_csv.write(run.layout.copies());
  write_atomic(run.layout.extraction_json(), to_json(x).dump(2) + "\n");
  return x;
}

}  // namespace memscope
