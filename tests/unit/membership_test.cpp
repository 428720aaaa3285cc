#include "memscope/score/membership.h"
#include "memscope/score/membership_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "memscope/core/error.h"
#include "memscope/plan/plan.h"

using namespace memscope;

namespace {

double phi(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

/// A planted bank: s_ij = mu_i + delta [i in j] + sigma eps_ij, mu_i ~ N(0, tau^2), on a balanced
/// subsets design of J models with f = 1/2. Returns {logp [N, J] float64, mask [N, J] bool}.
std::pair<torch::Tensor, torch::Tensor> planted_bank(int64_t N, int64_t J, double delta, double sigma, double tau,
                                                     uint64_t seed) {
  PlanConfig c;
  c.design = Design::kSubsets;
  c.models = J;
  const torch::Tensor mask = make_plan(N, c, seed).in_mask();
  auto gen = at::detail::createCPUGenerator(seed + 1);
  const torch::Tensor mu = torch::randn({N, 1}, gen, torch::kFloat64) * tau;
  const torch::Tensor logp = mu + delta * mask.to(torch::kFloat64) + sigma * torch::randn({N, J}, gen, torch::kFloat64);
  return {logp, mask};
}

/// Direct Mann-Whitney count: pairs (member, non-member) ordered correctly, ties one half.
double mann_whitney(const std::vector<double>& s, const std::vector<char>& m) {
  double wins = 0, pairs = 0;
  for (size_t a = 0; a < s.size(); ++a)
    for (size_t b = 0; b < s.size(); ++b)
      if (m[a] && !m[b]) wins += s[a] > s[b] ? 1 : s[a] == s[b] ? 0.5 : 0, pairs += 1;
  return wins / pairs;
}

struct Refs {
  std::vector<double> in, out;
};

/// The statistics of the references of target t for example i (reference_models), by side.
Refs refs_of(const torch::Tensor& lp, const torch::Tensor& mask, int64_t i, int64_t t) {
  std::vector<bool> in, ok;
  for (int64_t j = 0; j < lp.size(1); ++j) in.push_back(mask[i][j].item<bool>()), ok.push_back(true);
  Refs r;
  for (int64_t j : reference_models(i, t, in, ok)) (in[size_t(j)] ? r.in : r.out).push_back(lp[i][j].item<double>());
  return r;
}

double mean(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m += x;
  return m / double(v.size());
}

double var(const std::vector<double>& v) {
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return s / double(v.size() - 1);
}

}  // namespace

TEST(Membership, AucEqualsTheMannWhitneyCount) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> value(0, 12);  // coarse values: many ties
  std::vector<double> s;
  std::vector<char> m;
  for (int k = 0; k < 300; ++k) s.push_back(value(rng) + (k % 3 == 0 ? 2 : 0)), m.push_back(k % 3 == 0);
  EXPECT_NEAR(roc_auc(s, m), mann_whitney(s, m), 1e-12);
  // Per target in evaluate_attack, too.
  const torch::Tensor score = torch::randint(0, 5, {40, 3}, torch::kFloat64);
  const torch::Tensor mask = torch::rand({40, 3}) < 0.4;
  const AttackResult r = evaluate_attack(Attack::kBaseline, score, mask);
  for (int64_t t = 0; t < 3; ++t) {
    std::vector<double> st;
    std::vector<char> mt;
    for (int64_t i = 0; i < 40; ++i) st.push_back(score[i][t].item<double>()), mt.push_back(mask[i][t].item<bool>());
    EXPECT_NEAR(r.targets[size_t(t)].auc, mann_whitney(st, mt), 1e-12) << t;
  }
}

TEST(Membership, RocAndTprAtFprOnAKnownRanking) {
  // Members score 5, 4, 2; non-members 3, 1, 0 (descending): TPR 2/3 at FPR 0, 1 at FPR 2/3.
  const std::vector<double> s = {5, 4, 2, 3, 1, 0};
  const std::vector<char> m = {1, 1, 1, 0, 0, 0};
  const std::vector<RocPoint> roc = roc_curve(s, m);
  EXPECT_DOUBLE_EQ(tpr_at_fpr(roc, 0), 2.0 / 3);
  EXPECT_DOUBLE_EQ(tpr_at_fpr(roc, 0.2), 2.0 / 3);
  EXPECT_DOUBLE_EQ(tpr_at_fpr(roc, 1.0 / 3), 1.0);
  EXPECT_DOUBLE_EQ(tpr_at_fpr(roc, 0.5), 1.0);
  EXPECT_DOUBLE_EQ(roc_auc(s, m), 8.0 / 9);
}

TEST(Membership, LowFprIsUnavailableWithTooFewNonMembers) {
  // 60 non-members per target: 10% measurable, 1% and 0.1% not.
  const auto [lp, mask] = planted_bank(120, 4, 1, 1, 0, 5);
  const AttackResult r = evaluate_attack(Attack::kBaseline, lp, mask);
  EXPECT_EQ(r.tpr[0].targets, 4);
  EXPECT_EQ(r.tpr[1].targets, 0);
  EXPECT_NE(r.tpr[1].unavailable.find("fewer than 100 non-members"), std::string::npos) << r.tpr[1].unavailable;
  EXPECT_TRUE(std::isnan(r.targets[0].tpr[2]));
  EXPECT_TRUE(std::isfinite(r.pooled_tpr[1]));  // 240 pooled non-members
  EXPECT_TRUE(std::isnan(r.pooled_tpr[2]));
}

TEST(Membership, ExpectedAucMatchesTheAnalyticValueOnAPlantedBank) {
  const double delta = 1.0, sigma = 1.5, tau = 2.0;
  const int64_t J = 32;
  const auto [lp, mask] = planted_bank(4000, J, delta, sigma, tau, 11);
  MembershipConfig c;
  c.lira_variance = LiraVariance::kGlobal;
  // Baseline: members N(delta, tau^2 + sigma^2) against non-members N(0, tau^2 + sigma^2).
  const AttackResult base = evaluate_attack(Attack::kBaseline, attack_scores(Attack::kBaseline, lp, mask, c), mask);
  const double base_expected = phi(delta / std::sqrt(2 * (tau * tau + sigma * sigma)));
  EXPECT_NEAR(base.auc.mean, base_expected, 4 * base.auc.sd / std::sqrt(double(J)) + 1e-3);
  // LiRA offline with a global variance is monotone in s - mean of the out-references: a member and a
  // non-member (J/2 - 1 out-references each) differ by N(delta, sigma^2 (2 + 2 / 15)).
  const AttackResult lira =
      evaluate_attack(Attack::kLiraOffline, attack_scores(Attack::kLiraOffline, lp, mask, c), mask);
  const double lira_expected = phi(delta / (sigma * std::sqrt(2 + 2 / (J / 2.0 - 1))));
  EXPECT_NEAR(lira.auc.mean, lira_expected, 4 * lira.auc.sd / std::sqrt(double(J)) + 2e-3);
  EXPECT_GT(lira.auc.mean, base.auc.mean + 0.03);
  // The pooled ROC agrees with the mean over targets here (every target alike).
  EXPECT_NEAR(lira.pooled_auc, lira.auc.mean, 0.01);
  const AttackResult online =
      evaluate_attack(Attack::kLiraOnline, attack_scores(Attack::kLiraOnline, lp, mask, c), mask);
  EXPECT_GT(online.auc.mean, base.auc.mean + 0.03);
}

TEST(Membership, LiraMatchesTheClosedFormWithTheTargetLeftOut) {
  const auto [lp, mask] = planted_bank(30, 9, 0.8, 1.0, 1.0, 2);
  for (LiraVariance v : {LiraVariance::kPerExample, LiraVariance::kGlobal}) {
    MembershipConfig c;
    c.lira_variance = v;
    const torch::Tensor on = attack_scores(Attack::kLiraOnline, lp, mask, c);
    const torch::Tensor off = attack_scores(Attack::kLiraOffline, lp, mask, c);
    for (int64_t t = 0; t < 9; ++t) {
      // Global variances of target t: within-example variances of its references, pooled.
      double ss_in = 0, df_in = 0, ss_out = 0, df_out = 0;
      for (int64_t i = 0; i < 30; ++i) {
        const Refs r = refs_of(lp, mask, i, t);
        if (r.in.size() >= 2) ss_in += var(r.in) * double(r.in.size() - 1), df_in += double(r.in.size() - 1);
        if (r.out.size() >= 2) ss_out += var(r.out) * double(r.out.size() - 1), df_out += double(r.out.size() - 1);
      }
      for (int64_t i = 0; i < 30; ++i) {
        const Refs r = refs_of(lp, mask, i, t);
        const double s = lp[i][t].item<double>();
        const bool global = v == LiraVariance::kGlobal;
        const double vi = global ? ss_in / df_in : var(r.in), vo = global ? ss_out / df_out : var(r.out);
        const double mi = mean(r.in), mo = mean(r.out);
        const double expected = (-0.5 * std::log(vi) - (s - mi) * (s - mi) / (2 * vi)) -
                                (-0.5 * std::log(vo) - (s - mo) * (s - mo) / (2 * vo));
        // Relative tolerance: memscope keeps running sums, the test two-pass moments.
        EXPECT_NEAR(on[i][t].item<double>(), expected, 1e-7 * std::max(1.0, std::abs(expected))) << i << " " << t;
        const double z = (s - mo) / std::sqrt(vo);
        // Far in the tail erfc underflows: there -log P(Z >= z) = z^2 / 2 + log(z sqrt(2 pi)) + O(1 / z^2).
        const double off_expected =
            z < 25 ? -std::log(0.5 * std::erfc(z / std::sqrt(2.0))) : z * z / 2 + std::log(z * std::sqrt(2 * M_PI));
        EXPECT_NEAR(off[i][t].item<double>(), off_expected, (z < 25 ? 1e-7 : 1e-2) * std::max(1.0, off_expected))
            << i << " " << t << " z " << z;
      }
    }
  }
}

TEST(Membership, TheTargetIsNeverItsOwnReference) {
  // Model 0 gives every example an absurd statistic: were it a reference of itself, its LiRA
  // means and RMIA denominators would be dominated by it.
  auto [lp, mask] = planted_bank(50, 8, 0.5, 1.0, 1.0, 4);
  lp.select(1, 0).fill_(1e4);
  MembershipConfig c;
  const torch::Tensor on = attack_scores(Attack::kLiraOnline, lp, mask, c);
  for (int64_t i = 0; i < 50; ++i) {
    const Refs r = refs_of(lp, mask, i, 0);
    for (double x : r.in) ASSERT_LT(x, 1e3);
    const double vi = var(r.in), vo = var(r.out), mi = mean(r.in), mo = mean(r.out), s = 1e4;
    const double expected =
        (-0.5 * std::log(vi) - (s - mi) * (s - mi) / (2 * vi)) - (-0.5 * std::log(vo) - (s - mo) * (s - mo) / (2 * vo));
    EXPECT_NEAR(on[i][0].item<double>() / expected, 1, 1e-6);
  }
  // RMIA: r(x) for target 0 uses models 1..7 only, so it stays finite and large.
  const torch::Tensor rm = attack_scores(Attack::kRmiaOnline, lp, mask, c);
  for (int64_t i = 0; i < 50; ++i) EXPECT_TRUE(std::isfinite(rm[i][0].item<double>()));
}

TEST(Membership, ReferenceCountsDoNotDependOnTheTargetsMembership) {
  // Subsets (every model its own group): example in 4 of 8 models; a member target leaves 3 in + 3 out,
  // so does a non-member target; the target is never a reference; the dropped model is on the other side.
  const std::vector<bool> in = {true, false, true, true, false, false, true, false}, ok(8, true);
  for (int64_t t = 0; t < 8; ++t) {
    const std::vector<int64_t> r = reference_models(5, t, in, ok);
    int64_t n_in = 0;
    for (int64_t j : r) {
      n_in += in[size_t(j)];
      EXPECT_NE(j, t);
    }
    EXPECT_EQ(n_in, 3) << t;
    EXPECT_EQ(int64_t(r.size()) - n_in, 3) << t;
  }
  // A missing model counts on neither side; K folds x R repeats: the target's repeat is never a reference,
  // and the counts are the other repeats' whatever the target's membership.
  std::vector<bool> missing = ok;
  missing[1] = false;
  EXPECT_EQ(reference_models(5, 0, in, missing).size(), 5u);  // n_in - 1 = 3 in, n_out - 1 = 2 out (finite ones)
  const std::vector<int64_t> repeats = {0, 0, 0, 0, 1, 1, 1, 1};
  const std::vector<bool> kin = {true, true, false, true, true, false, true, true};
  for (int64_t t : {0, 2}) EXPECT_EQ(reference_models(3, t, kin, ok, repeats), (std::vector<int64_t>{4, 5, 6, 7})) << t;
}

TEST(Membership, RmiaBySortingEqualsTheBruteForcePairwiseCount) {
  const auto [lp, mask] = planted_bank(40, 6, 0.7, 1.0, 1.0, 8);
  for (double gamma : {1.0, 2.0, 0.5}) {
    for (bool online : {true, false}) {
      MembershipConfig c;
      c.rmia_gamma = gamma;
      const torch::Tensor got = attack_scores(online ? Attack::kRmiaOnline : Attack::kRmiaOffline, lp, mask, c);
      for (int64_t t = 0; t < 6; ++t) {
        std::vector<double> r(40);
        for (int64_t i = 0; i < 40; ++i) {  // r(x) = s_t(x) - log mean exp over the references
          const Refs refs = refs_of(lp, mask, i, t);
          double sum = 0, n = 0;
          for (double x : refs.out) sum += std::exp(x), n += 1;
          if (online)
            for (double x : refs.in) sum += std::exp(x), n += 1;
          r[size_t(i)] = lp[i][t].item<double>() - std::log(sum / n);
        }
        for (int64_t x = 0; x < 40; ++x) {
          double beaten = 0, pop = 0;
          for (int64_t z = 0; z < 40; ++z) {
            if (z == x || mask[z][t].item<bool>()) continue;
            pop += 1;
            beaten += r[size_t(x)] - r[size_t(z)] >= std::log(gamma);
          }
          const double tie_break = 0.5 + std::atan(r[size_t(x)] - std::log(gamma)) / M_PI;
          EXPECT_NEAR(got[x][t].item<double>(), (beaten + tie_break) / pop, 1e-12)
              << gamma << " " << online << " " << x << " " << t;
        }
      }
    }
  }
}

TEST(Membership, RiskIsThePerExampleAucOfInAgainstOutModels) {
  // Example 0: in-models score higher than every out-model; example 1: all equal; example 2: reversed.
  const torch::Tensor score = torch::tensor({{3., 2., 1., 0.}, {1., 1., 1., 1.}, {0., 1., 2., 3.}});
  const torch::Tensor mask = torch::tensor({{1, 1, 0, 0}, {1, 0, 1, 0}, {1, 1, 0, 0}}).to(torch::kBool);
  const std::vector<double> risk = membership_risk(score, mask);
  EXPECT_DOUBLE_EQ(risk[0], 1.0);
  EXPECT_DOUBLE_EQ(risk[1], 0.5);
  EXPECT_DOUBLE_EQ(risk[2], 0.0);
}

TEST(Membership, WholeAnalysisIsDeterministicAndNamesEveryAttack) {
  const auto [lp, mask] = planted_bank(200, 8, 1.0, 1.0, 1.0, 9);
  const MembershipResult a = membership(lp, mask, {}), b = membership(lp, mask, {});
  ASSERT_EQ(a.attacks.size(), 5u);
  EXPECT_EQ(to_json(a).dump(), to_json(b).dump());
  const nlohmann::json j = to_json(a);
  EXPECT_EQ(j["attacks"][1]["attack"], "lira-online");
  EXPECT_EQ(j["attacks"][0]["targets"].size(), 8u);
  EXPECT_EQ(a.risk.size(), 200u);
  // A missing model (NaN column entries) leaves those pairs out, nothing else.
  torch::Tensor holes = lp.clone();
  holes[0][0] = NAN;
  const MembershipResult h = membership(holes, mask, {});
  EXPECT_EQ(h.attacks[0].pairs_without_score, 1);
}

TEST(Membership, JsonReadsBackToTheSameResult) {
  const auto [lp, mask] = planted_bank(120, 8, 1.0, 1.0, 1.0, 4);
  MembershipResult a = membership(lp, mask, {LiraVariance::kGlobal, 2});
  a.mem_null.draws = 3, a.mem_null.mem_se_scale = 1.25, a.mem_null.q95 = 0.5;
  a.attacks[1].null.draws = 3, a.attacks[1].null.auc = spread_of({0.49, 0.5, 0.52});
  a.attacks[1].null.pooled_roc.assign(roc_grid().size(), 0.01);
  a.attacks[2].unavailable = "not measured here";
  const nlohmann::json j = to_json(a);
  const MembershipResult b = membership_from_json(j, "m.json");
  EXPECT_EQ(to_json(b).dump(), j.dump());  // every field, NaN as null, survives the round trip
  EXPECT_EQ(b.config.lira_variance, LiraVariance::kGlobal);
  EXPECT_EQ(b.attacks[1].null.auc.targets, 3);
  EXPECT_EQ(b.mem_null.mem_se_scale, 1.25);
  // A summary row leaves out the per-target list and the curves.
  const nlohmann::json row = to_json(b.attacks[1], false);
  EXPECT_FALSE(row.contains("targets") || row.contains("roc") || row["null"].contains("pooled_tpr"));
  EXPECT_TRUE(row["above_null"]["auc"].is_boolean());
  // One-line errors naming the file and the field.
  nlohmann::json bad = j;
  bad["attacks"][3]["auc"]["mean"] = "high";
  try {
    membership_from_json(bad, "m.json");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "m.json: attacks[3].auc.mean should be a number or null, got string");
  }
  bad = j;
  bad["attacks"][0]["attack"] = "guess";
  EXPECT_THROW(membership_from_json(bad, "m.json"), Error);
  bad = j;
  bad.erase("models");
  EXPECT_THROW(membership_from_json(bad, "m.json"), Error);
}
