#pragma once
// memscope score --bank DIR: scores, membership attacks and the report of an external bank of models
// (log p of every example under every model and the in/out mask, from any pipeline).
#include <string>

#include "memscope/core/config.h"
#include "memscope/score/membership.h"
#include "memscope/score/scores.h"

namespace memscope {

struct BankOutcome {
  /// The bank and where its results went.
  std::string dir, out;
  /// Examples N, models J, epochs E of logp.npy (the last is scored).
  int64_t examples = 0, models = 0, epochs = 1;
  Scores scores;
  MembershipResult membership;
  double seconds = 0;
};

/// Reads DIR/logp.npy ([N, J] or [E, N, J] float32/float64; the last epoch is scored), DIR/mask.npy
/// ([N, J] bool, or integers 0/1: model j trained on example i) and, when present, DIR/labels.npy ([N]
/// integers); images.npy and a report are not read or written yet. Checks everything first
/// (shapes, a non-finite log p, a mask value other than 0/1, an example without in- or out-models), each
/// problem one memscope::Error naming the file; then writes scores.csv and membership.json into out
/// (DIR when empty), atomically. The models are taken as independent draws (no repeats).
BankOutcome score_bank(const std::string& dir, const std::string& out, const MembershipConfig& c);

}  // namespace memscope
