#pragma once
// ROC curves, their area and TPR at low FPR, and the mean and spread of a figure over targets: the
// evaluation of any score that tells members from non-members (score/membership.h uses it per target
// and pooled). Plain vectors; no attack knows about it.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace memscope {

/// The false-positive rates at which TPR is reported: 10%, 1%, 0.1%.
inline constexpr std::array<double, 3> kLowFpr = {0.1, 0.01, 0.001};

struct RocPoint {
  double fpr = 0, tpr = 0;
};

/// score: [n] (finite), member: [n] bool, as vectors. Area under the ROC curve, ties counted one half
/// (the Mann-Whitney U over members x non-members); NaN without members or non-members.
double roc_auc(const std::vector<double>& score, const std::vector<char>& member);
/// The ROC curve through every distinct threshold, from (0, 0) to (1, 1).
std::vector<RocPoint> roc_curve(const std::vector<double>& score, const std::vector<char>& member);
/// The largest TPR at an FPR of at most fpr on the curve.
double tpr_at_fpr(const std::vector<RocPoint>& roc, double fpr);

/// Mean and spread over targets (or draws) of one figure.
struct Spread {
  double mean = NAN, sd = NAN, min = NAN, max = NAN;
  /// Targets behind it, and why the others are missing (empty when none is).
  int64_t targets = 0;
  std::string unavailable;
};

/// The mean, sd, min and max of the finite values of v (one per target or draw); unavailable says how
/// many are missing and why_missing why.
Spread spread_of(const std::vector<double>& v, const std::string& why_missing = "");

/// The FPR grid of AttackResult's curves: 10^-5 .. 1, 10 points a decade.
std::vector<double> roc_grid();

/// Scores of members (pos) and non-members (neg), each sorted descending (sort()).
struct RocSplit {
  std::vector<double> pos, neg;
  void sort() {
    std::sort(pos.begin(), pos.end(), std::greater<>());
    std::sort(neg.begin(), neg.end(), std::greater<>());
  }
};

/// The ROC curve of a sorted split: one point per distinct threshold, from (0, 0).
std::vector<RocPoint> roc_of(const RocSplit& s);
/// The area under a curve (trapezoids).
double area_under(const std::vector<RocPoint>& roc);
/// TPR at fpr where measurable (at least 1 / fpr non-members), else NaN.
double measurable_tpr(const std::vector<RocPoint>& roc, double fpr, size_t nonmembers);

}  // namespace memscope
