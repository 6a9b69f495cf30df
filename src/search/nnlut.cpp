// NN-LUT baseline (Yu et al., DAC 2022, as re-implemented for the GQA-LUT
// paper; SPEC section 6): a one-hidden-layer ReLU network
//   y(x) = sum_i v_i relu(w_i x + d_i) + c,   i = 1..K-1
// trained on `samples` uniform samples of [lo, hi] with the L1 loss and Adam,
// then read off as a K-entry table:
//   kinks t_i = -d_i / w_i, sorted  -> breakpoints (clamped to [lo, hi])
//   segment s: slope = sum of v_i w_i, intercept = c + sum of v_i d_i over the
//              units active inside the segment
//   quantize like the paper's baseline: breakpoints rounded half to even to
//   each scale's grid 2^-n, coefficients rounded half to even to the problem's
//   format grid (one coefficient set for every scale); coefficients that do
//   not fit the declared width widen it (recorded, never clipped), like the
//   faithful GA.
// Forward and backward passes are written out in double; initialisation
// follows PyTorch's nn.Linear default (U(-1/sqrt(fan_in), 1/sqrt(fan_in))).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>

#include "gqalut/search.hpp"
#include "quantize.hpp"
#include "rng.hpp"

namespace gqalut {
namespace {

struct Adam {
  double lr, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  std::vector<double> m, v;
  long t = 0;
  Adam(double rate, std::size_t n) : lr(rate), m(n, 0.0), v(n, 0.0) {}
  void step(std::vector<double>& p, const std::vector<double>& g) {
    ++t;
    double c1 = 1.0 - std::pow(b1, double(t)), c2 = 1.0 - std::pow(b2, double(t));
    for (std::size_t i = 0; i < p.size(); ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      p[i] -= lr * (m[i] / c1) / (std::sqrt(v[i] / c2) + eps);
    }
  }
};

}  // namespace

NnLut::NnLut(NnLutSettings s) : s_(std::move(s)) {
  if (s_.samples < 1 || s_.samples > 100000000)
    throw std::invalid_argument(fmt::format("samples must be in [1, 100000000], got {}", s_.samples));
  if (s_.epochs < 0) throw std::invalid_argument(fmt::format("epochs must be >= 0, got {}", s_.epochs));
  if (s_.epochs > 1000000) throw std::invalid_argument(fmt::format("epochs must be <= 1000000, got {}", s_.epochs));
  // Bounded work (issue 12): the defaults are 100000 samples x 200 epochs = 2e7.
  if (double(s_.samples) * s_.epochs > 2e9)
    throw std::invalid_argument(fmt::format("NN-LUT work samples x epochs must be <= 2000000000, got {} x {}",
                                            s_.samples, s_.epochs));
  if (s_.batch < 1) throw std::invalid_argument(fmt::format("batch must be >= 1, got {}", s_.batch));
  if (!std::isfinite(s_.learning_rate) || s_.learning_rate <= 0)
    throw std::invalid_argument(
        fmt::format("learning rate must be finite and > 0, got {}", s_.learning_rate));
}

Result NnLut::run(const Problem& p) const {
  auto t0 = std::chrono::steady_clock::now();
  p.validate();
  auto [fk, fb] = p.resolve_formats();
  const int H = p.entries - 1;
  detail::Rng rng(s_.seed);

  // Parameters: w[0..H), d[H..2H), v[2H..3H), c[3H].
  const std::size_t np = std::size_t(3 * H + 1);
  std::vector<double> theta(np), grad(np);
  double* w = theta.data();
  double* d = w + H;
  double* v = d + H;
  double& c = theta[3 * H];
  double bound2 = 1.0 / std::sqrt(double(H));
  // Kinks start spread over the range (jittered), unit slopes of random sign:
  // with PyTorch's default init most kinks fall outside the range and units
  // die, which made the baseline needlessly weak and seed-dependent.
  for (int i = 0; i < H; ++i) {
    double t = p.lo + (p.hi - p.lo) * (i + rng.uniform(0.25, 0.75)) / H;
    w[i] = rng.uniform(0.0, 1.0) < 0.5 ? -1.0 : 1.0;
    d[i] = -w[i] * t;
  }
  for (int i = 0; i < H; ++i) v[i] = rng.uniform(-bound2, bound2);
  c = rng.uniform(-bound2, bound2);

  const int ns = s_.samples;
  std::vector<double> xs(ns), ys(ns);
  for (int j = 0; j < ns; ++j) {
    xs[j] = rng.uniform(p.lo, p.hi);
    ys[j] = p.function(xs[j]);
  }
  std::vector<int> order(ns);
  std::iota(order.begin(), order.end(), 0);
  Adam adam(s_.learning_rate, np);
  std::vector<double> pre(H);
  double epoch_loss = 0;
  nlohmann::json loss_log = nlohmann::json::array();
  for (int epoch = 0; epoch < s_.epochs; ++epoch) {
    for (int j = ns - 1; j > 0; --j) std::swap(order[j], order[rng.below(j + 1)]);  // Fisher-Yates
    epoch_loss = 0;
    for (int start = 0; start < ns; start += s_.batch) {
      int end = std::min(ns, start + s_.batch);
      double inv = 1.0 / double(end - start);
      std::fill(grad.begin(), grad.end(), 0.0);
      for (int k = start; k < end; ++k) {
        double x = xs[order[k]], y = c;
        for (int i = 0; i < H; ++i) {
          pre[i] = w[i] * x + d[i];
          if (pre[i] > 0) y += v[i] * pre[i];
        }
        double r = y - ys[order[k]];
        epoch_loss += std::fabs(r);
        double g = (r > 0 ? inv : r < 0 ? -inv : 0.0);  // d|r|/dy, averaged over the batch
        if (g == 0) continue;
        grad[3 * H] += g;
        for (int i = 0; i < H; ++i)
          if (pre[i] > 0) {
            grad[2 * H + i] += g * pre[i];
            double gv = g * v[i];
            grad[i] += gv * x;
            grad[H + i] += gv;
          }
      }
      adam.step(theta, grad);
    }
    epoch_loss /= double(ns);
    if ((epoch + 1) % 10 == 0 || epoch + 1 == s_.epochs) loss_log.push_back(epoch_loss);
    if (s_.progress && ((epoch + 1) % 10 == 0 || epoch + 1 == s_.epochs))
      s_.progress(double(epoch + 1) / s_.epochs, fmt::format("epoch {} L1 {:.4g}", epoch + 1, epoch_loss));
  }

  // Kinks -> breakpoints. A unit with w = 0 is a constant (its kink is put at
  // hi and it is active wherever d > 0, i.e. everywhere or nowhere).
  std::vector<double> kinks(H);
  for (int i = 0; i < H; ++i) kinks[i] = w[i] != 0 ? -d[i] / w[i] : p.hi;
  std::vector<double> sorted = kinks;
  std::sort(sorted.begin(), sorted.end());
  const int K = p.entries;
  std::vector<double> ks(K), bs(K);
  for (int s = 0; s < K; ++s) {
    // A point strictly inside segment s (between the sorted kinks) decides
    // which units are active there.
    double a = s == 0 ? std::min(sorted.front(), p.lo) - 1.0 : sorted[s - 1];
    double b = s == K - 1 ? std::max(sorted.back(), p.hi) + 1.0 : sorted[s];
    double xm = 0.5 * (a + b);
    double slope = 0, icpt = c;
    for (int i = 0; i < H; ++i)
      if (w[i] * xm + d[i] > 0) {
        slope += v[i] * w[i];
        icpt += v[i] * d[i];
      }
    ks[s] = slope;
    bs[s] = icpt;
  }
  std::vector<double> bp(sorted);
  for (double& t : bp) t = std::clamp(t, p.lo, p.hi);  // kinks outside the range go to its ends

  std::string note;
  TableSet set = detail::quantize_shared(bp, ks, bs, fk, fb, p.scales, "nnlut", &note);
  const Format fk_out = set.tables.begin()->second.slope_format;
  const Format fb_out = set.tables.begin()->second.intercept_format;
  nlohmann::json st = {{"method", "nnlut"},
                       {"seed", s_.seed},
                       {"engine", detail::Rng::kEngineName},
                       {"hidden_units", H},
                       {"samples", s_.samples},
                       {"epochs", s_.epochs},
                       {"batch", s_.batch},
                       {"learning_rate", s_.learning_rate},
                       {"loss", "l1"},
                       {"optimizer", "adam(beta1 0.9, beta2 0.999, eps 1e-8)"},
                       {"init", "pytorch nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))"},
                       {"final_l1", epoch_loss},
                       {"l1_log_every_10_epochs", loss_log},
                       {"kinks", sorted},
                       {"slope_format", fk_out.name()},
                       {"intercept_format", fb_out.name()},
                       {"int8", fk_out.is_int8() && fb_out.is_int8()}};
  if (!note.empty()) st["note"] = note;
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return finish_result(p, std::move(set), std::move(st), seconds,
                       std::size_t(s_.epochs) * std::size_t(ns));
}

}  // namespace gqalut
