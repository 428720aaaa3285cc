#include "memscope/config/validate.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "memscope/config/names.h"
#include "memscope/core/error.h"
#include "memscope/core/options.h"

namespace memscope {

namespace {

/// The diffusion options: consistent timesteps, and set only for --model ddpm.
void validate_diffusion(const RunConfig& c) {
  const ModelConfig& m = c.model;
  const int64_t T = m.timesteps;
  const std::vector<int64_t>& lt = c.eval.loss_timesteps;
  if (!m.family.diffusion()) {
    MEMSCOPE_CHECK_KEY(lt.empty(), "loss_timesteps", "applies to --model ddpm only");
    return;
  }
  MEMSCOPE_CHECK_KEY(m.channels.size() <= 4, "channels", "at most 4 levels (images with sides multiples of 8), got ",
                     m.channels.size());
  MEMSCOPE_CHECK_KEY(m.channels[0] % 2 == 0, "channels",
                     "the first level's channels (the time embedding) must be even, got ", m.channels[0]);
  MEMSCOPE_CHECK_KEY(c.eval.elbo_samples <= T, "elbo_samples", "must be <= --timesteps ", T, " (one per stratum), got ",
                     c.eval.elbo_samples);
  for (int64_t t : lt)
    MEMSCOPE_CHECK_KEY(t >= 1 && t <= T, "loss_timesteps", "timesteps must be in [1, --timesteps ", T, "], got ", t);
}

/// The checks that involve more than one option, or more than a range.
void validate_choices(const RunConfig& c) {
  const Binarize b = c.data.binarize;
  const Decoder dec = c.model.decoder;
  const bool vae = c.model.family.vae();
  MEMSCOPE_CHECK_KEY(c.model.family.kind != Family::kMlpVae || dec == Decoder::kBernoulli, "decoder", to_string(dec),
                     ": the MLP VAE has the Bernoulli decoder only; use --model conv-vae");
  if (vae && dec == Decoder::kBernoulli)
    MEMSCOPE_CHECK_KEY(b != Binarize::kNone, "binarize",
                       "none: the Bernoulli VAE needs binary data (sample or threshold)");
  if (vae && dec != Decoder::kBernoulli)
    MEMSCOPE_CHECK_KEY(b == Binarize::kNone || b == Binarize::kAuto, "binarize", to_string(b), ": the ", to_string(dec),
                       " decoder models continuous pixels; use --binarize none");
  const std::vector<int64_t>& dup = c.data.duplicate;
  MEMSCOPE_CHECK_KEY(dup.empty() || (dup.size() == 2 && dup[0] >= 1 && dup[1] >= 2), "duplicate",
                     "expected K,R with K >= 1 examples each appearing R >= 2 times");
  const std::vector<int64_t>& crop = c.data.crop;
  MEMSCOPE_CHECK_KEY(
      crop.empty() || (crop.size() == 4 && crop[0] >= 0 && crop[1] >= 0 && crop[2] > crop[0] && crop[3] > crop[1]),
      "crop", "expected x0,y0,x1,y1 with 0 <= x0 < x1 and 0 <= y0 < y1");
  const bool folder = c.data.source.kind == DataKind::kImages || c.data.source.kind == DataKind::kCelebA;
  MEMSCOPE_CHECK_KEY(folder || (crop.empty() && c.data.resize == 0), crop.empty() ? "resize" : "crop",
                     "applies to images:DIR and celeba:DIR only, not '", to_string(c.data.source), "'");
  if (c.plan.design == Design::kSubsets) {
    const std::vector<int64_t>& blocks = c.plan.subset_blocks;
    int64_t sum = 0;
    for (int64_t b : blocks) sum += b;
    MEMSCOPE_CHECK_KEY(blocks.empty() || sum == c.plan.models, "subset_blocks", "sum to ", sum, ", but models is ",
                       c.plan.models);
    for (int64_t b : blocks.empty() ? std::vector<int64_t>{c.plan.models} : blocks) {
      const double in = std::round(double(b) * c.plan.subset_fraction);
      MEMSCOPE_CHECK_KEY(in >= 1 && in <= double(b - 1), blocks.size() > 1 ? "subset_blocks" : "subset_fraction",
                         c.plan.subset_fraction, " of ", b, " models", blocks.size() > 1 ? " (a block)" : "",
                         " puts every example in ", in, " of them; every example needs in- and out-models");
    }
    MEMSCOPE_CHECK_KEY(c.plan.until_reliability == 0, "until_reliability", "adds repeats of the kfold design only");
  }
  MEMSCOPE_CHECK_KEY(std::isfinite(c.model.ridge), "ridge", "must be >= 0, got ", c.model.ridge);
  const ModelFamily& f = c.model.family;
  MEMSCOPE_CHECK_KEY(f.kind != Family::kKde || (std::isfinite(f.bandwidth) && f.bandwidth > 0), "model",
                     "kde bandwidth H must be > 0, got ", f.bandwidth);
  validate_diffusion(c);
  MEMSCOPE_CHECK_KEY(!c.out.empty(), "out", "must not be empty");
  MEMSCOPE_CHECK_KEY(c.shard_count >= 1 && c.shard_index >= 0 && c.shard_index < c.shard_count, "shard",
                     "expected I/N with 0 <= I < N, got ", c.shard_index, "/", c.shard_count);
}

}  // namespace

std::string range_text(const Range& r) {
  if (std::isinf(r.hi)) return str(r.lo_open ? "> " : ">= ", r.lo);
  return str("in ", r.lo_open ? "(" : "[", r.lo, ", ", r.hi, r.hi_open ? ")" : "]");
}

bool in_range(double v, const Range& r) {
  return (r.lo_open ? v > r.lo : v >= r.lo) && (r.hi_open ? v < r.hi : v <= r.hi);
}

void validate(const RunConfig& c) {
  for_each_option(c, [](const OptionSpec& o, const auto& field) { check_range(o, field); });
  validate_choices(c);
}

RunConfig resolved(RunConfig c) {
  if (c.data.binarize == Binarize::kAuto)
    c.data.binarize =
        c.model.family.vae() && c.model.decoder == Decoder::kBernoulli ? Binarize::kSample : Binarize::kNone;
  return c;
}

}  // namespace memscope
