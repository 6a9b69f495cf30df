// Plans (built once, validated, may throw). ISA detection, the kernel list
// and the operator layer are in dispatch.cpp, the microkernels in kernels_<isa>.cpp.
#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "gqalut/kernels.hpp"
#include "plan_layout.h"
#include "ukernels.h"

namespace gqalut {

// Handles: wrap()/layout() of detail::PlanAccess are in plan_access.cpp.

using detail::PlanAccess;

int PwlPlan::input_bits() const { return PlanAccess::layout(*this).input_bits; }
int PwlPlan::scale() const { return PlanAccess::layout(*this).n; }
int PwlPlan::shift() const { return PlanAccess::layout(*this).shift; }
int PwlPlan::segments() const { return PlanAccess::layout(*this).segments; }
int32_t PwlPlan::acc_min() const { return PlanAccess::layout(*this).acc_min; }
int32_t PwlPlan::acc_max() const { return PlanAccess::layout(*this).acc_max; }
bool PwlPlan::fits_s16() const { return PlanAccess::layout(*this).fits_s16; }

int RequantPlan::out_frac() const { return PlanAccess::layout(*this).out_frac; }
PwlPlan RequantPlan::pwl() const {
  const detail::RequantLayout& r = PlanAccess::layout(*this);
  return PlanAccess::wrap(std::shared_ptr<const detail::PwlLayout>(layout_, &r.pwl));  // aliasing: shares ownership
}

int Lut256Plan::out_frac() const { return PlanAccess::layout(*this).out_frac; }

// ---- layouts ------------------------------------------------------------------

namespace detail {

PwlLayout make_pwl_layout(const Table& t, int input_bits) {
  t.validate();
  if (input_bits != 8 && input_bits != 16)
    throw std::invalid_argument(fmt::format("input_bits must be 8 or 16, got {}", input_bits));
  const int64_t qmin = -(int64_t{1} << (input_bits - 1));
  const int64_t qmax = (int64_t{1} << (input_bits - 1)) - 1;
  PwlLayout p;
  p.input_bits = input_bits;
  p.n = t.n;
  p.shift = t.shift();
  // Reachable segments: the one qmin falls in, then one per distinct
  // breakpoint code inside (qmin, qmax]. Codes outside the span drop out.
  std::vector<int64_t> starts{qmin};
  std::vector<int> segs{segment_of(t, static_cast<int32_t>(qmin))};
  // A segment starts at the first code right of its breakpoint: P under the
  // right rule, P + 1 under the left one (kernels compare q >= start).
  for (size_t i = 0; i < t.breakpoints.size(); ++i) {
    int64_t v = t.first_code_right_of(int(i));
    if (v <= qmin || v > qmax || v == starts.back()) continue;
    starts.push_back(v);
    segs.push_back(segment_of(t, static_cast<int32_t>(v)));
  }
  p.segments = static_cast<int>(segs.size());
  const int a = p.shift - t.n - t.slope_format.frac_bits;
  const int c = p.shift - t.intercept_format.frac_bits;
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (int j = 0; j < p.segments; ++j) {
    int s = segs[j];
    int64_t kk = int64_t{t.slopes[s]} * (int64_t{1} << a);
    int64_t bb = int64_t{t.intercepts[s]} * (int64_t{1} << c);
    p.k[j] = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(kk)));
    p.b[j] = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(bb)));
    p.k16[j] = static_cast<int16_t>(static_cast<uint16_t>(static_cast<uint64_t>(kk)));
    p.b16[j] = static_cast<int16_t>(static_cast<uint16_t>(static_cast<uint64_t>(bb)));
    if (j > 0) {
      p.thr[j - 1] = static_cast<int16_t>(starts[j]);
      p.thr8[j - 1] = static_cast<int8_t>(input_bits == 8 ? starts[j] : 0);
      p.thr8m1[j - 1] = static_cast<int8_t>(input_bits == 8 ? starts[j] - 1 : 0);
    }
    // acc is linear in q on a segment: its extremes are at the segment's ends.
    int64_t end = j + 1 < p.segments ? starts[j + 1] - 1 : qmax;
    for (int64_t q : {starts[j], end}) {
      int64_t acc = kk * q + bb;
      lo = std::min(lo, acc);
      hi = std::max(hi, acc);
    }
  }
  if (lo < INT32_MIN || hi > INT32_MAX)
    throw std::invalid_argument(fmt::format(
        "accumulator must fit int32 for {}-bit inputs, got range [{}, {}] (scale {})", input_bits,
        lo, hi, t.n));
  p.acc_min = static_cast<int32_t>(lo);
  p.acc_max = static_cast<int32_t>(hi);
  p.fits_s16 = lo >= INT16_MIN && hi <= INT16_MAX;
  if (input_bits == 8) {
    int P = 1;
    while (P < p.segments) P <<= 1;
    for (int st = P / 2; st >= 1; st /= 2, ++p.tree_levels)
      for (int i = 0; i < kMaxSegments; ++i) {
        int j = i + st - 1;
        p.tree[p.tree_levels][i] = j < p.segments - 1 ? p.thr8m1[j] : 127;
      }
  }
  return p;
}

RequantLayout make_requant_layout(const Table& t, int out_frac) {
  if (out_frac < 0 || out_frac > 31)
    throw std::invalid_argument(fmt::format("output frac bits must be in [0, 31], got {}", out_frac));
  RequantLayout r;
  r.pwl = make_pwl_layout(t, 8);
  r.out_frac = out_frac;
  r.rshift = r.pwl.shift - out_frac;
  if (r.rshift > 0) {
    r.half = int32_t{1} << (r.rshift - 1);
    int64_t lo = int64_t{r.pwl.acc_min} + r.half - 1, hi = int64_t{r.pwl.acc_max} + r.half;
    if (lo < INT32_MIN || hi > INT32_MAX)
      throw std::invalid_argument(fmt::format(
          "requantization rounding must fit int32, got accumulator range [{}, {}] + {}",
          r.pwl.acc_min, r.pwl.acc_max, r.half));
    r.use16 = r.pwl.fits_s16 && r.rshift <= 15 && lo >= INT16_MIN && hi <= INT16_MAX;
  } else {
    r.lshift = std::min(-r.rshift, 8);  // any |acc| >= 1 saturates beyond 8
    r.clamp_hi = (127 >> r.lshift) + 1;
    r.clamp_lo = -(128 >> r.lshift) - 1;
    r.use16 = r.pwl.fits_s16;
  }
  r.madd_ok = r.use16;
  for (int j = 0; j < r.pwl.segments; ++j) {
    int64_t k = r.pwl.k[j];
    int64_t c = int64_t{r.pwl.b[j]} - 128 * k + (r.rshift > 0 ? r.half : 0);
    if (k < -128 || k > 127 || c < INT16_MIN || c > INT16_MAX) r.madd_ok = false;
    r.k8[j] = static_cast<int8_t>(k);
    r.c16[j] = static_cast<int16_t>(c);
  }
  r.madd_tie_fix = r.rshift > 0;
  if (r.madd_ok && r.rshift > 0) {
    // Per segment over its codes: any acc < 0, any acc >= 0, any negative tie
    // (acc < 0 with acc + half a multiple of 2^rshift: the only codes where the
    // correction changes the shifted result).
    const PwlLayout& p = r.pwl;
    const int64_t mod = int64_t{1} << r.rshift;
    bool need = false;
    bool all_neg[kMaxSegments] = {};
    for (int j = 0; j < p.segments; ++j) {
      const int64_t q0 = j == 0 ? -128 : p.thr[j - 1], q1 = j + 1 < p.segments ? p.thr[j] - 1 : 127;
      bool neg = false, pos = false, tie = false;
      for (int64_t q = q0; q <= q1; ++q) {
        const int64_t acc = int64_t{p.k[j]} * q + p.b[j];  // exact: the plan proved it fits int32
        (acc < 0 ? neg : pos) = true;
        if (acc < 0 && ((acc + r.half) & (mod - 1)) == 0) tie = true;
      }
      if (neg && pos && tie) need = true;
      all_neg[j] = neg && !pos;
      if (all_neg[j] && r.c16[j] == INT16_MIN) need = true;  // no room for the -1
    }
    if (!need) {
      for (int j = 0; j < p.segments; ++j)
        if (all_neg[j]) r.c16[j] = static_cast<int16_t>(r.c16[j] - 1);
      r.madd_tie_fix = false;
    }
  }
  return r;
}

}  // namespace detail

PwlPlan prepare_pwl(const Table& t, int input_bits) {
  return PlanAccess::wrap(std::make_shared<detail::PwlLayout>(detail::make_pwl_layout(t, input_bits)));
}

RequantPlan prepare_requant(const Table& t, int out_frac) {
  return PlanAccess::wrap(std::make_shared<detail::RequantLayout>(detail::make_requant_layout(t, out_frac)));
}

int8_t requantize_s8(int64_t acc, int L, int out_frac) {
  // Reference in int64, written independently of the kernels' clamp tricks.
  int64_t v;
  int r = L - out_frac;
  if (r > 0) {
    int64_t mag = acc < 0 ? -acc : acc;
    mag = (mag + (int64_t{1} << (r - 1))) >> r;
    v = acc < 0 ? -mag : mag;
  } else {
    int s = -r;
    if (acc > 127) acc = 128;
    if (acc < -129) acc = -129;  // keeps the sign and saturates after the shift
    v = acc * (int64_t{1} << s);
  }
  return static_cast<int8_t>(std::clamp<int64_t>(v, -128, 127));
}

Lut256Plan prepare_lut256(const Table& t, int out_frac) {
  const detail::RequantLayout r = detail::make_requant_layout(t, out_frac);  // validates like the PWL kernels
  auto lut = std::make_shared<detail::Lut256Layout>();
  lut->out_frac = out_frac;
  for (int q = -128; q < 128; ++q) {
    int64_t acc = eval_acc(t, q);
    lut->s32[q + 128] = static_cast<int32_t>(acc);
    lut->s8[q + 128] = requantize_s8(acc, r.pwl.shift, out_frac);
  }
  return PlanAccess::wrap(std::shared_ptr<const detail::Lut256Layout>(std::move(lut)));
}

}  // namespace gqalut
