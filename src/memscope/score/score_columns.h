#pragma once
// The per-example columns of scores.csv, named once: the file and the Python module's dict are both built from them.
#include <vector>

#include "memscope/score/scores.h"

namespace memscope {

/// The columns of scores.csv after index and label, in its order and as it names them: logp_in, logp_out, mem,
/// mem_se, n_in, n_out, mem_log, mem_log_se, mia_risk, mem_plugin, mem_p, mem_q (for a difference,
/// Scores::difference, mem, mem_se, mem_p and mem_q are named diff, diff_se, diff_p, diff_q). A column s does not
/// have (mia_risk before membership(), for one) is NaN.
std::vector<ScoreColumn> score_columns(const Scores& s);

}  // namespace memscope
