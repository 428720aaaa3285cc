#include "memscope/pipeline/bank.h"

#include <chrono>
#include <filesystem>

#include "memscope/core/error.h"
#include "memscope/core/threads.h"
#include "memscope/io/atomic.h"
#include "memscope/io/npy.h"
#include "memscope/pipeline/run_layout.h"

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
  const torch::Tensor bad = (~torch::isfinite(last)).nonzero();
  if (bad.size(0) > 0) {
    const int64_t i = bad[0][0].item<int64_t>(), j = bad[0][1].item<int64_t>();
    throw Error(str("bank: ", path, " has ", bad.size(0), " non-finite values (first: ", last[i][j].item<double>(),
                    " at example ", i, ", model ", j, "); every model needs a finite log p of every example"));
  }
  return last;
}

/// [N, J] bool from mask.npy m, checked against N x J and to hold 0/1 only.
torch::Tensor checked_mask(const std::string& path, const torch::Tensor& m, int64_t N, int64_t J) {
  MEMSCOPE_CHECK(m.dim() == 2 && m.size(0) == N && m.size(1) == J, "bank: ", path, " has shape ", shape_of(m),
                 ", expected [", N, ", ", J, "] as logp.npy");
  MEMSCOPE_CHECK(!m.is_floating_point(), "bank: ", path, " holds ", m.dtype(), ", expected bool or integers 0/1");
  const torch::Tensor v = m.to(torch::kInt64);
  const torch::Tensor bad = (v.ne(0) & v.ne(1)).nonzero();
  if (bad.size(0) > 0)
    throw Error(str("bank: ", path, " holds ", v[bad[0][0]][bad[0][1]].item<int64_t>(), " at example ",
                    bad[0][0].item<int64_t>(), ", model ", bad[0][1].item<int64_t>(), "; expected 0 or 1"));
  const torch::Tensor mask = v.to(torch::kBool);
  const torch::Tensor n_in = mask.sum(1);
  for (const auto& [side, lacking] : {std::pair{"in-model (no model trained on it)", n_in.eq(0)},
                                      std::pair{"out-model (every model trained on it)", n_in.eq(J)}}) {
    const torch::Tensor rows = lacking.nonzero();
    if (rows.size(0) > 0)
      throw Error(str("bank: ", path, ": ", rows.size(0), " examples have no ", side, ", first example ",
                      rows[0][0].item<int64_t>(), "; every example needs in- and out-models"));
  }
  return mask;
}

}  // namespace

BankOutcome score_bank(const std::string& dir, const std::string& out_dir, const MembershipConfig& c) {
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
  const torch::Tensor mask = checked_mask(in.mask(), read_npy(in.mask()), o.examples, o.models);
  torch::Tensor labels = torch::full({o.examples}, -1, torch::kInt64);
  if (fs::exists(in.labels())) {
    const torch::Tensor l = read_npy(in.labels());
    MEMSCOPE_CHECK(l.dim() == 1 && l.size(0) == o.examples && !l.is_floating_point() && l.scalar_type() != torch::kBool,
                   "bank: ", in.labels(), " has shape ", shape_of(l), " of ", l.dtype(), ", expected [", o.examples,
                   "] integers");
    labels = l.to(torch::kInt64);
  }
  o.scores = compute_scores(logp, mask);
  o.membership = membership(logp, mask, c);
  o.scores.mia_risk = o.membership.risk;
  const RunLayout files(o.out);
  std::error_code ec;
  fs::create_directories(o.out, ec);
  MEMSCOPE_CHECK(!ec, "bank: cannot create ", o.out, ": ", ec.message());
  write_scores_csv(files.scores(), torch::arange(o.examples, torch::kInt64), labels, o.scores);
  write_atomic(files.membership(), to_json(o.membership).dump(1) + "\n");
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return o;
}

}  // namespace memscope
