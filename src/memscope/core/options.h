#pragma once
// The option table: one declaration per option of a run (its key, config.json place, help, valid
// range, and whether it is part of the run's identity). The program's flags and TOML keys
// (apps/cli.cpp), config.json and the identity (to_json, identity_json, run_config_from_json in
// config/config_json.h) and the range checks (validate, config/validate.h) are all derived from it.
// The other commands declare their options the same way, in tables beside their config structs
// (for_each_extract_option, for_each_report_option, for_each_null_bank_option) and in apps/cli.cpp.
#include <cstdint>
#include <limits>
#include <string>

#include "memscope/core/config.h"

namespace memscope {

/// What an option is to a run directory.
enum class Scope {
  kIdentity,         ///< determines the jobs' results: part of the identity that names them
  kIdentityWhenSet,  ///< likewise, but only when not at its default (options added after runs existed)
  kRun,              ///< stored and restored with the run, but results do not depend on it
  kProcess,          ///< how one process runs (threads, device, progress): stored, never restored
  kCommand,          ///< an option of another command (extract, report, ...): not part of a run's configuration
};

/// Valid values of a numeric option (or of each element of a list option).
struct Range {
  double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
  bool lo_open = false, hi_open = false;
};

struct OptionSpec {
  /// Configuration key, as in TOML files ("iw_samples"); the flag is --iw-samples (flag_of).
  const char* key;
  /// Section and name in config.json ("eval", "iw_samples"); section "" is the top level.
  const char* section;
  const char* name;
  const char* help;
  Scope scope;
  Range range = {};
  /// A flag that sets the value false (no_pad -> pad32 = false).
  bool negated = false;
  /// The command needs it (set where a command takes the option: required(spec)).
  bool required = false;
  /// A word the flag and TOML take for the value 0 of a number ("auto"); null: none.
  const char* zero_word = nullptr;
};

/// An option of a command other than run: its key (and flag), help and valid range; no place in config.json.
constexpr OptionSpec command_option(const char* key, const char* help, Range range = {}) {
  return OptionSpec{key, "", key, help, Scope::kCommand, range};
}

/// o, which the command that takes it needs.
constexpr OptionSpec required(OptionSpec o) {
  o.required = true;
  return o;
}

/// The flag of a configuration key: "--" and the key with '-' for '_'.
inline std::string flag_of(const std::string& key) {
  std::string flag = "--" + key;
  for (char& ch : flag)
    if (ch == '_') ch = '-';
  return flag;
}

/// The options that score takes too: the settings of the memorized-example test and of the membership
/// attacks, with which a finished run can be scored again (the jobs' results do not depend on them).
template <typename Config, typename Visit>
void for_each_scoring_option(Config& c, Visit&& visit) {
  using S = Scope;
  visit(OptionSpec{"fdr",
                   "analysis",
                   "fdr",
                   "false-discovery rate of the examples reported as memorized (Benjamini-Hochberg on M > 0)",
                   S::kRun,
                   {0, 1, true, true}},
        c.analysis.fdr);
  visit(OptionSpec{"null_draws",
                   "analysis",
                   "null_draws",
                   "draws of the permutation null (membership shuffled among examples) shown beside every figure",
                   S::kRun,
                   {0, 10000}},
        c.analysis.null_draws);
  visit(OptionSpec{"lira_variance", "membership", "lira_variance",
                   "LiRA Gaussians: per-example | global (one pooled variance per side)", S::kRun},
        c.membership.lira_variance);
  visit(OptionSpec{"rmia_gamma",
                   "membership",
                   "rmia_gamma",
                   "RMIA: x beats population point z when r(x) - r(z) >= log gamma",
                   S::kRun,
                   {0, std::numeric_limits<double>::infinity(), true, true}},
        c.membership.rmia_gamma);
}

/// The options of the analyses beside the scores (neighbours, membership attacks); part of for_each_option.
template <typename Config, typename Visit>
void for_each_analysis_option(Config& c, Visit&& visit) {
  visit(OptionSpec{"neighbours",
                   "analysis",
                   "neighbours",
                   "nearest neighbours k per example behind outlierness and neighbour spillover",
                   Scope::kRun,
                   {1}},
        c.analysis.neighbours);
  for_each_scoring_option(c, visit);
}

/// The options of the diffusion family (--model ddpm); part of for_each_option. Added after runs
/// existed: part of the identity only when set.
template <typename Config, typename Visit>
void for_each_diffusion_option(Config& c, Visit&& visit) {
  using S = Scope;
  visit(OptionSpec{"channels",
                   "model",
                   "channels",
                   "ddpm: U-Net channels per level, e.g. 32,64,64",
                   S::kIdentityWhenSet,
                   {1, 4096}},
        c.model.channels);
  visit(
      OptionSpec{"res_blocks", "model", "res_blocks", "ddpm: residual blocks per level", S::kIdentityWhenSet, {1, 16}},
      c.model.res_blocks);
  visit(OptionSpec{"attention",
                   "model",
                   "attention",
                   "ddpm: self-attention at this image side, e.g. 16 (0: none)",
                   S::kIdentityWhenSet,
                   {0}},
        c.model.attention);
  visit(OptionSpec{"dropout",
                   "model",
                   "dropout",
                   "ddpm: dropout in the residual blocks",
                   S::kIdentityWhenSet,
                   {0, 1, false, true}},
        c.model.dropout);
  visit(OptionSpec{"timesteps", "model", "timesteps", "ddpm: diffusion steps T", S::kIdentityWhenSet, {2, 100000}},
        c.model.timesteps);
  visit(OptionSpec{"schedule", "model", "schedule", "ddpm: noise schedule: linear (1e-4 to 0.02) | cosine",
                   S::kIdentityWhenSet},
        c.model.schedule);
  visit(OptionSpec{"ema",
                   "model",
                   "ema",
                   "ddpm: EMA decay of the weights used to evaluate and sample (0: none)",
                   S::kIdentityWhenSet,
                   {0, 1, false, true}},
        c.model.ema);
  visit(OptionSpec{"elbo_samples",
                   "eval",
                   "elbo_samples",
                   "ddpm: timesteps per example (stratified) in the estimate of the variational bound",
                   S::kIdentityWhenSet,
                   {1}},
        c.eval.elbo_samples);
  visit(
      OptionSpec{"loss_timesteps", "eval", "loss_timesteps",
                 "ddpm: write the per-example denoising loss at these timesteps, e.g. 50,100,200", S::kIdentityWhenSet},
      c.eval.loss_timesteps);
}

/// The options of the data; part of for_each_option.
template <typename Config, typename Visit>
void for_each_data_option(Config& c, Visit&& visit) {
  using S = Scope;
  visit(OptionSpec{"data", "data", "source",
                   "fashion-mnist | mnist-digits | idx:IMAGES[:LABELS] | npy:FILE | "
                   "csv:FILE | cifar10:PATH | images:DIR | celeba:DIR",
                   S::kIdentity},
        c.data.source);
  visit(OptionSpec{"limit", "data", "limit", "keep the first N examples (0: all)", S::kIdentity, {0}}, c.data.limit);
  visit(OptionSpec{"binarize", "data", "binarize",
                   "sample (seeded Bernoulli, once) | threshold (> 0.5) | none | auto (sample for the VAE, none "
                   "otherwise)",
                   S::kIdentity},
        c.data.binarize);
  visit(OptionSpec{"no_pad", "data", "pad32", "do not pad 28x28 images to 32x32", S::kIdentity, {}, true},
        c.data.pad32);
  visit(OptionSpec{"crop", "data", "crop", "images, celeba: crop box x0,y0,x1,y1 (celeba: 15,40,163,188)",
                   S::kIdentityWhenSet},
        c.data.crop);
  visit(OptionSpec{"resize",
                   "data",
                   "resize",
                   "images, celeba: resize to R x R after cropping (0: keep; celeba: 32)",
                   S::kIdentityWhenSet,
                   {0, 4096}},
        c.data.resize);
  visit(OptionSpec{"duplicate", "data", "duplicate",
                   "K,R: each of the first K examples appears R times (R - 1 copies appended)", S::kIdentityWhenSet},
        c.data.duplicate);
}

/// The options of the plan, as make_plan (plan/plan.h) takes them: the design and the root seed; part of
/// for_each_option, and the options of null-bank's design.
template <typename Config, typename Visit>
void for_each_plan_option(Config& c, Visit&& visit) {
  using S = Scope;
  visit(OptionSpec{"design", "plan", "design", "kfold (K folds x R repeats) | subsets (M models on random subsets)",
                   S::kIdentityWhenSet},
        c.plan.design);
  visit(OptionSpec{"folds", "plan", "folds", "folds K per repeat", S::kIdentity, {2}}, c.plan.folds);
  // Not part of the identity: repeat r's folds and jobs do not depend on how many repeats there
  // are, so more repeats on a finished run train only the new jobs.
  visit(OptionSpec{"repeats", "plan", "repeats", "repeats R (J = K R jobs)", S::kRun, {1}}, c.plan.repeats);
  // The subsets of a balanced block depend on its size, so the first block's size is part of the identity
  // (identity_json puts it in place of M: a run of one block has M there, as before blocks existed); the
  // blocks after it add models whose jobs' keys hold their training sets, so they are not (as repeats).
  visit(OptionSpec{"models", "plan", "models", "subsets: models M", S::kIdentityWhenSet, {2}}, c.plan.models);
  visit(OptionSpec{"subset_blocks", "plan", "subset_blocks",
                   "subsets: sizes of the blocks of models, each balanced within itself, summing to M (default: "
                   "one block; a finished run keeps its blocks and more models add one)",
                   S::kRun},
        c.plan.subset_blocks);
  visit(OptionSpec{"subset_fraction",
                   "plan",
                   "subset_fraction",
                   "subsets: each example trains round(M f) of the M models",
                   S::kIdentityWhenSet,
                   {0, 1, true, true}},
        c.plan.subset_fraction);
  visit(OptionSpec{"seed", "", "seed", "root seed of every random choice", S::kIdentity}, c.seed);
}

/// Calls visit(spec, field) for every option of a run, field being the member of c it sets
/// (c may be const).
template <typename Config, typename Visit>
void for_each_option(Config& c, Visit&& visit) {
  using S = Scope;
  for_each_data_option(c, visit);
  visit(OptionSpec{"model", "model", "family", "mlp-vae | conv-vae | ddpm | gaussian | ppca:Q | kde:H", S::kIdentity},
        c.model.family);
  visit(OptionSpec{"decoder", "model", "decoder",
                   "VAE decoder: bernoulli | logit-gaussian (conv-vae) | gaussian "
                   "(conv-vae)",
                   S::kIdentityWhenSet},
        c.model.decoder);
  visit(OptionSpec{"ridge", "model", "ridge", "gaussian, ppca: add R I to the fitted covariance", S::kIdentity, {0}},
        c.model.ridge);
  visit(OptionSpec{"hidden", "model", "hidden", "encoder hidden sizes, e.g. 512,256", S::kIdentity, {1}},
        c.model.hidden);
  visit(OptionSpec{"latent", "model", "latent", "latent dimension", S::kIdentity, {1}}, c.model.latent);
  for_each_diffusion_option(c, visit);
  visit(OptionSpec{"epochs", "train", "epochs", "training epochs per job", S::kIdentity, {1}}, c.train.epochs);
  visit(OptionSpec{"batch_size", "train", "batch_size", "minibatch size", S::kIdentity, {1}}, c.train.batch_size);
  visit(OptionSpec{"lr", "train", "lr", "Adam learning rate", S::kIdentity, {0, 1e3, true, true}}, c.train.lr);
  visit(OptionSpec{"group_size", "train", "group_size", "jobs trained together (0: all pending)", S::kRun, {0}},
        c.train.group_size);
  visit(OptionSpec{"checkpoint_every",
                   "train",
                   "checkpoint_every",
                   "save training state every E epochs; a killed job resumes from it (0: never)",
                   S::kRun,
                   {0}},
        c.train.checkpoint_every);
  visit(OptionSpec{"hflip", "train", "hflip", "flip training images horizontally at random (never in evaluation)",
                   S::kIdentityWhenSet},
        c.train.hflip);
  for_each_plan_option(c, visit);
  visit(OptionSpec{"until_reliability",
                   "plan",
                   "until_reliability",
                   "add repeats until the projected split-half reliability of M reaches this (0: off)",
                   S::kRun,
                   {0, 1, false, true}},
        c.plan.until_reliability);
  visit(
      OptionSpec{"max_repeats", "plan", "max_repeats", "the most repeats --until-reliability adds up to", S::kRun, {1}},
      c.plan.max_repeats);
  visit(OptionSpec{"iw_samples",
                   "eval",
                   "iw_samples",
                   "importance samples per example; auto (or 0): chosen per evaluation from a pilot so that their "
                   "Monte Carlo noise is at most --mc-share of the variance of log p",
                   S::kIdentity,
                   {0},
                   false,
                   false,
                   "auto"},
        c.eval.iw_samples);
  visit(OptionSpec{"mc_share",
                   "eval",
                   "mc_share",
                   "--iw-samples auto: largest Monte Carlo share of the variance of each log p",
                   S::kIdentityWhenSet,
                   {0, 1, true, true}},
        c.eval.mc_share);
  visit(OptionSpec{"eval_every", "eval", "eval_every", "evaluate every E epochs (0: last only)", S::kIdentity, {0}},
        c.eval.eval_every);
  for_each_analysis_option(c, visit);
  visit(OptionSpec{"out", "", "out", "run directory", S::kRun}, c.out);
  visit(OptionSpec{"threads", "", "threads", "CPU threads (0: all cores)", S::kProcess, {0}}, c.threads);
  visit(OptionSpec{"device", "", "device", "cpu | cuda | cuda:N", S::kProcess}, c.device);
  visit(OptionSpec{"progress", "", "progress", "auto | bar | log | none", S::kProcess}, c.progress);
}

}  // namespace memscope
