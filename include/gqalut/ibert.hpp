// gqalut: I-BERT's integer-only non-linear operations (Kim, Gholami, Yao,
// Mahoney, Keutzer, "I-BERT: Integer-only BERT Quantization", ICML 2021,
// section 3), written from the paper's description as a baseline beside the
// table methods (docs/intops.md "I-BERT"). Scalar, element-at-a-time stage
// functions on integer codes, like the datapath reference (datapath.hpp): the
// I-BERT-style RTL unit's testbenches draw their expected values from them.
//
// The paper's building block is i-poly: a (x + b)^2 + c on x = q S computed
// as q_out = (q + floor(b / S))^2 + floor(c / (a S^2)) at scale S_out = a S^2.
//   i-exp (x <= 0): x = -z ln2 + p, p in (-ln2, 0]; exp(p) ~ 0.3585 (p + 1.353)^2 + 0.344;
//                   q_ln2 = floor(ln2 / S), z = floor(-q / q_ln2), q_p = q + z q_ln2, e = i-poly(q_p) >> z.
//   i-erf:          erf(x) ~ sgn(x) [-0.2888 (min(|x|, 1.769) - 1.769)^2 + 1] at S / sqrt(2);
//   i-GELU:         q_out = q (q_erf + floor(1 / S_erf)), S_out = S S_erf / 2, then requantized.
//   softmax:        e_i = i-exp(q_i - max), one integer division per element.
//   LayerNorm:      integer mean and variance, sigma = isqrt(variance) by the iterative integer
//                   square root (Newton on integers), one integer division per element.
// What the paper leaves open is ours and said where it is decided: input
// scales are powers of two (x = q 2^-in_frac), every division rounds to
// nearest (a choice that favours the baseline), requantization to the int8
// output is dyadic (an integer multiplier and a shift, as I-BERT requantizes).
#pragma once

#include <cstddef>
#include <cstdint>

namespace gqalut {
namespace ibert {

// The paper's polynomial coefficients.
inline constexpr double kExpA = 0.3585, kExpB = 1.353, kExpC = 0.344;  // exp(p), p in (-ln2, 0]
inline constexpr double kErfA = -0.2888, kErfB = -1.769, kErfC = 1.0;  // erf(x), x >= 0, clipped at -b
// Ours: the dyadic requantization multiplier's fraction bits, the LayerNorm
// normalised value's fraction bits, the i-exp shift beyond which e = 0.
inline constexpr int kRequantBits = 24;
inline constexpr int kLnFracBits = 14;
inline constexpr int kMaxShift = 62;
// Input scales: in_frac in [1, 20] for exp/softmax (q_ln2 = floor(ln2 2^f) >= 1),
// [1, 10] for GELU, [0, 15] for LayerNorm.
inline constexpr int kExpInFracMin = 1, kExpInFracMax = 20, kGeluInFracMax = 10, kLnFracMax = 15;

// ---- i-poly ---------------------------------------------------------------------------

// The integer constants of a (x + b)^2 + c at input scale S.
struct Poly {
  int64_t qb = 0;          // floor(b / S)
  int64_t qc = 0;          // floor(c / (a S^2))
  double scale_out = 0;    // a S^2
};
Poly make_poly(double a, double b, double c, double scale);
// (q + qb)^2 + qc.
int64_t i_poly(const Poly& p, int64_t q);

// ---- i-exp ----------------------------------------------------------------------------

struct Exp {
  int in_frac = 0;       // x = q 2^-in_frac
  int64_t q_ln2 = 0;     // floor(ln2 2^in_frac)
  Poly poly;             // kExpA/B/C at 2^-in_frac; e's scale is poly.scale_out
};
Exp make_exp(int in_frac);  // throws std::invalid_argument outside [1, 20]
// Range reduction of q <= 0: z = floor(-q / q_ln2), p = q + z q_ln2 in (-q_ln2, 0].
struct ExpSplit {
  int64_t z = 0, p = 0;
};
ExpSplit exp_split(const Exp& e, int64_t q);
// e = i-poly(p) >> z (0 for z > 62): exp(q 2^-in_frac) ~ e * poly.scale_out. q <= 0.
int64_t i_exp(const Exp& e, int64_t q);

// ---- softmax --------------------------------------------------------------------------

// i-exp's output has about 2 in_frac + 1.5 bits (e(0) ~ 2.8 4^in_frac) and its ln2 step
// floor(ln2 2^in_frac) is coarse at small in_frac: at int8 logits' 2^-4, e(0) = 686 and every
// e^-x below ~1/1400 truncates to 0 (measured: up to 151 LSB on peaked rows), so the
// differences u = q - max are first shifted to the working scale 2^-work_frac (exact).
inline constexpr int kSoftmaxWorkFrac = 10;
struct Softmax {
  Exp exp;           // at the working scale 2^-work_frac
  int in_frac = 0;   // logits at 2^-in_frac
  int shift = 0;     // work_frac - in_frac (>= 0): u << shift
  int out_frac = 8;  // probabilities at 2^-out_frac, in [1, 15]
};
// work_frac < 0: max(in_frac, kSoftmaxWorkFrac); else in [in_frac, 20] (work_frac = in_frac: I-BERT as
// the paper runs it, at the logits' own scale).
Softmax make_softmax(int in_frac, int out_frac = 8, int work_frac = -1);
// One output: min(round(e 2^out_frac / S), max_code) (rounding half up; S >= 1).
uint32_t softmax_out(const Softmax& s, int64_t e, int64_t S, uint32_t max_code);
// Rows: max, e_i = i_exp((q_i - max) << shift), S = sum e_i, then softmax_out. max_code 255 (uint8), 127 (int8).
void softmax_row(const Softmax& s, const int8_t* q, uint8_t* out, size_t n);
void softmax_row(const Softmax& s, const int32_t* q, uint8_t* out, size_t n);
void softmax_row(const Softmax& s, const int8_t* q, int8_t* out, size_t n);

// ---- i-GELU ---------------------------------------------------------------------------

struct Gelu {
  int in_frac = 0, out_frac = 0;
  Poly erf;              // kErfA/B/C at S_erf = 2^-in_frac / sqrt(2) (qb < 0, qc < 0, scale_out < 0)
  int64_t clip = 0;      // -erf.qb: |q| is clipped here (erf = sgn(q) at and beyond)
  int64_t q_one = 0;     // floor(1 / erf.scale_out) (< 0)
  // Requantization: y = round_half_away(q_out * mult * 2^-shift) ~ q_out S_out 2^out_frac, saturated to int8.
  int64_t mult = 0;      // round(S_out 2^(out_frac + shift)) (< 0: a < 0)
  int shift = 0;
};
Gelu make_gelu(int in_frac, int out_frac);  // in_frac in [1, 10], out_frac in [0, 15]
// i-erf of q at S_erf: sgn(q) ((min(|q|, clip) + qb)^2 + qc).
int64_t i_erf(const Gelu& g, int64_t q);
// q_out = q (i_erf(q) + q_one) at scale S_out = 2^-in_frac * erf.scale_out / 2.
int64_t i_gelu_acc(const Gelu& g, int64_t q);
// The int8 output code at 2^-out_frac.
int8_t i_gelu(const Gelu& g, int8_t q);
void gelu(const Gelu& g, const int8_t* in, int8_t* out, size_t n);

// ---- integer square root and LayerNorm --------------------------------------------------

// The iterative integer square root (Newton on integers): x0 = 2^ceil(bits(v)/2);
// x <- floor((x + floor(v / x)) / 2) while it decreases; returns floor(sqrt(v)).
uint64_t isqrt_start(uint64_t v);               // x0 (v >= 1)
uint64_t isqrt_step(uint64_t v, uint64_t x);    // floor((x + floor(v / x)) / 2)
uint64_t isqrt(uint64_t v, int* iterations = nullptr);  // 0 for v = 0

struct LayerNorm {
  int in_frac = 0, out_frac = 4, gamma_frac = 6;
  double eps = 1e-5;
};
LayerNorm make_layernorm(int in_frac, int out_frac = 4, int gamma_frac = 6, double eps = 1e-5);
// Per row: V = n Sxx - Sx^2 + round(eps n^2 4^in_frac) (= n^2 (var + eps) in codes^2), sigma = isqrt(V).
struct LayerNormRow {
  int64_t n = 0, sx = 0, V = 0;
  uint64_t sigma = 0;    // floor(sqrt(V)) = n * standard deviation in codes, floored
};
LayerNormRow layernorm_row_stats(const LayerNorm& l, const int8_t* x, size_t n);
// Per element: D = n q - Sx; z = round(D 2^14 / sigma) (0 when sigma = 0);
// out = sat8(round_half_away(z gamma 2^-(14 + gamma_frac - out_frac)) + beta) (a left shift if that is < 0).
int64_t layernorm_z(const LayerNormRow& r, int8_t q);
int8_t layernorm_out(const LayerNorm& l, const LayerNormRow& r, int8_t q, int8_t gamma, int32_t beta);
void layernorm_row(const LayerNorm& l, const int8_t* x, const int8_t* gamma, const int32_t* beta, int8_t* out,
                   size_t n);

}  // namespace ibert
}  // namespace gqalut
