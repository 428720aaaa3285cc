#pragma once
// The model factory: a fresh ensemble of the configured family.
#include <memory>
#include <vector>

#include "memscope/core/config.h"
#include "memscope/data/dataset.h"
#include "memscope/models/density_model.h"

namespace memscope {

/// Throws memscope::Error when the configured model or augmentation cannot take data's examples
/// (a conv VAE on sizes not multiples of 16, --hflip on non-images); run calls it before it
/// writes anything.
void check_model_fits(const Dataset& data, const RunConfig& cfg);

/// A fresh ensemble of the configured family for examples of shape (e.g. {C, H, W}), one member
/// per init seed: a TrainableEnsemble, or a ClosedFormEnsemble when is_closed_form(c).
std::shared_ptr<DensityEnsemble> make_ensemble(const std::vector<int64_t>& shape, const ModelConfig& c,
                                               const std::vector<uint64_t>& init_seeds);

/// Whether make_ensemble makes a ClosedFormEnsemble (fitted) rather than a TrainableEnsemble.
bool is_closed_form(const ModelConfig& c);

}  // namespace memscope
