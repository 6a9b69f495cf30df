// Integer-only operators: plans (validated, may throw) and row functions that
// chain the per-ISA row loops (intops_<isa>.cpp) with the table kernels.
#include "gqalut/intops.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "intops_loops.h"
#include "plan_layout.h"
#include "ukernels.h"

namespace gqalut {

// Handles: wrap()/layout() of detail::PlanAccess are in plan_access.cpp.

using detail::PlanAccess;

const SoftmaxDatapath& SoftmaxPlan::datapath() const { return PlanAccess::layout(*this).dp; }
const LayerNormDatapath& LayerNormPlan::datapath() const { return PlanAccess::layout(*this).dp; }
int ActivationPlan::in_frac() const { return PlanAccess::layout(*this).in_frac; }
int ActivationPlan::out_frac() const { return PlanAccess::layout(*this).requant.out_frac; }
RequantPlan ActivationPlan::requant() const {
  const detail::ActivationLayout& l = PlanAccess::layout(*this);
  return PlanAccess::wrap(std::shared_ptr<const detail::RequantLayout>(layout_, &l.requant));  // aliasing
}
Lut256Plan ActivationPlan::lut() const {
  const detail::ActivationLayout& l = PlanAccess::layout(*this);
  return PlanAccess::wrap(std::shared_ptr<const detail::Lut256Layout>(layout_, &l.lut));
}

namespace {

using detail::LayerNormLayout;
using detail::PwlLayout;
using detail::SoftmaxLayout;
using intops_detail::RowLoops;

const RowLoops& loops_for(Isa isa) {
  switch (resolve_isa(isa)) {
    case Isa::avx2: return intops_detail::row_loops_avx2();
    case Isa::avx512: return intops_detail::row_loops_avx512();
    default: return intops_detail::row_loops_scalar();
  }
}

void check_frac(const char* what, int v, int lo, int hi) {
  if (v < lo || v > hi) throw std::invalid_argument(fmt::format("{} must be in [{}, {}], got {}", what, lo, hi, v));
}

int floor_log2(uint64_t v) { return 63 - __builtin_clzll(v); }

// Per-row scratch of the operator layer (kernels themselves never allocate).
template <typename T>
T* scratch(size_t n) {
  thread_local std::vector<T> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

struct Octave {
  int scale = -1, a = 0;
  double max_rel = 0, score = std::numeric_limits<double>::infinity();
};

// Picks the scale and octave [2^a, 2^(a+width)) of int8 codes of a table set
// whose table seeds the Newton iteration best. rel(x, y) is the relative error
// of y = table(code) as an approximation at the true operand x; the true
// operand of a code c is anywhere in [c - 1/2, c + 1/2] (the reduced operand
// is rounded to c), so both ends count. Only octaves
// with x in [2^-4, 2^4] qualify (the Q28 Newton steps are proved for those).
template <typename Rel>
Octave pick_octave(const TableSet& set, int width, const char* what, Rel rel) {
  Octave best;
  for (int s : set.scales()) {
    const PwlLayout p = detail::make_pwl_layout(set.at(s), 8);
    for (int a = 0; (int64_t{1} << (a + width)) - 1 <= 127; ++a) {
      int lo_code = 1 << a, hi_code = (1 << (a + width)) - 1;
      double x_lo = std::ldexp(lo_code, -s), x_hi = std::ldexp(hi_code, -s);
      if (x_lo < set.lo || x_hi > set.hi) continue;
      if (a - s < -4 || a + width - s > 4) continue;
      double worst = 0;
      bool ok = true;
      for (int c = lo_code; c <= hi_code; ++c) {
        int32_t acc = ukernel::pwl_acc(p, c);
        if (acc <= 0) ok = false;
        const double y = std::ldexp(acc, -p.shift);
        worst = std::max({worst, std::abs(rel(std::ldexp(c - 0.5, -s), y)), std::abs(rel(std::ldexp(c + 0.5, -s), y))});
      }
      if (!ok) continue;
      if (worst < best.max_rel || best.scale < 0) best = {s, a, worst, worst};
    }
  }
  if (best.scale < 0)
    throw std::invalid_argument(fmt::format(
        "{} table needs a scale with an octave of positive outputs inside its range [{}, {}] as int8 codes "
        "(x within [1/16, 16])",
        what, set.lo, set.hi));
  return best;
}

// Number of Newton steps that bring the relative error from d0 to <= 2^-17,
// given the per-step map; the bound after them (plus 2^-24 per step for the
// fixed-point truncations). Throws if the seed is too far off to converge.
template <typename Step>
std::pair<int, double> newton_steps(double d0, double limit, const char* what, Step step) {
  if (!(d0 < limit))
    throw std::invalid_argument(fmt::format(
        "{} table is too far off for the Newton steps: max relative error {:.4f}, must be < {}", what, d0, limit));
  int steps = 0;
  double d = d0;
  while (d > std::ldexp(1.0, -17)) {
    d = step(d) + std::ldexp(1.0, -24);
    ++steps;
  }
  return {steps, d};
}

// v * 2^sh with sh of either sign (right shifts truncate).
uint64_t shift_u64(uint64_t v, int sh) { return sh >= 0 ? v << sh : v >> -sh; }
// round(v * 2^-sh) for sh >= 0, v << -sh for sh < 0.
uint64_t round_shift_u64(uint64_t v, int sh) {
  return sh > 0 ? (v + (uint64_t{1} << (sh - 1))) >> sh : v << -sh;
}

}  // namespace

// ---- softmax ----------------------------------------------------------------

namespace {

constexpr int kLog2eBits = 30;
constexpr int kEBits = 24;         // e < 2^24 (e(0) ~ 2^23)
constexpr int kExpZeroShift = 26;  // mantissas are < 2^25: a rounding shift this far gives 0

// The EXP stage of one element (plan fields only; the kernels and e_s8 compute the same steps).
uint32_t exp_of_u(const SoftmaxLayout& l, uint32_t u, int pre_shift) {
  const SoftmaxDatapath& p = l.dp;
  const int s = p.exp_scale;
  const uint64_t t = (uint64_t{u} * p.log2e + (uint64_t{1} << (p.exp_shift - 1))) >> p.exp_shift;
  const uint32_t k = static_cast<uint32_t>((t + (uint64_t{1} << (s - 1)) - 1) >> s);
  const uint32_t idx = static_cast<uint32_t>((uint64_t{k} << s) - t + (uint64_t{1} << (s - 1)));
  uint32_t sh = k + static_cast<uint32_t>(pre_shift);
  sh = sh < kExpZeroShift ? sh : kExpZeroShift;
  return (l.mant[idx] + ((uint32_t{1} << sh) >> 1)) >> sh;
}

uint32_t exp_k_of_u(const SoftmaxDatapath& p, uint32_t u) {
  const uint64_t t = (uint64_t{u} * p.log2e + (uint64_t{1} << (p.exp_shift - 1))) >> p.exp_shift;
  return static_cast<uint32_t>((t + (uint64_t{1} << (p.exp_scale - 1)) - 1) >> p.exp_scale);
}

int exp_pre_shift(const SoftmaxDatapath& p) { return p.exp_gain < 0 ? -p.exp_gain : 0; }

uint32_t exp_of_u_capped(const SoftmaxLayout& l, uint32_t u) {
  return exp_of_u(l, u < l.dp.u_cap ? u : l.dp.u_cap, exp_pre_shift(l.dp));
}

}  // namespace

SoftmaxPlan prepare_softmax(const TableSet& exp2m1_set, const TableSet& div_set, int in_frac, int out_frac) {
  check_frac("softmax in_frac", in_frac, 0, 20);
  check_frac("softmax out_frac", out_frac, 1, 15);
  auto layout = std::make_shared<SoftmaxLayout>();
  SoftmaxLayout& l = *layout;
  SoftmaxDatapath& p = l.dp;
  p.in_frac = in_frac;
  p.out_frac = out_frac;
  // The finest scale s <= 8 whose codes [-2^(s-1), 2^(s-1)) lie in the set's range.
  p.exp_scale = -1;
  for (int s : exp2m1_set.scales())
    if (s >= 1 && s <= 8 && exp2m1_set.lo <= -0.5 && exp2m1_set.hi >= 0.5 - std::ldexp(1.0, -s)) p.exp_scale = s;
  if (p.exp_scale < 0)
    throw std::invalid_argument(fmt::format(
        "softmax exp2m1_set (function '{}', range [{}, {}]) must hold 2^x - 1 on a range containing [-0.5, 0.5) at "
        "a scale in [1, 8] (8 is best; fit one with `gqalut fit exp2m1 --format auto`)",
        exp2m1_set.function, exp2m1_set.lo, exp2m1_set.hi));
  const int s = p.exp_scale;
  l.exp = detail::make_pwl_layout(exp2m1_set.at(s), 8);
  const int le = l.exp.shift;
  p.exp_table_shift = le;
  if (le > 24) throw std::invalid_argument(fmt::format("softmax EXP2M1 accumulator scale 2^-{} must be <= 24", le));
  // Mantissas M(c) = 2^L_e + acc(c) ~ 2^L_e * 2^(c 2^-s); the table must be 2^x - 1.
  std::vector<int64_t> m(size_t{1} << s);
  double worst = 0;
  for (int c = -(1 << (s - 1)); c < (1 << (s - 1)); ++c) {
    const int64_t v = (int64_t{1} << le) + ukernel::pwl_acc(l.exp, c);
    const double x = std::ldexp(c, -s), want = std::exp2(x), got = std::ldexp(double(v), -le);
    const double rel = got / want - 1.0;
    if (!(v > 0) || std::abs(rel) > 0.05)
      throw std::invalid_argument(fmt::format(
          "softmax exp2m1_set (function '{}') must approximate 2^x - 1 on [-0.5, 0.5): at x = {} it gives {}, "
          "2^x - 1 = {} (an e^x table on [-8, 0], the softmax input before issue 10, is not accepted; fit one "
          "with `gqalut fit exp2m1 --format auto`)",
          exp2m1_set.function, x, got - 1.0, want - 1.0));
    worst = std::max(worst, std::abs(rel));
    m[size_t(c + (1 << (s - 1)))] = v;
  }
  p.exp_max_rel_error = worst;
  // Gain g: the largest reachable e (k = 0: c <= 0; k >= 1: any c, halved) stays < 2^24.
  int64_t m0 = 0, m1 = 0;
  for (int c = -(1 << (s - 1)); c < (1 << (s - 1)); ++c) {
    const int64_t v = m[size_t(c + (1 << (s - 1)))];
    if (c <= 0) m0 = std::max(m0, v);
    m1 = std::max(m1, v);
  }
  const double emax = std::max(double(m0), double(m1) / 2);
  p.exp_gain = kEBits - 1 - static_cast<int>(std::floor(std::log2(emax)));
  const int gl = std::max(p.exp_gain, 0);
  for (size_t i = 0; i < m.size(); ++i) l.mant[i] = static_cast<uint32_t>(m[i] << gl);  // < 2^25
  p.log2e = static_cast<uint32_t>(std::llround(std::ldexp(1.4426950408889634, kLog2eBits)));
  p.exp_shift = in_frac + kLog2eBits - s;
  // u_cap: the smallest u whose shift k + pre_shift reaches kExpZeroShift (k is nondecreasing in u).
  const int r0 = exp_pre_shift(p);
  uint64_t lo = 0, hi = 0xffffffffu;
  if (exp_k_of_u(p, uint32_t(hi)) + r0 < kExpZeroShift)
    throw std::invalid_argument("softmax: no logit difference makes the exponential vanish");  // unreachable
  while (lo < hi) {
    const uint64_t mid = (lo + hi) / 2;
    if (exp_k_of_u(p, uint32_t(mid)) + r0 >= kExpZeroShift) hi = mid; else lo = mid + 1;
  }
  p.u_cap = static_cast<uint32_t>(lo);
  for (uint32_t u = 0; u < 256; ++u) {
    l.e_s8[u] = exp_of_u_capped(l, u);
    l.e16_s8[u] = (l.e_s8[u] + 128) >> 8;
    for (int b = 0; b < 3; ++b) l.e_bytes[b][u] = static_cast<uint8_t>(l.e_s8[u] >> (8 * b));
    for (int b = 0; b < 2; ++b) l.e_bytes[3 + b][u] = static_cast<uint8_t>(l.e16_s8[u] >> (8 * b));
  }
  const uint32_t e0 = l.e_s8[0];
  uint32_t e_max = 0;
  for (uint32_t k = 0; k <= 1; ++k)
    for (int c = -(1 << (s - 1)); c < (1 << (s - 1)); ++c) {
      if (k == 0 && c > 0) continue;
      const uint32_t sh = k + uint32_t(r0);
      e_max = std::max(e_max, (l.mant[size_t(c + (1 << (s - 1)))] + ((uint32_t{1} << sh) >> 1)) >> sh);
    }
  if (e0 < (1u << (kEBits - 2)) || e_max >= (1u << kEBits) - 128)  // (e + 2^7) >> 8 < 2^16
    throw std::invalid_argument(fmt::format("softmax EXP stage out of range: e(0) = {}, max e = {}", e0, e_max));

  Octave o = pick_octave(div_set, 1, "DIV", [](double x, double y) { return x * y - 1.0; });
  p.div_scale = o.scale;
  p.div_a = o.a;
  p.div_max_rel_error = o.max_rel;
  l.div = detail::make_pwl_layout(div_set.at(o.scale), 8);
  p.div_table_shift = l.div.shift;
  if (l.div.shift > 40) throw std::invalid_argument("softmax DIV accumulator scale must be <= 2^-40");
  auto [steps, bound] = newton_steps(o.max_rel, 0.5, "softmax DIV", [](double d) { return d * d; });
  p.newton_steps = steps;
  p.recip_max_rel_error = bound;
  // R <= 2^15 / (1 - 2^-(a+1)): after a rounding carry X may sit just below the octave.
  p.r_max = static_cast<uint32_t>(std::floor(std::ldexp(1.0, 15) / (1.0 - std::ldexp(1.0, -(o.a + 1))))) + 1;
  const uint64_t prod = uint64_t{(e_max + 128) >> 8} * p.r_max;
  if (prod >= (uint64_t{1} << 31))
    throw std::invalid_argument(fmt::format("softmax product e*R must fit 31 bits, got {}", prod));
  p.max_product = static_cast<uint32_t>(prod);
  // The smallest shift T (sum = e(0) alone) must stay >= 1.
  const int t_min = floor_log2(e0) + 7 - out_frac;
  if (t_min < 1)
    throw std::invalid_argument(fmt::format("softmax out_frac {} is too fine (shift {})", out_frac, t_min));
  return PlanAccess::wrap(std::shared_ptr<const SoftmaxLayout>(std::move(layout)));
}

uint32_t softmax_exp(const SoftmaxPlan& plan, uint32_t u) { return exp_of_u_capped(PlanAccess::layout(plan), u); }

namespace {

// R = round(2^(15 - s_d + a) / X) for the sum S of a row, X = S * 2^(a - x - s_d) (so
// R = 2^15 / (S 2^-x), in (2^14, 2^15] for every octave a and DIV scale s_d): the
// DIV table on the rounded code, then Newton steps in Q28; T = x + 7 - out_frac
// (the outputs use e rounded to 16 bits: (e + 2^7) >> 8).
std::pair<uint32_t, int> reciprocal(const SoftmaxLayout& l, uint64_t sum) {
  const SoftmaxDatapath& p = l.dp;
  int ex = floor_log2(sum);
  const int a = p.div_a;
  uint64_t d = round_shift_u64(sum, ex - a);
  if (d == (uint64_t{2} << a)) {
    d >>= 1;
    ++ex;
  }
  const uint64_t x = shift_u64(sum, a - ex - p.div_scale + 28);  // X in Q28, < 2^33
  uint64_t y = round_shift_u64(static_cast<uint64_t>(ukernel::pwl_acc(l.div, static_cast<int32_t>(d))),
                               l.div.shift - 28);
  for (int i = 0; i < p.newton_steps; ++i) {
    const uint64_t xy = (x * y) >> 28;              // ~2^28 (1 - delta), < 2^29
    y = (y * ((uint64_t{2} << 28) - xy)) >> 28;     // Y (2 - X Y): < 2^62
  }
  uint64_t r = round_shift_u64(y, 13 - a + p.div_scale);  // R = 2^(15 - s_d + a) / X
  r = r > p.r_max ? p.r_max : (r < 1 ? 1 : r);  // never active (the proof's bound)
  return {static_cast<uint32_t>(r), ex + 7 - p.out_frac};
}

template <typename In>
void softmax_impl(const SoftmaxPlan& plan, const In* x, uint8_t* out, size_t n, uint32_t maxv, Isa isa) {
  const SoftmaxLayout& p = PlanAccess::layout(plan);  // once per row
  if (n == 0) return;
  const RowLoops& loops = loops_for(isa);
  if constexpr (sizeof(In) == 1) {
    // int8 logits: the EXP stage is a lookup on u = max - q; no per-element store.
    const intops_detail::S8Luts l{p.e_s8, p.e16_s8, p.e_bytes};
    const int32_t m = loops.max_s8(x, n);
    if (resolve_isa(isa) == Isa::avx2) {  // gathers are slow: scalar lookups + a stored e16 + a vector pass
      uint16_t* e16 = scratch<uint16_t>(n);
      const uint64_t sum = loops.exp_sum_store_s8(x, m, l, e16, n);
      const auto [r, t] = reciprocal(p, sum);
      if (t >= 32) {
        for (size_t i = 0; i < n; ++i) out[i] = 0;
        return;
      }
      loops.normalize_e16(e16, r, t, maxv, out, n);
      return;
    }
    const uint64_t sum = loops.exp_sum_s8(x, m, l, n);  // >= e(0) >= 2^22: the max element
    const auto [r, t] = reciprocal(p, sum);
    if (t >= 32) {  // every e16 * r < 2^31 rounds to 0
      for (size_t i = 0; i < n; ++i) out[i] = 0;
      return;
    }
    loops.normalize_s8(x, m, l, r, t, maxv, out, n);
  } else {
    uint32_t* e = scratch<uint32_t>(n);
    const int32_t m = loops.max_s32(x, n);
    intops_detail::ExpParams ep;
    ep.u_cap = p.dp.u_cap;
    ep.log2e = p.dp.log2e;
    ep.shift = p.dp.exp_shift;
    ep.scale = p.dp.exp_scale;
    ep.pre_shift = exp_pre_shift(p.dp);
    ep.mant = p.mant;
    const uint64_t sum = loops.exp_s32(x, m, ep, e, n);  // >= e(0) >= 2^22
    const auto [r, t] = reciprocal(p, sum);
    if (t >= 32) {  // every ((e_i + 2^7) >> 8) * r < 2^31 rounds to 0
      for (size_t i = 0; i < n; ++i) out[i] = 0;
      return;
    }
    loops.normalize(e, r, t, maxv, out, n);
  }
}

}  // namespace

void softmax_row(const SoftmaxPlan& p, const int8_t* x, uint8_t* out, size_t n, Isa isa) {
  softmax_impl(p, x, out, n, 255, isa);
}
void softmax_row(const SoftmaxPlan& p, const int32_t* x, uint8_t* out, size_t n, Isa isa) {
  softmax_impl(p, x, out, n, 255, isa);
}
void softmax_row(const SoftmaxPlan& p, const int8_t* x, int8_t* out, size_t n, Isa isa) {
  softmax_impl(p, x, reinterpret_cast<uint8_t*>(out), n, 127, isa);
}

// ---- LayerNorm --------------------------------------------------------------

LayerNormPlan prepare_layernorm(const TableSet& rsqrt_set, int in_frac, int out_frac, int gamma_frac, double eps) {
  check_frac("layernorm in_frac", in_frac, 0, 15);
  check_frac("layernorm out_frac", out_frac, 0, 15);
  check_frac("layernorm gamma_frac", gamma_frac, 0, 15);
  if (!(eps >= 0) || !std::isfinite(eps)) throw std::invalid_argument(fmt::format("eps must be >= 0, got {}", eps));
  auto layout = std::make_shared<LayerNormLayout>();
  LayerNormDatapath& p = layout->dp;
  p.in_frac = in_frac;
  p.out_frac = out_frac;
  p.gamma_frac = gamma_frac;
  p.eps = eps;
  Octave o = pick_octave(rsqrt_set, 2, "RSQRT", [](double x, double y) { return y * std::sqrt(x) - 1.0; });
  p.rsqrt_scale = o.scale;
  p.rsqrt_a = o.a;
  p.rsqrt_max_rel_error = o.max_rel;
  layout->rsqrt = detail::make_pwl_layout(rsqrt_set.at(o.scale), 8);
  p.rsqrt_table_shift = layout->rsqrt.shift;
  if (layout->rsqrt.shift > 40) throw std::invalid_argument("layernorm RSQRT accumulator scale must be <= 2^-40");
  // y (3 - x y^2) / 2 with y = (1 + d) / sqrt(x): 1 - y' sqrt(x) = d^2 (3 + d) / 2.
  auto [steps, bound] =
      newton_steps(o.max_rel, 0.4, "layernorm RSQRT", [](double d) { return d * d * (3 + d) / 2; });
  p.newton_steps = steps;
  p.rsqrt_newton_max_rel_error = bound;
  return PlanAccess::wrap(std::shared_ptr<const LayerNormLayout>(std::move(layout)));
}

void layernorm_row(const LayerNormPlan& plan, const int8_t* x, const int8_t* gamma, const int32_t* beta, int8_t* out,
                   size_t n, Isa isa) {
  const LayerNormLayout& l = PlanAccess::layout(plan);  // once per row
  const LayerNormDatapath& p = l.dp;
  if (n == 0) return;
  const RowLoops& loops = loops_for(isa);
  int64_t sx = 0, sxx = 0;
  loops.ln_sums(x, n, &sx, &sxx);
  const int64_t nn = static_cast<int64_t>(n);
  // n^2 * 4^f is a product with an exact power of two: the same double as ldexp, no libm call.
  const int64_t eps_v = std::llround(p.eps * (double(nn) * double(nn) * double(int64_t{1} << (2 * p.in_frac))));
  const int64_t v = nn * sxx - sx * sx + eps_v;  // n^2 * (var + eps) in codes^2
  if (v <= 0) {  // constant row and eps = 0: normalised value 0
    loops.ln_out32(x, gamma, beta, out, n, 0, 0, 1, 1);
    return;
  }
  // Power-of-two range reduction with an even exponent: v ~= r * 2^E,
  // r in [2^a, 2^(a+2)), E + s_r even so sqrt(2^(E + s_r)) is a shift.
  const int a = p.rsqrt_a, s = p.rsqrt_scale;
  int e = floor_log2(static_cast<uint64_t>(v)) - a;
  if ((e + s) & 1) --e;
  uint64_t r = e > 0 ? (static_cast<uint64_t>(v) + (uint64_t{1} << (e - 1))) >> e : static_cast<uint64_t>(v) << -e;
  if (r >= (uint64_t{4} << a)) {
    r >>= 2;
    e += 2;
  }
  // Y ~ 1/sqrt(X), X = v * 2^-(e + s_r) exactly: the table on the code r seeds
  // Newton steps in Q28 (X in [2^-4, 2^4], |1 - sqrt(X) Y| < 0.4: every product
  // below stays < 2^63), then Y is kept at Q20 (18..22 bits).
  const uint64_t xq = shift_u64(static_cast<uint64_t>(v), 28 - e - s);  // X in Q28, < 2^33
  uint64_t y = round_shift_u64(static_cast<uint64_t>(ukernel::pwl_acc(l.rsqrt, static_cast<int32_t>(r))),
                               l.rsqrt.shift - 28);
  for (int i = 0; i < p.newton_steps; ++i) {
    const uint64_t y2 = (y * y) >> 28;                          // y < 1.4 * 2^30
    const uint64_t xy2 = (xq * y2) >> 28;                       // ~2^28 (1 + d)^2
    y = (y * ((uint64_t{3} << 28) - xy2)) >> 29;
  }
  constexpr int kRsqrtBits = 20;
  const int32_t rs = static_cast<int32_t>(round_shift_u64(y, 28 - kRsqrtBits));
  // 32-bit output datapath. D_i * R * 2^-k ~= (x_i - mean)/sqrt(var + eps) with
  // k = L_r + (E + s_r)/2, and D_i * R = x_i * (n R) - Sx * R. Per row (int64):
  //   P = max(0, bitlen|n R| - 22), a = round(n R 2^-P), b = round(Sx R 2^-P)
  //   (|a| <= 2^22, |b| <= 128 |a| + 1 since |Sx| <= 128 n), s = k - F - P,
  // so z_i = round((x_i a - b) 2^-s) is the normalised value at 2^-F, F = 14
  // (|x_i a - b| <= 2^30 + 1). Rows of tiny variance (s < 1) take a coarser F;
  // s > 30 (not reachable with int8 rows) takes a larger P. Then
  // w_i = round_half_away(z_i gamma_i 2^-t), t = F + gamma_frac - out_frac.
  const int k = kRsqrtBits + (e + s) / 2;
  const int64_t a64 = nn * rs, b64 = sx * rs;
  const uint64_t mag = static_cast<uint64_t>(a64 < 0 ? -a64 : a64);
  int pp = mag == 0 ? 0 : std::max(0, floor_log2(mag) + 1 - 22);
  int f = 14;
  int sh = k - f - pp;
  if (sh < 1) {
    f -= 1 - sh;
    sh = 1;
  }
  if (sh > 30) {
    pp += sh - 30;
    sh = 30;
  }
  const int t = f + p.gamma_frac - p.out_frac;
  if (t >= 1 && t <= 29) {
    auto round_shift = [](int64_t val, int by) {  // round half up, arithmetic shift
      return by == 0 ? val : (val + (int64_t{1} << (by - 1))) >> by;
    };
    const int32_t a32 = static_cast<int32_t>(round_shift(a64, pp));
    const int32_t b32 = static_cast<int32_t>(round_shift(b64, pp));
    loops.ln_out32(x, gamma, beta, out, n, a32, b32, sh, t);
    return;
  }
  // Out-of-range shift (only for extreme out_frac / gamma_frac with near-constant
  // rows): the exact int64 datapath, the same code on every ISA.
  int t64 = p.gamma_frac + kRsqrtBits + (e + s) / 2 - p.out_frac;
  if (t64 > 62) t64 = 62;  // |d * gamma * r| < 2^62: rounds to 0 anyway
  loops_for(Isa::scalar).ln_out(x, gamma, beta, out, n, nn, sx, rs, t64);
}

// ---- activations ------------------------------------------------------------

ActivationPlan prepare_activation(const TableSet& set, int in_frac, int out_frac) {
  auto layout = std::make_shared<detail::ActivationLayout>();
  detail::ActivationLayout& p = *layout;
  p.requant = detail::make_requant_layout(set.at(in_frac), out_frac);
  p.in_frac = in_frac;
  // The lookup is the scalar table kernels' output on every int8 code.
  int8_t codes[256];
  for (int q = -128; q < 128; ++q) codes[q + 128] = static_cast<int8_t>(q);
  const KernelSet& ks = kernel_set(Isa::scalar);
  ks.s8_pwl_s8(p.requant, codes, p.lut.s8, 256);
  ks.s8_pwl_s32(p.requant.pwl, codes, p.lut.s32, 256);
  p.lut.out_frac = out_frac;
  return PlanAccess::wrap(std::shared_ptr<const detail::ActivationLayout>(std::move(layout)));
}

void activation(const ActivationPlan& plan, const int8_t* in, int8_t* out, size_t n, Isa isa) {
  // The same bits either way (tested on every code): the lookup where the ISA has a
  // vector 256-entry lookup (AVX-512 vpermi2b) and on scalar; on AVX2 (no 256-entry
  // byte permute, its lookup is the scalar loop) the table kernel is 3-4x faster.
  const detail::ActivationLayout& p = PlanAccess::layout(plan);
  const Isa chosen = resolve_isa(isa);
  if (chosen == Isa::avx2)
    kernel_set(chosen).s8_pwl_s8(p.requant, in, out, n);
  else
    kernel_set(chosen).s8_lut256_s8(p.lut, in, out, n);
}

void activation_pwl(const ActivationPlan& plan, const int8_t* in, int8_t* out, size_t n, Isa isa) {
  kernel_set(isa).s8_pwl_s8(PlanAccess::layout(plan).requant, in, out, n);
}

}  // namespace gqalut
