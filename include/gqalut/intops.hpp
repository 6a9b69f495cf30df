// gqalut: integer-only Transformer operations built on piecewise-linear
// tables (the paper's EXP, DIV, RSQRT, GELU/HSWISH/SiLU units), see
// docs/intops.md for each datapath and its measured error. Tables come from
// any algorithm (official GQA-LUT files, gqalut's searches). Plans validate
// and may throw; the row functions never throw once a plan is built (except
// for an unsupported forced ISA). Every ISA gives bit-identical results.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gqalut/kernels.hpp"
#include "gqalut/table.hpp"

namespace gqalut {

// ---- softmax ----------------------------------------------------------------
// p_i = exp(x_i - max) / sum_j exp(x_j - max) over one row of logits
// x = q * 2^-in_frac (int8 or int32 codes). Datapath (all integer):
//   u_i = max - q_i; c_i = min(round(u_i * 2^(s_e - in_frac)), -exp_lo)   -> EXP code -c_i
//   e_i = max(EXP_acc(-c_i), 0)                      (scale 2^-L_e, via the table kernel)
//   S = sum e_i;  S ~= d * 2^(e - a), d in [2^a, 2^(a+1))   (clz range reduction)
//   R = DIV_acc(d)                                   (1/(d*2^-s_d) at scale 2^-L_d)
//   out_i = min(round(e_i * R * 2^-T), max_code),  T = e + s_d + L_d - a - out_frac
struct SoftmaxPlan {
  int in_frac = 0;        // logits scale 2^-in_frac
  int out_frac = 8;       // probability scale 2^-out_frac
  // EXP stage
  int exp_scale = 0;      // s_e: the EXP table's input scale
  int exp_limit = 128;    // -(lowest EXP code used), <= 128 (clamp of x - max)
  int exp_rshift = 0;     // in_frac - s_e: > 0 rounding right shift, <= 0 left shift
  PwlPlan exp;
  // DIV stage
  int div_scale = 0;      // s_d
  int div_a = 0;          // mantissa codes d in [2^a, 2^(a+1))
  PwlPlan div;
  double div_max_rel_error = 0;  // |DIV(d)*d*2^-s_d - 1|, max over the used codes
  uint32_t max_product = 0;      // max e_i * R (proved < 2^31 at plan time)
};

// exp_set: an EXP table set (range e.g. [-8, 0]); div_set: a reciprocal set
// (range e.g. [0.5, 4]). Picks the EXP scale s_e = the largest scale the set has
// with lo * 2^s_e >= -128, and the DIV scale/octave with the smallest relative
// error. out_frac in [1, 15]. Throws std::invalid_argument naming the rule.
SoftmaxPlan prepare_softmax(const TableSet& exp_set, const TableSet& div_set, int in_frac, int out_frac = 8);

// One row; out codes are unsigned, saturated to [0, 2^8 - 1] (uint8) or
// [0, 127] (int8). n >= 1.
void softmax_row(const SoftmaxPlan& plan, const int8_t* logits, uint8_t* out, size_t n, Isa isa = Isa::automatic);
void softmax_row(const SoftmaxPlan& plan, const int32_t* logits, uint8_t* out, size_t n, Isa isa = Isa::automatic);
void softmax_row(const SoftmaxPlan& plan, const int8_t* logits, int8_t* out, size_t n, Isa isa = Isa::automatic);

// ---- LayerNorm --------------------------------------------------------------
// y_i = gamma_i * (x_i - mean) / sqrt(var + eps) + beta_i over one row of
// x = q * 2^-in_frac (int8). gamma: int8 codes at 2^-gamma_frac; beta: int32
// codes at the output scale 2^-out_frac; output int8 at 2^-out_frac. Datapath:
//   Sx = sum q, Sxx = sum q^2 (int64), V = n*Sxx - Sx^2 + eps_v  (= n^2 var in codes^2)
//   V ~= r * 2^E with r in [2^a, 2^(a+2)), E + s_r even           (clz range reduction)
//   R = RSQRT_acc(r)   (1/sqrt(r*2^-s_r) at scale 2^-L_r)
//   D_i = n*q_i - Sx;  out_i = sat8(round(D_i * gamma_i * R * 2^-T) + beta_i),
//   T = gamma_frac + L_r + (E + s_r)/2 - out_frac
struct LayerNormPlan {
  int in_frac = 0, out_frac = 4, gamma_frac = 6;
  double eps = 1e-5;
  int rsqrt_scale = 0;    // s_r
  int rsqrt_a = 0;        // mantissa codes r in [2^a, 2^(a+2))
  PwlPlan rsqrt;
  double rsqrt_max_rel_error = 0;
};

// rsqrt_set: an RSQRT table set (range e.g. [0.25, 4]). Throws on bad
// arguments (fracs outside [0, 15], eps < 0, no usable scale/octave).
LayerNormPlan prepare_layernorm(const TableSet& rsqrt_set, int in_frac, int out_frac = 4, int gamma_frac = 6,
                                double eps = 1e-5);

void layernorm_row(const LayerNormPlan& plan, const int8_t* x, const int8_t* gamma, const int32_t* beta, int8_t* out,
                   size_t n, Isa isa = Isa::automatic);

// ---- element-wise activations (GELU, HSWISH, SiLU, ...) ---------------------
// int8 in (2^-in_frac) -> table at scale in_frac -> int8 out (2^-out_frac),
// rounded half away from zero and saturated; in place allowed.
struct ActivationPlan {
  RequantPlan requant;
};
ActivationPlan prepare_activation(const TableSet& set, int in_frac, int out_frac);
void activation(const ActivationPlan& plan, const int8_t* in, int8_t* out, size_t n, Isa isa = Isa::automatic);

}  // namespace gqalut
