#pragma once
// A run small enough to train real models in a test: an MLP VAE on a synthetic 8x8 IDX image set of n examples
// (written to dir), 4 folds x 2 repeats, 4 epochs evaluated every 2 with 16 importance samples, one thread.
#include <cstdint>
#include <string>

#include "memscope/config/names.h"
#include "memscope/core/config.h"
#include "test_util.h"

namespace memscope::test {

inline RunConfig tiny_run(const std::string& dir, uint32_t n = 160) {
  write_image_set(dir, n, 8, 8);
  RunConfig c;
  c.data.source = parse_data_source("idx:" + dir + "/images.idx:" + dir + "/labels.idx");
  c.model.hidden = {32, 16};
  c.model.latent = 4;
  c.train.epochs = 4;
  c.train.batch_size = 16;
  c.plan.folds = 4;
  c.plan.repeats = 2;
  c.eval.iw_samples = 16;
  c.eval.eval_every = 2;
  c.out = dir + "/run";
  c.progress = ProgressMode::kNone;
  c.threads = 1;
  return c;
}

}  // namespace memscope::test
