// gqalut private: the row loops of the integer operators, compiled once per
// ISA (intops_<isa>.cpp includes intops_impl.inc inside its own namespace).
#pragma once

#include <cstddef>
#include <cstdint>

#include "gqalut/datapath_widths.hpp"  // the fixed widths (constants only)

namespace gqalut {
namespace intops_detail {

// The softmax EXP stage for int32 logits (SoftmaxPlan, docs/intops.md):
//   u = min(max - q, u_cap); t = (u * log2e + 2^(shift-1)) >> shift   (uint64)
//   k = (t + 2^(scale-1) - 1) >> scale; idx = k * 2^scale - t + 2^(scale-1) in [0, 2^scale)
//   e = (mant[idx] + 2^(sh-1)) >> sh, sh = min(k + pre_shift, 26)      (mant < 2^25, e < 2^24)
struct ExpParams {
  uint32_t u_cap;
  uint32_t log2e;
  int shift;
  int scale;
  int pre_shift;
  const uint32_t* mant;
};

// The int8-logit lookups of a SoftmaxPlan: e (< 2^24), e16 = (e + 2^7) >> 8,
// and their byte planes (bytes[0..2]: e, bytes[3..4]: e16), 256 entries each.
struct S8Luts {
  const uint32_t* e;
  const uint32_t* e16;
  const uint8_t (*bytes)[256];
};

struct RowLoops {
  int32_t (*max_s8)(const int8_t* x, size_t n);
  int32_t (*max_s32)(const int32_t* x, size_t n);
  // int8 logits: returns sum_i e_s8[max - x_i] (max >= x_i: the index is in [0, 255]).
  uint64_t (*exp_sum_s8)(const int8_t* x, int32_t max, const S8Luts& l, size_t n);
  // int8 logits: out_i = min((e16_s8[max - x_i] * r + 2^(t-1)) >> t, maxv), 0 < t < 32.
  void (*normalize_s8)(const int8_t* x, int32_t max, const S8Luts& l, uint32_t r, int t, uint32_t maxv,
                       uint8_t* out, size_t n);
  // int8 logits, the variant for ISAs without a fast 256-entry lookup (AVX2): pass 1 also
  // stores e16_i = e16_s8[max - x_i], pass 2 multiplies the stored values (a vector loop).
  uint64_t (*exp_sum_store_s8)(const int8_t* x, int32_t max, const S8Luts& l, uint16_t* e16, size_t n);
  void (*normalize_e16)(const uint16_t* e16, uint32_t r, int t, uint32_t maxv, uint8_t* out, size_t n);
  // e_i = the EXP stage of ExpParams at u = max - x_i; returns sum e_i.
  uint64_t (*exp_s32)(const int32_t* x, int32_t max, const ExpParams& p, uint32_t* e, size_t n);
  // out_i = min(round(((e_i + 2^7) >> 8) * r * 2^-t), maxv) with 0 < t < 32, e_i < 2^24, r <= 2^15.
  void (*normalize)(const uint32_t* e, uint32_t r, int t, uint32_t maxv, uint8_t* out, size_t n);
  void (*ln_sums)(const int8_t* x, size_t n, int64_t* sx, int64_t* sxx);
  // out_i = sat8(round_half_away(d_i * gamma_i * r * 2^-t) + beta_i), d_i = nn*x_i - sx; t may be <= 0.
  void (*ln_out)(const int8_t* x, const int8_t* gamma, const int32_t* beta, int8_t* out, size_t n, int64_t nn,
                 int64_t sx, int64_t r, int t);
  // The 32-bit output datapath (layernorm_row proves no step overflows int32):
  //   z_i = (x_i * a - b + 2^(s-1)) >> s                      (normalised value at 2^-F)
  //   z_i = clamp(z_i, -2^23, 2^23)
  //   w_i = (z_i * gamma_i + 2^(t-1) - (z_i * gamma_i < 0)) >> t   (round half away; 1 <= t <= 29)
  //   out_i = sat8(w_i + clamp(beta_i, -(3*2^29 - 1), 3*2^29 - 1))
  // with |a| <= 2^22, |b| <= 2^29 + 1, 1 <= s <= 30.
  void (*ln_out32)(const int8_t* x, const int8_t* gamma, const int32_t* beta, int8_t* out, size_t n, int32_t a,
                   int32_t b, int s, int t);
};

const RowLoops& row_loops_scalar();
const RowLoops& row_loops_avx2();
const RowLoops& row_loops_avx512();

}  // namespace intops_detail
}  // namespace gqalut
