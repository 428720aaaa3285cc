#pragma once
// memscope score --bank DIR: scores, membership attacks and the report of an external bank of models
// (log p of every example under every model and the in/out mask, from any pipeline).
#include <optional>
#include <string>

#include "memscope/core/config.h"
#include "memscope/report/report_model.h"
#include "memscope/score/membership.h"
#include "memscope/score/null_bank.h"
#include "memscope/score/reliability.h"
#include "memscope/score/scores.h"

namespace memscope {

struct BankOutcome {
  /// The bank and where its results went.
  std::string dir, out;
  /// Examples N, models J, epochs E of logp.npy (the last is scored).
  int64_t examples = 0, models = 0, epochs = 1;
  /// The bank had images.npy and labels.npy.
  bool images = false, labels = false;
  Scores scores;
  MembershipResult membership;
  /// Split-half reliability of M (models split by even and odd index; four or more models).
  std::optional<Reliability> reliability;
  /// Why report.html and summary.json were not written (empty: written).
  std::string report_error;
  double seconds = 0;
};

/// Reads DIR/logp.npy ([N, J] or [E, N, J] float32/float64; the last epoch is scored), DIR/mask.npy
/// ([N, J] bool, or integers 0/1: model j trained on example i; NaN in logp.npy: a missing model) and, when present,
/// DIR/labels.npy ([N] integers) and DIR/images.npy ([N, C, H, W], C = 1 or 3, uint8 or float in [0, 1]). Checks
/// everything first (shapes, a non-finite log p, a mask value other than 0/1, an example without in- or out-models,
/// images out of range), each problem one memscope::Error naming the file, before anything is written;
/// then writes scores.csv, membership.json, report.html and summary.json into out (DIR when empty), each
/// atomically. The models are taken as independent draws (no repeats). The report is the run's without
/// what needs a memscope run (losses, the nearest-neighbour ratio, "Is it memorization?"), without
/// neighbours and images when there is no images.npy; when it cannot be built (report assets missing) the
/// scores are still written and report_error says why. assets: the report's script folder (empty:
/// default_asset_dir()).
BankOutcome score_bank(const std::string& dir, const std::string& out, const MembershipConfig& c,
                       const AnalysisConfig& analysis = {}, const ReportOptions& report = {},
                       const std::string& assets = "");

/// memscope null-bank: writes DIR/logp.npy (null_bank_logp of mask, float32) and DIR/mask.npy, each
/// atomically. mask: [N, J] bool, or (undefined) read from mask_file, checked as score_bank does.
void write_null_bank(const std::string& dir, torch::Tensor mask, const std::string& mask_file, const NullBankConfig& c);

}  // namespace memscope
