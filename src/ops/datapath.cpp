// The scalar reference of the integer softmax and LayerNorm datapaths
// (include/gqalut/datapath.hpp): the derivation of every plan constant and
// the element-at-a-time stages. Plain integer code, one step per line, in the
// order the hardware runs them; the tables through eval_acc (the oracle).
#include "gqalut/datapath.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace gqalut {
namespace ref {
namespace {

void check_frac(const char* what, int v, int lo, int hi) {
  if (v < lo || v > hi) throw std::invalid_argument(fmt::format("{} must be in [{}, {}], got {}", what, lo, hi, v));
}

int floor_log2(uint64_t v) { return 63 - __builtin_clzll(v); }

// v * 2^sh with sh of either sign (right shifts truncate).
uint64_t shift_u64(uint64_t v, int sh) { return sh >= 0 ? v << sh : v >> -sh; }
// round(v * 2^-sh) half up for sh > 0, v << -sh for sh <= 0.
uint64_t round_shift_u64(uint64_t v, int sh) { return sh > 0 ? (v + (uint64_t{1} << (sh - 1))) >> sh : v << -sh; }

// The reference reads tables through eval_acc; the kernels read the same
// codes modulo 2^32, so every int8 accumulator must fit int32 (the kernels'
// plan builder refuses the same tables with the same rule).
void check_table(const Table& t) {
  t.validate();
  if (t.accumulator_bits(8) > 32)
    throw std::invalid_argument(fmt::format("accumulator must fit int32 for 8-bit inputs, got {} bits (scale {})",
                                            t.accumulator_bits(8), t.n));
}

struct Octave {
  int scale = -1, a = 0;
  double max_rel = 0;
};

// Picks the scale and octave [2^a, 2^(a+width)) of int8 codes of a table set
// whose table seeds the Newton iteration best. rel(x, y) is the relative error
// of y = table(code) as an approximation at the true operand x; the true
// operand of a code c is anywhere in [c - 1/2, c + 1/2] (the reduced operand
// is rounded to c), so both ends count. Only octaves with x in [2^-4, 2^4]
// qualify (the Q28 Newton steps are proved for those).
template <typename Rel>
Octave pick_octave(const TableSet& set, int width, const char* what, Rel rel) {
  Octave best;
  for (int s : set.scales()) {
    const Table& t = set.at(s);
    check_table(t);
    for (int a = 0; (int64_t{1} << (a + width)) - 1 <= 127; ++a) {
      const int lo_code = 1 << a, hi_code = (1 << (a + width)) - 1;
      const double x_lo = std::ldexp(lo_code, -s), x_hi = std::ldexp(hi_code, -s);
      if (x_lo < set.lo || x_hi > set.hi) continue;
      if (a - s < -kOctaveLimitLog2 || a + width - s > kOctaveLimitLog2) continue;
      double worst = 0;
      bool ok = true;
      for (int c = lo_code; c <= hi_code; ++c) {
        const int64_t acc = eval_acc(t, c);
        if (acc <= 0) ok = false;
        const double y = std::ldexp(double(acc), -t.shift());
        worst = std::max({worst, std::abs(rel(std::ldexp(c - 0.5, -s), y)), std::abs(rel(std::ldexp(c + 0.5, -s), y))});
      }
      if (!ok) continue;
      if (worst < best.max_rel || best.scale < 0) best = {s, a, worst};
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
std::pair<int, double> newton_steps(double d0, double limit, const std::string& what, Step step) {
  if (!(d0 < limit))
    throw std::invalid_argument(fmt::format(
        "{} table is too far off for the Newton steps: max relative error {:.4f}, must be < {}", what, d0, limit));
  int steps = 0;
  double d = d0;
  while (d > std::ldexp(1.0, kNewtonTargetLog2)) {
    d = step(d) + std::ldexp(1.0, kNewtonTruncLog2);
    ++steps;
  }
  return {steps, d};
}

// A reciprocal stage (softmax DIV, LayerNorm RSQRT): the octave of int8 codes
// whose table seeds the Newton steps best, that table, and the steps it needs.
struct RecipStage {
  Octave octave;
  Table table;
  int newton_steps = 0;
  double bound = 0;  // the relative error after the steps
};

// op: "softmax" / "layernorm", stage: "DIV" / "RSQRT" (they name the rule in
// every error); width, rel: pick_octave's; seed_limit, step: newton_steps'.
template <typename Rel, typename Step>
RecipStage recip_stage(const TableSet& set, int width, const char* op, const char* stage, double seed_limit, Rel rel,
                       Step step) {
  RecipStage r;
  r.octave = pick_octave(set, width, stage, rel);
  r.table = set.at(r.octave.scale);
  if (r.table.shift() > kRecipTableShiftMax)
    throw std::invalid_argument(fmt::format("{} {} accumulator scale must be <= 2^-{}", op, stage, kRecipTableShiftMax));
  std::tie(r.newton_steps, r.bound) = newton_steps(r.octave.max_rel, seed_limit, fmt::format("{} {}", op, stage), step);
  return r;
}

}  // namespace

int softmax_exp_pre_shift(const SoftmaxDatapath& dp) { return dp.exp_gain < 0 ? -dp.exp_gain : 0; }

// ---- softmax: stages ------------------------------------------------------------

ExpSplit softmax_exp_split(const SoftmaxDatapath& dp, uint32_t u) {
  ExpSplit o;
  const int s = dp.exp_scale;
  o.u = u < dp.u_cap ? u : dp.u_cap;
  const uint64_t t = (uint64_t{o.u} * dp.log2e + (uint64_t{1} << (dp.exp_shift - 1))) >> dp.exp_shift;
  o.t = static_cast<uint32_t>(t);
  o.k = static_cast<uint32_t>((t + (uint64_t{1} << (s - 1)) - 1) >> s);
  o.c = static_cast<int32_t>(int64_t{o.k} * (int64_t{1} << s) - static_cast<int64_t>(t));
  return o;
}

int64_t softmax_exp_acc(const SoftmaxRef& r, int32_t c) { return eval_acc(r.exp2m1, c); }

uint32_t softmax_exp_mantissa(const SoftmaxRef& r, int32_t c) {
  const int64_t m = (int64_t{1} << r.dp.exp_table_shift) + softmax_exp_acc(r, c);
  return static_cast<uint32_t>(m << std::max(r.dp.exp_gain, 0));
}

uint32_t softmax_exp_shift(const SoftmaxDatapath& dp, uint32_t mantissa, uint32_t k) {
  const uint64_t sh = std::min<uint64_t>(uint64_t{k} + uint64_t(softmax_exp_pre_shift(dp)), kExpZeroShift);
  const uint64_t half = (uint64_t{1} << sh) >> 1;
  return static_cast<uint32_t>((uint64_t{mantissa} + half) >> sh);
}

uint32_t softmax_exp(const SoftmaxRef& r, uint32_t u) {
  const ExpSplit sp = softmax_exp_split(r.dp, u);
  return softmax_exp_shift(r.dp, softmax_exp_mantissa(r, sp.c), sp.k);
}

uint32_t softmax_e16(uint32_t e) { return (e + (uint32_t{1} << (kE16Shift - 1))) >> kE16Shift; }

SumSplit softmax_sum_split(const SoftmaxDatapath& dp, uint64_t S) {
  SumSplit o;
  const int a = dp.div_a;
  o.x = floor_log2(S);
  uint64_t d = round_shift_u64(S, o.x - a);
  if (d == (uint64_t{2} << a)) {
    d >>= 1;
    ++o.x;
  }
  o.d = static_cast<uint32_t>(d);
  o.X = shift_u64(S, a - o.x - dp.div_scale + kNewtonFrac);
  return o;
}

int64_t softmax_div_acc(const SoftmaxRef& r, uint32_t d) { return eval_acc(r.div, static_cast<int32_t>(d)); }

uint64_t softmax_div_seed(const SoftmaxRef& r, uint32_t d) {
  return round_shift_u64(static_cast<uint64_t>(softmax_div_acc(r, d)), r.dp.div_table_shift - kNewtonFrac);
}

uint64_t softmax_newton_step(uint64_t X, uint64_t Y) {
  const uint64_t xy = (X * Y) >> kNewtonFrac;                       // ~2^28 (1 - delta), < 2^29
  return (Y * ((uint64_t{2} << kNewtonFrac) - xy)) >> kNewtonFrac;  // Y (2 - X Y)
}

uint32_t softmax_recip(const SoftmaxDatapath& dp, uint64_t Y) {
  uint64_t r = round_shift_u64(Y, kNewtonFrac - kRecipBits - dp.div_a + dp.div_scale);
  r = r > dp.r_max ? dp.r_max : (r < 1 ? 1 : r);
  return static_cast<uint32_t>(r);
}

int softmax_out_shift(const SoftmaxDatapath& dp, int x) { return x + (kRecipBits - kE16Shift) - dp.out_frac; }

SoftmaxRecip softmax_reciprocal(const SoftmaxRef& r, uint64_t S) {
  SoftmaxRecip o;
  o.split = softmax_sum_split(r.dp, S);
  o.y0 = softmax_div_seed(r, o.split.d);
  o.y = o.y0;
  for (int i = 0; i < r.dp.newton_steps; ++i) o.y = softmax_newton_step(o.split.X, o.y);
  o.R = softmax_recip(r.dp, o.y);
  o.T = softmax_out_shift(r.dp, o.split.x);
  return o;
}

uint32_t softmax_out(uint32_t e, uint32_t R, int T, uint32_t max_code) {
  if (T >= kOutShiftZero) return 0;
  const uint64_t v = (uint64_t{softmax_e16(e)} * R + (uint64_t{1} << (T - 1))) >> T;
  return static_cast<uint32_t>(std::min<uint64_t>(v, max_code));
}

namespace {

template <typename In, typename Out>
void softmax_row_any(const SoftmaxRef& r, const In* q, Out* out, size_t n, uint32_t max_code) {
  if (n == 0) return;
  int64_t m = q[0];
  for (size_t i = 1; i < n; ++i) m = std::max<int64_t>(m, q[i]);
  std::vector<uint32_t> e(n);
  uint64_t S = 0;
  for (size_t i = 0; i < n; ++i) {
    e[i] = softmax_exp(r, static_cast<uint32_t>(m - int64_t{q[i]}));
    S += e[i];
  }
  const SoftmaxRecip rc = softmax_reciprocal(r, S);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<Out>(softmax_out(e[i], rc.R, rc.T, max_code));
}

}  // namespace

void softmax_row_ref(const SoftmaxRef& r, const int8_t* q, uint8_t* out, size_t n) {
  softmax_row_any(r, q, out, n, 255);
}
void softmax_row_ref(const SoftmaxRef& r, const int32_t* q, uint8_t* out, size_t n) {
  softmax_row_any(r, q, out, n, 255);
}
void softmax_row_ref(const SoftmaxRef& r, const int8_t* q, int8_t* out, size_t n) {
  softmax_row_any(r, q, out, n, 127);
}

// ---- softmax: the constants ----------------------------------------------------------

SoftmaxRef make_softmax_ref(const TableSet& exp2m1_set, const TableSet& div_set, int in_frac, int out_frac) {
  check_frac("softmax in_frac", in_frac, 0, kSoftmaxInFracMax);
  check_frac("softmax out_frac", out_frac, kSoftmaxOutFracMin, kSoftmaxOutFracMax);
  SoftmaxRef r;
  SoftmaxDatapath& p = r.dp;
  p.in_frac = in_frac;
  p.out_frac = out_frac;
  // The finest scale s <= 8 whose codes [-2^(s-1), 2^(s-1)) lie in the set's range.
  p.exp_scale = -1;
  for (int s : exp2m1_set.scales())
    if (s >= 1 && s <= kExpScaleMax && exp2m1_set.lo <= -0.5 && exp2m1_set.hi >= 0.5 - std::ldexp(1.0, -s))
      p.exp_scale = s;
  if (p.exp_scale < 0)
    throw std::invalid_argument(fmt::format(
        "softmax exp2m1_set (function '{}', range [{}, {}]) must hold 2^x - 1 on a range containing [-0.5, 0.5) at "
        "a scale in [1, 8] (8 is best; fit one with `gqalut fit --func exp2m1 --scales 8 --format auto`)",
        exp2m1_set.function, exp2m1_set.lo, exp2m1_set.hi));
  const int s = p.exp_scale;
  r.exp2m1 = exp2m1_set.at(s);
  check_table(r.exp2m1);
  const int le = r.exp2m1.shift();
  p.exp_table_shift = le;
  if (le > kExpTableShiftMax)
    throw std::invalid_argument(fmt::format("softmax EXP2M1 accumulator scale 2^-{} must be <= {}", le, kExpTableShiftMax));
  // Mantissas 2^L_e + acc(c) ~ 2^L_e * 2^(c 2^-s); the table must be 2^x - 1.
  const int c_lo = -(1 << (s - 1)), c_hi = (1 << (s - 1)) - 1;
  double worst = 0;
  int64_t m0 = 0, m1 = 0;
  for (int c = c_lo; c <= c_hi; ++c) {
    const int64_t v = (int64_t{1} << le) + eval_acc(r.exp2m1, c);
    const double x = std::ldexp(c, -s), want = std::exp2(x), got = std::ldexp(double(v), -le);
    const double rel = got / want - 1.0;
    if (!(v > 0) || std::abs(rel) > 0.05)
      throw std::invalid_argument(fmt::format(
          "softmax exp2m1_set (function '{}') must approximate 2^x - 1 on [-0.5, 0.5): at x = {} it gives {}, "
          "2^x - 1 = {} (an e^x table on [-8, 0], the softmax input of older gqalut versions, is not accepted; fit one "
          "with `gqalut fit --func exp2m1 --scales 8 --format auto`)",
          exp2m1_set.function, x, got - 1.0, want - 1.0));
    worst = std::max(worst, std::abs(rel));
    if (c <= 0) m0 = std::max(m0, v);  // k = 0 reaches c <= 0 only
    m1 = std::max(m1, v);              // k >= 1: any c, halved
  }
  p.exp_max_rel_error = worst;
  p.log2e = static_cast<uint32_t>(std::llround(std::ldexp(1.4426950408889634, kLog2eBits)));
  p.exp_shift = in_frac + kLog2eBits - s;

  // The DIV table (independent of the EXP stage): octave, Newton steps and R's bound.
  // Y (2 - X Y) with Y = (1 + d) / X: 1 - X Y' = d^2.
  const RecipStage div = recip_stage(
      div_set, 1, "softmax", "DIV", kDivSeedLimit, [](double x, double y) { return x * y - 1.0; },
      [](double d) { return d * d; });
  r.div = div.table;
  p.div_scale = div.octave.scale;
  p.div_a = div.octave.a;
  p.div_max_rel_error = div.octave.max_rel;
  p.div_table_shift = r.div.shift();
  p.newton_steps = div.newton_steps;
  p.recip_max_rel_error = div.bound;
  // R <= 2^15 / (1 - 2^-(a+1)): after a rounding carry X may sit just below the octave.
  p.r_max = static_cast<uint32_t>(std::floor(std::ldexp(1.0, kRecipBits) / (1.0 - std::ldexp(1.0, -(p.div_a + 1))))) + 1;

  // Gain g: the largest that keeps every reachable e (k = 0 with c <= 0, or k = 1) below 2^24 - 2^7 and
  // e16 R below 2^31, from the table's actual mantissas. It starts from 2^23 / (largest mantissa); a table
  // whose f(0) is slightly negative (uniform fits) has its largest k = 0 mantissa just under 2^L_e and
  // takes one step less (e(0) ~ 2^23 either way).
  const double emax = std::max(double(m0), double(m1) / 2);
  const int g0 = kExpBits - 1 - static_cast<int>(std::floor(std::log2(emax)));
  uint32_t e0 = 0, e_max = 0;
  uint64_t prod = 0;
  bool fits = false;
  for (int g = g0; g >= g0 - 2 && !fits; --g) {
    p.exp_gain = g;
    e0 = softmax_exp(r, 0);  // u = 0: k = 0, c = 0 (u_cap is still 0: set below, after g)
    e_max = 0;
    for (uint32_t k = 0; k <= 1; ++k)
      for (int c = c_lo; c <= c_hi; ++c) {
        if (k == 0 && c > 0) continue;
        e_max = std::max(e_max, softmax_exp_shift(p, softmax_exp_mantissa(r, c), k));
      }
    prod = uint64_t{softmax_e16(e_max)} * p.r_max;
    fits = e_max < (1u << kExpBits) - (1u << (kE16Shift - 1)) && prod < (uint64_t{1} << kProductBits);
  }
  if (!fits)
    throw std::invalid_argument(fmt::format(
        "softmax product e*R must fit {} bits, got {} (the exp2m1 table's largest reachable e = {} at gain {}, "
        "the DIV octave [2^{}, 2^{}) gives R <= {})",
        kProductBits, prod, e_max, p.exp_gain, p.div_a, p.div_a + 1, p.r_max));
  // Range proof of the EXP stage: e(0) >= 2^22 (its shift T below stays >= 1, its mass counts).
  if (e0 < (1u << (kExpBits - 2)))
    throw std::invalid_argument(fmt::format(
        "softmax exp2m1_set (function '{}'): e(0) = {} at gain {} is below 2^22: its largest mantissa 2^L_e + f(c) "
        "is {} times 2^(L_e + 1) where f(0) gives {}",
        exp2m1_set.function, e0, p.exp_gain, emax / std::ldexp(1.0, le + 1),
        std::ldexp(double(eval_acc(r.exp2m1, 0)), -le)));
  p.max_product = static_cast<uint32_t>(prod);
  // u_cap: the smallest u whose shift k + pre_shift reaches 26 (k is nondecreasing in u),
  // found with u_cap at its maximum so the split sees u itself.
  p.u_cap = 0xffffffffu;
  const auto shift_of = [&](uint64_t u) {
    return uint64_t{softmax_exp_split(p, static_cast<uint32_t>(u)).k} + uint64_t(softmax_exp_pre_shift(p));
  };
  if (shift_of(0xffffffffu) < kExpZeroShift)
    throw std::invalid_argument("softmax: no logit difference makes the exponential vanish");  // unreachable
  uint64_t lo = 0, hi = 0xffffffffu;
  while (lo < hi) {
    const uint64_t mid = (lo + hi) / 2;
    if (shift_of(mid) >= kExpZeroShift) hi = mid; else lo = mid + 1;
  }
  p.u_cap = static_cast<uint32_t>(lo);
  // The smallest shift T (sum = e(0) alone) must stay >= 1.
  const int t_min = softmax_out_shift(p, floor_log2(e0));
  if (t_min < 1) throw std::invalid_argument(fmt::format("softmax out_frac {} is too fine (shift {})", out_frac, t_min));
  return r;
}

// ---- LayerNorm: stages ------------------------------------------------------------

namespace {
template <class In>
LayerNormSums sums_of(const In* x, size_t n) {
  LayerNormSums s;
  for (size_t i = 0; i < n; ++i) {
    s.sx += x[i];
    s.sxx += int64_t{x[i]} * x[i];
  }
  return s;
}

// round_half_away(prod 2^-t64) (t64 <= 0: a left shift)
int64_t ln_wide_scale(int64_t prod, int t64) {
  if (t64 > 0) return (prod + (int64_t{1} << (t64 - 1)) - (prod < 0 ? 1 : 0)) >> t64;
  return prod * (int64_t{1} << -t64);
}
}  // namespace

LayerNormSums layernorm_sums(const int8_t* x, size_t n) { return sums_of(x, n); }
LayerNormSums layernorm_sums(const int16_t* x, size_t n) { return sums_of(x, n); }

int64_t layernorm_eps_codes(const LayerNormDatapath& dp, int64_t n) {
  // n^2 * 4^f is a product with an exact power of two: the same double as ldexp.
  return std::llround(dp.eps * (double(n) * double(n) * double(int64_t{1} << (2 * dp.in_frac))));
}

int64_t layernorm_variance(const LayerNormDatapath& dp, int64_t sx, int64_t sxx, int64_t n) {
  return n * sxx - sx * sx + layernorm_eps_codes(dp, n);
}

VarSplit layernorm_var_split(const LayerNormDatapath& dp, int64_t V) {
  VarSplit o;
  const int a = dp.rsqrt_a, s = dp.rsqrt_scale;
  const uint64_t v = static_cast<uint64_t>(V);
  int e = floor_log2(v) - a;
  if ((e + s) & 1) --e;
  uint64_t r = round_shift_u64(v, e);
  if (r >= (uint64_t{4} << a)) {
    r >>= 2;
    e += 2;
  }
  o.E = e;
  o.r = static_cast<uint32_t>(r);
  o.X = shift_u64(v, kNewtonFrac - e - s);
  return o;
}

int64_t layernorm_rsqrt_acc(const LayerNormRef& r, uint32_t code) {
  return eval_acc(r.rsqrt, static_cast<int32_t>(code));
}

uint64_t layernorm_rsqrt_seed(const LayerNormRef& r, uint32_t code) {
  return round_shift_u64(static_cast<uint64_t>(layernorm_rsqrt_acc(r, code)), r.dp.rsqrt_table_shift - kNewtonFrac);
}

uint64_t layernorm_newton_step(uint64_t X, uint64_t Y) {
  const uint64_t y2 = (Y * Y) >> kNewtonFrac;   // Y < 1.4 * 2^30
  const uint64_t xy2 = (X * y2) >> kNewtonFrac;  // ~2^28 (1 + d)^2
  return (Y * ((uint64_t{3} << kNewtonFrac) - xy2)) >> (kNewtonFrac + 1);
}

int32_t layernorm_rsqrt_round(uint64_t Y) {
  return static_cast<int32_t>(round_shift_u64(Y, kNewtonFrac - kRsqrtBits));
}

LayerNormRsqrt layernorm_rsqrt(const LayerNormRef& r, int64_t V) {
  LayerNormRsqrt o;
  o.split = layernorm_var_split(r.dp, V);
  o.y0 = layernorm_rsqrt_seed(r, o.split.r);
  o.y = o.y0;
  for (int i = 0; i < r.dp.newton_steps; ++i) o.y = layernorm_newton_step(o.split.X, o.y);
  o.R = layernorm_rsqrt_round(o.y);
  return o;
}

LayerNormRowStage layernorm_row_stage(const LayerNormRef& r, int64_t sx, int64_t sxx, int64_t n, bool wide) {
  const LayerNormDatapath& p = r.dp;
  LayerNormRowStage st;
  st.n = n;
  st.sx = sx;
  st.wide = wide;  // R = 0 in the int64 form: every output is sat(beta) until V > 0
  const int64_t V = layernorm_variance(p, sx, sxx, n);
  if (V <= 0) return st;  // a = b = 0, s = t = 1: every output is sat8(beta)
  const LayerNormRsqrt rs = layernorm_rsqrt(r, V);
  st.R = rs.R;
  const int half_es = (rs.split.E + p.rsqrt_scale) / 2;  // exact: E + s_r is even
  const int k = kRsqrtBits + half_es;
  const int64_t a64 = n * rs.R, b64 = sx * rs.R;
  const uint64_t mag = static_cast<uint64_t>(a64 < 0 ? -a64 : a64);
  int pp = mag == 0 ? 0 : std::max(0, floor_log2(mag) + 1 - kLnMulBits);
  int f = kLnZFrac;
  int sh = k - f - pp;
  if (sh < 1) {
    f -= 1 - sh;
    sh = 1;
  }
  if (sh > kLnShiftMax) {
    pp += sh - kLnShiftMax;
    sh = kLnShiftMax;
  }
  const int t = f + p.gamma_frac - p.out_frac;
  if (!wide && t >= 1 && t <= kLnOutShiftMax) {
    const auto round_shift = [](int64_t v, int by) { return by == 0 ? v : (v + (int64_t{1} << (by - 1))) >> by; };
    st.a = static_cast<int32_t>(round_shift(a64, pp));
    st.b = static_cast<int32_t>(round_shift(b64, pp));
    st.s = sh;
    st.t = t;
    return st;
  }
  st.wide = true;
  st.t64 = std::min(p.gamma_frac + k - p.out_frac, kLnWideShiftMax);
  return st;
}

int8_t layernorm_out(const LayerNormRowStage& st, int8_t q, int8_t gamma, int32_t beta) {
  const auto sat8 = [](int64_t y) { return static_cast<int8_t>(y < -128 ? -128 : (y > 127 ? 127 : y)); };
  if (!st.wide) {
    const int64_t zmax = int64_t{1} << kLnZClampBits;
    int64_t z = (int64_t{q} * st.a - st.b + (int64_t{1} << (st.s - 1))) >> st.s;
    z = std::clamp(z, -zmax, zmax);
    const int64_t v = z * gamma;
    const int64_t w = (v + (int64_t{1} << (st.t - 1)) - (v < 0 ? 1 : 0)) >> st.t;
    const int64_t bb = std::clamp<int64_t>(beta, -kLnBetaClamp, kLnBetaClamp);
    return sat8(w + bb);
  }
  const int64_t d = st.n * q - st.sx;
  return sat8(ln_wide_scale(d * gamma * st.R, st.t64) + beta);
}

int16_t layernorm_out16(const LayerNormRowStage& st, int16_t q, int8_t gamma, int32_t beta) {
  const int64_t d = st.n * q - st.sx;
  const int64_t y = ln_wide_scale(d * gamma * st.R, st.t64) + beta;
  return static_cast<int16_t>(std::clamp<int64_t>(y, INT16_MIN, INT16_MAX));
}

void layernorm_row_ref16(const LayerNormRef& r, const int16_t* x, const int8_t* gamma, const int32_t* beta,
                         int16_t* out, size_t n) {
  if (n == 0) return;
  if (n > kLnRow16MaxN)
    throw std::invalid_argument(fmt::format("16-bit LayerNorm rows hold at most {} elements, got {}", kLnRow16MaxN, n));
  const LayerNormSums s = layernorm_sums(x, n);
  const LayerNormRowStage st = layernorm_row_stage(r, s.sx, s.sxx, static_cast<int64_t>(n), true);
  for (size_t i = 0; i < n; ++i) out[i] = layernorm_out16(st, x[i], gamma[i], beta[i]);
}

void layernorm_row_ref(const LayerNormRef& r, const int8_t* x, const int8_t* gamma, const int32_t* beta, int8_t* out,
                       size_t n) {
  if (n == 0) return;
  const LayerNormSums s = layernorm_sums(x, n);
  const LayerNormRowStage st = layernorm_row_stage(r, s.sx, s.sxx, static_cast<int64_t>(n));
  for (size_t i = 0; i < n; ++i) out[i] = layernorm_out(st, x[i], gamma[i], beta[i]);
}

// ---- LayerNorm: the constants ------------------------------------------------------

LayerNormRef make_layernorm_ref(const TableSet& rsqrt_set, int in_frac, int out_frac, int gamma_frac, double eps) {
  check_frac("layernorm in_frac", in_frac, 0, kLayerNormFracMax);
  check_frac("layernorm out_frac", out_frac, 0, kLayerNormFracMax);
  check_frac("layernorm gamma_frac", gamma_frac, 0, kLayerNormFracMax);
  if (!(eps >= 0) || !std::isfinite(eps)) throw std::invalid_argument(fmt::format("eps must be >= 0, got {}", eps));
  LayerNormRef r;
  LayerNormDatapath& p = r.dp;
  p.in_frac = in_frac;
  p.out_frac = out_frac;
  p.gamma_frac = gamma_frac;
  p.eps = eps;
  // y (3 - x y^2) / 2 with y = (1 + d) / sqrt(x): 1 - y' sqrt(x) = d^2 (3 + d) / 2.
  const RecipStage rs = recip_stage(
      rsqrt_set, 2, "layernorm", "RSQRT", kRsqrtSeedLimit, [](double x, double y) { return y * std::sqrt(x) - 1.0; },
      [](double d) { return d * d * (3 + d) / 2; });
  r.rsqrt = rs.table;
  p.rsqrt_scale = rs.octave.scale;
  p.rsqrt_a = rs.octave.a;
  p.rsqrt_max_rel_error = rs.octave.max_rel;
  p.rsqrt_table_shift = r.rsqrt.shift();
  p.newton_steps = rs.newton_steps;
  p.rsqrt_newton_max_rel_error = rs.bound;
  return r;
}

}  // namespace ref
}  // namespace gqalut
