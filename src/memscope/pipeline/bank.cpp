#include "memscope/pipeline/bank.h"

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

/// [N, J] bool from mask.npy m, checked against N x J and to hold 0/1 only, and that every example has a finite
/// log p under an in- and an out-model (finite: [N, J] bool, or undefined for all).
torch::Tensor checked_mask(const std::string& path, const torch::Tensor& m, int64_t N, int64_t J,
                           const torch::Tensor& finite = {}) {
  MEMSCOPE_CHECK(m.dim() == 2 && m.size(0) == N && m.size(1) == J, "bank: ", path, " has shape ", shape_of(m),
                 ", expected [", N, ", ", J, "] as logp.npy");
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
torch::Tensor checked_labels(const std::string& path, const torch::Tensor& l, int64_t N) {
  MEMSCOPE_CHECK(l.dim() == 1 && l.size(0) == N && !l.is_floating_point() && l.scalar_type() != torch::kBool,
                 "bank: ", path, " has shape ", shape_of(l), " of ", l.dtype(), ", expected [", N,
                 "] integers as logp.npy");
  return l.to(torch::kInt64);
}

/// The examples of a bank: images.npy a ([N, C, H, W], C = 1 or 3) flattened to [N, C H W] float32 in [0, 1],
/// or [N, 0] without images (a undefined).
Dataset bank_examples(const std::string& dir, const std::string& path, const torch::Tensor& a, int64_t N,
                      const torch::Tensor& labels) {
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
      "bank: ", path, " has shape ", shape_of(a), ", expected [", N, ", C, H, W] with C = 1 or 3 (", N,
      " examples as logp.npy)");
  const Images im = images_from_array(a, path);
  const torch::Tensor px =
      im.pixels.scalar_type() == torch::kUInt8 ? im.pixels.to(torch::kFloat32) / 255.0f : im.pixels.to(torch::kFloat32);
  d.x = px.reshape({N, -1}).contiguous();
  d.shape = {a.size(1), a.size(2), a.size(3)};
  d.name += " (images.npy)";
  return d;
}

/// The bank's report as HTML and summary.json text (nothing written). lp: logp.npy as read, [E, N, J] or
/// [N, J]; mask: [N, J] bool.
std::pair<std::string, std::string> bank_report(const BankOutcome& o, const Dataset& data, const torch::Tensor& lp,
                                                const torch::Tensor& mask, const ReportOptions& opt,
                                                const std::string& assets) {
  ReportInput in;
  in.run_dir = o.dir;
  in.bank = true;
  in.data = data;
  in.images = data.shape.size() == 3 && data.shape[1] > 1;
  in.scores = o.scores;
  in.mask = mask;
  in.reliability = o.reliability;
  in.membership = o.membership;
  // M at every epoch of logp.npy (numbered 1..E) when every epoch is finite; the last only otherwise.
  const int64_t E = lp.dim() == 3 ? lp.size(0) : 1;
  const bool by_epoch = E > 1 && torch::isfinite(lp).all().item<bool>();
  in.mem_by_epoch = torch::empty({by_epoch ? E : 1, o.examples}, torch::kFloat64);
  for (int64_t e = 0; e < in.mem_by_epoch.size(0); ++e) {
    in.epochs.push_back(by_epoch ? e + 1 : E);
    const std::vector<double> mem = by_epoch ? compute_scores(lp[e].to(torch::kFloat64), mask).mem : o.scores.mem;
    in.mem_by_epoch[e].copy_(torch::tensor(mem, torch::kFloat64));
  }
  const nlohmann::json read = {{"logp.npy", shape_of(lp)},
                               {"mask.npy", shape_of(mask)},
                               {"labels.npy", o.labels},
                               {"images.npy", o.images ? nlohmann::json(data.shape) : nlohmann::json(false)},
                               {"lira_variance", to_string(o.membership.config.lira_variance)},
                               {"rmia_gamma", o.membership.config.rmia_gamma}};
  in.record.memscope_version = kVersion;
  in.record.config = read;
  return render_report(build_report(in, opt), assets);
}

}  // namespace

BankOutcome score_bank(const std::string& dir, const std::string& out_dir, const MembershipConfig& c,
                       const AnalysisConfig& analysis, const ReportOptions& report, const std::string& assets) {
  const auto t0 = std::chrono::steady_clock::now();
  set_threads(resolve_threads(0));
  const RunLayout in(dir);
  MEMSCOPE_CHECK(fs::is_directory(dir), "bank: ", dir, " is not a directory");
  for (const std::string& f : {in.logp(), in.mask()})
    MEMSCOPE_CHECK(fs::exists(f), "bank: ", f, " not found (a bank needs logp.npy and mask.npy)");
  BankOutcome o;
  o.dir = dir;
  o.out = out_dir.empty() ? dir : out_dir;
  const torch::Tensor raw = read_npy(in.logp());
  const torch::Tensor logp = checked_logp(in.logp(), raw);
  o.epochs = raw.dim() == 3 ? raw.size(0) : 1;
  o.examples = logp.size(0), o.models = logp.size(1);
  const torch::Tensor mask = checked_mask(in.mask(), read_npy(in.mask()), o.examples, o.models, torch::isfinite(logp));
  o.labels = fs::exists(in.labels());
  const torch::Tensor labels = o.labels ? checked_labels(in.labels(), read_npy(in.labels()), o.examples)
                                        : torch::full({o.examples}, -1, torch::kInt64);
  o.images = fs::exists(in.images());
  const Dataset data =
      bank_examples(dir, in.images(), o.images ? read_npy(in.images()) : torch::Tensor(), o.examples, labels);
  o.scores = compute_scores(logp, mask);
  o.membership = membership(logp, mask, c);
  o.scores.mia_risk = o.membership.risk;
  permutation_null(logp, mask, {}, {}, o.membership, &o.scores, analysis.null_draws, 0, analysis.fdr);
  PlanConfig independent;
  independent.design = Design::kSubsets;  // reliability by model: the models are independent draws
  o.reliability = run_reliability(logp, mask, independent);
  std::pair<std::string, std::string> page;
  try {
    page = bank_report(o, data, raw, mask, report, assets);
  } catch (const Error& e) {
    o.report_error = e.what();
  }
  const RunLayout files(o.out);
  std::error_code ec;
  fs::create_directories(o.out, ec);
  MEMSCOPE_CHECK(!ec, "bank: cannot create ", o.out, ": ", ec.message());
  write_scores_csv(files.scores(), data.index, labels, o.scores);
  write_atomic(files.membership(), to_json(o.membership).dump(1) + "\n");
  if (o.report_error.empty()) {
    write_atomic(files.report(), page.first);
    write_atomic(files.summary(), page.second);
  }
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
