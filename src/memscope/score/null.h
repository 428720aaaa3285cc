#pragma once
// The permutation null: the same bank scored again with membership permuted among examples (rows of
// the mask shuffled, so every model keeps its training-set size and every example its in/out counts),
// so that every figure can be shown beside what noise alone gives with this design.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "memscope/score/membership.h"
#include "memscope/score/scores.h"

namespace memscope {

/// Re-scores logp: [N, J] (NaN: missing) with in_mask: [N, J]'s rows permuted, `draws` times (permutations
/// from a stream below seed): M with repeat_of_job as compute_scores, and every attack of membership (groups
/// as attack_scores), whose figures go into r's attacks' null. The error bars of M and of mem_log are then
/// calibrated against the draws: each is scaled by the factor that puts 5% of the null's |z| beyond the
/// two-sided 5% point of Student's t (the model-based error bars assume normal tails; heavy tails and the
/// design's structure change how far a log-mean-exp spreads), applied to scores when given
/// (calibrate_error_bars). M's null (its discoveries at fdr counted with the calibrated error bars), the
/// factors and fdr go into r.mem_null and r.fdr. difference: logp is another statistic, scored as its in-minus-out
/// difference (as_difference) in every draw.
void permutation_null(const torch::Tensor& logp, const torch::Tensor& in_mask,
                      const std::vector<int64_t>& repeat_of_job, const std::vector<int64_t>& groups,
                      MembershipResult& r, Scores* scores, int64_t draws, uint64_t seed, double fdr,
                      bool difference = false);

}  // namespace memscope
