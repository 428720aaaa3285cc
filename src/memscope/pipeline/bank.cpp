#include "memscope/pipeline/bank.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "memscope/config/names.h"
#include "memscope/core/error.h"
#include "memscope/core/threads.h"
#include "memscope/core/version.h"
#include "memscope/data/image_sources.h"
#include "memscope/io/atomic.h"
#include "memscope/io/npy.h"
#include "memscope/pipeline/finished_run.h"
#include "memscope/pipeline/plan_files.h"
#include "memscope/pipeline/report_run.h"
#include "memscope/pipeline/run_layout.h"
#include "memscope/score/membership_json.h"
#include "memscope/score/null.h"

namespace memscope {

namespace fs = std::filesystem;

namespace {

std::string shape_of(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t k = 0; k < t.dim(); ++k) s += (k ? ", " : "") + std::to_string(t.size(k));
  return s + "]";
}

/// [N, J] float64 log p of the last epoch, checked to be finite. lp: [N, J] or [E, N, J].
torch::Tensor checked_logp(const std::string& path, const torch::Tensor& lp) {
  MEMSCOPE_CHECK(lp.dim() == 2 || lp.dim() == 3, "bank: ", path, " has shape ", shape_of(lp),
                 ", expected [N, J] or [E, N, J]");
  MEMSCOPE_CHECK(lp.is_floating_point(), "bank: ", path, " holds ", lp.dtype(), ", expected float32 or float64");
  const torch::Tensor last = (lp.dim() == 3 ? lp[lp.size(0) - 1] : lp).to(torch::kFloat64).contiguous();
  MEMSCOPE_CHECK(last.size(0) >= 1 && last.size(1) >= 2, "bank: ", path, " has shape ", shape_of(lp),
                 ": needs at least one example and two models");
  const torch::Tensor bad = torch::isinf(last).nonzero();
  if (bad.size(0) > 0) {
    const int64_t i = bad[0][0].item<int64_t>(), j = bad[0][1].item<int64_t>();
    throw Error(str("bank: ", path, " has ", bad.size(0), " infinite values (first: ", last[i][j].item<double>(),
                    " at example ", i, ", model ", j, "); a log p must be finite, or NaN for a missing model"));
  }
  return last;
}

/// [N, J] bool from mask.npy m, checked against N x J (of the statistic stat_name) and to hold 0/1 only, and that
/// every example has a finite log p under an in- and an out-model (finite: [N, J] bool, or undefined for all).
torch::Tensor checked_mask(const std::string& path, const torch::Tensor& m, int64_t N, int64_t J,
                           const torch::Tensor& finite = {}, const std::string& stat_name = "logp.npy") {
  MEMSCOPE_CHECK(!(m.dim() == 2 && m.size(0) == J && m.size(1) == N && N != J), "bank: ", path, " has shape ",
                 shape_of(m), ", the transpose of ", stat_name, "'s [", N, ", ", J,
                 "]: the mask is [N, J], examples by models (LiRA's keep.npy stacked is [J, N]: transpose it)");
  MEMSCOPE_CHECK(m.dim() == 2 && m.size(0) == N && m.size(1) == J, "bank: ", path, " has shape ", shape_of(m),
                 ", expected [", N, ", ", J, "] as ", stat_name);
  MEMSCOPE_CHECK(!m.is_floating_point(), "bank: ", path, " holds ", m.dtype(), ", expected bool or integers 0/1");
  const torch::Tensor v = m.to(torch::kInt64);
  const torch::Tensor bad = (v.ne(0) & v.ne(1)).nonzero();
  if (bad.size(0) > 0)
    throw Error(str("bank: ", path, " holds ", v[bad[0][0]][bad[0][1]].item<int64_t>(), " at example ",
                    bad[0][0].item<int64_t>(), ", model ", bad[0][1].item<int64_t>(), "; expected 0 or 1"));
  const torch::Tensor mask = v.to(torch::kBool);
  const torch::Tensor ok = finite.defined() ? finite : torch::ones_like(mask);
  const torch::Tensor n_in = (mask & ok).sum(1), n_out = (~mask & ok).sum(1);
  for (const auto& [side, lacking] :
       {std::pair{"in-model (no model with a finite log p trained on it)", n_in.eq(0)},
        std::pair{"out-model (every model with a finite log p trained on it)", n_out.eq(0)}}) {
    const torch::Tensor rows = lacking.nonzero();
    if (rows.size(0) > 0)
      throw Error(str("bank: ", path, ": ", rows.size(0), " examples have no ", side, ", first example ",
                      rows[0][0].item<int64_t>(), "; every example needs in- and out-models"));
  }
  return mask;
}

/// [N] int64 labels from labels.npy l, checked against N.
torch::Tensor checked_labels(const std::string& path, const torch::Tensor& l, int64_t N, const std::string& stat_name) {
  MEMSCOPE_CHECK(l.dim() == 1 && l.size(0) == N && !l.is_floating_point() && l.scalar_type() != torch::kBool,
                 "bank: ", path, " has shape ", shape_of(l), " of ", l.dtype(), ", expected [", N, "] integers as ",
                 stat_name);
  return l.to(torch::kInt64);
}

/// The examples of a bank: images.npy a ([N, C, H, W], C = 1 or 3) flattened to [N, C H W] float32 in [0, 1],
/// or [N, 0] without images (a undefined).
Dataset bank_examples(const std::string& dir, const std::string& path, const torch::Tensor& a, int64_t N,
                      const torch::Tensor& labels, const std::string& stat_name) {
  Dataset d;
  d.index = torch::arange(N, torch::kInt64);
  d.label = labels;
  d.name = "bank " + dir;
  if (!a.defined()) {
    d.x = torch::zeros({N, 0});
    return d;
  }
  MEMSCOPE_CHECK(
      a.dim() == 4 && a.size(0) == N && (a.size(1) == 1 || a.size(1) == 3) && a.size(2) >= 1 && a.size(3) >= 1,
      "bank: ", path, " has shape ", shape_of(a), ", expected [", N, ", C, H, W] with C = 1 or 3 (", N, " examples as ",
      stat_name, ")");
  const Images im = images_from_array(a, path);
  const torch::Tensor px =
      im.pixels.scalar_type() == torch::kUInt8 ? im.pixels.to(torch::kFloat32) / 255.0f : im.pixels.to(torch::kFloat32);
  d.x = px.reshape({N, -1}).contiguous();
  d.shape = {a.size(1), a.size(2), a.size(3)};
  d.name += " (images.npy)";
  return d;
}

/// The bank's report as HTML and summary.json text (nothing written).
std::pair<std::string, std::string> bank_report(const BankOutcome& o, const ReportOptions& opt,
                                                const std::string& assets) {
  ReportInput in;
  in.run_dir = o.dir;
  in.bank = true;
  in.statistic = o.scores.difference ? o.statistic : "";
  in.data = o.data;
  in.images = o.data.shape.size() == 3 && o.data.shape[1] > 1;
  in.scores = o.scores;
  in.mask = o.mask;
  in.reliability = o.reliability;
  in.membership = o.membership;
  // M at every epoch of the statistic (numbered 1..E) when every epoch is finite; the last only otherwise.
  const torch::Tensor& lp = o.stat;
  const int64_t E = lp.dim() == 3 ? lp.size(0) : 1;
  const bool by_epoch = E > 1 && torch::isfinite(lp).all().item<bool>();
  in.mem_by_epoch = torch::empty({by_epoch ? E : 1, o.examples}, torch::kFloat64);
  for (int64_t e = 0; e < in.mem_by_epoch.size(0); ++e) {
    in.epochs.push_back(by_epoch ? e + 1 : E);
    Scores at = o.scores;
    if (by_epoch) {
      at = compute_scores(lp[e].to(torch::kFloat64), o.mask);
      if (o.scores.difference) as_difference(at);
    }
    in.mem_by_epoch[e].copy_(torch::tensor(at.mem, torch::kFloat64));
  }
  const nlohmann::json read = {{"source", o.dir},
                               {"layout", o.layout},
                               {"statistic", o.statistic},
                               {"direction", to_string(o.direction)},
                               {"shape", shape_of(lp)},
                               {"plan", o.plan_checked ? "the mask matches the plan's sha256" : "not stated"},
                               {"labels", o.labels},
                               {"images", o.images ? nlohmann::json(o.data.shape) : nlohmann::json(false)},
                               {"lira_variance", to_string(o.membership.config.lira_variance)},
                               {"rmia_gamma", o.membership.config.rmia_gamma}};
  in.record.memscope_version = kVersion;
  in.record.config = read;
  return render_report(build_report(in, opt), assets);
}

/// What bank.json (path, object j) says of b: the statistic (default_statistic, of direction default_direction, when
/// it names none), its direction and the plan's mask hash.
void describe_bank(BankArrays& b, const nlohmann::json& j, const std::string& path,
                   const std::string& default_statistic, std::optional<Direction> default_direction) {
  b.described_by = path;
  b.statistic = json_string(j, "statistic", path, default_statistic);
  const std::string direction = json_string(j, "direction", path);
  if (!direction.empty()) {
    try {
      b.direction = parse_choice<Direction>(direction);
    } catch (const ConfigError& e) {
      throw Error(str("bank: ", path, ": ", e.what()));
    }
  } else if (b.statistic == default_statistic) {
    b.direction = default_direction;
  }
  b.plan_sha256 = json_string(j, "plan_sha256", path);
}

/// LiRA's experiment directories in dir (experiment-*), in the order of the first number in their names.
std::vector<fs::path> lira_experiments(const std::string& dir) {
  std::vector<std::pair<std::pair<long long, std::string>, fs::path>> found;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (!e.is_directory() || name.rfind("experiment", 0) != 0) continue;
    const size_t digits = name.find_first_of("0123456789");  // experiment-3_16: the number is the first one
    const long long number = digits == std::string::npos ? -1 : std::stoll(name.substr(digits, 15));
    found.push_back({{number, name}, e.path()});
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> paths;
  for (const auto& f : found) paths.push_back(f.second);
  return paths;
}

/// The statistic [N, J] and mask [N, J] of LiRA's experiment directories: each keep.npy [N] and the last scores/ file,
/// [N] or [N, ...] averaged over its trailing axes (augmentations).
void read_lira(BankArrays& b, const std::vector<fs::path>& experiments) {
  std::vector<torch::Tensor> stats, keeps;
  for (const fs::path& e : experiments) {
    const fs::path keep = e / "keep.npy", scores = e / "scores";
    MEMSCOPE_CHECK(fs::exists(keep), "bank: ", keep.string(), " not found (a LiRA experiment needs keep.npy)");
    std::vector<std::string> files;
    if (fs::is_directory(scores))
      for (const auto& f : fs::directory_iterator(scores))
        if (f.path().extension() == ".npy") files.push_back(f.path().string());
    MEMSCOPE_CHECK(!files.empty(), "bank: ", scores.string(), " holds no .npy file (LiRA's score.py writes them)");
    const std::string last = *std::max_element(files.begin(), files.end());
    const torch::Tensor k = read_npy(keep.string()), sc = read_npy(last);
    MEMSCOPE_CHECK(k.dim() == 1, "bank: ", keep.string(), " has shape ", shape_of(k), ", expected [N]");
    MEMSCOPE_CHECK(sc.dim() >= 1 && sc.size(0) == k.size(0) && sc.is_floating_point(), "bank: ", last, " has shape ",
                   shape_of(sc), " of ", sc.dtype(), ", expected [", k.size(0), ", ...] floats as its keep.npy");
    stats.push_back(sc.to(torch::kFloat64).reshape({sc.size(0), -1}).mean(1));
    keeps.push_back(k);
    MEMSCOPE_CHECK(k.size(0) == keeps[0].size(0), "bank: ", keep.string(), " has ", k.size(0), " examples, ",
                   experiments[0].string(), " ", keeps[0].size(0));
  }
  b.stat = torch::stack(stats, 1);
  b.mask = torch::stack(keeps, 1);
  b.stat_name = (experiments[0].parent_path() / "experiment-*/scores").string();
  b.mask_name = (experiments[0].parent_path() / "experiment-*/keep.npy").string();
}

}  // namespace

BankArrays read_bank(const std::string& dir) {
  MEMSCOPE_CHECK(fs::is_directory(dir), "bank: ", dir, " is not a directory");
  const RunLayout in(dir);
  BankArrays b;
  b.source = dir;
  const bool described = fs::exists(in.bank());
  const nlohmann::json j = described ? read_json_object(in.bank()) : nlohmann::json::object();
  const std::vector<fs::path> experiments = lira_experiments(dir);
  if (!j.contains("file") && !fs::exists(in.logp()) && !experiments.empty()) {
    b.layout = "lira";
    describe_bank(b, j, in.bank(), "lira-score", Direction::kHigher);  // LiRA's scores: higher for a member
    read_lira(b, experiments);
  } else {
    b.layout = "memscope";
    describe_bank(b, j, in.bank(), kLogLikelihood, std::nullopt);
    b.stat_name = dir + "/" + json_string(j, "file", in.bank(), "logp.npy");
    b.mask_name = dir + "/" + json_string(j, "mask", in.bank(), "mask.npy");
    for (const std::string& f : {b.stat_name, b.mask_name})
      MEMSCOPE_CHECK(fs::exists(f), "bank: ", f,
                     " not found (a bank needs logp.npy and mask.npy, a bank.json naming its files, or LiRA's "
                     "experiment-*/ directories)");
    b.stat = read_npy(b.stat_name);
    b.mask = read_npy(b.mask_name);
  }
  b.labels_name = in.labels(), b.images_name = in.images();
  if (fs::exists(in.labels())) b.labels = read_npy(in.labels());
  if (fs::exists(in.images())) b.images = read_npy(in.images());
  return b;
}

BankOutcome score_bank(const BankArrays& b, const MembershipConfig& c, const AnalysisConfig& analysis) {
  const auto t0 = std::chrono::steady_clock::now();
  set_threads(resolve_threads(0));
  BankOutcome o;
  o.dir = b.source;
  MEMSCOPE_CHECK(!b.statistic.empty(), "bank: ", b.described_by, ": the statistic has no name");
  MEMSCOPE_CHECK(b.direction || b.statistic == kLogLikelihood, "bank: ", b.described_by, ": the statistic \"",
                 b.statistic,
                 "\" has no direction; say direction \"lower\" (members score lower, as with a loss) or "
                 "\"higher\"");
  o.layout = b.layout, o.statistic = b.statistic, o.direction = b.direction.value_or(Direction::kHigher);
  MEMSCOPE_CHECK(b.statistic != kLogLikelihood || o.direction == Direction::kHigher, "bank: ", b.described_by,
                 ": a log-likelihood is higher for a member, not lower (a loss? call the statistic \"loss\")");
  MEMSCOPE_CHECK(b.plan_sha256.empty() || (b.plan_sha256.size() == 64 &&
                                           b.plan_sha256.find_first_not_of("0123456789abcdef") == std::string::npos),
                 "bank: ", b.described_by,
                 ": the plan's sha256 should be 64 lower-case hex digits (plan.json's "
                 "mask_sha256), got \"",
                 b.plan_sha256.substr(0, 70), "\"");
  MEMSCOPE_CHECK(b.stat.defined() && b.mask.defined(), "bank: ", b.source, " lacks the statistic or the mask");
  MEMSCOPE_CHECK(b.stat.is_floating_point(), "bank: ", b.stat_name, " holds ", b.stat.dtype(),
                 ", expected float32 or float64");
  o.stat = o.direction == Direction::kLower ? -b.stat : b.stat;
  const torch::Tensor logp = checked_logp(b.stat_name, o.stat);
  o.epochs = o.stat.dim() == 3 ? o.stat.size(0) : 1;
  o.examples = logp.size(0), o.models = logp.size(1);
  o.mask = checked_mask(b.mask_name, b.mask, o.examples, o.models, torch::isfinite(logp), b.stat_name);
  if (!b.plan_sha256.empty()) {
    const std::string hash = mask_sha256(o.mask);
    MEMSCOPE_CHECK(hash == b.plan_sha256, "bank: ", b.mask_name, " is not the mask of the plan the bank names (sha256 ",
                   hash.substr(0, 12), "..., the plan's ", b.plan_sha256.substr(0, 12),
                   "...): trained from another plan, or the mask changed");
    o.plan_checked = true;
  }
  o.labels = b.labels.defined();
  const torch::Tensor labels = o.labels ? checked_labels(b.labels_name, b.labels, o.examples, b.stat_name)
                                        : torch::full({o.examples}, -1, torch::kInt64);
  o.images = b.images.defined();
  o.data = bank_examples(b.source, b.images_name, b.images, o.examples, labels, b.stat_name);
  const bool difference = b.statistic != kLogLikelihood;
  o.scores = compute_scores(logp, o.mask);
  if (difference) as_difference(o.scores);
  o.membership = membership(logp, o.mask, c);
  o.scores.mia_risk = o.membership.risk;
  permutation_null(logp, o.mask, {}, {}, o.membership, &o.scores, analysis.null_draws, 0, analysis.fdr, difference);
  PlanConfig independent;
  independent.design = Design::kSubsets;  // reliability by model: the models are independent draws
  o.reliability = run_reliability(logp, o.mask, independent);
  if (difference && o.reliability) o.reliability->mem = o.reliability->mem_log;  // the difference is mem_log
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return o;
}

void write_bank_results(BankOutcome& o, const std::string& out, const ReportOptions& report,
                        const std::string& assets) {
  const auto t0 = std::chrono::steady_clock::now();
  o.out = out;
  std::pair<std::string, std::string> page;
  try {
    page = bank_report(o, report, assets);
  } catch (const Error& e) {
    o.report_error = e.what();
  }
  const RunLayout files(o.out);
  std::error_code ec;
  fs::create_directories(o.out, ec);
  MEMSCOPE_CHECK(!ec, "bank: cannot create ", o.out, ": ", ec.message());
  write_scores_csv(files.scores(), o.data.index, o.data.label, o.scores);
  write_atomic(files.membership(), to_json(o.membership).dump(1) + "\n");
  if (o.report_error.empty()) {
    write_atomic(files.report(), page.first);
    write_atomic(files.summary(), page.second);
  }
  o.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

BankOutcome score_bank(const std::string& dir, const std::string& out, const MembershipConfig& c,
                       const AnalysisConfig& analysis, const ReportOptions& report, const std::string& assets) {
  const auto t0 = std::chrono::steady_clock::now();
  BankOutcome o = score_bank(read_bank(dir), c, analysis);
  write_bank_results(o, out.empty() ? dir : out, report, assets);
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return o;
}

void write_null_bank(const std::string& dir, torch::Tensor mask, const std::string& mask_file,
                     const NullBankConfig& c) {
  if (!mask_file.empty()) {
    MEMSCOPE_CHECK(fs::exists(mask_file), "null-bank: --mask ", mask_file, " not found");
    const torch::Tensor m = read_npy(mask_file);
    MEMSCOPE_CHECK(m.dim() == 2, "null-bank: ", mask_file, " has shape ", shape_of(m), ", expected [N, J]");
    mask = checked_mask(mask_file, m, m.size(0), m.size(1));
  }
  const torch::Tensor lp = null_bank_logp(mask, c);
  std::error_code ec;
  fs::create_directories(dir, ec);
  MEMSCOPE_CHECK(!ec, "null-bank: cannot create ", dir, ": ", ec.message());
  const RunLayout files(dir);
  write_npy(files.mask(), mask.to(torch::kBool));
  write_npy(files.logp(), lp.to(torch::kFloat32));
}

}  // namespace memscope
