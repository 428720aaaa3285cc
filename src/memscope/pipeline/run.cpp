#include "memscope/pipeline/run.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "memscope/analysis/diagnostics.h"
#include "memscope/config/names.h"
#include "memscope/config/validate.h"
#include "memscope/core/cluster.h"
#include "memscope/core/error.h"
#include "memscope/core/progress.h"
#include "memscope/core/threads.h"
#include "memscope/data/loaders.h"
#include "memscope/io/atomic.h"
#include "memscope/io/npy.h"
#include "memscope/models/factory.h"
#include "memscope/pipeline/finished_run.h"
#include "memscope/pipeline/run_dir.h"
#include "memscope/plan/plan.h"
#include "memscope/score/membership.h"
#include "memscope/score/membership_json.h"
#include "memscope/score/null.h"
#include "memscope/train/device.h"
#include "memscope/train/trainer.h"

namespace memscope {

namespace {

nlohmann::json jobs_json(const RunDir& rd, const Plan& plan) {
  nlohmann::json jobs = nlohmann::json::array();
  for (const Job& job : plan.jobs) {
    if (rd.job_done(job)) {
      nlohmann::json m = rd.job_meta(job);
      m.erase("key");
      jobs.push_back(m);
    } else {
      jobs.push_back({{"id", job.id}, {"repeat", job.repeat}, {"fold", job.fold}, {"status", "pending"}});
    }
  }
  return jobs;
}

/// Stacks the finished jobs' standard errors of log p into logp_se.npy ([E, N, J]; NaN where a job has
/// none) when any has them (families whose log p is a Monte Carlo estimate).
void write_logp_se(const RunDir& rd, const Plan& plan, int64_t E, int64_t N) {
  torch::Tensor se = torch::full({E, N, int64_t(plan.jobs.size())}, std::numeric_limits<float>::quiet_NaN());
  bool any = false;
  for (const Job& job : plan.jobs) {
    if (!rd.job_done(job)) continue;
    const torch::Tensor s = rd.job_logp_se(job);
    if (!s.defined() || s.sizes() != torch::IntArrayRef({E, N})) continue;
    se.select(2, job.id).copy_(s);
    any = true;
  }
  if (any) write_npy(rd.layout().logp_se(), se);
}

/// With loss timesteps, stacks the finished jobs' denoising losses into denoise_loss.npy ([T', N, J]; NaN
/// where a job has none) and the membership attacks on those losses into membership-denoise.json.
void write_denoise_losses(const RunDir& rd, const Plan& plan, const RunConfig& cfg, int64_t N) {
  const int64_t J = int64_t(plan.jobs.size()), K = int64_t(cfg.eval.loss_timesteps.size());
  if (K == 0) return;
  torch::Tensor loss = torch::full({K, N, J}, std::numeric_limits<float>::quiet_NaN());
  for (const Job& job : plan.jobs) {
    if (!rd.job_done(job)) continue;
    const torch::Tensor l = rd.job_denoise_loss(job);
    if (l.defined() && l.sizes() == torch::IntArrayRef({K, N})) loss.select(2, job.id).copy_(l);
  }
  write_npy(rd.layout().denoise_loss(), loss);
  // The statistic of Carlini et al. (2023): a lower denoising loss says "member"; every attack on
  // minus the loss at each timestep, as on log p.
  const torch::Tensor mask = plan.in_mask();
  DenoiseMembership by_t;
  for (int64_t k = 0; k < K; ++k) {
    const MembershipResult r = membership(-loss[k].to(torch::kFloat64), mask, cfg.membership, job_repeats(cfg.plan, J));
    by_t.emplace_back(cfg.eval.loss_timesteps[size_t(k)], r);
    for (const AttackResult& a : r.attacks)
      if (a.attack == Attack::kLiraOnline)
        spdlog::info("membership on the denoising loss at t = {}: LiRA online AUC {}",
                     cfg.eval.loss_timesteps[size_t(k)],
                     std::isfinite(a.auc.mean) ? fmt::format("{:.3f} (mean over targets)", a.auc.mean)
                                               : "not measurable: " + a.auc.unavailable);
  }
  write_atomic(rd.layout().membership_denoise(), to_json(by_t).dump(1) + "\n");
}

/// Reads every finished job into logp.npy ([E, N, J]), writes mem_by_epoch.npy and scores.csv, and puts the
/// last epoch's scores and their split-half reliability into out.
void aggregate(const RunDir& rd, const Plan& plan, const RunConfig& cfg, const Dataset& data,
               const std::vector<int64_t>& epochs, RunOutcome& out) {
  const int64_t E = int64_t(epochs.size()), N = data.size(), J = int64_t(plan.jobs.size());
  torch::Tensor logp = torch::full({E, N, J}, std::numeric_limits<float>::quiet_NaN());
  for (const Job& job : plan.jobs) {
    if (!rd.job_done(job)) continue;
    torch::Tensor lp = rd.job_logp(job);
    MEMSCOPE_CHECK(lp.sizes() == torch::IntArrayRef({E, N}), rd.layout().job_logp(job.id), " has shape ", lp.sizes(),
                   ", expected [", E, ", ", N, "]");
    logp.select(2, job.id).copy_(lp);
  }
  write_npy(rd.layout().logp(), logp);
  write_logp_se(rd, plan, E, N);
  write_denoise_losses(rd, plan, cfg, N);
  const torch::Tensor mask = plan.in_mask();
  const std::vector<int64_t> repeats = job_repeats(cfg.plan, J);
  torch::Tensor mem = torch::empty({E, N}, torch::kFloat64);
  Scores last;
  for (int64_t e = 0; e < E; ++e) {
    last = compute_scores(logp[e], mask, repeats);
    mem[e].copy_(torch::tensor(last.mem, torch::kFloat64));
  }
  write_npy(rd.layout().mem_by_epoch(), mem);
  if (std::filesystem::exists(rd.layout().logp_se()))
    add_monte_carlo_error(last, read_npy(rd.layout().logp_se())[E - 1], mask);
  MembershipResult mia = membership(logp[E - 1], mask, cfg.membership, repeats);
  last.mia_risk = mia.risk;
  if (cfg.analysis.null_draws > 0)
    spdlog::info("null: scoring {} permutations of membership among examples", cfg.analysis.null_draws);
  permutation_null(logp[E - 1], mask, repeats, repeats, mia, &last, cfg.analysis.null_draws, cfg.seed,
                   cfg.analysis.fdr);
  const ExampleDiagnostics diag =
      diagnose_examples(data.x, logp[E - 1], mask, last, cfg.analysis.neighbours, independent_groups(cfg.plan, J));
  write_atomic(rd.layout().membership(), to_json(mia).dump(1) + "\n");
  out.membership = std::move(mia);
  write_scores_csv(rd.layout().scores(), data.index, data.label, last, diagnostic_columns(diag));
  out.scores = last;
  out.reliability = run_reliability(logp[E - 1], mask, cfg.plan);
}

/// Throws ConfigError naming "neighbours" when k is not below the number of examples (before any training).
void check_neighbours(const RunConfig& cfg, const Dataset& data) {
  MEMSCOPE_CHECK_KEY(cfg.analysis.neighbours < data.size(), "neighbours", "must be smaller than the ", data.size(),
                     " examples of ", data.name, ", got ", cfg.analysis.neighbours);
}

/// Up to `group` jobs for this process: positions drawn from the shared counter, each job claimed
/// (one another process holds is skipped, as is one finished meanwhile). drained: no positions left.
void claim_group(const RunDir& rd, const std::vector<Job>& candidates, int64_t group, cluster::Counter& next,
                 bool& drained, std::vector<Job>& jobs, std::vector<RunDir::Claim>& claims) {
  while (int64_t(jobs.size()) < group && !drained) {
    const int64_t position = next.next();
    drained = position >= int64_t(candidates.size());
    if (drained) break;
    const Job& job = candidates[size_t(position)];
    std::optional<RunDir::Claim> claim = rd.try_claim(job);
    if (!claim) {
      spdlog::info("job {} is being trained by another process; skipping it", job.id);
      continue;
    }
    if (rd.job_done(job)) continue;  // another process finished it meanwhile
    claims.push_back(std::move(*claim));
    jobs.push_back(job);
  }
}

/// Counts a trained job into out (time, FLOPs, status) and logs it.
void record_job(const Job& job, const JobResult& r, const DensityEnsemble& model, int64_t n, RunOutcome& out) {
  ++out.jobs_trained;
  if (r.status != "ok") ++out.jobs_diverged;
  out.train_seconds += r.train_seconds;
  out.eval_seconds += r.eval_seconds;
  // Training steps, and the held-out loss (a forward pass) after each epoch; or the one fit.
  const double n_train = double(job.train.size());
  if (const auto* t = dynamic_cast<const TrainableEnsemble*>(&model)) {
    out.train_examples += n_train * double(r.train_loss.size());
    out.train_flops += t->train_flops_per_example() * n_train * double(r.train_loss.size()) +
                       t->forward_flops_per_example() * (double(n) - n_train) * double(r.heldout_loss.size());
  }
  if (const auto* c = dynamic_cast<const ClosedFormEnsemble*>(&model))
    out.train_flops += c->fit_flops_per_example() * n_train;
  out.eval_flops += model.eval_flops_per_example(r.eval_samples) * double(n) * double(r.logp.size());
  const double loss = r.train_loss.empty() ? std::nan("") : r.train_loss.back();
  spdlog::info(
      "job {} (repeat {}, fold {}): {}, final train loss {:.2f}, mean log p {:.2f}, {:.1f} s "
      "(train {:.1f} s, evaluate {:.1f} s{})",
      job.id, job.repeat, job.fold, r.status, loss, r.logp.back().nanmean().item<double>(), r.seconds, r.train_seconds,
      r.eval_seconds, r.eval_samples > 0 ? fmt::format(" with {} samples", r.eval_samples) : "");
}

/// cfg with the blocks of a subsets design resolved against those of the run directory it continues (a new
/// run: one block of M), so that more models on a finished run add a block and keep every finished job.
RunConfig with_subset_blocks(RunConfig cfg) {
  if (cfg.plan.design != Design::kSubsets) return cfg;
  std::vector<int64_t> existing;
  if (std::filesystem::exists(RunLayout(cfg.out).config())) {
    try {
      const RunConfig stored = load_run_config(cfg.out);
      if (stored.plan.design == Design::kSubsets)
        existing =
            stored.plan.subset_blocks.empty() ? std::vector<int64_t>{stored.plan.models} : stored.plan.subset_blocks;
    } catch (const Error&) {
      // Not a readable run: RunDir says what is wrong with the directory.
    }
  }
  cfg.plan.subset_blocks = resolve_subset_blocks(cfg.plan, existing);
  validate(cfg);
  return cfg;
}

}  // namespace

/// The plan of cfg, run (or resumed) once.
static RunOutcome run_plan(const RunConfig& cfg_in) {
  const auto t0 = std::chrono::steady_clock::now();
  validate(cfg_in);
  check_device(cfg_in.device);
  const RunConfig cfg = with_subset_blocks(resolved(cfg_in));

  Dataset data = load_dataset(cfg.data, cfg.seed);
  spdlog::info("data: {} examples of shape {}x{}x{} from {}", data.size(), data.shape[0], data.shape[1], data.shape[2],
               data.name);
  check_model_fits(data, cfg);
  const Plan plan = make_plan(data.size(), cfg.plan, cfg.seed);
  check_neighbours(cfg, data);
  const std::string data_hash = content_hash(data);
  const RunDir rd(cfg.out, cfg, data_hash);
  rd.write_manifest(plan);
  const std::vector<int64_t> epochs = eval_epochs(cfg.train, cfg.eval);
  write_npy(rd.layout().index(), data.index);
  write_npy(rd.layout().labels(), data.label);
  write_npy(rd.layout().mask(), plan.in_mask());
  write_npy(rd.layout().epochs(), torch::tensor(epochs, torch::kInt64));
  const nlohmann::json data_json = {{"name", data.name},
                                    {"n", data.size()},
                                    {"shape", data.shape},
                                    {"binarize", to_string(cfg.data.binarize)},
                                    {"content_hash", data_hash}};
  rd.write_config(data_json, jobs_json(rd, plan));

  RunOutcome out;
  out.dir = rd.path();
  out.jobs_total = int64_t(plan.jobs.size());
  // This process's jobs: its shard's unfinished ones, claimed a group at a time (a job another
  // process holds is skipped), so processes sharing a run directory share its work dynamically.
  // MPI ranks draw positions in the list from one shared counter, so each job is offered to one
  // rank; the list is the same on every rank because none trains before all have made it.
  std::vector<Job> candidates;
  for (const Job& job : plan.jobs) {
    if (rd.job_done(job)) {
      rd.remove_checkpoints(job);
      continue;
    }
    if (job.id % cfg.shard_count == cfg.shard_index) candidates.push_back(job);
  }
  out.jobs_skipped = out.jobs_total;
  for (const Job& job : plan.jobs) out.jobs_skipped -= !rd.job_done(job);
  if (out.jobs_skipped)
    spdlog::info("resume: {} of {} jobs already finished in {}", out.jobs_skipped, out.jobs_total, rd.path());

  // Default group: every candidate, or under MPI an equal share per rank.
  const int64_t ranks = cluster::size();
  const int64_t group = cfg.train.group_size > 0
                            ? cfg.train.group_size
                            : std::max<int64_t>(1, (int64_t(candidates.size()) + ranks - 1) / ranks);
  Progress progress(Progress::mode_for(cfg.progress), out.jobs_total, out.jobs_skipped);
  int64_t done = out.jobs_skipped;
  cluster::barrier();
  cluster::Counter next;
  bool drained = false;
  while (true) {
    std::vector<Job> jobs;
    std::vector<RunDir::Claim> claims;
    claim_group(rd, candidates, group, next, drained, jobs, claims);
    if (jobs.empty()) break;
    const int64_t G = int64_t(jobs.size());
    std::vector<std::string> checkpoints;
    if (cfg.train.checkpoint_every > 0)
      for (const Job& job : jobs) checkpoints.push_back(rd.checkpoint_path(job));
    GroupResult gr = train_group(
        data, jobs, cfg, [&](double f, const std::string& what) { progress.update(done, G, f, what); }, checkpoints);
    progress.finish();
    for (int64_t g = 0; g < G; ++g) {
      const auto [model, k] = gr.member(g);
      rd.save_job(jobs[g], gr.jobs[g], epochs, *model, k);
      ++done;
      record_job(jobs[g], gr.jobs[g], *model, data.size(), out);
    }
    rd.write_config(data_json, jobs_json(rd, plan));
  }
  cluster::barrier();  // every rank's jobs are on disk; rank 0 writes the scores
  for (const Job& job : plan.jobs)
    if (!rd.job_done(job)) out.missing.push_back(job.id);
  if (cluster::rank() == 0 && out.missing.empty())
    aggregate(rd, plan, cfg, data, epochs, out);
  else if (cluster::rank() == 0)
    spdlog::info(
        "{} of {} jobs are not finished (other shards or processes); `memscope score --run {}` aggregates what is",
        out.missing.size(), out.jobs_total, rd.path());
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

RunOutcome run(const RunConfig& cfg_in) {
  RunOutcome out = run_plan(cfg_in);
  const double target = cfg_in.plan.until_reliability;
  if (target <= 0) return out;
  MEMSCOPE_CHECK_KEY(cluster::size() == 1 && cfg_in.shard_count == 1, "until_reliability",
                     "needs one process with all jobs (no MPI ranks, no --shard)");
  RunConfig cfg = cfg_in;
  while (out.missing.empty()) {
    const double projected = out.reliability ? out.reliability->mem.whole_run : std::nan("");
    spdlog::info("reliability: split-half projection for M {:.2f} with {} repeats (target {:.2f})", projected,
                 cfg.plan.repeats, target);
    if (projected >= target || cfg.plan.repeats >= cfg.plan.max_repeats) break;
    ++cfg.plan.repeats;
    const RunOutcome more = run_plan(cfg);
    const int64_t trained = out.jobs_trained + more.jobs_trained, diverged = out.jobs_diverged + more.jobs_diverged;
    const double seconds = out.seconds + more.seconds;
    out = more;
    out.jobs_trained = trained, out.jobs_diverged = diverged, out.seconds = seconds;
    out.jobs_skipped = out.jobs_total - trained;
  }
  return out;
}

RunOutcome score_run(const std::string& dir, const std::optional<MembershipConfig>& membership,
                     const std::optional<double>& fdr, const std::optional<int64_t>& null_draws) {
  const auto t0 = std::chrono::steady_clock::now();
  RunConfig cfg = resolved(load_run_config(dir));
  if (membership) cfg.membership = *membership;
  if (fdr) cfg.analysis.fdr = *fdr;
  if (null_draws) cfg.analysis.null_draws = *null_draws;
  set_threads(resolve_threads(cfg.threads));
  const Dataset data = load_dataset(cfg.data, cfg.seed);
  const Plan plan = make_plan(data.size(), cfg.plan, cfg.seed);
  const RunDir rd(dir, cfg, content_hash(data));
  RunOutcome out;
  out.dir = dir;
  out.jobs_total = int64_t(plan.jobs.size());
  for (const Job& job : plan.jobs)
    if (!rd.job_done(job)) out.missing.push_back(job.id);
  out.jobs_skipped = out.jobs_total - int64_t(out.missing.size());
  aggregate(rd, plan, cfg, data, eval_epochs(cfg.train, cfg.eval), out);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace memscope
