// gqalut hardware layer: the reference units beside the integer softmax / LayerNorm units
// (issue 16, point 4) — an FP32 softmax and an FP32 LayerNorm unit built from the project's FP32
// primitives (rtl/fp32_*.v), and the I-BERT-style integer units (rtl/*_ibert.v) — with their
// bit-exact C++ models, generators (VerilogUnit) and stream testbenches. docs/hw_reference_units.md.
//
// The FP32 models round every operation as the RTL does (rtl/models.hpp: round to nearest even,
// subnormals flushed to zero, canonical NaN); they need the default floating-point environment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gqalut/intops_measure.hpp"

#include "gqalut/hw/sim.hpp"
#include "gqalut/hw/unit.hpp"

namespace gqalut::hw {

// ------------------------------------------------------------------ FP32 building blocks
namespace fp32ref {

// float(q) 2^-frac for a code q of `bits` bits (rtl/fp32_cvt.v fp32_from_int: exact up to 24
// significant bits, then round to nearest even).
float from_int(int64_t q, int frac);
// clamp(round_half_away(x 2^scale), lo, hi); NaN, zeros and subnormals give 0 (fp32_to_int).
int32_t to_int(float x, int scale, int32_t lo, int32_t hi);
// e^d (rtl/fp32_exp.v): range reduction t = d log2(e) = k + f, degree-5 polynomial of 2^f.
float exp(float d);
// 1/x and 1/sqrt(x) (rtl/fp32_newton.v): 64-entry 9-bit seed, two Newton steps.
float recip(float x);
float rsqrt(float x);
// The seeds: Y / 1024 with Y in [512, 1024) (index = top 6 mantissa bits; for rsqrt the
// exponent's parity and the top 5 mantissa bits).
uint32_t recip_seed(int index);
uint32_t rsqrt_seed(int index);
// The polynomial coefficients c0..c5 of 2^f on [-1/2, 1/2] (FP32 bits) and log2(e) as a float.
const uint32_t* exp_coefficients();
constexpr uint32_t kLog2e = 0x3fb8aa3bu;

}  // namespace fp32ref

// ------------------------------------------------------------------ FP32 units
struct Fp32SoftmaxConfig {
  int max_n = 256;        // longest row (buffer depth), >= 2
  int in_frac = 4;        // int8 logits at 2^-in_frac, in [0, 15]
  int out_frac = 8;       // uint8 probabilities at 2^-out_frac, in [0, 15]
  bool pipeline = true;   // one FP32 operation per pipeline stage (else combinational passes)
  bool restream = false;  // no row buffer: each row is sent three times (max, sum, outputs)
  // Elements per beat, in [1, 16] (rtl/softmax_fp32.v softmax_fp32_lanes for > 1: in_keep /
  // out_keep ports as the integer units'). The sum is one accumulator per lane (lane j: elements
  // j, j + L, ..., in order), then S = fl(..fl(S_0 + S_1).. + S_{L-1}); 1: the single sum.
  int lanes = 1;
};

struct Fp32LayerNormConfig {
  int max_n = 256;
  int in_frac = 4;        // int8 x at 2^-in_frac
  int gamma_frac = 6;     // int8 gamma at 2^-gamma_frac
  int out_frac = 4;       // int32 beta and int8 y at 2^-out_frac
  float eps = 1e-5f;      // > 0
  bool pipeline = true;
  bool restream = false;  // no row buffer: each row is sent twice (statistics, outputs)
  // Elements per beat, in [1, 16] (rtl/layernorm_fp32.v layernorm_fp32_lanes for > 1). Sx and Sxx
  // are one accumulator per lane (lane j: elements j, j + L, ..., in order), then combined in lane
  // order, Sx = fl(..fl(Sx_0 + Sx_1).. + Sx_{L-1}); 1: the single sums.
  int lanes = 1;
};

// The models: one row (n in [1, max_n]) exactly as the unit computes it.
void fp32_softmax_row(const Fp32SoftmaxConfig& c, const int8_t* q, uint8_t* out, size_t n);
void fp32_layernorm_row(const Fp32LayerNormConfig& c, const int8_t* q, const int8_t* gamma, const int32_t* beta,
                        int8_t* out, size_t n);

// The units: rtl_dir holds the hand-written sources (the source tree's rtl/); the result adds a
// generated wrapper (the top) with the parameters set, e.g. "ref_softmax_fp32_n256_i4_o8_p1"
// ("..._p1_r1" with restream: RESTREAM = 1, no row buffer, the row sent once per pass; "..._p1_l4"
// for the FP32 softmax at 4 lanes, module softmax_fp32_lanes, before any "_r1").
// Throw std::invalid_argument (one line naming the field and value) for a bad configuration.
VerilogUnit fp32_softmax_unit(const Fp32SoftmaxConfig& c, const std::string& rtl_dir);
VerilogUnit fp32_layernorm_unit(const Fp32LayerNormConfig& c, const std::string& rtl_dir);

// ------------------------------------------------------------------ I-BERT-style units
// rtl/softmax_ibert.v and rtl/layernorm_ibert.v: the integer operations of gqalut::ibert
// (include/gqalut/ibert.hpp, the library's I-BERT baseline) in hardware, bit-exact with
// ibert::softmax_row / ibert::layernorm_row (their models), with the constants of
// ibert::make_softmax / make_layernorm.
struct IbertSoftmaxConfig {
  int max_n = 256;
  int in_frac = 4;        // [0, 15]
  int out_frac = 8;       // [1, 15]; uint8 out
  int work_frac = -1;     // ibert::make_softmax's working scale (-1: its default; in_frac: as the paper runs it)
  bool pipeline = true;   // registers the exp and every quotient bit of the divider
  bool restream = false;  // no row buffer: each row is sent three times (max, sum, outputs)
};

struct IbertLayerNormConfig {
  int max_n = 256;
  int in_frac = 4;        // [0, 15]
  int gamma_frac = 6;     // [0, 15]
  int out_frac = 4;       // [0, 15]
  double eps = 1e-5;      // >= 0, eps 4^in_frac <= 2^14
  bool pipeline = true;
  bool restream = false;  // no row buffer: each row is sent twice (statistics, outputs)
};

// eps_v = round(eps n^2 4^in_frac) as the unit computes it: (n^2 m + 2^(f-1)) >> f.
struct IbertEpsFixed {
  uint64_t m = 0;
  int f = 1, bits = 1;  // bits of m (>= 1)
};
// The smallest f (>= 1) whose fixed-point eps_v equals ibert's for every n in [1, max_n];
// throws std::invalid_argument if none with m < 2^40 does.
IbertEpsFixed ibert_eps_fixed(const IbertLayerNormConfig& c);

VerilogUnit ibert_softmax_unit(const IbertSoftmaxConfig& c, const std::string& rtl_dir);
VerilogUnit ibert_layernorm_unit(const IbertLayerNormConfig& c, const std::string& rtl_dir);
// The models (ibert::softmax_row / ibert::layernorm_row with the configuration's plan; n in [1, max_n]).
void ibert_softmax_row(const IbertSoftmaxConfig& c, const int8_t* q, uint8_t* out, size_t n);
void ibert_layernorm_row(const IbertLayerNormConfig& c, const int8_t* q, const int8_t* gamma, const int32_t* beta,
                         int8_t* out, size_t n);

// ------------------------------------------------------------------ timing
// Cycles from a row's first input to the next row's first input, rows of n back to back (each
// unit takes the next row once the row's last output has left), as the RTL headers state them:
// FP32 softmax 3n + 2 LAT + 10 (at L > 1 lanes 3 ceil(n/L) + 2 LAT + 10 + L - 1), FP32 LayerNorm
// 2n + LAT + 27 (at L lanes 2 ceil(n/L) + LAT + 27 + L - 1), I-BERT softmax 3n + 2 LE + 1 (+
// out_frac + 1 pipelined), I-BERT LayerNorm 2n + VW/2 + 6 (+ QW + 1 pipelined). The same with
// restream, n counted once (not once per pass), when the source sends every pass at full rate.
// tests/hw/test_reference_timing.cpp checks them in simulation.
long long row_interval_cycles(const Fp32SoftmaxConfig& c, long long n);
long long row_interval_cycles(const Fp32LayerNormConfig& c, long long n);
long long row_interval_cycles(const IbertSoftmaxConfig& c, long long n);
long long row_interval_cycles(const IbertLayerNormConfig& c, long long n);

// ------------------------------------------------------------------ error against double
// The measurement of intops_measure.hpp (`gqalut ops`) for any row function: rows quantized at
// 2^-in_frac (half away from zero, saturated to int8), the output compared with the double
// operation on the quantized inputs, clamped to the output codes; LayerNorm's gamma N(1, 0.2) at
// 2^-gamma_frac and beta N(0, 0.2) at 2^-out_frac drawn from `seed` as measure_layernorm draws them.
using SoftmaxRowFn = std::function<void(const int8_t* q, uint8_t* out, size_t n)>;
using LayerNormRowFn =
    std::function<void(const int8_t* q, const int8_t* gamma, const int32_t* beta, int8_t* out, size_t n)>;
OpErrorStats measure_softmax_rows(const SoftmaxRowFn& row, int in_frac, int out_frac, const Rows& rows);
OpErrorStats measure_layernorm_rows(const LayerNormRowFn& row, int in_frac, int gamma_frac, int out_frac, double eps,
                                    const Rows& rows, uint64_t seed);

// ------------------------------------------------------------------ stream testbenches
// Softmax-like units (ports in_q/in_last -> out_p/out_last, int8 -> uint8): rows in, expected
// rows out (from a model), simulated with random valid/ready gaps (stall) under `seed`.
struct StreamCheck {
  std::vector<std::vector<int8_t>> q;          // rows of codes
  std::vector<std::vector<int8_t>> gamma;      // LayerNorm only (same shape as q)
  std::vector<std::vector<int32_t>> beta;      // LayerNorm only
  std::vector<std::vector<int32_t>> expected;  // rows of expected output codes
  // The source sends each row this many times: 1 for a unit with a row buffer, 3 (softmax) or 2
  // (LayerNorm) for a re-streamed one (restream; the LayerNorm testbench drives random gamma and
  // beta in the first pass, which the unit ignores).
  int passes = 1;
  // Elements per beat of the unit (> 1: a unit with in_keep / out_keep, the testbench packs each
  // row into beats of `lanes`, the last one partial).
  int lanes = 1;
};
// Check rows for a unit of row length <= max_n: every int8 code (rows led by 127, so every
// EXP-stage input M - q in [0, 255] occurs), length 1, the maximum length all equal / all -128,
// one spike, alternating -128/127, a tiny variance, then `random_rows` rows of random lengths.
std::vector<std::vector<int8_t>> reference_check_rows(int max_n, int random_rows, uint64_t seed);
// The expected outputs of `rows` from a model; LayerNorm draws gamma ~ N(1, 0.3) at 2^-gamma_frac
// and beta ~ N(0, 0.5) at 2^-out_frac (every 5th row some int32 extremes and extreme gammas).
StreamCheck softmax_stream_check(const SoftmaxRowFn& model, std::vector<std::vector<int8_t>> rows);
StreamCheck layernorm_stream_check(const LayerNormRowFn& model, int gamma_frac, int out_frac,
                                   std::vector<std::vector<int8_t>> rows, uint64_t seed);
// The testbench units (rtl/tb_softmax_ref.v, rtl/tb_layernorm_ref.v).
VerilogUnit softmax_stream_testbench(const std::string& rtl_dir);
VerilogUnit layernorm_stream_testbench(const std::string& rtl_dir);
// Writes in.hex / exp.hex and simulates `unit` (a softmax-like or LayerNorm-like unit, by
// `layernorm`) in the stream testbench, each row sent check.passes times (set it to 3 / 2 for a
// re-streamed unit). opt.iverilog_flags gets -DUNIT=<unit.top>.
SimResult simulate_stream(const VerilogUnit& unit, bool layernorm, const StreamCheck& check, const std::string& rtl_dir,
                          SimOptions opt, unsigned seed = 1, bool stall = true);

}  // namespace gqalut::hw
