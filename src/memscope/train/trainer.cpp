#include "memscope/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <mutex>
#include <sstream>

#include <spdlog/spdlog.h>

#include "memscope/core/error.h"
#include "memscope/core/seeds.h"
#include "memscope/core/threads.h"
#include "memscope/io/atomic.h"
#include "memscope/models/conv_vae.h"
#include "memscope/models/gaussian.h"
#include "memscope/models/mlp_vae.h"
#include "memscope/train/adam.h"

namespace memscope {

namespace {

// An evaluation tile: about kEvalTileRows examples x samples, and at most kEvalTileExamples
// examples, so that even few samples make enough tiles to keep every core busy.
constexpr int64_t kEvalTileRows = 16384, kEvalTileExamples = 256;

/// One member's training state at the end of an epoch (--checkpoint-every).
struct MemberCheckpoint {
  int64_t epoch = 0;
  std::string model;  // save_member's archive
  int64_t adam_steps = 0;
  std::vector<torch::Tensor> adam_moments;
  torch::Tensor shuffle_state, noise_state, flip_state;
  JobResult result;
  bool active = true;
};

torch::Tensor doubles(const std::vector<double>& v) { return torch::tensor(v, torch::kFloat64); }
std::vector<double> doubles(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

void save_checkpoint(const std::string& path, const MemberCheckpoint& c) {
  torch::serialize::OutputArchive ar;
  auto scalar = [](double v) { return torch::tensor({v}, torch::kFloat64); };
  ar.write("epoch", scalar(double(c.epoch)));
  ar.write("model", torch::from_blob(const_cast<char*>(c.model.data()), {int64_t(c.model.size())}, torch::kUInt8).clone());
  ar.write("adam_steps", scalar(double(c.adam_steps)));
  ar.write("adam_count", scalar(double(c.adam_moments.size())));
  for (size_t i = 0; i < c.adam_moments.size(); ++i) ar.write(str("adam_", i), c.adam_moments[i]);
  ar.write("shuffle_state", c.shuffle_state);
  ar.write("noise_state", c.noise_state);
  ar.write("flip_state", c.flip_state);
  ar.write("active", scalar(c.active));
  ar.write("diverged_epoch", scalar(double(c.result.diverged_epoch)));
  ar.write("train_loss", doubles(c.result.train_loss));
  ar.write("heldout_loss", doubles(c.result.heldout_loss));
  ar.write("logp", c.result.logp.empty() ? torch::empty({0}) : torch::stack(c.result.logp));
  ar.write("seconds", doubles({c.result.train_seconds, c.result.eval_seconds}));
  // In memory first: LibTorch's writer aborts the process when its stream fails (a full disk);
  // write_atomic turns that into an error naming the file.
  std::ostringstream bytes;
  ar.save_to(bytes);
  write_atomic(path, bytes.str());
}

MemberCheckpoint load_checkpoint(const std::string& path) {
  torch::serialize::InputArchive ar;
  ar.load_from(path);
  auto read = [&](const char* key) {
    torch::Tensor t;
    ar.read(key, t);
    return t;
  };
  auto scalar = [&](const char* key) { return read(key).item<double>(); };
  MemberCheckpoint c;
  c.epoch = int64_t(scalar("epoch"));
  const torch::Tensor model = read("model").contiguous();
  c.model.assign(static_cast<const char*>(model.data_ptr()), size_t(model.numel()));
  c.adam_steps = int64_t(scalar("adam_steps"));
  for (int64_t i = 0, n = int64_t(scalar("adam_count")); i < n; ++i) c.adam_moments.push_back(read(str("adam_", i).c_str()));
  c.shuffle_state = read("shuffle_state");
  c.noise_state = read("noise_state");
  c.flip_state = read("flip_state");
  c.active = scalar("active") != 0;
  c.result.diverged_epoch = int64_t(scalar("diverged_epoch"));
  if (c.result.diverged_epoch > 0) c.result.status = "diverged";
  c.result.train_loss = doubles(read("train_loss"));
  c.result.heldout_loss = doubles(read("heldout_loss"));
  const torch::Tensor logp = read("logp");
  if (logp.dim() == 2)
    for (int64_t e = 0; e < logp.size(0); ++e) c.result.logp.push_back(logp[e].clone());
  const std::vector<double> seconds = doubles(read("seconds"));
  c.result.train_seconds = seconds.at(0);
  c.result.eval_seconds = seconds.at(1);
  return c;
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Rows idx ([G, B] int64) of X ([N, D]) as [G, B, D], with zeros where weight ([G, B] bool, on X's
/// device) is false: padding rows (members with fewer examples left) are never real data.
torch::Tensor gather_rows(const torch::Tensor& X, const torch::Tensor& idx, const torch::Tensor& weight) {
  torch::Tensor x = X.index_select(0, idx.to(X.device()).view(-1)).view({idx.size(0), idx.size(1), X.size(1)});
  return torch::where(weight.unsqueeze(-1), x, torch::zeros({}, x.options()));
}

/// Mean training loss (one-sample negative ELBO) of each member on its held-out examples, in
/// chunks of rows, with noise from a stream of its own (training streams are not touched).
std::vector<double> heldout_loss(DensityEnsemble& model, const torch::Tensor& X, const std::vector<torch::Tensor>& heldout,
                                 const std::vector<Job>& jobs, int64_t epoch) {
  torch::NoGradGuard no_grad;
  constexpr int64_t kRows = 1024;
  const int64_t G = model.members(), L = model.noise_dim();
  int64_t most = 0;
  for (const auto& h : heldout) most = std::max(most, h.size(0));
  std::vector<double> sum(G, 0.0);
  std::vector<at::Generator> gens;
  for (const Job& j : jobs) gens.push_back(make_generator(derive_seed(j.seed, SeedTag::kNoise, {uint64_t(epoch)})));
  for (int64_t r0 = 0; r0 < most; r0 += kRows) {
    const int64_t rows = std::min(kRows, most - r0);
    torch::Tensor idx = torch::zeros({G, rows}, torch::kInt64), weight = torch::zeros({G, rows}, torch::kBool);
    for (int64_t g = 0; g < G; ++g) {
      const int64_t cnt = std::clamp<int64_t>(heldout[g].size(0) - r0, 0, rows);
      idx[g].slice(0, 0, cnt).copy_(heldout[g].slice(0, r0, r0 + cnt));
      weight[g].slice(0, 0, cnt).fill_(true);
    }
    std::vector<torch::Tensor> eps;
    for (int64_t g = 0; g < G; ++g) {  // as many draws as member g has rows, whatever the others have
      eps.push_back(torch::zeros({rows, L}));
      const int64_t cnt = std::clamp<int64_t>(heldout[g].size(0) - r0, 0, rows);
      if (cnt > 0) eps.back().slice(0, 0, cnt).copy_(at::randn({cnt, L}, gens[g], torch::kFloat32));
    }
    weight = weight.to(X.device());
    torch::Tensor per = model.loss(gather_rows(X, idx, weight), torch::stack(eps).to(X.device()), weight);
    torch::Tensor sums = torch::where(weight, per, torch::zeros_like(per)).sum(1).to(torch::kCPU, torch::kFloat64);
    for (int64_t g = 0; g < G; ++g) sum[g] += sums[g].item<double>();
  }
  for (int64_t g = 0; g < G; ++g) sum[g] /= double(std::max<int64_t>(1, heldout[g].size(0)));
  return sum;
}

/// Members [first, first + model->members()) of a group with their own optimizer (see train_group).
struct Lane {
  int64_t first = 0;
  std::vector<Job> jobs;
  std::vector<torch::Tensor> heldout;
  std::shared_ptr<DensityEnsemble> model;
  std::unique_ptr<MemberAdam> adam;
};

}  // namespace

std::shared_ptr<DensityEnsemble> make_ensemble(const std::vector<int64_t>& shape, const ModelConfig& c,
                                               const std::vector<uint64_t>& init_seeds) {
  int64_t dim = 1;
  for (int64_t s : shape) dim *= s;
  switch (c.family.kind) {
    case Family::kConvVae: return std::make_shared<ConvVaeEnsemble>(shape, c, init_seeds);
    case Family::kGaussian:
    case Family::kPpca:
      return std::make_shared<LinearGaussianEnsemble>(int64_t(init_seeds.size()), dim, c.family.components, c.ridge);
    case Family::kMlpVae: break;
  }
  return std::make_shared<MlpVaeEnsemble>(dim, c, init_seeds);
}

void check_model_fits(const Dataset& data, const RunConfig& cfg) {
  const std::vector<int64_t>& shape = data.shape;
  MEMSCOPE_CHECK_KEY(!cfg.train.hflip || (shape.size() == 3 && shape[1] > 1 && shape[2] > 1), "hflip", "needs images; ",
                 data.name, " has examples of shape ", c10::IntArrayRef(shape));
  make_ensemble(shape, cfg.model, {0});  // its constructor checks the shape
}

torch::Tensor evaluate_log_prob(DensityEnsemble& model, const torch::Tensor& x, int64_t samples,
                                const std::vector<uint64_t>& seeds, const std::function<void(int64_t, int64_t)>& tick) {
  const int64_t G = model.members(), N = x.size(0), L = model.eval_noise_dim();
  MEMSCOPE_CHECK(int64_t(seeds.size()) == G, "evaluate_log_prob: ", seeds.size(), " seeds for ", G, " members");
  const int64_t tile = std::clamp<int64_t>(kEvalTileRows / samples, 1, kEvalTileExamples);
  const int64_t tiles = ceil_div(N, tile);
  torch::Tensor out = torch::empty({G, N}, torch::kFloat32);
  torch::NoGradGuard no_grad;
  std::mutex tick_mutex;
  int64_t done = 0;
  auto run_tile = [&](int64_t t) {
    const int64_t start = t * tile, b = std::min(tile, N - start);
    std::vector<torch::Tensor> eps;
    for (uint64_t seed : seeds) {
      auto gen = make_generator(derive_seed(seed, SeedTag::kEval, {uint64_t(t)}));
      eps.push_back(at::randn({b, samples, L}, gen, torch::kFloat32));
    }
    out.slice(1, start, start + b).copy_(model.log_prob(x.slice(0, start, start + b), torch::stack(eps).to(x.device())));
    std::lock_guard<std::mutex> lock(tick_mutex);
    done += b;
    if (tick) tick(done, N);
  };
  if (x.device().is_cpu()) {
    parallel_tasks(tiles, run_tile);  // tiles are independent: one per core
  } else {
    for (int64_t t = 0; t < tiles; ++t) run_tile(t);
  }
  return out;
}

GroupResult train_group(const Dataset& data, const std::vector<Job>& jobs, const RunConfig& cfg,
                        const ProgressFn& progress, const std::vector<std::string>& checkpoints) {
  const auto t0 = std::chrono::steady_clock::now();
  set_threads(resolve_threads(cfg.threads));
  const int64_t G = static_cast<int64_t>(jobs.size()), B = cfg.train.batch_size;
  MEMSCOPE_CHECK(G >= 1, "train_group: no jobs");
  std::vector<uint64_t> init_seeds;
  std::vector<at::Generator> shuffle_gens, noise_gens, flip_gens;
  std::vector<torch::Tensor> train_idx;
  for (const Job& j : jobs) {
    MEMSCOPE_CHECK(!j.train.empty(), "train_group: job ", j.id, " has an empty training set");
    init_seeds.push_back(derive_seed(j.seed, SeedTag::kInit));
    shuffle_gens.push_back(make_generator(derive_seed(j.seed, SeedTag::kShuffle)));
    noise_gens.push_back(make_generator(derive_seed(j.seed, SeedTag::kNoise)));
    flip_gens.push_back(make_generator(derive_seed(j.seed, SeedTag::kAugment)));
    train_idx.push_back(torch::tensor(j.train, torch::kInt64));
  }
  GroupResult result;
  const torch::Device device(cfg.device);
  const torch::Tensor X = data.x.to(device);
  const std::vector<int64_t>& shape = data.shape;
  check_model_fits(data, cfg);
  result.jobs.resize(G);
  const std::vector<int64_t> evals = eval_epochs(cfg.train, cfg.eval);
  const int64_t S = cfg.eval.iw_samples;
  if (cfg.model.family.linear_gaussian()) {
    // Fitted once; the same exact log p stands for every evaluation epoch.
    result.models = {make_ensemble(shape, cfg.model, init_seeds)};
    DensityEnsemble& model = *result.models[0];
    model.to(device);
    std::vector<uint64_t> seeds;
    for (int64_t g = 0; g < G; ++g) {
      model.fit(g, X.index_select(0, train_idx[g].to(device)));
      seeds.push_back(jobs[g].seed);
    }
    const auto t_fit = std::chrono::steady_clock::now();
    torch::Tensor lp = evaluate_log_prob(model, X, 1, seeds);
    const double eval_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_fit).count();
    const double total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (int64_t g = 0; g < G; ++g) {
      JobResult& r = result.jobs[g];
      r.train_loss.push_back(-lp[g].index_select(0, train_idx[g]).to(torch::kFloat64).mean().item<double>());
      for (size_t e = 0; e < evals.size(); ++e) r.logp.push_back(lp[g].clone());
      r.seconds = total_s / G;
      r.eval_seconds = eval_s / G;
      r.train_seconds = (total_s - eval_s) / G;
    }
    if (progress) progress(1.0, "fitted");
    return result;
  }
  std::vector<torch::Tensor> heldout_idx;
  for (const Job& j : jobs) {
    torch::Tensor in = torch::zeros({data.size()}, torch::kBool);
    in.index_fill_(0, torch::tensor(j.train, torch::kInt64), true);
    heldout_idx.push_back((~in).nonzero().flatten());
  }
  // Lanes: on a CPU with T threads and G = q T + r members, T lanes (consecutive sub-ensembles) of
  // q members train side by side, each on one core with one-thread OpenBLAS: T independent chains
  // of small matmuls beat T threads on every one of them. The r members left over then train as
  // one more lane on all T cores, so that no core idles while the others finish (fmnist-6k, G = 5,
  // T = 2: 7.6 s with one ensemble, 6.7 s with lanes of 2 and 3, 6.2 s with 2 + 2, then 1).
  // The split is fixed by G and T, and every member draws from its own streams, so it changes
  // only float rounding, and not from one run to the next.
  const int64_t T = device.is_cpu() ? kernel_threads() : 1, q = G / T;
  const int64_t side_by_side = q > 0 && T > 1 ? T : 0;  // lanes of q members, one core each
  std::vector<int64_t> bounds;                          // lane l holds members [bounds[l], bounds[l + 1])
  for (int64_t l = 0; l <= side_by_side; ++l) bounds.push_back(l * q);
  if (bounds.back() < G) bounds.push_back(G);  // the last lane: all cores
  const int64_t n_lanes = int64_t(bounds.size()) - 1;
  std::vector<Lane> lanes;
  for (int64_t l = 0; l < n_lanes; ++l) {
    Lane lane;
    lane.first = bounds[l];
    const int64_t last = bounds[l + 1];
    lane.jobs.assign(jobs.begin() + lane.first, jobs.begin() + last);
    lane.heldout.assign(heldout_idx.begin() + lane.first, heldout_idx.begin() + last);
    lane.model = make_ensemble(shape, cfg.model, {init_seeds.begin() + lane.first, init_seeds.begin() + last});
    lane.model->to(device);
    lane.adam = std::make_unique<MemberAdam>(lane.model->parameters(), last - lane.first, cfg.train.lr);
    result.models.push_back(lane.model);
    lanes.push_back(std::move(lane));
  }
  auto lane_of = [&](int64_t g) -> std::pair<Lane&, int64_t> {
    for (Lane& lane : lanes)
      if (g < lane.first + lane.model->members()) return {lane, g - lane.first};
    throw Error(str("train_group: no lane has member ", g));
  };
  const int64_t L = lanes[0].model->noise_dim();
  std::vector<char> active(G, true);  // not vector<bool>: lanes write their own members at once
  // A member with a checkpoint resumes after its epoch: start[g] is the first epoch it trains.
  MEMSCOPE_CHECK(checkpoints.empty() || int64_t(checkpoints.size()) == G, "train_group: ", checkpoints.size(),
                 " checkpoint paths for ", G, " jobs");
  std::vector<int64_t> start(G, 1);
  for (int64_t g = 0; g < int64_t(checkpoints.size()); ++g) {
    if (!std::filesystem::exists(checkpoints[g])) continue;
    MemberCheckpoint c;
    try {
      c = load_checkpoint(checkpoints[g]);
    } catch (const std::exception& e) {  // written atomically, so only a foreign file gets here
      spdlog::warn("checkpoint {} is unreadable ({}); job {} starts from epoch 1", checkpoints[g], e.what(), jobs[g].id);
      continue;
    }
    auto [lane, k] = lane_of(g);
    std::istringstream weights(c.model);
    lane.model->load_member(k, weights);
    lane.adam->restore(k, c.adam_steps, c.adam_moments);
    shuffle_gens[g].set_state(c.shuffle_state);
    noise_gens[g].set_state(c.noise_state);
    flip_gens[g].set_state(c.flip_state);
    active[g] = c.active;
    result.jobs[g] = std::move(c.result);
    start[g] = c.epoch + 1;
    spdlog::info("job {} resumes after epoch {} from its checkpoint", jobs[g].id, c.epoch);
  }
  const int64_t first_epoch = *std::min_element(start.begin(), start.end());
  auto live = [&](int64_t g, int64_t epoch) { return active[g] && epoch >= start[g]; };

  // Work units for progress, in decoder passes: one evaluated sample is one; a training example
  // (encoder and decoder, forward and backward, optimizer) measured about 12.
  constexpr double kTrainCost = 12;
  int64_t max_steps = 0;
  for (const auto& t : train_idx) max_steps = std::max(max_steps, ceil_div(t.size(0), B));
  const double train_units = double(cfg.train.epochs) * max_steps * B * kTrainCost;
  const double eval_units = double(evals.size()) * data.size() * S;
  double done_units = 0, eval_seconds = 0;
  std::mutex report_mutex;
  auto report = [&](double units, const std::string& what) {
    std::lock_guard<std::mutex> lock(report_mutex);
    done_units += units;
    if (progress) progress(done_units / (train_units + eval_units), what);
  };

  // One epoch of lane's members: minibatch steps, then the held-out loss.
  auto train_epoch = [&](Lane& lane, int64_t epoch) {
    DensityEnsemble& model = *lane.model;
    const int64_t Gl = model.members(), g0 = lane.first;
    model.train(true);  // batch statistics while training; running statistics from here on
    std::vector<torch::Tensor> order(Gl);
    int64_t steps = 0;
    for (int64_t k = 0; k < Gl; ++k) {
      const int64_t g = g0 + k;
      if (!live(g, epoch)) continue;
      order[k] = train_idx[g].index_select(0, torch::randperm(train_idx[g].size(0), shuffle_gens[g], torch::kInt64));
      steps = std::max(steps, ceil_div(order[k].size(0), B));
    }
    std::vector<double> loss_sum(Gl, 0.0);
    for (int64_t s = 0; s < steps; ++s) {
      torch::Tensor idx = torch::zeros({Gl, B}, torch::kInt64);
      torch::Tensor weight = torch::zeros({Gl, B}, torch::kBool);
      std::vector<bool> update(Gl, false);
      std::vector<torch::Tensor> eps(Gl), flip(Gl);
      for (int64_t k = 0; k < Gl; ++k) {
        const int64_t g = g0 + k;
        const int64_t n_g = live(g, epoch) ? order[k].size(0) : 0;
        if (s * B >= n_g) {
          eps[k] = torch::zeros({B, L});
          flip[k] = torch::zeros({B}, torch::kBool);
          continue;
        }
        const int64_t cnt = std::min(B, n_g - s * B);
        idx[k].slice(0, 0, cnt).copy_(order[k].slice(0, s * B, s * B + cnt));
        weight[k].slice(0, 0, cnt).fill_(true);
        update[k] = true;
        eps[k] = at::randn({B, L}, noise_gens[g], torch::kFloat32);
        flip[k] = cfg.train.hflip ? at::rand({B}, flip_gens[g]) < 0.5 : torch::zeros({B}, torch::kBool);
      }
      weight = weight.to(device);
      torch::Tensor xb = gather_rows(X, idx, weight);  // [Gl, B, D]
      if (cfg.train.hflip) xb = hflip_rows(xb, shape, torch::stack(flip).to(device));
      torch::Tensor per_example = model.loss(xb, torch::stack(eps).to(device), weight);  // [Gl, B]
      torch::Tensor masked = torch::where(weight, per_example, torch::zeros_like(per_example));
      torch::Tensor sums = masked.sum(1);                              // [Gl]
      torch::Tensor mean = sums / weight.sum(1).clamp_min(1).to(sums.scalar_type());
      torch::Tensor sums_cpu = sums.detach().to(torch::kCPU, torch::kFloat64);
      for (int64_t k = 0; k < Gl; ++k) {
        if (!update[k]) continue;
        const double v = sums_cpu[k].item<double>();
        if (!std::isfinite(v)) {
          const int64_t g = g0 + k;
          active[g] = false;
          update[k] = false;
          result.jobs[g].status = "diverged";
          result.jobs[g].diverged_epoch = epoch;
        }
        loss_sum[k] += v;
      }
      model.zero_grad(/*set_to_none=*/true);  // backward then writes fresh gradients: no memset, no accumulate pass
      torch::Tensor update_mask = torch::tensor(std::vector<uint8_t>(update.begin(), update.end())).to(device, torch::kBool);
      torch::where(update_mask, mean, torch::zeros_like(mean)).sum().backward();
      lane.adam->step(update);
      report(double(B) * kTrainCost * double(Gl) / double(G), str("train epoch ", epoch, "/", cfg.train.epochs));
    }
    report(double(max_steps - steps) * B * kTrainCost * double(Gl) / double(G), "");
    model.train(false);
    const std::vector<double> held = heldout_loss(model, X, lane.heldout, lane.jobs, epoch);
    for (int64_t k = 0; k < Gl; ++k) {
      const int64_t g = g0 + k;
      if (live(g, epoch) || result.jobs[g].diverged_epoch == epoch)
        result.jobs[g].train_loss.push_back(loss_sum[k] / double(order[k].size(0)));
      if (live(g, epoch)) result.jobs[g].heldout_loss.push_back(held[k]);
    }
  };

  report(double(first_epoch - 1) * max_steps * B * kTrainCost, "resumed");
  for (int64_t epoch = first_epoch; epoch <= cfg.train.epochs; ++epoch) {
    parallel_tasks(side_by_side, [&](int64_t l) { train_epoch(lanes[l], epoch); });
    if (n_lanes > side_by_side) train_epoch(lanes.back(), epoch);

    if (std::find(evals.begin(), evals.end(), epoch) != evals.end()) {
      const auto eval_start = std::chrono::steady_clock::now();
      std::vector<torch::Tensor> lps;
      for (Lane& lane : lanes) {  // one lane after another, each on all cores
        std::vector<uint64_t> eval_seeds;
        for (const Job& j : lane.jobs) eval_seeds.push_back(derive_seed(j.seed, SeedTag::kEval, {uint64_t(epoch)}));
        int64_t last = 0;
        lps.push_back(evaluate_log_prob(*lane.model, X, S, eval_seeds, [&](int64_t done, int64_t total) {
          report(double(done - last) * S * double(lane.model->members()) / double(G),
                 str("evaluate epoch ", epoch, " (", done, "/", total, " examples)"));
          last = done;
        }));
      }
      const torch::Tensor lp = torch::cat(lps, 0);
      for (int64_t g = 0; g < G; ++g) {
        if (epoch < start[g]) continue;  // restored from its checkpoint
        result.jobs[g].logp.push_back(active[g] ? lp[g].clone()
                                                : torch::full({data.size()}, std::numeric_limits<float>::quiet_NaN()));
      }
      eval_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - eval_start).count();
    }
    const int64_t every = cfg.train.checkpoint_every;
    if (!checkpoints.empty() && every > 0 && epoch % every == 0 && epoch < cfg.train.epochs) {
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      for (int64_t g = 0; g < G; ++g) {
        if (epoch < start[g]) continue;  // its checkpoint is already further on
        auto [lane, k] = lane_of(g);
        MemberCheckpoint c;
        c.epoch = epoch;
        std::ostringstream weights;
        lane.model->save_member(k, weights);
        c.model = weights.str();
        std::tie(c.adam_steps, c.adam_moments) = lane.adam->state(k);
        c.shuffle_state = shuffle_gens[g].get_state();
        c.noise_state = noise_gens[g].get_state();
        c.flip_state = flip_gens[g].get_state();
        c.active = active[g];
        c.result = result.jobs[g];
        c.result.train_seconds += (elapsed - eval_seconds) / G;
        c.result.eval_seconds += eval_seconds / G;
        save_checkpoint(checkpoints[g], c);
      }
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (auto& j : result.jobs) {  // restored members carry the time of their earlier life
    j.eval_seconds += eval_seconds / G;
    j.train_seconds += (seconds - eval_seconds) / G;
    j.seconds = j.train_seconds + j.eval_seconds;
  }
  return result;
}

std::pair<DensityEnsemble*, int64_t> GroupResult::member(int64_t g) const {
  for (const auto& m : models) {
    if (g < m->members()) return {m.get(), g};
    g -= m->members();
  }
  throw Error(str("GroupResult: no member ", g));
}

}  // namespace memscope
