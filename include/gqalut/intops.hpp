// gqalut: integer-only Transformer operations built on piecewise-linear
// tables (the paper's EXP, DIV, RSQRT, GELU/HSWISH/SiLU units), see
// docs/intops.md for each datapath and its measured error. Tables come from
// any algorithm (official GQA-LUT files, gqalut's searches). Plans validate
// and may throw; the row functions never throw once a plan is built (except
// for an unsupported forced ISA, or an empty, default-constructed plan).
// Every ISA gives bit-identical results. Plans are opaque values: the
// datapath constants are public (datapath()), the lookups and table layouts
// are internal (src/kernels/plan_layout.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "gqalut/datapath.hpp"
#include "gqalut/kernels.hpp"
#include "gqalut/table.hpp"

namespace gqalut {

namespace detail {
struct SoftmaxLayout;
struct LayerNormLayout;
struct ActivationLayout;
}  // namespace detail

// ---- softmax ----------------------------------------------------------------
// p_i = exp(x_i - max) / sum_j exp(x_j - max) over one row of logits
// x = q * 2^-in_frac (int8 or int32 codes). Datapath (all integer, docs/intops.md):
//   u_i = max - q_i (uint32), clamped to u_cap        (beyond it e_i = 0)
//   t_i = round(u_i * C * 2^-(in_frac + 30 - s_e)),  C = round(log2(e) * 2^30)   (u log2 e at 2^-s_e)
//   k_i = (t_i + 2^(s_e-1) - 1) >> s_e;  c_i = k_i * 2^s_e - t_i in [-2^(s_e-1), 2^(s_e-1))
//   e_i = round((2^L_e + EXP2M1_acc(c_i)) * 2^(g - k_i))   (~ 2^23 * 2^(-u log2 e) = 2^23 e^-u, < 2^24)
//   S = sum e_i;  S = X * 2^(x + s_d - a), X in [2^(a - s_d), 2^(a + 1 - s_d))  (clz range reduction)
//   Y = 1/X: DIV table on the code d = round(X * 2^s_d), then integer Newton steps Y <- Y (2 - X Y)
//   R = round(Y * 2^(15 + a - s_d)) ~ 2^15 (within 2^-(a+1))   (= 2^15 / (S 2^-x): 2^15 / S with the exponent split off)
//   out_i = min(round(((e_i + 2^7) >> 8) * R * 2^-T), max_code),  T = x + 7 - out_frac   (product < 2^31)
// For int8 logits u_i is in [0, 255] and the whole EXP stage is one 256-entry
// lookup (built from the same integer steps); int32 logits look up the
// table's 2^s_e mantissas and shift. Those lookups and the tables' kernel
// plans are internal (src/kernels/plan_layout.h); the constants below are
// the datapath's public facts.
// SoftmaxDatapath: include/gqalut/datapath.hpp (the reference layer derives it).

// An opaque, immutable, cheap-to-copy plan (a shared handle); a default-
// constructed one is empty and the row functions throw std::invalid_argument on it.
class SoftmaxPlan {
 public:
  SoftmaxPlan() = default;
  bool valid() const noexcept { return layout_ != nullptr; }
  const SoftmaxDatapath& datapath() const;
  // The scalar reference this plan was built from (its tables and constants):
  // the oracle of softmax_row, and what RTL testbenches draw from.
  const ref::SoftmaxRef& reference() const;

 private:
  friend struct detail::PlanAccess;
  std::shared_ptr<const detail::SoftmaxLayout> layout_;
};

// exp2m1_set: a table set of 2^x - 1 on a range containing [-1/2, 1/2) (fit one
// with `gqalut fit --func exp2m1 --scales 8 --format auto`, scale 8; the old e^x tables on [-8, 0]
// are refused with a message saying so); div_set: a reciprocal set (range e.g.
// [0.5, 4]). Picks the finest EXP2M1 scale s_e <= 8 the set has, and the DIV
// scale/octave with the smallest relative error; adds Newton steps until the
// reciprocal is within 2^-17. out_frac in [1, 15]. Throws std::invalid_argument
// naming the rule.
SoftmaxPlan prepare_softmax(const TableSet& exp2m1_set, const TableSet& div_set, int in_frac, int out_frac = 8);

// One row; out codes are unsigned, saturated to [0, 2^8 - 1] (uint8) or
// [0, 127] (int8). n >= 1.
void softmax_row(const SoftmaxPlan& plan, const int8_t* logits, uint8_t* out, size_t n, Isa isa = Isa::automatic);
void softmax_row(const SoftmaxPlan& plan, const int32_t* logits, uint8_t* out, size_t n, Isa isa = Isa::automatic);
void softmax_row(const SoftmaxPlan& plan, const int8_t* logits, int8_t* out, size_t n, Isa isa = Isa::automatic);

// The EXP stage alone: e(u) of the datapath above for u = max - q (any uint32).
uint32_t softmax_exp(const SoftmaxPlan& plan, uint32_t u);

// ---- LayerNorm --------------------------------------------------------------
// y_i = gamma_i * (x_i - mean) / sqrt(var + eps) + beta_i over one row of
// x = q * 2^-in_frac (int8). gamma: int8 codes at 2^-gamma_frac; beta: int32
// codes at the output scale 2^-out_frac; output int8 at 2^-out_frac. Datapath:
//   Sx = sum q, Sxx = sum q^2 (int64), V = n*Sxx - Sx^2 + eps_v  (= n^2 var in codes^2)
//   V ~= r * 2^E with r in [2^a, 2^(a+2)), E + s_r even           (clz range reduction)
//   Y = 1/sqrt(X), X = V * 2^-(E + s_r) exactly: the RSQRT table on the code r,
//       then integer Newton steps Y <- Y (3 - X Y^2) / 2 (Q28)
//   D_i = n*q_i - Sx;  out_i = sat8(round(D_i * gamma_i * Y * 2^-T) + beta_i),
//   T = gamma_frac + 28 + (E + s_r)/2 - out_frac   (evaluated in 32-bit steps, docs/intops.md)
// LayerNormDatapath: include/gqalut/datapath.hpp.

// Opaque like SoftmaxPlan (the RSQRT table's kernel plan is internal).
class LayerNormPlan {
 public:
  LayerNormPlan() = default;
  bool valid() const noexcept { return layout_ != nullptr; }
  const LayerNormDatapath& datapath() const;
  const ref::LayerNormRef& reference() const;  // the scalar reference (as SoftmaxPlan's)

 private:
  friend struct detail::PlanAccess;
  std::shared_ptr<const detail::LayerNormLayout> layout_;
};

// rsqrt_set: an RSQRT table set (range e.g. [0.25, 4]). Adds Newton steps until
// the reciprocal square root is within 2^-17. Throws on bad arguments (fracs
// outside [0, 15], eps < 0, no usable scale/octave, a table too far off 1/sqrt x
// for Newton to converge).
LayerNormPlan prepare_layernorm(const TableSet& rsqrt_set, int in_frac, int out_frac = 4, int gamma_frac = 6,
                                double eps = 1e-5);

void layernorm_row(const LayerNormPlan& plan, const int8_t* x, const int8_t* gamma, const int32_t* beta, int8_t* out,
                   size_t n, Isa isa = Isa::automatic);

// The 16-bit LayerNorm: int16 x at 2^-in_frac, int8 gamma, int32 beta, int16 out at
// 2^-out_frac (saturated); the plan's stages with the exact int64 output form on every row
// (ref::layernorm_row_ref16; scalar on every ISA). Rows up to 65,536 elements, else throws.
void layernorm_row(const LayerNormPlan& plan, const int16_t* x, const int8_t* gamma, const int32_t* beta,
                   int16_t* out, size_t n);

// ---- element-wise activations (GELU, HSWISH, SiLU, ...) ---------------------
// int8 in (2^-in_frac) -> table at scale in_frac -> int8 out (2^-out_frac),
// rounded half away from zero and saturated; in place allowed. The int8 input
// has 256 codes, so the plan evaluates the table's integer datapath once per
// code (the requantized s8_pwl_s8 result) into a 256-entry lookup: the same
// bits as the table kernel by construction (tested exhaustively). activation()
// runs the fastest of the two for the ISA: the lookup s8_lut256_s8 on AVX-512
// (vpermi2b) and scalar, the table kernel s8_pwl_s8 on AVX2 (which has no
// 256-entry byte permute; docs/intops.md has the timings).
class ActivationPlan {
 public:
  ActivationPlan() = default;
  bool valid() const noexcept { return layout_ != nullptr; }
  int in_frac() const;
  int out_frac() const;
  // The table kernel's plan (hardware mirror) and the lookup (lut s8 at q =
  // the requantized table at q); both share this plan's memory.
  RequantPlan requant() const;
  Lut256Plan lut() const;

 private:
  friend struct detail::PlanAccess;
  std::shared_ptr<const detail::ActivationLayout> layout_;
};
ActivationPlan prepare_activation(const TableSet& set, int in_frac, int out_frac);
void activation(const ActivationPlan& plan, const int8_t* in, int8_t* out, size_t n, Isa isa = Isa::automatic);
// The table kernel (s8_pwl_s8) on the same plan: the hardware mirror of activation().
void activation_pwl(const ActivationPlan& plan, const int8_t* in, int8_t* out, size_t n, Isa isa = Isa::automatic);

}  // namespace gqalut
