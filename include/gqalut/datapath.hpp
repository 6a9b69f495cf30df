// gqalut: the scalar, element-at-a-time reference of the integer softmax and
// LayerNorm datapaths (SPEC section 7, docs/intops.md "The reference layer").
// It is to these operations what eval_acc is to a table: the oracle. Every
// stage is a function that hardware mirrors one to one (the RTL testbenches
// draw their expected values from them); the whole-row functions are the
// stages chained. The plans (prepare_softmax / prepare_layernorm,
// include/gqalut/intops.hpp) take every constant from make_softmax_ref /
// make_layernorm_ref and the fixed widths (gqalut/datapath_widths.hpp), and the SIMD row functions on
// every ISA, the LibTorch mirror and the Python modules are tested equal to
// this reference bit for bit. Nothing here is vectorized or fast: it is the
// definition.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gqalut/datapath_widths.hpp"
#include "gqalut/table.hpp"

namespace gqalut {

// ---- the datapaths' constants (what SoftmaxPlan / LayerNormPlan::datapath() return)

// Softmax: p_i = exp(x_i - max) / sum_j exp(x_j - max) over one row of logits
// x = q * 2^-in_frac (int8 or int32 codes). Datapath (ref:: stages below):
//   u_i = min(max - q_i, u_cap)                                      (uint32)
//   t_i = round(u_i * C * 2^-(in_frac + 30 - s_e)), C = round(log2(e) * 2^30)   (u log2 e at 2^-s_e)
//   k_i = (t_i + 2^(s_e-1) - 1) >> s_e;  c_i = k_i * 2^s_e - t_i in [-2^(s_e-1), 2^(s_e-1))
//   e_i = round((2^L_e + EXP2M1_acc(c_i)) * 2^(g - k_i))     (~ 2^23 e^-u, < 2^24)
//   S = sum e_i;  x = floor(log2 S), d = round(S 2^(a - x)) in [2^a, 2^(a+1)), X = S 2^(a - x - s_d) (Q28)
//   Y = DIV_acc(d) (Q28), Newton steps Y <- Y (2 - X Y);  R = round(Y 2^-(13 + s_d - a)) ~ 2^15
//   out_i = min(round(((e_i + 2^7) >> 8) * R * 2^-T), max_code),  T = x + 7 - out_frac
struct SoftmaxDatapath {
  int in_frac = 0;        // logits scale 2^-in_frac
  int out_frac = 8;       // probability scale 2^-out_frac
  // EXP2M1 stage: a table of 2^x - 1 on [-1/2, 1/2) (function "exp2m1")
  int exp_scale = 8;      // s_e: the table's input scale (codes c in [-2^(s_e-1), 2^(s_e-1)))
  int exp_table_shift = 0;  // L_e: the table's accumulator scale 2^-L_e
  double exp_max_rel_error = 0;  // max |(1 + table(c)) / 2^(c 2^-s_e) - 1| over the codes
  uint32_t log2e = 0;     // C = round(log2(e) * 2^30)
  int exp_shift = 0;      // in_frac + 30 - s_e
  int exp_gain = 0;       // g: e = mantissa * 2^(g - k)
  uint32_t u_cap = 0;     // u = max - q is clamped here; e(u) = 0 for every u >= u_cap
  // DIV stage
  int div_scale = 0;      // s_d
  int div_a = 0;          // mantissa codes d in [2^a, 2^(a+1))
  int div_table_shift = 0;  // L_d: the DIV table's accumulator scale 2^-L_d
  double div_max_rel_error = 0;    // |1 - X * DIV(d)| over every X that rounds to a used code d
  int newton_steps = 0;            // integer Newton steps after the table
  double recip_max_rel_error = 0;  // bound on |1 - X Y| after them (plus fixed-point truncation)
  uint32_t r_max = 0;              // R <= r_max = 2^15 / (1 - 2^-(a+1)) (+1)
  uint32_t max_product = 0;        // max ((e_i + 2^7) >> 8) * R (proved < 2^31 at plan time)
};

// LayerNorm: y_i = gamma_i * (x_i - mean) / sqrt(var + eps) + beta_i over one
// row of x = q * 2^-in_frac (int8); gamma int8 at 2^-gamma_frac, beta int32 at
// the output scale 2^-out_frac, output int8 at 2^-out_frac. Datapath:
//   Sx = sum q, Sxx = sum q^2, V = n*Sxx - Sx^2 + round(eps n^2 4^in_frac)   (= n^2 (var + eps) in codes^2)
//   E = floor(log2 V) - a (minus 1 if E + s_r is odd); r = round(V 2^-E) in [2^a, 2^(a+2)); X = V 2^-(E + s_r) (Q28)
//   Y = RSQRT_acc(r) (Q28), Newton steps Y <- Y (3 - X Y^2) / 2;  R = round(Y 2^-8) (Q20)
//   the 32-bit output stage (ref::layernorm_row_stage / layernorm_out, docs/intops.md)
struct LayerNormDatapath {
  int in_frac = 0, out_frac = 4, gamma_frac = 6;
  double eps = 1e-5;
  int rsqrt_scale = 0;    // s_r
  int rsqrt_a = 0;        // mantissa codes r in [2^a, 2^(a+2))
  int rsqrt_table_shift = 0;  // L_r: the RSQRT table's accumulator scale 2^-L_r
  double rsqrt_max_rel_error = 0;  // |1 - sqrt(X) RSQRT(r)| over every X that rounds to a used code r
  int newton_steps = 0;            // integer Newton steps after the table
  double rsqrt_newton_max_rel_error = 0;  // bound on |1 - sqrt(X) Y| after them
};

namespace ref {

// The fixed widths (kLog2eBits, kExpZeroShift, kNewtonFrac, kRsqrtBits, ...):
// gqalut/datapath_widths.hpp, included above.

// ---- softmax ------------------------------------------------------------------

// The reference of one softmax configuration: its constants and the two tables
// at the scales the datapath uses.
struct SoftmaxRef {
  SoftmaxDatapath dp;
  Table exp2m1;  // the EXP2M1 table (2^x - 1) at scale dp.exp_scale
  Table div;     // the DIV table (1/x) at scale dp.div_scale
};

// Derives every constant (the scales, octave, gain g, u_cap, Newton steps and
// the proofs of docs/intops.md) from the table sets. The plan of
// prepare_softmax is built from this. Throws std::invalid_argument naming the
// rule: fracs out of range, no usable EXP2M1 scale, a table that is not
// 2^x - 1, no DIV octave, a DIV seed too far off, a product over 31 bits.
SoftmaxRef make_softmax_ref(const TableSet& exp2m1_set, const TableSet& div_set, int in_frac, int out_frac = 8);

// Stage 1, EXP range reduction: u (= max - q) capped at u_cap, t = round(u C 2^-exp_shift),
// k = (t + 2^(s_e-1) - 1) >> s_e, c = k 2^s_e - t in [-2^(s_e-1), 2^(s_e-1)).
struct ExpSplit {
  uint32_t u = 0;  // the capped input
  uint32_t t = 0;  // u log2(e) at 2^-s_e (< 2^(s_e + 6))
  uint32_t k = 0;  // the integer part: a right shift
  int32_t c = 0;   // the EXP2M1 code
};
ExpSplit softmax_exp_split(const SoftmaxDatapath& dp, uint32_t u);
// Stage 2, the table: EXP2M1_acc(c) = eval_acc(exp2m1, c) (value acc 2^-L_e).
int64_t softmax_exp_acc(const SoftmaxRef& r, int32_t c);
// The mantissa M(c) = (2^L_e + EXP2M1_acc(c)) * 2^max(g, 0) (< 2^25).
uint32_t softmax_exp_mantissa(const SoftmaxRef& r, int32_t c);
// Stage 3, the shift: e = round(M 2^-sh), sh = min(k + max(-g, 0), 26) (rounding half up).
uint32_t softmax_exp_shift(const SoftmaxDatapath& dp, uint32_t mantissa, uint32_t k);
// max(-g, 0): the shift every e takes on top of k (a negative gain).
int softmax_exp_pre_shift(const SoftmaxDatapath& dp);
// Stages 1-3 chained: e(u) (~ 2^23 e^-u at u 2^-in_frac, < 2^24; 0 for u >= u_cap).
uint32_t softmax_exp(const SoftmaxRef& r, uint32_t u);
// e16 = (e + 2^7) >> 8.
uint32_t softmax_e16(uint32_t e);

// Stage 4, sum range reduction (S >= 1): x = floor(log2 S), d = round(S 2^(a - x))
// (a carry to 2^(a+1) halves d and adds 1 to x), X = S 2^(a - x - s_d) in Q28 (truncated).
struct SumSplit {
  int x = 0;       // the exponent
  uint32_t d = 0;  // the DIV code in [2^a, 2^(a+1))
  uint64_t X = 0;  // the reduced sum, Q28 (< 2^33)
};
SumSplit softmax_sum_split(const SoftmaxDatapath& dp, uint64_t S);
// Stage 5, the DIV table: DIV_acc(d) = eval_acc(div, d) (value acc 2^-L_d); its seed Y0 =
// round(acc 2^-(L_d - 28)) in Q28.
int64_t softmax_div_acc(const SoftmaxRef& r, uint32_t d);
uint64_t softmax_div_seed(const SoftmaxRef& r, uint32_t d);
// Stage 6, one Newton step in Q28: Y (2 - X Y): xy = (X Y) >> 28, Y' = (Y (2^29 - xy)) >> 28.
uint64_t softmax_newton_step(uint64_t X, uint64_t Y);
// R = round(Y 2^-(13 + s_d - a)) clamped to [1, r_max] (the clamp is never active: proved).
uint32_t softmax_recip(const SoftmaxDatapath& dp, uint64_t Y);
// T = x + 7 - out_frac.
int softmax_out_shift(const SoftmaxDatapath& dp, int x);
// Stages 4-6 chained for one row's sum.
struct SoftmaxRecip {
  SumSplit split;
  uint64_t y0 = 0;  // the table's seed (Q28)
  uint64_t y = 0;   // after the Newton steps (Q28)
  uint32_t R = 0;
  int T = 0;
};
SoftmaxRecip softmax_reciprocal(const SoftmaxRef& r, uint64_t S);
// Stage 7, one output: min(round(e16(e) R 2^-T), max_code) (0 when T >= 32).
// max_code: 255 for uint8 output, 127 for int8.
uint32_t softmax_out(uint32_t e, uint32_t R, int T, uint32_t max_code);

// Whole rows (n >= 1; n = 0 writes nothing): max, then the stages above.
void softmax_row_ref(const SoftmaxRef& r, const int8_t* logits, uint8_t* out, size_t n);
void softmax_row_ref(const SoftmaxRef& r, const int32_t* logits, uint8_t* out, size_t n);
void softmax_row_ref(const SoftmaxRef& r, const int8_t* logits, int8_t* out, size_t n);

// ---- LayerNorm ------------------------------------------------------------------

struct LayerNormRef {
  LayerNormDatapath dp;
  Table rsqrt;  // the RSQRT table (1/sqrt x) at scale dp.rsqrt_scale
};

// Derives the constants (RSQRT scale and octave, Newton steps) like
// make_softmax_ref; prepare_layernorm is built from it. Throws on fracs outside
// [0, 15], eps < 0 or not finite, no usable scale/octave, a seed >= 0.4 off.
LayerNormRef make_layernorm_ref(const TableSet& rsqrt_set, int in_frac, int out_frac = 4, int gamma_frac = 6,
                                double eps = 1e-5);

// Stage 1, the sums: Sx = sum q, Sxx = sum q^2.
struct LayerNormSums {
  int64_t sx = 0, sxx = 0;
};
LayerNormSums layernorm_sums(const int8_t* x, size_t n);
LayerNormSums layernorm_sums(const int16_t* x, size_t n);  // the 16-bit row (layernorm_row_ref16)
// eps in codes^2 times n^2: round(eps n^2 4^in_frac).
int64_t layernorm_eps_codes(const LayerNormDatapath& dp, int64_t n);
// Stage 2: V = n Sxx - Sx^2 + eps_codes (= n^2 (var + eps) in codes^2).
int64_t layernorm_variance(const LayerNormDatapath& dp, int64_t sx, int64_t sxx, int64_t n);
// Stage 3, range reduction of V > 0: E = floor(log2 V) - a, minus 1 if E + s_r is odd;
// r = round(V 2^-E) in [2^a, 2^(a+2)] (r = 2^(a+2): r /= 4, E += 2); X = V 2^-(E + s_r) in Q28.
struct VarSplit {
  int E = 0;       // even with s_r: E + s_r is even
  uint32_t r = 0;  // the RSQRT code
  uint64_t X = 0;  // the reduced variance, Q28 (< 2^33)
};
VarSplit layernorm_var_split(const LayerNormDatapath& dp, int64_t V);
// Stage 4, the RSQRT table: RSQRT_acc(r) = eval_acc(rsqrt, r); its seed in Q28.
int64_t layernorm_rsqrt_acc(const LayerNormRef& r, uint32_t code);
uint64_t layernorm_rsqrt_seed(const LayerNormRef& r, uint32_t code);
// Stage 5, one Newton step in Q28: y2 = (Y Y) >> 28, xy2 = (X y2) >> 28, Y' = (Y (3 2^28 - xy2)) >> 29.
uint64_t layernorm_newton_step(uint64_t X, uint64_t Y);
// R = round(Y 2^-(28 - 20)): 1/sqrt(X) at 2^-20.
int32_t layernorm_rsqrt_round(uint64_t Y);
// Stages 3-5 chained for one row's V > 0.
struct LayerNormRsqrt {
  VarSplit split;
  uint64_t y0 = 0, y = 0;  // seed and after Newton (Q28)
  int32_t R = 0;           // Q20
};
LayerNormRsqrt layernorm_rsqrt(const LayerNormRef& r, int64_t V);
// Stage 6, the per-row constants of the output stage (from Sx, n, V and R, E):
// 32-bit form (wide = false): P = max(0, bitlen|n R| - 22), a = round(n R 2^-P),
// b = round(Sx R 2^-P), k = 20 + (E + s_r)/2, F = 14, s = k - F - P (s < 1: F -= 1 - s,
// s = 1; s > 30: P += s - 30, s = 30), t = F + gamma_frac - out_frac; if t is outside
// [1, 29] the exact int64 form (wide = true) with t64 = min(gamma_frac + k - out_frac, 62).
// V <= 0 (a constant row, eps = 0): a = b = 0, s = t = 1, so every output is sat8(beta).
struct LayerNormRowStage {
  bool wide = false;
  int32_t a = 0, b = 0;  // 32-bit form
  int s = 1, t = 1;
  int64_t n = 0, sx = 0;  // the int64 form: D_i = n q_i - Sx
  int32_t R = 0;
  int t64 = 0;
};
// wide: always the int64 form (the 16-bit row's only form).
LayerNormRowStage layernorm_row_stage(const LayerNormRef& r, int64_t sx, int64_t sxx, int64_t n, bool wide = false);
// Stage 7, one output. 32-bit form: z = clamp((q a - b + 2^(s-1)) >> s, -2^23, 2^23),
// w = (z gamma + 2^(t-1) - (z gamma < 0)) >> t, y = sat8(w + clamp(beta, +-(3 2^29 - 1))).
// int64 form: sat8(round_half_away((n q - Sx) gamma R 2^-t64) + beta) (t64 <= 0: a left shift).
int8_t layernorm_out(const LayerNormRowStage& st, int8_t q, int8_t gamma, int32_t beta);

// Whole row (n = 0 writes nothing).
void layernorm_row_ref(const LayerNormRef& r, const int8_t* x, const int8_t* gamma, const int32_t* beta,
                       int8_t* out, size_t n);

// The 16-bit row: int16 x codes at 2^-in_frac, int8 gamma, int32 beta, int16 output codes at
// 2^-out_frac. The same stages (sums, variance, RSQRT seed + Newton) with the int64 output form
// sat16(round_half_away((n q - Sx) gamma R 2^-t64) + beta) for every row. Rows up to
// kLnRow16MaxN elements (|D gamma R| < 2^62); longer rows throw std::invalid_argument.
inline constexpr size_t kLnRow16MaxN = size_t{1} << 16;
int16_t layernorm_out16(const LayerNormRowStage& st, int16_t q, int8_t gamma, int32_t beta);
void layernorm_row_ref16(const LayerNormRef& r, const int16_t* x, const int8_t* gamma, const int32_t* beta,
                         int16_t* out, size_t n);

}  // namespace ref
}  // namespace gqalut
