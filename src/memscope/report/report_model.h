#pragma once
// The report of a finished run as data: build_report turns what was read from a run directory
// into every number, table and chart series the page and summary.json show (no HTML, no files).
#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "memscope/analysis/analysis.h"
#include "memscope/analysis/diagnostics.h"
#include "memscope/analysis/verdict.h"
#include "memscope/data/dataset.h"
#include "memscope/report/report_files.h"
#include "memscope/score/membership_json.h"
#include "memscope/score/reliability.h"
#include "memscope/score/scores.h"

namespace memscope {

struct ReportOptions {
  /// "Highly memorized": M above this quantile of M.
  double high_quantile = 0.95;
  /// Examples in the top and bottom image grids, and with neighbours shown.
  int64_t grid = 16;
  /// Rows of the searchable table and points of the scatter plot (the most memorized first,
  /// then an even spread of the rest).
  int64_t max_rows = 5000;
};

/// The nearest-neighbour ratio of the paper, computed by the loading side from a model's samples.
struct NnRatioInput {
  /// [N] distance to the nearest held-out real example over distance to the nearest model sample.
  torch::Tensor ratio;
  /// The job whose held-out examples and model were used.
  int64_t job = 0;
  /// Held-out real examples and model samples compared.
  int64_t held_out_real = 0, model_samples = 0;
  /// How the samples were drawn.
  std::string sample;
};

/// Everything the report needs, already read from the run directory.
struct ReportInput {
  /// The run directory (shown, never read).
  std::string run_dir;
  /// config.json of the run (a bank: what was read, in config).
  RunRecord record;
  /// The examples as the run preprocessed them.
  Dataset data;
  /// Examples are images (C x H x W with H > 1): the report shows them.
  bool images = false;
  /// [N, D] the examples before binarization, shown beside what the models saw (undefined: the data were not
  /// binarized, or are not images).
  torch::Tensor original;
  /// Scores at the last evaluated epoch.
  Scores scores;
  /// [E] evaluated epochs.
  std::vector<int64_t> epochs;
  /// [N, J] bool: job j trained on example i.
  torch::Tensor mask;
  /// [E, N] memorization score at every evaluated epoch (undefined if absent).
  torch::Tensor mem_by_epoch;
  /// extraction.json and validation.json, when the run directory has them.
  std::optional<ExtractionFile> extraction;
  std::optional<ValidationFile> validation;
  /// The nearest-neighbour ratio, when a model of the run can sample.
  std::optional<NnRatioInput> nn_ratio;
  /// Split-half reliability of the rankings (runs of two or more repeats).
  std::optional<Reliability> reliability;
  /// Outlierness, leverage and spillover of every example (empty nn_dist: not computed; the
  /// "Is it memorization?" section is then left out).
  ExampleDiagnostics diagnostics;
  /// Models copying each example (copies.csv of `memscope extract`), when extract has run.
  std::optional<std::vector<int64_t>> copy_models;
  /// membership.json, when present; per-example risk in scores.mia_risk.
  std::optional<MembershipResult> membership;
  /// membership-denoise.json of a diffusion run (empty when absent): the attacks on minus the denoising
  /// loss, per loss timestep.
  DenoiseMembership membership_denoise;
  /// An external bank (memscope score --bank): no training record and no models, mask's columns are its
  /// models, config holds "bank" (what was read); data.x is images.npy flattened, or [N, 0] without one (no
  /// neighbours then).
  bool bank = false;
  /// A bank of another statistic than log-likelihoods (a loss, a confidence): its name. The scores are then its
  /// in-minus-out difference (Scores::difference) and M is not defined. Empty: log-likelihoods.
  std::string statistic;
};

/// One example as the report shows it (NaN scores: null).
struct ExampleView {
  /// Row in the data set, original index and label.
  int64_t row = 0, index = 0, label = 0;
  /// M, its standard error, U and V.
  double mem = 0, mem_se = 0, logp_in = 0, logp_out = 0;
  /// Mean log p over in-models minus over out-models, and its standard error (NaN: not computed).
  double mem_log = NAN, mem_log_se = NAN;
  /// Models behind U and V.
  int64_t n_in = 0, n_out = 0;
  /// Membership risk (NaN: not computed).
  double mia_risk = NAN;
  /// Highly memorized.
  bool high = false;
  /// PNG data URI ("" for tabular data), and of the example before binarization ("" when not binarized).
  std::string image, original;
};

/// A highly memorized example and its nearest examples.
struct NeighbourView {
  /// The example.
  ExampleView example;
  /// Its nearest other examples, nearest first, and their l2 distances to it.
  std::vector<ExampleView> neighbours;
  std::vector<double> distances;
};

/// A job that did not finish with status "ok".
struct FailedJob {
  /// Job id, its status and the epoch it diverged at (0: none).
  int64_t id = -1;
  std::string status;
  int64_t diverged_epoch = 0;
};

/// One point of a loss curve.
struct LossPoint {
  /// Job, epoch (1-based) and loss (negative ELBO; NaN: null).
  int64_t job = -1, epoch = 0;
  double loss = 0;
  /// "training" or "held-out".
  std::string set;
};

/// One bar of the stacked bins-of-U chart.
struct BinBar {
  /// "BB: centre" and "regular" or "highly memorized".
  std::string bin, kind;
  /// Examples of the kind in the bin.
  int64_t count = 0;
  /// Share of the bin highly memorized (NaN: null).
  double proportion = 0;
};

/// One point of the quantiles-over-epochs chart.
struct EpochPoint {
  /// The evaluated epoch, the quantile's name and its value (NaN: null).
  int64_t epoch = 0;
  std::string series;
  double value = 0;
};

/// Quartiles of the nearest-neighbour ratio over a group of examples (NaN: null).
struct RatioQuartiles {
  /// Examples in the group.
  int64_t n = 0;
  /// Quartiles of the ratio.
  double q25 = 0, median = 0, q75 = 0;
};

/// The nearest-neighbour ratio as reported.
struct NnRatioView {
  /// Where it came from (see NnRatioInput).
  int64_t job = 0, held_out_real = 0, model_samples = 0;
  std::string sample;
  /// Quartiles over the regular and the highly memorized examples.
  RatioQuartiles regular, high;
  /// (group, ratio) of the table's rows.
  std::vector<std::pair<std::string, double>> points;
};

/// One point of the split-half scatter: an example's M scored by each half of the models.
struct HalfPoint {
  int64_t index = 0, label = 0;
  double a = 0, b = 0;
};

/// Facts about the run.
struct RunFacts {
  /// An external bank (score --bank): jobs are its models, config is what was read (config.json's "bank").
  bool bank = false;
  /// ReportInput::statistic: a bank's statistic other than a log-likelihood, whose difference stands for M.
  std::string statistic;
  /// The run directory, the data's name, examples and shape of one example.
  std::string dir, data;
  int64_t n = 0;
  std::vector<int64_t> shape;
  /// config.json's "config" object (the resolved configuration).
  nlohmann::json config;
  /// Versions the run was made with.
  std::string memscope_version, torch_version;
  /// Jobs of the run and those that failed.
  int64_t jobs = 0;
  std::vector<FailedJob> failed;
  /// Examples resting on fewer models than jobs, and the most models one example lost.
  int64_t lost_examples = 0, lost_most = 0;
  /// Training and evaluation seconds summed over jobs.
  double train_seconds = 0, eval_seconds = 0;
};

/// One point of the M-versus-S scatter.
struct SpillPoint {
  /// Row, M, S and its standard error, the example's category ("outlier", "high leverage",
  /// "learned", "regenerated", "memorized inlier" or "regular": the first that applies).
  int64_t row = 0;
  double mem = 0, spill = 0, spill_se = 0;
  std::string category;
};

/// "Is it memorization?": the verdict of analysis/verdict.h as shown.
struct MemorizationCheck {
  /// judge_memorization's figures (rule, shares with 95% intervals, correlations, S/M quantiles) and sentences.
  Verdict verdict;
  /// Per category name, its most memorized examples (up to the grid size).
  std::vector<std::pair<std::string, std::vector<ExampleView>>> examples;
  /// The scatter of M against S (the table's rows with a finite S).
  std::vector<SpillPoint> points;
};

/// One point of a ROC curve of the membership section.
struct RocView {
  /// The attack ("chance" for the diagonal) and the point.
  std::string attack;
  double fpr = 0, tpr = 0;
};

/// The membership-inference section.
struct MembershipView {
  /// Per attack from membership.json: AUC and TPR at 10%, 1%, 0.1% FPR (mean, sd, targets, why
  /// unavailable), the pooled figures and the null.
  std::vector<AttackResult> attacks;
  /// Models (each one target in turn), LiRA's variance, RMIA's gamma, the attack behind the risk.
  int64_t models = 0;
  std::string lira_variance, risk_attack;
  double rmia_gamma = 1;
  /// Pooled ROC curves on the log-spaced FPR grid (points with TPR > 0), and the diagonal.
  std::vector<RocView> roc;
  /// Spearman rank correlation of membership risk with M, over the examples with both.
  double spearman_risk_mem = NAN;
  int64_t examples_with_risk = 0;
  /// The most exposed examples: highest risk, ties by M.
  std::vector<ExampleView> exposed;
  /// Per loss timestep of a diffusion run, the attacks on minus the denoising loss.
  std::vector<std::pair<int64_t, std::vector<AttackResult>>> denoise;
};

/// The whole report.
struct ReportModel {
  /// The run.
  RunFacts run;
  /// Examples are images (ExampleView::image set).
  bool images = false;
  /// The quantile behind "highly memorized".
  double high_quantile = 0.95;
  /// analyse_memorization's figures: quantiles, discoveries, bins of U, correlations, epochs, classes.
  MemAnalysis analysis;
  /// M under the permutation null (membership.json's; absent without one).
  std::optional<MemNull> mem_null;
  /// The most and the least memorized examples (the image grids; bottom skips NaN M).
  std::vector<ExampleView> top, bottom;
  /// Rows of the table and points of the scatter: the most memorized, then a spread of the rest.
  std::vector<ExampleView> rows;
  /// The top examples with their nearest neighbours.
  std::vector<NeighbourView> neighbours;
  /// The three most memorized examples of each bin of U.
  std::vector<std::vector<ExampleView>> bin_examples;
  /// Chart series: losses per job, finite M with labels, bins of U, quantiles of M per epoch.
  std::vector<LossPoint> losses;
  std::vector<std::pair<double, int64_t>> mem_values;
  std::vector<BinBar> bins;
  std::vector<EpochPoint> epoch_points;
  /// The nearest-neighbour ratio, when the input had one.
  std::optional<NnRatioView> nn_ratio;
  /// extraction.json and validation.json, when present.
  std::optional<ExtractionFile> extraction;
  std::optional<ValidationFile> validation;
  /// Split-half reliability of the rankings, when the run has two or more repeats.
  std::optional<Reliability> reliability;
  /// The share of the memorized examples a second seed would find again (predicted_replication; NaN: unknown).
  double replication = NAN;
  /// Its scatter: at most max_rows of the compared examples, evenly spread over them.
  std::vector<HalfPoint> split_half;
  /// "Is it memorization?", when the input had diagnostics.
  std::optional<MemorizationCheck> memorization_check;
  /// Membership attacks, when the run has membership.json.
  std::optional<MembershipView> membership;
};

/// The report of a finished run: pure (no files read or written). Computes the analyses, the
/// nearest neighbours of the top examples and their images.
ReportModel build_report(const ReportInput& in, const ReportOptions& opt);

/// An example as JSON: row, index, label, mem, mem_se, logp_in, logp_out, n_in, n_out, mia_risk, high, and
/// image and original when with_image and it has them.
nlohmann::json to_json(const ExampleView& e, bool with_image);

}  // namespace memscope
