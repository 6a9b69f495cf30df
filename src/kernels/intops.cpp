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

const SoftmaxDatapath& SoftmaxPlan::datapath() const { return PlanAccess::layout(*this).ref.dp; }
const LayerNormDatapath& LayerNormPlan::datapath() const { return PlanAccess::layout(*this).ref.dp; }
const ref::SoftmaxRef& SoftmaxPlan::reference() const { return PlanAccess::layout(*this).ref; }
const ref::LayerNormRef& LayerNormPlan::reference() const { return PlanAccess::layout(*this).ref; }
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

// Per-row scratch of the operator layer (kernels themselves never allocate).
template <typename T>
T* scratch(size_t n) {
  thread_local std::vector<T> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

}  // namespace

// ---- softmax ----------------------------------------------------------------
// Every constant and every stage comes from the scalar reference
// (include/gqalut/datapath.hpp, src/ops/datapath.cpp); the plan adds the
// lookups built from its stages, the row loops run them fast.

SoftmaxPlan prepare_softmax(const TableSet& exp2m1_set, const TableSet& div_set, int in_frac, int out_frac) {
  auto layout = std::make_shared<SoftmaxLayout>();
  SoftmaxLayout& l = *layout;
  l.ref = ref::make_softmax_ref(exp2m1_set, div_set, in_frac, out_frac);
  const ref::SoftmaxRef& r = l.ref;
  const int s = r.dp.exp_scale;
  l.exp = detail::make_pwl_layout(r.exp2m1, 8);
  l.div = detail::make_pwl_layout(r.div, 8);
  for (int c = -(1 << (s - 1)); c < (1 << (s - 1)); ++c) l.mant[c + (1 << (s - 1))] = ref::softmax_exp_mantissa(r, c);
  for (uint32_t u = 0; u < 256; ++u) {
    l.e_s8[u] = ref::softmax_exp(r, u);
    l.e16_s8[u] = ref::softmax_e16(l.e_s8[u]);
    for (int b = 0; b < 3; ++b) l.e_bytes[b][u] = static_cast<uint8_t>(l.e_s8[u] >> (8 * b));
    for (int b = 0; b < 2; ++b) l.e_bytes[3 + b][u] = static_cast<uint8_t>(l.e16_s8[u] >> (8 * b));
  }
  return PlanAccess::wrap(std::shared_ptr<const SoftmaxLayout>(std::move(layout)));
}

uint32_t softmax_exp(const SoftmaxPlan& plan, uint32_t u) { return ref::softmax_exp(PlanAccess::layout(plan).ref, u); }

namespace {

// R and T of a row's sum: the reference's stages (a handful of scalar steps per row).
std::pair<uint32_t, int> reciprocal(const SoftmaxLayout& l, uint64_t sum) {
  const ref::SoftmaxRecip rc = ref::softmax_reciprocal(l.ref, sum);
  return {rc.R, rc.T};
}

template <typename In>
void softmax_impl(const SoftmaxPlan& plan, const In* x, uint8_t* out, size_t n, uint32_t maxv, Isa isa) {
  const SoftmaxLayout& p = PlanAccess::layout(plan);  // once per row
  const SoftmaxDatapath& dp = p.ref.dp;
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
      if (t >= ref::kOutShiftZero) {
        for (size_t i = 0; i < n; ++i) out[i] = 0;
        return;
      }
      loops.normalize_e16(e16, r, t, maxv, out, n);
      return;
    }
    const uint64_t sum = loops.exp_sum_s8(x, m, l, n);  // >= e(0) >= 2^22: the max element
    const auto [r, t] = reciprocal(p, sum);
    if (t >= ref::kOutShiftZero) {  // every e16 * r < 2^31 rounds to 0
      for (size_t i = 0; i < n; ++i) out[i] = 0;
      return;
    }
    loops.normalize_s8(x, m, l, r, t, maxv, out, n);
  } else {
    uint32_t* e = scratch<uint32_t>(n);
    const int32_t m = loops.max_s32(x, n);
    intops_detail::ExpParams ep;
    ep.u_cap = dp.u_cap;
    ep.log2e = dp.log2e;
    ep.shift = dp.exp_shift;
    ep.scale = dp.exp_scale;
    ep.pre_shift = ref::softmax_exp_pre_shift(dp);
    ep.mant = p.mant;
    const uint64_t sum = loops.exp_s32(x, m, ep, e, n);  // >= e(0) >= 2^22
    const auto [r, t] = reciprocal(p, sum);
    if (t >= ref::kOutShiftZero) {  // every ((e_i + 2^7) >> 8) * r < 2^31 rounds to 0
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

// The per-row steps (sums aside) are the reference's stages; the per-element
// output loop is the reference's layernorm_out in 32-bit lanes (ln_out32, the
// z clamp skipped where it provably cannot act) or its int64 form (ln_out).

LayerNormPlan prepare_layernorm(const TableSet& rsqrt_set, int in_frac, int out_frac, int gamma_frac, double eps) {
  auto layout = std::make_shared<LayerNormLayout>();
  layout->ref = ref::make_layernorm_ref(rsqrt_set, in_frac, out_frac, gamma_frac, eps);
  layout->rsqrt = detail::make_pwl_layout(layout->ref.rsqrt, 8);
  return PlanAccess::wrap(std::shared_ptr<const LayerNormLayout>(std::move(layout)));
}

void layernorm_row(const LayerNormPlan& plan, const int8_t* x, const int8_t* gamma, const int32_t* beta, int8_t* out,
                   size_t n, Isa isa) {
  const LayerNormLayout& l = PlanAccess::layout(plan);  // once per row
  if (n == 0) return;
  const RowLoops& loops = loops_for(isa);
  int64_t sx = 0, sxx = 0;
  loops.ln_sums(x, n, &sx, &sxx);
  const ref::LayerNormRowStage st = ref::layernorm_row_stage(l.ref, sx, sxx, static_cast<int64_t>(n));
  if (!st.wide) {
    loops.ln_out32(x, gamma, beta, out, n, st.a, st.b, st.s, st.t);
    return;
  }
  // Out-of-range shift (only for extreme out_frac / gamma_frac with near-constant
  // rows): the exact int64 datapath, the same code on every ISA.
  loops_for(Isa::scalar).ln_out(x, gamma, beta, out, n, st.n, st.sx, st.R, st.t64);
}

void layernorm_row(const LayerNormPlan& plan, const int16_t* x, const int8_t* gamma, const int32_t* beta,
                   int16_t* out, size_t n) {
  ref::layernorm_row_ref16(PlanAccess::layout(plan).ref, x, gamma, beta, out, n);
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
