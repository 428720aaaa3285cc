#include "memscope/score/null_bank.h"

#include <cmath>
#include <limits>

#include "memscope/config/validate.h"
#include "memscope/core/error.h"
#include "memscope/core/seeds.h"

namespace memscope {

torch::Tensor null_bank_logp(const torch::Tensor& mask, const NullBankConfig& c) {
  MEMSCOPE_CHECK(mask.dim() == 2, "null bank: mask ", mask.sizes(), " must be [N, J]");
  for_each_null_bank_option(c, [](const OptionSpec& o, const auto& field) { check_range(o, field); });
  MEMSCOPE_CHECK_KEY(c.scale_hi >= c.scale_lo, "scale_hi", "must be >= --scale-lo ", c.scale_lo, ", got ", c.scale_hi);
  MEMSCOPE_CHECK_KEY(c.tail_df == 0 || c.tail_df > 2, "tail_df", "must be 0 or above 2 (a finite variance), got ",
                     c.tail_df);
  const int64_t N = mask.size(0), J = mask.size(1);
  at::Generator gen = make_generator(derive_seed(c.seed, SeedTag::kNoise, {0x6e756c6cULL}));
  auto opt = torch::TensorOptions().dtype(torch::kFloat64);
  const torch::Tensor mu = torch::randn({N, 1}, gen, opt) * 10;
  const torch::Tensor offset = torch::randn({1, J}, gen, opt) * c.model_offset_sd;
  const torch::Tensor scale =
      (std::log(c.scale_lo) + torch::rand({N, 1}, gen, opt) * (std::log(c.scale_hi) - std::log(c.scale_lo))).exp();
  torch::Tensor noise = torch::randn({N, J}, gen, opt);
  if (c.tail_df > 0) {  // t = z / sqrt(chi2_df / df), scaled to unit variance
    const torch::Tensor chi2 = torch::randn({N, J, int64_t(c.tail_df)}, gen, opt).square().sum(2);
    noise = noise / (chi2 / c.tail_df).sqrt() * std::sqrt((c.tail_df - 2) / c.tail_df);
  }
  torch::Tensor lp = mu + offset + scale * noise;
  if (c.planted > 0 && c.effect != 0)
    lp.narrow(0, 0, std::min(c.planted, N))
        .add_(mask.narrow(0, 0, std::min(c.planted, N)).to(torch::kFloat64) * c.effect);
  if (c.missing > 0) {
    const torch::Tensor gone = torch::rand({J}, gen, opt) < c.missing;
    lp.index_put_({torch::indexing::Slice(), gone}, std::numeric_limits<double>::quiet_NaN());
  }
  return lp;
}

}  // namespace memscope
