#pragma once
// memscope score --bank DIR: scores, membership attacks and the report of an external bank of models
// (log p of every example under every model and the in/out mask, from any pipeline).
#include <optional>
#include <string>

#include "memscope/core/config.h"
#include "memscope/data/dataset.h"
#include "memscope/report/report_model.h"
#include "memscope/score/membership.h"
#include "memscope/score/null_bank.h"
#include "memscope/score/reliability.h"
#include "memscope/score/scores.h"

namespace memscope {

/// The statistic name of a bank of log-likelihoods, the one statistic for which M is defined.
inline constexpr const char* kLogLikelihood = "log-likelihood";

/// A bank in memory as read, before its checks: the statistic of every example under every model, the mask, and
/// what they are.
struct BankArrays {
  /// [N, J] or [E, N, J] (E epochs; the last is scored) float32/float64; NaN: a missing model.
  torch::Tensor stat;
  /// [N, J] bool, or integers 0/1: model j trained on example i.
  torch::Tensor mask;
  /// [N] integers and [N, C, H, W] (C = 1 or 3, uint8 or float in [0, 1]); undefined: none.
  torch::Tensor labels, images;
  /// kLogLikelihood (M is defined), or the name of another statistic (a loss, a confidence), which is scored as
  /// its in-minus-out difference (Scores::difference) after turning it by direction so that higher means member.
  std::string statistic = kLogLikelihood;
  /// Which way it points; unstated (nullopt) is refused for anything but a log-likelihood.
  std::optional<Direction> direction;
  /// The SHA-256 of the plan's mask the bank says it was trained from (plan_files.h; empty: none said).
  std::string plan_sha256;
  /// Where it came from (a directory, or "arrays"), its layout ("memscope", "lira", "arrays") and what said what
  /// the statistic is (bank.json's path, or "arrays").
  std::string source = "arrays", layout = "arrays", described_by = "arrays";
  /// Each array's name in messages.
  std::string stat_name = "logp", mask_name = "mask", labels_name = "labels", images_name = "images";
};

/// Reads a bank directory in one of three layouts:
/// * memscope's: DIR/logp.npy and DIR/mask.npy (and labels.npy, images.npy when present);
/// * described: DIR/bank.json {"statistic": NAME, "direction": "higher" | "lower", "file": F (default logp.npy),
///   "mask": M (default mask.npy), "plan_sha256": H (optional)}: the direction may be left out only for a
///   log-likelihood (higher);
/// * LiRA's experiment directories: DIR/experiment-*/keep.npy ([N] bool) and the last file (by name) of
///   DIR/experiment-*/scores/ ([N] or [N, ...], averaged over the trailing axes: augmentations), stacked in the
///   experiments' numeric order; statistic "lira-score", higher for a member, unless DIR/bank.json says otherwise.
/// Throws memscope::Error naming the file for anything missing or unreadable.
BankArrays read_bank(const std::string& dir);

struct BankOutcome {
  /// The bank (its source) and where its results went.
  std::string dir, out;
  /// Examples N, models J, epochs E of the statistic (the last is scored).
  int64_t examples = 0, models = 0, epochs = 1;
  /// The bank had images and labels.
  bool images = false, labels = false;
  /// The bank's statistic, direction and layout (BankArrays); the mask matched the plan the bank named.
  std::string statistic = kLogLikelihood, layout;
  Direction direction = Direction::kHigher;
  bool plan_checked = false;
  Scores scores;
  MembershipResult membership;
  /// Split-half reliability of M (models split by even and odd index; four or more models).
  std::optional<Reliability> reliability;
  /// What the report needs: the examples (images flattened, or [N, 0]), the statistic as read turned so that
  /// higher means member ([E, N, J] or [N, J]) and the mask ([N, J] bool).
  Dataset data;
  torch::Tensor stat, mask;
  /// Why report.html and summary.json were not written (empty: written).
  std::string report_error;
  double seconds = 0;
};

/// Scores a bank: checks everything first (a statistic of unstated direction, or a log-likelihood said to be lower
/// for a member; shapes, a mask given transposed, a non-finite statistic, a mask value other than 0/1 or not the
/// plan's, an example without in- or out-models, images out of range), each problem one
/// memscope::Error naming the array; then M (or, for another statistic than a log-likelihood, the in-minus-out
/// difference), the membership attacks, the permutation null and the reliability. The models are taken as
/// independent draws (no repeats). Nothing is written.
BankOutcome score_bank(const BankArrays& b, const MembershipConfig& c, const AnalysisConfig& analysis = {});

/// Writes o's scores.csv and membership.json into out, and report.html and summary.json (the run's report
/// without what needs a memscope run: losses, the nearest-neighbour ratio, "Is it memorization?"; without
/// neighbours and images when the bank has no images), each atomically; when the report cannot be built
/// (report assets missing) the scores are still written and o.report_error says why. assets: the report's
/// script folder (empty: default_asset_dir()).
void write_bank_results(BankOutcome& o, const std::string& out, const ReportOptions& report = {},
                        const std::string& assets = "");

/// memscope score --bank DIR: read_bank, score_bank and write_bank_results into out (DIR when empty).
BankOutcome score_bank(const std::string& dir, const std::string& out, const MembershipConfig& c,
                       const AnalysisConfig& analysis = {}, const ReportOptions& report = {},
                       const std::string& assets = "");

/// memscope null-bank: writes DIR/logp.npy (null_bank_logp of mask, float32) and DIR/mask.npy, each
/// atomically. mask: [N, J] bool, or (undefined) read from mask_file, checked as score_bank does.
void write_null_bank(const std::string& dir, torch::Tensor mask, const std::string& mask_file, const NullBankConfig& c);

}  // namespace memscope
