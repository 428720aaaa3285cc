#pragma once
// The files other commands leave in a run directory for its report: extraction.json (memscope
// extract) and validation.json (memscope exact --compare), parsed into typed structs. Free of
// LibTorch, so that the fuzz targets can build them with the sanitizers alone.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace memscope {

/// How memscope extract sampled the models and which rules it applied.
struct ExtractionSettings {
  /// Samples drawn from each model.
  int64_t samples = 0;
  /// "mean" or "bernoulli".
  std::string draw;
  /// What C_T was computed on (absent in files of older versions).
  std::optional<std::string> ct_samples;
  /// Plain rule: l2 <= delta.
  double delta = 0;
  /// Adaptive rule: l2 / (alpha * mean l2 to the n_nearest nearest examples) <= 1.
  double alpha = 0;
  /// Nearest examples of the adaptive rule.
  int64_t n_nearest = 0;
  /// ddpm's sampler and its steps (absent in files of older versions).
  std::optional<std::string> sampler;
  std::optional<int64_t> sample_steps;
  /// The jobs whose models were sampled.
  std::vector<int64_t> jobs;
};

/// One sampled model's copies.
struct ExtractionModel {
  /// The job (model) id.
  int64_t job = 0;
  /// Samples drawn from it.
  int64_t samples = 0;
  /// Samples copying a training example / a held-out example (adaptive rule).
  int64_t copies_of_training = 0, copies_of_held_out = 0;
  /// Those copies per training / per held-out example.
  double copies_per_training_example = 0, copies_per_held_out_example = 0;
  /// Copies under the plain l2 rule.
  int64_t l2_copies_of_training = 0, l2_copies_of_held_out = 0;
  /// C_T of Meehan et al. (NaN: null in the file).
  double ct = 0;
  /// k-means cells of C_T.
  int64_t ct_cells = 0;
};

/// The copies of all sampled models together (NaN: null in the file).
struct ExtractionOverall {
  /// Copies of training / held-out examples, adaptive and plain rules.
  int64_t copies_of_training = 0, copies_of_held_out = 0, l2_copies_of_training = 0, l2_copies_of_held_out = 0;
  /// Copies per sample of training / held-out examples and their difference.
  double copy_rate_training = 0, copy_rate_held_out = 0, copy_rate_difference = 0;
  /// Examples copied by at least one model.
  int64_t examples_copied = 0;
  /// Rank correlation of M with the number of models copying an example.
  double spearman_mem_models_copying = 0;
  /// Mean M of the copied examples and of the rest.
  double mem_mean_copied = 0, mem_mean_not_copied = 0;
};

/// A sample and the example it copies (the closest pairs).
struct ExtractionPair {
  /// The model, the sample's number, and the copied example's original index and label.
  int64_t job = 0, sample = 0, index = 0, label = 0;
  /// Distance and adaptive-rule ratio of the pair.
  double l2 = 0, ratio = 0;
  /// Whether the example is in the model's training set.
  bool in_training = false;
  /// M of the example (NaN: null in the file).
  double mem = 0;
  /// PNG data URIs of the sample and of the example (absent for tabular data).
  std::optional<std::string> sample_image, train_image;
};

/// Images that appear more than once in the data (--duplicate) and the copies of them.
struct ExtractionDuplicated {
  int64_t images = 0, copies_of_them = 0;
};

/// extraction.json (memscope extract writes it, the report reads it).
struct ExtractionFile {
  /// The run directory extract read (absent in files of older versions).
  std::optional<std::string> run;
  /// Sampling settings.
  ExtractionSettings settings;
  /// Per sampled model.
  std::vector<ExtractionModel> models;
  /// All models together.
  ExtractionOverall overall;
  /// The closest copied pairs.
  std::vector<ExtractionPair> pairs;
  /// Duplicated images (absent in files of older versions).
  std::optional<ExtractionDuplicated> duplicated;
};

/// How well one score vector agrees with another (score/compare's compare_scores; NaN: null).
struct ScoreAgreement {
  /// Examples compared.
  int64_t n = 0;
  /// Spearman rank correlation, largest and mean absolute error, share of the top 5% shared.
  double spearman = 0, max_abs_error = 0, mean_abs_error = 0, top5_agreement = 0;
};

/// validation.json.
struct ValidationFile {
  /// The directory of memscope exact's output.
  std::string exact_dir;
  /// The exact model family.
  std::string model;
  /// This run's K-fold estimate against the exact K-fold target and exact leave-one-out, and the
  /// exact K-fold target against leave-one-out.
  ScoreAgreement kfold_estimate_vs_kfold_target, kfold_estimate_vs_loo, kfold_target_vs_loo;
};

/// One job as config.json records it.
struct JobRecord {
  /// Job id, "ok" or why not, and the epoch it diverged at (0: none).
  int64_t id = -1;
  std::string status;
  int64_t diverged_epoch = 0;
  /// Seconds spent training and evaluating.
  double train_seconds = 0, eval_seconds = 0;
  /// Training and held-out loss per epoch (NaN: diverged; empty for closed-form models).
  std::vector<double> train_loss, heldout_loss;
};

/// config.json of a run as the report reads it: the versions it was made with, the resolved configuration as
/// written (shown as it is; a bank's report puts what it read here), and the jobs.
struct RunRecord {
  std::string memscope_version, torch_version;
  nlohmann::json config = nlohmann::json::object();
  std::vector<JobRecord> jobs;
};

/// Parses j, read from path; throws memscope::Error naming path, the field and the problem when a
/// field is missing or of the wrong type.
RunRecord parse_run_record(const nlohmann::json& j, const std::string& path);
ExtractionFile parse_extraction_json(const nlohmann::json& j, const std::string& path);
ValidationFile parse_validation_json(const nlohmann::json& j, const std::string& path);
/// read_json(path) parsed as above.
RunRecord read_run_record(const std::string& path);
ExtractionFile read_extraction_json(const std::string& path);
ValidationFile read_validation_json(const std::string& path);

/// The files' JSON again (what the parsers read; NaN as null).
nlohmann::json to_json(const ExtractionFile& x);
nlohmann::json to_json(const ExtractionSettings& s);
nlohmann::json to_json(const ExtractionModel& m);
nlohmann::json to_json(const ExtractionOverall& o);
nlohmann::json to_json(const ExtractionPair& p);
nlohmann::json to_json(const ScoreAgreement& a);
nlohmann::json to_json(const ValidationFile& v);

}  // namespace memscope
