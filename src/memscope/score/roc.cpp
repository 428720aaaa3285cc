#include "memscope/score/roc.h"

#include <iterator>
#include <limits>

#include "memscope/core/error.h"
#include "memscope/core/logmath.h"

namespace memscope {

namespace {

RocSplit split_of(const std::vector<double>& score, const std::vector<char>& member) {
  MEMSCOPE_CHECK(score.size() == member.size(), "roc: ", score.size(), " scores for ", member.size(), " labels");
  RocSplit s;
  for (size_t k = 0; k < score.size(); ++k) (member[k] ? s.pos : s.neg).push_back(score[k]);
  s.sort();
  return s;
}

}  // namespace

std::vector<RocPoint> roc_of(const RocSplit& s) {
  std::vector<RocPoint> roc{{0, 0}};
  const double P = double(s.pos.size()), Q = double(s.neg.size());
  size_t p = 0, q = 0;
  while (p < s.pos.size() || q < s.neg.size()) {
    const double th = std::max(p < s.pos.size() ? s.pos[p] : -INFINITY, q < s.neg.size() ? s.neg[q] : -INFINITY);
    while (p < s.pos.size() && s.pos[p] >= th) ++p;
    while (q < s.neg.size() && s.neg[q] >= th) ++q;
    roc.push_back({Q > 0 ? double(q) / Q : kNaN, P > 0 ? double(p) / P : kNaN});
  }
  return roc;
}

double area_under(const std::vector<RocPoint>& roc) {
  double auc = 0;
  for (size_t k = 1; k < roc.size(); ++k) auc += (roc[k].fpr - roc[k - 1].fpr) * (roc[k].tpr + roc[k - 1].tpr) / 2;
  return auc;
}

double measurable_tpr(const std::vector<RocPoint>& roc, double fpr, size_t nonmembers) {
  return double(nonmembers) * fpr >= 1 - 1e-9 ? tpr_at_fpr(roc, fpr) : kNaN;
}

Spread spread_of(const std::vector<double>& v, const std::string& why_missing) {
  Spread s;
  double sum = 0, sq = 0;
  for (double x : v) {
    if (!std::isfinite(x)) continue;
    ++s.targets, sum += x, sq += x * x;
    s.min = std::isnan(s.min) ? x : std::min(s.min, x);
    s.max = std::isnan(s.max) ? x : std::max(s.max, x);
  }
  if (s.targets > 0) s.mean = sum / double(s.targets);
  if (s.targets > 1) s.sd = std::sqrt(std::max(0.0, (sq - sum * s.mean) / double(s.targets - 1)));
  if (s.targets < int64_t(v.size()))
    s.unavailable = str(int64_t(v.size()) - s.targets, " of ", v.size(), " targets: ", why_missing);
  return s;
}

std::vector<RocPoint> roc_curve(const std::vector<double>& score, const std::vector<char>& member) {
  return roc_of(split_of(score, member));
}

double roc_auc(const std::vector<double>& score, const std::vector<char>& member) {
  const RocSplit s = split_of(score, member);
  return s.pos.empty() || s.neg.empty() ? kNaN : area_under(roc_of(s));
}

double tpr_at_fpr(const std::vector<RocPoint>& roc, double fpr) {
  // Along the curve FPR and TPR never decrease: the last point with FPR <= fpr has the largest TPR.
  const auto after =
      std::upper_bound(roc.begin(), roc.end(), fpr + 1e-12, [](double f, const RocPoint& p) { return f < p.fpr; });
  return after == roc.begin() ? 0 : std::prev(after)->tpr;
}

std::vector<double> roc_grid() {
  std::vector<double> g;
  for (int k = -50; k <= 0; ++k) g.push_back(std::pow(10.0, k / 10.0));
  return g;
}

}  // namespace memscope
