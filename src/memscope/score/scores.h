#pragma once
// From the N x J matrix of log p values and the in/out mask to per-example memorization scores.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace memscope {

struct Scores {
  /// U = logmeanexp of log p over the models that trained on the example.
  std::vector<double> logp_in;
  /// V = logmeanexp of log p over the models that did not.
  std::vector<double> logp_out;
  /// M, the balanced estimate: the log-mean-exp of k = min(n_in, n_out) models on each side, the larger
  /// side averaged over its k-subsets (subset_logmeanexp). Unbiased when membership has no effect, whatever
  /// n_in and n_out; equal to mem_plugin when n_in = n_out. The score that ranks and is tested.
  std::vector<double> mem;
  /// The paper's plug-in estimate U - V. A log-mean-exp grows with its number of terms, so with
  /// n_in > n_out (a K-fold plan) it is biased upward when membership has no effect (+1.4 nats for
  /// 8 against 2 models of spread 3 nats).
  std::vector<double> mem_plugin;
  /// Standard error of M: moderated spreads, the data's own tails and the design effect (compute_scores),
  /// scaled on the permutation null when it has run (calibrate_error_bars; docs/method.md).
  std::vector<double> mem_se;
  /// Degrees of freedom of the moderated spread behind mem_se and mem_log_se: prior_df + n_in + n_out - 2.
  std::vector<double> df;
  /// One-sided p-value of "M > 0": P(T >= M / mem_se) for Student's t with df degrees of freedom; and its
  /// Benjamini-Hochberg q-value over the examples (an example is a discovery at FDR q when mem_q <= q).
  std::vector<double> mem_p, mem_q;
  /// The delta-method standard error of M in density space (understates the spread of M between
  /// runs two- to four-fold; kept for comparison).
  std::vector<double> mem_se_delta;
  /// Models behind U and V (finite log p only: missing or diverged models do not count).
  std::vector<int64_t> n_in, n_out;
  /// mem_log = mean log p over in-models minus mean log p over out-models.
  std::vector<double> mem_log;
  /// Standard error of mem_log: sqrt(s^2 / n_in + s^2 / n_out) with s^2 the moderated variance below.
  std::vector<double> mem_log_se;
  /// s: the example's spread (standard deviation) of log p between models, pooled over the in- and
  /// out-side (deviations from each side's mean) and moderated toward the common spread of all examples.
  std::vector<double> logp_sd;
  /// The prior of the moderation: degrees of freedom d0 (infinite: one spread for all) and spread s0.
  double prior_df = 0, prior_sd = 0;
  /// Membership risk (score/membership.h): how well the example's in-models are told from its
  /// out-models by LiRA online, as an AUC (0.5: not at all); empty until membership() has run.
  std::vector<double> mia_risk;
  /// Design effect D >= 1 applied to mem_se and mem_log_se (1 without repeats; see compute_scores).
  double design_effect = 1;
  /// The factors mem_se and mem_log_se carry from the permutation null (calibrate_error_bars; 1: none).
  double mem_se_scale = 1, mem_log_se_scale = 1;
  /// The Monte Carlo part of mem_se where each log p is itself an estimate with a standard error
  /// (diffusion models' bound; see add_monte_carlo_error); empty otherwise.
  std::vector<double> mem_mc_se;
  /// The statistic is not a log-likelihood (a loss, a confidence), oriented so that higher means member: M is
  /// not defined, and mem, mem_se, mem_p and mem_q are those of the in-minus-out difference mem_log
  /// (as_difference; counterfactual memorization, Zhang et al. 2021). logp_in, logp_out and mem_plugin are NaN.
  bool difference = false;
};

/// Examples whose q-value is at most fdr (discoveries at that false-discovery rate).
int64_t discoveries(const Scores& s, double fdr);

/// Examples that rest on fewer than `jobs` models (missing or diverged ones), and the most models
/// one example lost.
struct ModelsLost {
  int64_t examples = 0, most = 0;
};
ModelsLost models_lost(const Scores& s, int64_t jobs);

/// logp: [N, J] (NaN for a model that is missing or diverged); in_mask: [N, J] bool.
/// Delta-method standard error (mem_se_delta): Var(U) ~= r_in / n_in with r the relative variance Var(w) / mean(w)^2 of
/// the density ratios w = exp(log p - max), likewise V, and se(M) = sqrt(Var(U) + Var(V)). Where an example has a
/// single model on one side, r cannot be estimated from it; the median r of that side over the examples that have two
/// or more is used, or else the median r of the other side; NaN when no example has two models on either side.
///
/// Calibrated error bars (mem_se, mem_log_se): per example the sample variance of log p
/// over models, pooled over both sides with n_in + n_out - 2 degrees of freedom, is shrunk toward the
/// common variance of all examples by empirical Bayes (moderate_variances), giving s. Then
/// se(mem_log) = s sqrt(1/n_in + 1/n_out) and se(M) = h(k, s) sqrt(1 + k / max(n_in, n_out)) with k =
/// min(n_in, n_out) and h(n, s) the standard deviation of a log-mean-exp of n normal draws of spread s
/// (logmeanexp_normal_sd): the smaller side's log-mean-exp has variance h(k, s)^2, and the larger side's mean
/// over k-subsets (a U-statistic) at most k / n of it (Hoeffding 1948), with equality at n = k. A side with
/// one model borrows the spread of the other side and of the other examples, so R = 1 runs get error bars;
/// both are NaN for an example with no model on a side, or when no example has two models. The p- and
/// q-values follow (add_significance).
Scores compute_scores(const torch::Tensor& logp, const torch::Tensor& in_mask);

/// The same for a plan whose jobs come in repeats (repeat_of_job: [J]; the K models of one repeat share
/// one partition of the data, so they are not independent draws: an example's in- and out-models of one
/// repeat were trained on complementary folds). Per example and repeat, d = mean in-side log p - mean
/// out-side log p; the design effect D = sum_i Var_r(d_ir) / R_i over sum_i s_i^2 (1/n_in + 1/n_out)
/// (raw pooled variances; examples with two or more such repeats), at least 1, multiplies both error
/// bars' variances. Measured: D = 1.6-1.7 for 2 folds at 20 epochs, about 1 for 5 folds at 5 epochs.
Scores compute_scores(const torch::Tensor& logp, const torch::Tensor& in_mask,
                      const std::vector<int64_t>& repeat_of_job);

/// The scores of a statistic that is not a log-likelihood: mem and mem_se become mem_log and mem_log_se, the
/// log-mean-exps NaN, and the p- and q-values follow (Scores::difference).
void as_difference(Scores& s);

/// Fills df, mem_p and mem_q from mem, mem_se and the moderation prior (compute_scores and
/// add_monte_carlo_error call it; call it again after changing mem_se).
void add_significance(Scores& s);

/// Scales mem_se and mem_log_se to mem_scale and mem_log_scale times their model-based values (replacing an
/// earlier calibration) and recomputes the p- and q-values.
void calibrate_error_bars(Scores& s, double mem_scale, double mem_log_scale);

/// A column of scores.csv computed beside the scores (leverage, outlierness, spillover): name, [N] values.
using ScoreColumn = std::pair<std::string, std::vector<double>>;

/// Carries the Monte Carlo error of each log p estimate (logp_se: [N, J], NaN where missing) into
/// mem_se and mem_log_se: mc^2 = mean_in(se^2) / n_in + mean_out(se^2) / n_out over the finite ones,
/// the variance of M's Monte Carlo error were the models' errors independent, is added to both
/// variances, and mc kept as mem_mc_se. Conservative: the spread between models already holds the
/// part of the errors that differs between models, and common random numbers make much of the
/// rest common to all models, where it cancels in M.
void add_monte_carlo_error(Scores& s, const torch::Tensor& logp_se, const torch::Tensor& in_mask);

/// Writes scores.csv atomically: index,label,logp_in,logp_out,mem,mem_se,n_in,n_out,mem_log,mem_log_se,mia_risk,
/// mem_plugin,mem_p,mem_q (mia_risk empty when s has none), then the extra columns, then mem_mc_se where s has it.
/// For a difference (Scores::difference) mem, mem_se, mem_p and mem_q are named diff, diff_se, diff_p, diff_q.
/// index, label: [N] int64.
void write_scores_csv(const std::string& path, const torch::Tensor& index, const torch::Tensor& label, const Scores& s,
                      std::vector<ScoreColumn> extra = {});

}  // namespace memscope
