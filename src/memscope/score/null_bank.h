#pragma once
// Banks in which membership has no effect (or a planted one), for checking that every score and test
// reports nothing on noise: log p of every example under every model drawn independently of the mask.
#include <torch/torch.h>

#include <cstdint>
#include <limits>

#include "memscope/core/options.h"

namespace memscope {

struct NullBankConfig {
  /// Per-example spread of log p between models (nats): log-uniform between these two.
  double scale_lo = 1, scale_hi = 4;
  /// Standard deviation of a per-model offset added to every example's log p (nats).
  double model_offset_sd = 1;
  /// Degrees of freedom of the Student t noise, scaled to the example's spread (0: normal).
  double tail_df = 5;
  /// Share of models missing or diverged (their column NaN), chosen at random.
  double missing = 0;
  /// A planted in-versus-out shift of log p (nats) for the first `planted` examples (0: none).
  double effect = 0;
  int64_t planted = 0;
  /// The root seed of the noise (the null-bank command leaves it at 0: its --seed seeds the design).
  uint64_t seed = 0;
};

/// The option table of null-bank's noise (core/options.h): visit(spec, field) for each setting of c but the
/// seed, c may be const. null_bank_logp checks the ranges; apps/cli.cpp derives the flags.
template <typename Config, typename Visit>
void for_each_null_bank_option(Config& c, Visit&& visit) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  visit(command_option("scale_lo", "per-example spread of log p between models, low end (nats)", {0, kInf, true}),
        c.scale_lo);
  visit(command_option("scale_hi", "per-example spread of log p, high end (nats; log-uniform from --scale-lo)",
                       {0, kInf, true}),
        c.scale_hi);
  visit(command_option("offset_sd", "sd of a per-model offset of every example's log p (nats)", {0}),
        c.model_offset_sd);
  visit(command_option("tail_df", "Student t noise degrees of freedom, an integer above 2 (0: normal)", {0}),
        c.tail_df);
  visit(command_option("missing", "share of models missing or diverged (NaN columns)", {0, 1, false, true}), c.missing);
  visit(command_option("effect", "planted in-versus-out shift of log p (nats; 0: none)"), c.effect);
  visit(command_option("planted", "examples with the planted shift (the first ones)", {0}), c.planted);
}

/// [N, J] float64 log p for mask: [N, J] bool: log p_ij = mu_i + o_j + s_i e_ij + effect [i < planted and
/// mask_ij], with mu_i ~ N(0, 10^2), o_j ~ N(0, model_offset_sd^2), s_i log-uniform on [scale_lo, scale_hi]
/// and e_ij unit-variance noise (t with tail_df degrees of freedom, or normal), all from streams below seed.
torch::Tensor null_bank_logp(const torch::Tensor& mask, const NullBankConfig& c);

}  // namespace memscope
