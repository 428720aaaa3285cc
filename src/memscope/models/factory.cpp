#include "memscope/models/factory.h"

#include "memscope/core/error.h"
#include "memscope/models/conv_vae.h"
#include "memscope/models/ddpm.h"
#include "memscope/models/gaussian.h"
#include "memscope/models/kde.h"
#include "memscope/models/mlp_vae.h"

namespace memscope {

std::shared_ptr<DensityEnsemble> make_ensemble(const std::vector<int64_t>& shape, const ModelConfig& c,
                                               const std::vector<uint64_t>& init_seeds) {
  int64_t dim = 1;
  for (int64_t s : shape) dim *= s;
  switch (c.family.kind) {
    case Family::kConvVae: return std::make_shared<ConvVaeEnsemble>(shape, c, init_seeds);
    case Family::kDdpm: return std::make_shared<DdpmEnsemble>(shape, c, init_seeds);
    case Family::kGaussian:
    case Family::kPpca:
      return std::make_shared<LinearGaussianEnsemble>(int64_t(init_seeds.size()), dim, c.family.components, c.ridge);
    case Family::kKde: return std::make_shared<KdeEnsemble>(int64_t(init_seeds.size()), dim, c.family.bandwidth);
    case Family::kMlpVae: break;
  }
  return std::make_shared<MlpVaeEnsemble>(dim, c, init_seeds);
}

bool is_closed_form(const ModelConfig& c) { return c.family.closed_form(); }

void check_model_fits(const Dataset& data, const RunConfig& cfg) {
  const std::vector<int64_t>& shape = data.shape;
  MEMSCOPE_CHECK_KEY(!cfg.train.hflip || (shape.size() == 3 && shape[1] > 1 && shape[2] > 1), "hflip", "needs images; ",
                     data.name, " has examples of shape ", c10::IntArrayRef(shape));
  make_ensemble(shape, cfg.model, {0});  // its constructor checks the shape
}

}  // namespace memscope
