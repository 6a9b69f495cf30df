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
#include "ukernels.h"

namespace gqalut {
namespace {

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

// Picks the scale and octave [2^a, 2^(a+width)) of a table set where
// f(x) * g(x) = 1 is best met: rel(x, y) is the relative error of y = table(x).
template <typename Rel>
Octave pick_octave(const TableSet& set, int width, const char* what, Rel rel) {
  Octave best;
  for (int s : set.scales()) {
    PwlPlan p = prepare_pwl(set.at(s), 8);
    for (int a = 0; (int64_t{1} << (a + width)) - 1 <= 127; ++a) {
      int lo_code = 1 << a, hi_code = (1 << (a + width)) - 1;
      double x_lo = std::ldexp(lo_code, -s), x_hi = std::ldexp(hi_code, -s);
      if (x_lo < set.lo || x_hi > set.hi) continue;
      double worst = 0;
      bool ok = true;
      for (int c = lo_code; c <= hi_code; ++c) {
        int32_t acc = ukernel::pwl_acc(p, c);
        if (acc <= 0) ok = false;
        worst = std::max(worst, std::abs(rel(std::ldexp(c, -s), std::ldexp(acc, -p.shift))));
      }
      if (!ok) continue;
      // Rounding the reduced operand to a codes costs up to 2^-(a+1) relative.
      double score = worst + std::ldexp(1.0, -(a + 1)) / (width == 2 ? 2 : 1);
      if (score < best.score) best = {s, a, worst, score};
    }
  }
  if (best.scale < 0)
    throw std::invalid_argument(fmt::format(
        "{} table needs a scale with an octave of positive outputs inside its range [{}, {}] as int8 codes", what,
        set.lo, set.hi));
  return best;
}

}  // namespace

// ---- softmax ----------------------------------------------------------------

SoftmaxPlan prepare_softmax(const TableSet& exp_set, const TableSet& div_set, int in_frac, int out_frac) {
  check_frac("softmax in_frac", in_frac, 0, 20);
  check_frac("softmax out_frac", out_frac, 1, 15);
  if (!(exp_set.lo < 0))
    throw std::invalid_argument(fmt::format("EXP table range must start below 0, got [{}, {}]", exp_set.lo, exp_set.hi));
  SoftmaxPlan p;
  p.in_frac = in_frac;
  p.out_frac = out_frac;
  p.exp_scale = -1;
  for (int s : exp_set.scales())
    if (exp_set.lo * std::ldexp(1.0, s) >= -128.0) p.exp_scale = s;  // scales() is ascending
  if (p.exp_scale < 0)
    throw std::invalid_argument(fmt::format("EXP table set has no scale where its range [{}, 0] fits int8 codes",
                                            exp_set.lo));
  p.exp = prepare_pwl(exp_set.at(p.exp_scale), 8);
  p.exp_limit = static_cast<int>(std::min(128.0, std::floor(-exp_set.lo * std::ldexp(1.0, p.exp_scale))));
  p.exp_rshift = in_frac - p.exp_scale;
  const int32_t e0 = ukernel::pwl_acc(p.exp, 0);
  if (e0 <= 0) throw std::invalid_argument(fmt::format("EXP table must give exp(0) > 0, got accumulator {}", e0));
  int32_t e_max = 0;
  for (int c = -p.exp_limit; c <= 0; ++c) e_max = std::max(e_max, ukernel::pwl_acc(p.exp, c));

  Octave o = pick_octave(div_set, 1, "DIV", [](double x, double y) { return x * y - 1.0; });
  p.div_scale = o.scale;
  p.div_a = o.a;
  p.div_max_rel_error = o.max_rel;
  p.div = prepare_pwl(div_set.at(o.scale), 8);
  int32_t r_max = 0;
  for (int c = 1 << o.a; c < (2 << o.a); ++c) r_max = std::max(r_max, ukernel::pwl_acc(p.div, c));
  uint64_t prod = uint64_t(e_max) * uint64_t(r_max);
  if (prod >= (uint64_t{1} << 31))
    throw std::invalid_argument(fmt::format("softmax product EXP*DIV must fit 31 bits, got {}", prod));
  p.max_product = static_cast<uint32_t>(prod);
  // The smallest shift T (sum = exp(0) alone) must stay >= 1.
  int t_min = floor_log2(uint64_t(e0)) + p.div_scale + p.div.shift - p.div_a - out_frac;
  if (t_min < 1)
    throw std::invalid_argument(fmt::format("softmax out_frac {} is too fine for these tables (shift {})", out_frac,
                                            t_min));
  return p;
}

namespace {

template <typename In>
void softmax_impl(const SoftmaxPlan& p, const In* x, uint8_t* out, size_t n, uint32_t maxv, Isa isa) {
  if (n == 0) return;
  const Isa chosen = resolve_isa(isa);
  const RowLoops& loops = loops_for(chosen);
  int8_t* codes = scratch<int8_t>(n);
  int32_t* e = scratch<int32_t>(n);
  intops_detail::ExpCodeParams ep;
  ep.rshift = p.exp_rshift;
  ep.limit = p.exp_limit;
  ep.clamp_u = p.exp_rshift > 0 ? uint32_t(p.exp_limit) << p.exp_rshift : uint32_t(p.exp_limit);
  int32_t m;
  if constexpr (sizeof(In) == 1) {
    m = loops.max_s8(x, n);
    loops.exp_codes_s8(x, m, ep, codes, n);
  } else {
    m = loops.max_s32(x, n);
    loops.exp_codes_s32(x, m, ep, codes, n);
  }
  kernel_set(chosen).s8_pwl_s32(p.exp, codes, e, n);
  const uint64_t sum = loops.clamp0_sum(e, n);  // >= exp(0) > 0: the max element contributes it
  // Power-of-two range reduction: sum ~= d * 2^(ex - a), d in [2^a, 2^(a+1)).
  int ex = floor_log2(sum);
  const int a = p.div_a;
  uint64_t d = ex > a ? (sum + (uint64_t{1} << (ex - a - 1))) >> (ex - a) : sum << (a - ex);
  if (d == (uint64_t{2} << a)) {
    d >>= 1;
    ++ex;
  }
  const int32_t r = ukernel::pwl_acc(p.div, static_cast<int32_t>(d));
  const int t = ex + p.div_scale + p.div.shift - a - p.out_frac;
  if (t >= 32) {  // every e_i * r < 2^31 rounds to 0
    for (size_t i = 0; i < n; ++i) out[i] = 0;
    return;
  }
  loops.normalize(e, static_cast<uint32_t>(r), t, maxv, out, n);
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
  LayerNormPlan p;
  p.in_frac = in_frac;
  p.out_frac = out_frac;
  p.gamma_frac = gamma_frac;
  p.eps = eps;
  Octave o = pick_octave(rsqrt_set, 2, "RSQRT", [](double x, double y) { return y * std::sqrt(x) - 1.0; });
  p.rsqrt_scale = o.scale;
  p.rsqrt_a = o.a;
  p.rsqrt_max_rel_error = o.max_rel;
  p.rsqrt = prepare_pwl(rsqrt_set.at(o.scale), 8);
  return p;
}

void layernorm_row(const LayerNormPlan& p, const int8_t* x, const int8_t* gamma, const int32_t* beta, int8_t* out,
                   size_t n, Isa isa) {
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
  const int32_t rs = ukernel::pwl_acc(p.rsqrt, static_cast<int32_t>(r));
  // 32-bit output datapath. D_i * R * 2^-k ~= (x_i - mean)/sqrt(var + eps) with
  // k = L_r + (E + s_r)/2, and D_i * R = x_i * (n R) - Sx * R. Per row (int64):
  //   P = max(0, bitlen|n R| - 22), a = round(n R 2^-P), b = round(Sx R 2^-P)
  //   (|a| <= 2^22, |b| <= 128 |a| + 1 since |Sx| <= 128 n), s = k - F - P,
  // so z_i = round((x_i a - b) 2^-s) is the normalised value at 2^-F, F = 14
  // (|x_i a - b| <= 2^30 + 1). Rows of tiny variance (s < 1) take a coarser F;
  // s > 30 (not reachable with int8 rows) takes a larger P. Then
  // w_i = round_half_away(z_i gamma_i 2^-t), t = F + gamma_frac - out_frac.
  const int k = p.rsqrt.shift + (e + s) / 2;
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
  int t64 = p.gamma_frac + p.rsqrt.shift + (e + s) / 2 - p.out_frac;
  if (t64 > 62) t64 = 62;  // |d * gamma * r| < 2^62: rounds to 0 anyway
  loops_for(Isa::scalar).ln_out(x, gamma, beta, out, n, nn, sx, rs, t64);
}

// ---- activations ------------------------------------------------------------

ActivationPlan prepare_activation(const TableSet& set, int in_frac, int out_frac) {
  return ActivationPlan{prepare_requant(set.at(in_frac), out_frac)};
}

void activation(const ActivationPlan& plan, const int8_t* in, int8_t* out, size_t n, Isa isa) {
  kernel_set(isa).s8_pwl_s8(plan.requant, in, out, n);
}

}  // namespace gqalut
