#include "memscope/report/report_model.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "memscope/analysis/analysis.h"
#include "memscope/analysis/neighbours.h"
#include "memscope/analysis/verdict.h"
#include "memscope/config/names.h"
#include "memscope/core/error.h"
#include "memscope/io/json.h"
#include "memscope/report/images.h"
#include "memscope/score/compare.h"
#include "memscope/score/membership.h"

namespace memscope {

using json = nlohmann::json;

namespace {

constexpr int64_t kNeighbours = 5;
/// Most memorized examples shown per bin of U.
constexpr size_t kPerBin = 3;

/// Rows of the data set by M, most memorized first (NaN last, ties in row order).
std::vector<int64_t> by_mem(const Scores& s) {
  std::vector<int64_t> order(s.mem.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t i, int64_t j) {
    const double a = std::isfinite(s.mem[i]) ? s.mem[i] : -INFINITY, b = std::isfinite(s.mem[j]) ? s.mem[j] : -INFINITY;
    return a > b;
  });
  return order;
}

/// The table's rows: the `head` most memorized, then an even spread of the rest up to max_rows.
std::vector<int64_t> table_rows(const std::vector<int64_t>& order, int64_t max_rows, int64_t n_high) {
  const int64_t n = int64_t(order.size());
  max_rows = std::min(max_rows, n);
  const int64_t head = std::min(max_rows, std::max<int64_t>(max_rows / 2, n_high));
  std::vector<int64_t> rows(order.begin(), order.begin() + head);
  const int64_t rest = max_rows - head;
  for (int64_t k = 0; k < rest; ++k) rows.push_back(order[head + k * (n - head) / std::max<int64_t>(1, rest)]);
  return rows;
}

/// Builds ExampleViews of one run.
class Examples {
 public:
  Examples(const ReportInput& in, const std::vector<bool>& high) : in_(in), high_(high) {}

  ExampleView operator()(int64_t i) const {
    const Scores& s = in_.scores;
    ExampleView e;
    e.row = i;
    e.index = in_.data.index[i].item<int64_t>();
    e.label = in_.data.label[i].item<int64_t>();
    e.mem = s.mem[i], e.mem_se = s.mem_se[i], e.logp_in = s.logp_in[i], e.logp_out = s.logp_out[i];
    e.n_in = s.n_in[i], e.n_out = s.n_out[i];
    if (size_t(i) < s.mem_log.size()) e.mem_log = s.mem_log[i], e.mem_log_se = s.mem_log_se[i];
    if (size_t(i) < s.mia_risk.size()) e.mia_risk = s.mia_risk[i];
    e.high = high_[i];
    if (in_.images) {
      const auto& sh = in_.data.shape;
      e.image = png_data_uri(in_.data.x[i].view({sh[0], sh[1], sh[2]}));
      if (in_.original.defined()) e.original = png_data_uri(in_.original[i].view({sh[0], sh[1], sh[2]}));
    }
    return e;
  }
  std::vector<ExampleView> operator()(const std::vector<int64_t>& rows) const {
    std::vector<ExampleView> out;
    for (int64_t i : rows) out.push_back((*this)(i));
    return out;
  }

 private:
  const ReportInput& in_;
  const std::vector<bool>& high_;
};

/// The top examples and their nearest other examples.
/// x: [N, D] examples.
std::vector<NeighbourView> neighbours_of(const torch::Tensor& x, const std::vector<int64_t>& top, const Examples& ex) {
  std::vector<NeighbourView> out;
  if (top.empty()) return out;
  const torch::Tensor q = torch::tensor(top, torch::kInt64);
  const Neighbours nb = nearest_neighbours(x.index_select(0, q), x, kNeighbours, q);
  for (size_t t = 0; t < top.size(); ++t) {
    NeighbourView v;
    v.example = ex(top[t]);
    for (int64_t k = 0; k < nb.index.size(1); ++k) {
      v.neighbours.push_back(ex(nb.index[t][k].item<int64_t>()));
      v.distances.push_back(nb.distance[t][k].item<double>());
    }
    out.push_back(std::move(v));
  }
  return out;
}

RunFacts run_facts(const ReportInput& in) {
  RunFacts f;
  f.dir = in.run_dir;
  f.data = in.data.name;
  f.n = in.data.size();
  f.shape = in.data.shape;
  f.bank = in.bank;
  f.statistic = in.statistic;
  f.config = in.record.config;
  f.memscope_version = in.record.memscope_version;
  f.torch_version = in.record.torch_version;
  f.jobs = in.bank && in.mask.defined() ? in.mask.size(1) : int64_t(in.record.jobs.size());
  for (const JobRecord& j : in.record.jobs) {
    f.train_seconds += j.train_seconds;
    f.eval_seconds += j.eval_seconds;
    if (j.status != "ok") f.failed.push_back({j.id, j.status, j.diverged_epoch});
  }
  const ModelsLost lost = models_lost(in.scores, f.jobs);
  f.lost_examples = lost.examples;
  f.lost_most = lost.most;
  return f;
}

std::vector<LossPoint> loss_points(const RunRecord& record) {
  std::vector<LossPoint> out;
  for (const JobRecord& j : record.jobs)
    for (const auto& [loss, set] : {std::pair{&j.train_loss, "training"}, std::pair{&j.heldout_loss, "held-out"}})
      for (size_t e = 0; e < loss->size(); ++e) out.push_back({j.id, int64_t(e + 1), (*loss)[e], set});
  return out;
}

std::vector<BinBar> bin_bars(const MemAnalysis& a) {
  std::vector<BinBar> out;
  for (const UBin& b : a.logp_in_bins) {
    const std::string name =
        fmt::format("{:02d}: {}", b.bin, std::isfinite(b.center) ? fmt::format("{:.0f}", b.center) : "n/a");
    out.push_back({name, "regular", b.regular, b.proportion_high});
    out.push_back({name, "top 5% of M (the paper's definition)", b.high, b.proportion_high});
  }
  return out;
}

std::vector<EpochPoint> epoch_points(const MemAnalysis& a) {
  std::vector<EpochPoint> out;
  for (const EpochFigures& e : a.over_epochs) {
    out.push_back({e.epoch, "quantile 0.95 of M", e.q95});
    out.push_back({e.epoch, "quantile 0.999 of M", e.q999});
  }
  return out;
}

/// The three most memorized examples (finite U) of each bin of U.
std::vector<std::vector<int64_t>> per_bin(const MemAnalysis& a, const Scores& s, const std::vector<int64_t>& order) {
  const std::vector<UBin>& bins = a.logp_in_bins;
  std::vector<std::vector<int64_t>> per(bins.size());
  for (int64_t i : order) {
    if (!std::isfinite(s.logp_in[i])) continue;
    for (size_t b = 0; b < bins.size(); ++b)
      if (s.logp_in[i] >= bins[b].lo && s.logp_in[i] < bins[b].hi && per[b].size() < kPerBin) per[b].push_back(i);
  }
  return per;
}

RatioQuartiles quartiles(const std::vector<double>& v) {
  return {int64_t(v.size()), quantile(v, 0.25), quantile(v, 0.5), quantile(v, 0.75)};
}

NnRatioView ratio_view(const NnRatioInput& r, const std::vector<bool>& high, const std::vector<int64_t>& rows) {
  NnRatioView v{r.job, r.held_out_real, r.model_samples, r.sample, {}, {}, {}};
  const torch::Tensor ratio = r.ratio.to(torch::kFloat64).contiguous();
  const double* p = ratio.data_ptr<double>();
  std::vector<double> regular, highly;
  for (int64_t i = 0; i < ratio.size(0); ++i) (high[i] ? highly : regular).push_back(p[i]);
  v.regular = quartiles(regular);
  v.high = quartiles(highly);
  for (int64_t i : rows) v.points.emplace_back(high[i] ? "memorized" : "regular", p[i]);
  return v;
}

/// The first category of a highly memorized example that applies ("regular" for the others).
std::string category_name(const ExampleCategories& c, bool high) {
  if (!high) return "regular";
  if (c.outlier) return "outlier";
  if (c.leverage) return "high leverage";
  if (c.learned) return "learned";
  if (c.regenerated) return "regenerated";
  return "memorized inlier";
}

/// The "Is it memorization?" section: verdict, example images per category, the M-versus-S scatter.
MemorizationCheck memorization_check(const ReportInput& in, const std::vector<bool>& high,
                                     const std::vector<int64_t>& order, const std::vector<int64_t>& rows,
                                     const Examples& ex, int64_t grid) {
  MemorizationCheck m;
  m.verdict = judge_memorization(in.scores, in.diagnostics, high, in.copy_models);
  const Verdict& v = m.verdict;
  using Pick = bool (*)(const ExampleCategories&);
  const std::vector<std::pair<std::string, Pick>> kinds = {
      {"outlier", [](const ExampleCategories& c) { return c.outlier; }},
      {"high leverage", [](const ExampleCategories& c) { return c.leverage; }},
      {"learned", [](const ExampleCategories& c) { return c.learned; }},
      {"regenerated", [](const ExampleCategories& c) { return c.regenerated; }},
      {"memorized inlier", [](const ExampleCategories& c) { return c.inlier; }}};
  for (const auto& [name, pick] : kinds) {
    std::vector<int64_t> picked;
    for (int64_t i : order)
      if (high[i] && pick(v.categories[i]) && int64_t(picked.size()) < grid) picked.push_back(i);
    m.examples.emplace_back(name, ex(picked));
  }
  const Spillover& sp = in.diagnostics.spill;
  for (int64_t i : rows)
    if (std::isfinite(sp.spill[i]) && std::isfinite(in.scores.mem[i]))
      m.points.push_back({i, in.scores.mem[i], sp.spill[i], sp.spill_se[i], category_name(v.categories[i], high[i])});
  return m;
}

/// The membership section from membership.json and the per-example risk.
MembershipView membership_view(const ReportInput& in, const Examples& ex, int64_t grid) {
  const MembershipResult& f = *in.membership;
  MembershipView v;
  v.models = f.models;
  v.lira_variance = to_string(f.config.lira_variance);
  v.risk_attack = to_string(f.risk_attack);
  v.rmia_gamma = f.config.rmia_gamma;
  v.attacks = f.attacks;
  const std::vector<double> grid_fpr = roc_grid();
  for (const AttackResult& a : f.attacks)
    for (size_t g = 0; g < grid_fpr.size() && g < a.pooled_roc.size(); ++g)
      if (a.pooled_roc[g] > 0) v.roc.push_back({to_string(a.attack), grid_fpr[g], a.pooled_roc[g]});
  for (double p : grid_fpr) v.roc.push_back({"chance", p, p});
  std::vector<double> noise(grid_fpr.size(), 0), count(grid_fpr.size(), 0);  // mean null curve over attacks
  for (const AttackResult& a : f.attacks)
    for (size_t g = 0; g < a.null.pooled_roc.size() && g < noise.size(); ++g)
      if (std::isfinite(a.null.pooled_roc[g])) noise[g] += a.null.pooled_roc[g], count[g] += 1;
  for (size_t g = 0; g < noise.size(); ++g)
    if (count[g] > 0 && noise[g] > 0)
      v.roc.push_back({"noise (membership permuted)", grid_fpr[g], noise[g] / count[g]});
  for (const auto& [t, file] : in.membership_denoise) v.denoise.emplace_back(t, file.attacks);
  const std::vector<double>& risk = in.scores.mia_risk;
  if (risk.size() != in.scores.mem.size()) return v;
  std::vector<double> r, m;
  for (size_t i = 0; i < risk.size(); ++i)
    if (std::isfinite(risk[i]) && std::isfinite(in.scores.mem[i])) r.push_back(risk[i]), m.push_back(in.scores.mem[i]);
  v.examples_with_risk = int64_t(r.size());
  if (r.size() >= 3) v.spearman_risk_mem = spearman(torch::tensor(r), torch::tensor(m));
  std::vector<int64_t> order(risk.size());
  std::iota(order.begin(), order.end(), 0);
  auto key = [](double x) { return std::isfinite(x) ? x : -INFINITY; };
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return std::pair(key(risk[a]), key(in.scores.mem[a])) > std::pair(key(risk[b]), key(in.scores.mem[b]));
  });
  order.resize(size_t(std::min<int64_t>(grid, int64_t(order.size()))));
  v.exposed = ex(order);
  return v;
}

}  // namespace

json to_json(const ExampleView& e, bool with_image) {
  json j = {{"row", e.row},
            {"index", e.index},
            {"label", e.label},
            {"mem", num(e.mem)},
            {"mem_se", num(e.mem_se)},
            {"mem_log", num(e.mem_log)},
            {"mem_log_se", num(e.mem_log_se)},
            {"logp_in", num(e.logp_in)},
            {"logp_out", num(e.logp_out)},
            {"n_in", e.n_in},
            {"n_out", e.n_out},
            {"mia_risk", num(e.mia_risk)},
            {"high", e.high}};
  if (with_image && !e.image.empty()) j["image"] = e.image;
  if (with_image && !e.original.empty()) j["original"] = e.original;
  return j;
}

namespace {

/// At most max_points of r's compared examples, evenly spread over them.
std::vector<HalfPoint> split_half_points(const Reliability& r, const Dataset& data, int64_t max_points) {
  const int64_t k = int64_t(r.rows.size()), shown = std::min(k, std::max<int64_t>(0, max_points));
  std::vector<HalfPoint> points;
  for (int64_t t = 0; t < shown; ++t) {
    const size_t p = size_t(t * k / shown);
    const int64_t row = r.rows[p];
    points.push_back({data.index[row].item<int64_t>(), data.label[row].item<int64_t>(), r.mem_a[p], r.mem_b[p]});
  }
  return points;
}

}  // namespace

ReportModel build_report(const ReportInput& in, const ReportOptions& opt) {
  const Scores& s = in.scores;
  const int64_t n = in.data.size();
  MEMSCOPE_CHECK(int64_t(s.mem.size()) == n, "report: ", s.mem.size(), " scores for ", n, " examples");
  MEMSCOPE_CHECK(!in.original.defined() || in.original.sizes() == in.data.x.sizes(),
                 "report: original images of shape ", in.original.sizes(), ", the data's are ", in.data.x.sizes());
  MEMSCOPE_CHECK(!in.nn_ratio || in.nn_ratio->ratio.numel() == n, "report: nearest-neighbour ratio of ",
                 in.nn_ratio ? in.nn_ratio->ratio.numel() : 0, " examples, the run has ", n);
  const double fdr = in.membership ? in.membership->fdr : 0.05;
  const MemAnalysis a = analyse_memorization(s, in.data.label, in.mem_by_epoch, in.epochs, opt.high_quantile, fdr);
  const Examples ex(in, a.discovered);
  ReportModel m;
  m.run = run_facts(in);
  m.images = in.images;
  m.high_quantile = opt.high_quantile;
  m.reliability = in.reliability;
  if (in.reliability) {
    m.split_half = split_half_points(*in.reliability, in.data, opt.max_rows);
    m.replication = predicted_replication(s, in.reliability->mem.whole_run, fdr);
  }
  m.analysis = a;
  if (in.membership) m.mem_null = in.membership->mem_null;

  const std::vector<int64_t> order = by_mem(s);
  const int64_t grid = std::max<int64_t>(0, std::min(opt.grid, n));
  const std::vector<int64_t> top(order.begin(), order.begin() + grid);
  std::vector<int64_t> bottom;
  for (int64_t k = n - 1; k >= 0 && int64_t(bottom.size()) < grid; --k)
    if (std::isfinite(s.mem[order[k]])) bottom.push_back(order[k]);
  const std::vector<int64_t> rows = table_rows(order, opt.max_rows, a.n_discovered);
  m.top = ex(top);
  m.bottom = ex(bottom);
  m.rows = ex(rows);

  if (in.data.dim() > 0) {  // a bank without images.npy has no examples to measure distances on
    spdlog::info("report: nearest neighbours of the {} most memorized examples", grid);
    m.neighbours = neighbours_of(in.data.x, top, ex);
  }
  for (const auto& b : per_bin(a, s, order)) m.bin_examples.push_back(ex(b));
  if (in.nn_ratio) m.nn_ratio = ratio_view(*in.nn_ratio, a.discovered, rows);

  m.losses = loss_points(in.record);
  const int64_t* lab = in.data.label.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    if (std::isfinite(s.mem[i])) m.mem_values.emplace_back(s.mem[i], lab[i]);
  m.bins = bin_bars(a);
  m.epoch_points = epoch_points(a);
  m.extraction = in.extraction;
  m.validation = in.validation;
  if (int64_t(in.diagnostics.nn_dist.size()) == n)
    m.memorization_check = memorization_check(in, a.discovered, order, rows, ex, grid);
  if (in.membership) m.membership = membership_view(in, ex, grid);
  return m;
}

}  // namespace memscope
