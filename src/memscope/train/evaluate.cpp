#include "memscope/train/evaluate.h"

#include <algorithm>
#include <cmath>
#include <mutex>

#include "memscope/core/error.h"
#include "memscope/core/seeds.h"
#include "memscope/core/threads.h"
#include "memscope/io/json.h"
#include "memscope/models/ddpm.h"
#include "memscope/train/lanes.h"

namespace memscope {

namespace {

// An evaluation tile: about kEvalTileRows examples x samples, and at most kEvalTileExamples
// examples, so that even few samples make enough tiles to keep every core busy.
constexpr int64_t kEvalTileRows = 16384, kEvalTileExamples = 256;

}  // namespace

torch::Tensor evaluate_log_prob(DensityEnsemble& model, const torch::Tensor& x, int64_t samples,
                                const std::vector<uint64_t>& seeds, const std::function<void(int64_t, int64_t)>& tick) {
  return evaluate_log_prob_se(model, x, samples, seeds, tick).first;
}

std::pair<torch::Tensor, torch::Tensor> evaluate_log_prob_se(DensityEnsemble& model, const torch::Tensor& x,
                                                             int64_t samples, const std::vector<uint64_t>& seeds,
                                                             const std::function<void(int64_t, int64_t)>& tick) {
  const int64_t G = model.members(), N = x.size(0), L = model.eval_noise_dim();
  MEMSCOPE_CHECK(int64_t(seeds.size()) == G, "evaluate_log_prob: ", seeds.size(), " seeds for ", G, " members");
  const int64_t tile = std::clamp<int64_t>(kEvalTileRows / samples, 1, kEvalTileExamples);
  const int64_t tiles = ceil_div(N, tile);
  torch::Tensor out = torch::empty({G, N}, torch::kFloat32), se;
  torch::NoGradGuard no_grad;
  std::mutex tick_mutex;
  int64_t done = 0;
  auto run_tile = [&](int64_t t) {
    const int64_t start = t * tile, b = std::min(tile, N - start);
    std::vector<torch::Tensor> eps;
    for (uint64_t seed : seeds) {
      auto gen = make_generator(derive_seed(seed, SeedTag::kEval, {uint64_t(t)}));
      eps.push_back(at::randn({b, samples, L}, gen, torch::kFloat32));
    }
    const auto [lp, lp_se] = model.log_prob_with_se(x.slice(0, start, start + b), torch::stack(eps).to(x.device()));
    out.slice(1, start, start + b).copy_(lp);
    std::lock_guard<std::mutex> lock(tick_mutex);
    if (lp_se.defined()) {
      if (!se.defined()) se = torch::full({G, N}, std::nanf(""), torch::kFloat32);
      se.slice(1, start, start + b).copy_(lp_se);
    }
    done += b;
    if (tick) tick(done, N);
  };
  if (x.device().is_cpu()) {
    parallel_tasks(tiles, run_tile);  // tiles are independent: one per core
  } else {
    for (int64_t t = 0; t < tiles; ++t) run_tile(t);
  }
  return {out, se};
}

nlohmann::json to_json(const SampleChoice& c) {
  nlohmann::json mc = nlohmann::json::array();
  for (double v : c.mc) mc.push_back(num(v));
  return {{"samples", c.samples},      {"mc", mc},
          {"scale", num(c.scale)},     {"decay", num(c.decay)},
          {"between", num(c.between)}, {"share", num(c.share)},
          {"fallback", c.fallback},    {"seconds", c.seconds}};
}

SampleChoice sample_choice_from_json(const nlohmann::json& j) {
  SampleChoice c;
  MEMSCOPE_CHECK(j.is_object() && j.contains("samples") && j.contains("between"), "sample_choice: not a record");
  c.samples = j.at("samples").get<int64_t>();
  for (const auto& v : j.value("mc", nlohmann::json::array())) c.mc.push_back(number_or(v));
  c.scale = number_or(j.value("scale", nlohmann::json()));
  c.decay = number_or(j.value("decay", nlohmann::json()));
  c.between = number_or(j.at("between"));
  c.share = number_or(j.value("share", nlohmann::json()));
  c.fallback = j.value("fallback", "");
  c.seconds = j.value("seconds", 0.0);
  return c;
}

SampleChoice choose_iw_samples(const std::vector<PilotLevel>& pilot, double share, int64_t min_samples,
                               int64_t max_samples) {
  MEMSCOPE_CHECK(pilot.size() >= 2 && share > 0 && share < 1 && min_samples >= 1 && max_samples >= min_samples,
                 "choose_iw_samples: ", pilot.size(), " pilot levels, share ", share);
  SampleChoice c;
  // Models whose every pilot value is finite (a diverged one is NaN).
  torch::Tensor models = torch::ones({pilot[0].a.size(0)}, torch::kBool);
  for (const PilotLevel& p : pilot) models &= (torch::isfinite(p.a) & torch::isfinite(p.b)).all(1);
  const int64_t G = models.sum().item<int64_t>();
  if (G < 2) {
    c.samples = std::clamp<int64_t>(128, min_samples, max_samples);
    c.fallback = str(G, " model(s) with finite pilot values: no spread between models to compare with");
    return c;
  }
  // Least squares of log mc on log S.
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const PilotLevel& p : pilot) {
    const torch::Tensor d = (p.a - p.b).index({models}).to(torch::kFloat64);
    c.mc.push_back(std::max(1e-12, (d.square() / 2).mean().item<double>()));
    const double x = std::log(double(p.samples)), y = std::log(c.mc.back());
    sx += x, sy += y, sxx += x * x, sxy += x * y;
  }
  const double k = double(pilot.size());
  c.decay = -(k * sxy - sx * sy) / (k * sxx - sx * sx);
  c.scale = std::exp((sy + c.decay * sx) / k);
  const PilotLevel& top = pilot.back();
  const torch::Tensor mean = ((top.a + top.b) / 2).index({models}).to(torch::kFloat64);
  c.between = std::max(0.0, mean.var(0).mean().item<double>() - c.mc.back() / 2);
  auto mc_at = [&](double S) { return c.scale * std::pow(S, -c.decay); };
  // mc(S) <= share (mc(S) + between)  <=>  mc(S) <= target
  const double target = share / (1 - share) * c.between;
  c.samples = max_samples;
  if (c.decay > 0 && target > 0) {
    const double need = std::pow(c.scale / target, 1 / c.decay);
    if (need < double(max_samples)) c.samples = std::max<int64_t>(min_samples, int64_t(std::ceil(need)));
  }
  c.share = mc_at(double(c.samples)) / (mc_at(double(c.samples)) + c.between);
  return c;
}

torch::Tensor evaluate_denoising_loss(DdpmEnsemble& model, const torch::Tensor& x,
                                      const std::vector<int64_t>& timesteps, uint64_t seed) {
  const int64_t G = model.members(), N = x.size(0), D = x.size(1), K = int64_t(timesteps.size());
  const int64_t tile = kEvalTileExamples, tiles = ceil_div(N, tile);
  torch::Tensor out = torch::empty({G, K, N}, torch::kFloat32);
  torch::NoGradGuard no_grad;
  auto run_tile = [&](int64_t t) {
    const int64_t start = t * tile, b = std::min(tile, N - start);
    auto gen = make_generator(derive_seed(seed, SeedTag::kEval, {uint64_t(t)}));
    const torch::Tensor eps = at::randn({b, K, D}, gen, torch::kFloat32).to(x.device());
    out.slice(2, start, start + b).copy_(model.denoising_loss(x.slice(0, start, start + b), timesteps, eps));
  };
  if (x.device().is_cpu()) {
    parallel_tasks(tiles, run_tile);
  } else {
    for (int64_t t = 0; t < tiles; ++t) run_tile(t);
  }
  return out;
}

}  // namespace memscope
