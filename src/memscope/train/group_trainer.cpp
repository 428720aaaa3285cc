#include "memscope/train/group_trainer.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>
#include <tuple>

#include <spdlog/spdlog.h>

#include "memscope/config/names.h"
#include "memscope/core/error.h"
#include "memscope/core/seeds.h"
#include "memscope/core/threads.h"
#include "memscope/models/ddpm.h"
#include "memscope/models/factory.h"
#include "memscope/train/checkpoint.h"
#include "memscope/train/evaluate.h"
#include "memscope/train/lanes.h"

namespace memscope {

namespace {

// Work units for progress, in decoder passes: one evaluated sample is one; a training example
// (encoder and decoder, forward and backward, optimizer) measured about 12.
constexpr double kTrainCost = 12;

/// Rows idx ([G, B] int64) of X ([N, D]) as [G, B, D], with zeros where weight ([G, B] bool, on X's
/// device) is false: padding rows (members with fewer examples left) are never real data.
torch::Tensor gather_rows(const torch::Tensor& X, const torch::Tensor& idx, const torch::Tensor& weight) {
  torch::Tensor x = X.index_select(0, idx.to(X.device()).view(-1)).view({idx.size(0), idx.size(1), X.size(1)});
  return torch::where(weight.unsqueeze(-1), x, torch::zeros({}, x.options()));
}

/// Mean training loss (one-sample negative ELBO) of each member on its held-out examples, in
/// chunks of rows, with noise from a stream of its own (training streams are not touched).
/// X: [N, D]; heldout: one [n_g] int64 per member.
std::vector<double> heldout_loss(TrainableEnsemble& model, const torch::Tensor& X,
                                 const std::vector<torch::Tensor>& heldout, const std::vector<Job>& jobs,
                                 int64_t epoch) {
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

}  // namespace

GroupTrainer::GroupTrainer(const Dataset& data, const std::vector<Job>& jobs, const RunConfig& cfg, ProgressFn progress,
                           std::vector<std::string> checkpoints)
    : data_(data),
      jobs_(jobs),
      cfg_(cfg),
      progress_(std::move(progress)),
      checkpoints_(std::move(checkpoints)),
      t0_(std::chrono::steady_clock::now()),
      members_(int64_t(jobs.size())),
      batch_(cfg.train.batch_size),
      device_(cfg.device) {
  MEMSCOPE_CHECK(members_ >= 1, "train_group: no jobs");
  MEMSCOPE_CHECK(checkpoints_.empty() || int64_t(checkpoints_.size()) == members_, "train_group: ", checkpoints_.size(),
                 " checkpoint paths for ", members_, " jobs");
  std::vector<uint64_t> init_seeds;
  std::vector<torch::Tensor> heldout_idx;
  for (const Job& j : jobs_) {
    MEMSCOPE_CHECK(!j.train.empty(), "train_group: job ", j.id, " has an empty training set");
    init_seeds.push_back(derive_seed(j.seed, SeedTag::kInit));
    shuffle_gens_.push_back(make_generator(derive_seed(j.seed, SeedTag::kShuffle)));
    noise_gens_.push_back(make_generator(derive_seed(j.seed, SeedTag::kNoise)));
    flip_gens_.push_back(make_generator(derive_seed(j.seed, SeedTag::kAugment)));
    train_idx_.push_back(torch::tensor(j.train, torch::kInt64));
    torch::Tensor in = torch::zeros({data_.size()}, torch::kBool);
    in.index_fill_(0, train_idx_.back(), true);
    heldout_idx.push_back((~in).nonzero().flatten());
  }
  x_ = data_.x.to(device_);
  evals_ = eval_epochs(cfg_.train, cfg_.eval);
  result_.jobs.resize(members_);
  plan_ =
      plan_lanes(members_, device_.is_cpu() ? kernel_threads() : 1, device_.is_cpu(), cfg_.model.family.diffusion());
  for (int64_t l = 0; l < plan_.lanes(); ++l) {
    Lane lane;
    lane.first = plan_.bounds[l];
    const int64_t last = plan_.bounds[l + 1];
    lane.jobs.assign(jobs_.begin() + lane.first, jobs_.begin() + last);
    lane.heldout.assign(heldout_idx.begin() + lane.first, heldout_idx.begin() + last);
    lane.model = std::dynamic_pointer_cast<TrainableEnsemble>(
        make_ensemble(data_.shape, cfg_.model, {init_seeds.begin() + lane.first, init_seeds.begin() + last}));
    MEMSCOPE_CHECK(lane.model, "train_group: model family '", to_string(cfg_.model.family), "' is fitted, not trained");
    lane.model->to(device_);
    lane.adam = std::make_unique<MemberAdam>(lane.model->parameters(), last - lane.first, cfg_.train.lr);
    result_.models.push_back(lane.model);
    lanes_.push_back(std::move(lane));
  }
  noise_dim_ = lanes_[0].model->noise_dim();
  active_.assign(members_, true);
  start_.assign(members_, 1);
  for (const auto& t : train_idx_) max_steps_ = std::max(max_steps_, ceil_div(t.size(0), batch_));
  const double train_units = double(cfg_.train.epochs) * max_steps_ * batch_ * kTrainCost;
  // auto: the progress bar assumes 128 samples until the pilot has chosen
  const int64_t S = eval_samples(cfg_.model, cfg_.eval) > 0 ? eval_samples(cfg_.model, cfg_.eval) : 128;
  const double eval_units = double(evals_.size()) * data_.size() * S;
  total_units_ = train_units + eval_units;
}

std::pair<GroupTrainer::Lane&, int64_t> GroupTrainer::lane_of(int64_t g) {
  for (Lane& lane : lanes_)
    if (g < lane.first + lane.model->members()) return {lane, g - lane.first};
  throw Error(str("train_group: no lane has member ", g));
}

void GroupTrainer::report(double units, const std::string& what) {
  std::lock_guard<std::mutex> lock(report_mutex_);
  done_units_ += units;
  if (progress_) progress_(done_units_ / total_units_, what);
}

double GroupTrainer::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
}

int64_t GroupTrainer::restore() {
  for (int64_t g = 0; g < int64_t(checkpoints_.size()); ++g) {
    if (!std::filesystem::exists(checkpoints_[g])) continue;
    MemberCheckpoint c;
    try {
      c = load_checkpoint(checkpoints_[g]);
    } catch (const std::exception& e) {  // written atomically, so only a foreign file gets here
      spdlog::warn("checkpoint {} is unreadable ({}); job {} starts from epoch 1", checkpoints_[g], e.what(),
                   jobs_[g].id);
      continue;
    }
    auto [lane, k] = lane_of(g);
    std::istringstream weights(c.model);
    lane.model->load_member(k, weights);
    lane.adam->restore(k, c.adam_steps, c.adam_moments);
    shuffle_gens_[g].set_state(c.shuffle_state);
    noise_gens_[g].set_state(c.noise_state);
    flip_gens_[g].set_state(c.flip_state);
    active_[g] = c.active;
    result_.jobs[g] = std::move(c.result);
    start_[g] = c.epoch + 1;
    spdlog::info("job {} resumes after epoch {} from its checkpoint", jobs_[g].id, c.epoch);
  }
  return *std::min_element(start_.begin(), start_.end());
}

void GroupTrainer::train_epoch(int64_t epoch) {
  parallel_tasks(plan_.side_by_side, [&](int64_t l) { train_lane(lanes_[l], epoch); });
  if (plan_.lanes() == plan_.side_by_side) return;
  struct ConvPool {  // LibTorch's pool on every core for this lane, then back to core/threads.h's policy
    explicit ConvPool(bool on) : on(on) {
      if (on) at::set_num_threads(kernel_threads());
    }
    ~ConvPool() {
      if (on) set_threads(kernel_threads());
    }
    bool on;
  } pool(plan_.pool);
  for (int64_t l = plan_.side_by_side; l < plan_.lanes(); ++l) train_lane(lanes_[size_t(l)], epoch);
}

void GroupTrainer::train_lane(Lane& lane, int64_t epoch) {
  TrainableEnsemble& model = *lane.model;
  const int64_t Gl = model.members(), g0 = lane.first, B = batch_;
  model.train(true);  // batch statistics while training; running statistics from here on
  std::vector<torch::Tensor> order(Gl);
  int64_t steps = 0;
  for (int64_t k = 0; k < Gl; ++k) {
    const int64_t g = g0 + k;
    if (!live(g, epoch)) continue;
    order[k] = train_idx_[g].index_select(0, torch::randperm(train_idx_[g].size(0), shuffle_gens_[g], torch::kInt64));
    steps = std::max(steps, ceil_div(order[k].size(0), B));
  }
  std::vector<double> loss_sum(Gl, 0.0);
  for (int64_t s = 0; s < steps; ++s) {
    Batch batch = draw_batch(lane, order, s, epoch);
    step(lane, batch, epoch, loss_sum);
    report(double(B) * kTrainCost * double(Gl) / double(members_), str("train epoch ", epoch, "/", cfg_.train.epochs));
  }
  report(double(max_steps_ - steps) * B * kTrainCost * double(Gl) / double(members_), "");
  model.train(false);
  const std::vector<double> held = heldout_loss(model, x_, lane.heldout, lane.jobs, epoch);
  for (int64_t k = 0; k < Gl; ++k) {
    const int64_t g = g0 + k;
    if (live(g, epoch) || result_.jobs[g].diverged_epoch == epoch)
      result_.jobs[g].train_loss.push_back(loss_sum[k] / double(order[k].size(0)));
    if (live(g, epoch)) result_.jobs[g].heldout_loss.push_back(held[k]);
  }
}

GroupTrainer::Batch GroupTrainer::draw_batch(const Lane& lane, const std::vector<torch::Tensor>& order, int64_t s,
                                             int64_t epoch) {
  const int64_t Gl = lane.model->members(), g0 = lane.first, B = batch_, L = noise_dim_;
  Batch b;
  b.idx = torch::zeros({Gl, B}, torch::kInt64);
  b.weight = torch::zeros({Gl, B}, torch::kBool);
  b.update.assign(Gl, false);
  b.eps.resize(Gl);
  b.flip.resize(Gl);
  for (int64_t k = 0; k < Gl; ++k) {
    const int64_t g = g0 + k;
    const int64_t n_g = live(g, epoch) ? order[k].size(0) : 0;
    if (s * B >= n_g) {
      b.eps[k] = torch::zeros({B, L});
      b.flip[k] = torch::zeros({B}, torch::kBool);
      continue;
    }
    const int64_t cnt = std::min(B, n_g - s * B);
    b.idx[k].slice(0, 0, cnt).copy_(order[k].slice(0, s * B, s * B + cnt));
    b.weight[k].slice(0, 0, cnt).fill_(true);
    b.update[k] = true;
    b.eps[k] = at::randn({B, L}, noise_gens_[g], torch::kFloat32);
    b.flip[k] = cfg_.train.hflip ? at::rand({B}, flip_gens_[g]) < 0.5 : torch::zeros({B}, torch::kBool);
  }
  b.weight = b.weight.to(device_);
  return b;
}

void GroupTrainer::step(Lane& lane, Batch& batch, int64_t epoch, std::vector<double>& loss_sum) {
  TrainableEnsemble& model = *lane.model;
  const int64_t Gl = model.members();
  const torch::Tensor& weight = batch.weight;
  std::vector<bool>& update = batch.update;
  torch::Tensor xb = gather_rows(x_, batch.idx, weight);  // [Gl, B, D]
  if (cfg_.train.hflip) xb = hflip_rows(xb, data_.shape, torch::stack(batch.flip).to(device_));
  torch::Tensor per_example = model.loss(xb, torch::stack(batch.eps).to(device_), weight);  // [Gl, B]
  torch::Tensor masked = torch::where(weight, per_example, torch::zeros_like(per_example));
  torch::Tensor sums = masked.sum(1);  // [Gl]
  torch::Tensor mean = sums / weight.sum(1).clamp_min(1).to(sums.scalar_type());
  torch::Tensor sums_cpu = sums.detach().to(torch::kCPU, torch::kFloat64);
  for (int64_t k = 0; k < Gl; ++k) {
    if (!update[k]) continue;
    const double v = sums_cpu[k].item<double>();
    if (!std::isfinite(v)) {
      const int64_t g = lane.first + k;
      active_[g] = false;
      update[k] = false;
      result_.jobs[g].status = "diverged";
      result_.jobs[g].diverged_epoch = epoch;
    }
    loss_sum[k] += v;
  }
  model.zero_grad(/*set_to_none=*/true);  // backward then writes fresh gradients: no memset, no accumulate pass
  const std::vector<uint8_t> update_bytes(update.begin(), update.end());
  torch::Tensor update_mask = torch::tensor(update_bytes).to(device_, torch::kBool);
  torch::where(update_mask, mean, torch::zeros_like(mean)).sum().backward();
  lane.adam->step(update);
  model.after_step(update);
}

SampleChoice GroupTrainer::choose_samples(int64_t epoch) {
  const auto start = std::chrono::steady_clock::now();
  // The pilot: every model on the same evenly spaced examples, twice with independent noise at each level.
  constexpr int64_t kPilotExamples = 256;
  const int64_t N = data_.size(), step = std::max<int64_t>(1, N / kPilotExamples);
  const torch::Tensor x = x_.index_select(0, torch::arange(0, N, step).to(device_));
  std::vector<PilotLevel> pilot;
  for (int64_t S : {8, 32, 128}) {
    PilotLevel level{S, {}, {}};
    for (uint64_t replicate : {0ULL, 1ULL}) {
      std::vector<torch::Tensor> lps;
      for (Lane& lane : lanes_) {
        std::vector<uint64_t> seeds;
        for (const Job& j : lane.jobs)
          seeds.push_back(derive_seed(j.seed, SeedTag::kEval, {uint64_t(epoch), 0x9170ULL, uint64_t(S), replicate}));
        lps.push_back(evaluate_log_prob(*lane.model, x, S, seeds));
      }
      torch::Tensor lp = torch::cat(lps, 0);
      for (int64_t g = 0; g < members_; ++g)
        if (!active_[g]) lp[g].fill_(std::numeric_limits<float>::quiet_NaN());
      (replicate == 0 ? level.a : level.b) = lp;
    }
    pilot.push_back(level);
  }
  // A fixed S is kept (measure_samples); auto takes the smallest S whose share is small enough.
  const int64_t fixed = eval_samples(cfg_.model, cfg_.eval);
  SampleChoice c = fixed > 0 ? choose_iw_samples(pilot, cfg_.eval.mc_share, fixed, fixed)
                             : choose_iw_samples(pilot, cfg_.eval.mc_share);
  c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / double(members_);
  if (!c.fallback.empty()) {
    spdlog::warn("importance samples: {} {}: {}", fixed > 0 ? "kept at" : "auto falls back to", c.samples, c.fallback);
    return c;
  }
  spdlog::info(
      "importance samples: {} {} at epoch {} (pilot of {} examples x {} models: Monte Carlo variance of log p "
      "{:.3g} / {:.3g} / {:.3g} at 8 / 32 / 128 samples, fitted {:.3g} S^-{:.2f}; between models {:.3g}; Monte Carlo "
      "share at {}: {:.1f}%)",
      fixed > 0 ? "kept" : "auto chose", c.samples, epoch, x.size(0), members_, c.mc[0], c.mc[1], c.mc[2], c.scale,
      c.decay, c.between, c.samples, 100 * c.share);
  return c;
}

void GroupTrainer::evaluate(int64_t epoch) {
  const auto eval_start = std::chrono::steady_clock::now();
  int64_t S = eval_samples(cfg_.model, cfg_.eval);
  std::optional<SampleChoice> choice;
  if (S == 0 || cfg_.eval.measure_samples) S = (choice = choose_samples(epoch))->samples;
  std::vector<torch::Tensor> lps, ses, losses;
  const bool last_epoch = epoch == cfg_.train.epochs;
  for (Lane& lane : lanes_) {  // one lane after another, each on all cores
    // Families with common random numbers draw an example's noise from the run's seed, the same
    // for every model; the others from their job's.
    std::vector<uint64_t> eval_seeds;
    for (const Job& j : lane.jobs)
      eval_seeds.push_back(
          derive_seed(lane.model->common_eval_noise() ? cfg_.seed : j.seed, SeedTag::kEval, {uint64_t(epoch)}));
    int64_t last = 0;
    auto [lp, se] = evaluate_log_prob_se(*lane.model, x_, S, eval_seeds, [&](int64_t done, int64_t total) {
      report(double(done - last) * S * double(lane.model->members()) / double(members_),
             str("evaluate epoch ", epoch, " (", done, "/", total, " examples)"));
      last = done;
    });
    lps.push_back(lp);
    if (se.defined()) ses.push_back(se);
    auto* ddpm = dynamic_cast<DdpmEnsemble*>(lane.model.get());
    if (ddpm && last_epoch && !cfg_.eval.loss_timesteps.empty())
      losses.push_back(evaluate_denoising_loss(*ddpm, x_, cfg_.eval.loss_timesteps,
                                               derive_seed(cfg_.seed, SeedTag::kEval, {0x1055ULL})));
  }
  const torch::Tensor lp = torch::cat(lps, 0);
  const torch::Tensor se = ses.size() == lps.size() ? torch::cat(ses, 0) : torch::Tensor();
  const torch::Tensor loss = losses.size() == lps.size() ? torch::cat(losses, 0) : torch::Tensor();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int64_t g = 0; g < members_; ++g) {
    if (epoch < start_[g]) continue;  // restored from its checkpoint
    JobResult& r = result_.jobs[g];
    r.logp.push_back(active_[g] ? lp[g].clone() : torch::full({data_.size()}, nan));
    if (se.defined()) r.logp_se.push_back(active_[g] ? se[g].clone() : torch::full({data_.size()}, nan));
    r.eval_samples = S;
    r.sample_choice = choice;
    if (loss.defined()) r.denoise_loss = active_[g] ? loss[g].clone() : torch::full_like(loss[g], nan);
  }
  eval_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - eval_start).count();
}

bool GroupTrainer::checkpoint_due(int64_t epoch) const {
  const int64_t every = cfg_.train.checkpoint_every;
  return !checkpoints_.empty() && every > 0 && epoch % every == 0 && epoch < cfg_.train.epochs;
}

void GroupTrainer::checkpoint(int64_t epoch) {
  const double seconds = elapsed();
  for (int64_t g = 0; g < members_; ++g) {
    if (epoch < start_[g]) continue;  // its checkpoint is already further on
    auto [lane, k] = lane_of(g);
    MemberCheckpoint c;
    c.epoch = epoch;
    std::ostringstream weights;
    lane.model->save_member(k, weights);
    c.model = weights.str();
    std::tie(c.adam_steps, c.adam_moments) = lane.adam->state(k);
    c.shuffle_state = shuffle_gens_[g].get_state();
    c.noise_state = noise_gens_[g].get_state();
    c.flip_state = flip_gens_[g].get_state();
    c.active = active_[g];
    c.result = result_.jobs[g];
    c.result.train_seconds += (seconds - eval_seconds_) / members_;
    c.result.eval_seconds += eval_seconds_ / members_;
    save_checkpoint(checkpoints_[g], c);
  }
}

GroupResult GroupTrainer::run() {
  const int64_t first_epoch = restore();
  report(double(first_epoch - 1) * max_steps_ * batch_ * kTrainCost, "resumed");
  for (int64_t epoch = first_epoch; epoch <= cfg_.train.epochs; ++epoch) {
    train_epoch(epoch);
    if (std::find(evals_.begin(), evals_.end(), epoch) != evals_.end()) evaluate(epoch);
    if (checkpoint_due(epoch)) checkpoint(epoch);
  }
  const double seconds = elapsed();
  for (auto& j : result_.jobs) {  // restored members carry the time of their earlier life
    j.eval_seconds += eval_seconds_ / members_;
    j.train_seconds += (seconds - eval_seconds_) / members_;
    j.seconds = j.train_seconds + j.eval_seconds;
  }
  return std::move(result_);
}

}  // namespace memscope
