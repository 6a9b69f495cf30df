// gqalut: deployable integer kernels that apply a piecewise-linear table to
// tensors (SPEC section 2), in three layers (XNNPACK style):
//   1. plans:        built once from a validated Table (may throw), holding
//                    what the kernels need (reachable segments, thresholds
//                    clamped to the input span, pre-shifted K and B);
//   2. microkernels: pure functions, no allocation, no error paths, one
//                    method each, named by contract and method
//                    `<in>_<op>_<out>__<isa>[_<method>]` (e.g. s8_pwl_s8__avx512_madd),
//                    listed with their requirement on the plan in one list
//                    (src/kernels/kernels.def; kernel_list() below). Their
//                    signatures and the dispatch tables are internal
//                    (src/kernels/kernel_list.h);
//   3. apply():      resolves the ISA (once, by CPUID, or forced by argument /
//                    GQALUT_ISA=scalar|avx2|avx512 / set_default_isa), checks the
//                    plan fits the output type, runs the first listed kernel
//                    whose requirement the plan meets and says which.
// Every kernel is bit-exact with gqalut::eval_acc (right tie rule).
// Public headers contain no intrinsics.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gqalut/table.hpp"

namespace gqalut {

// Instruction sets with kernels. avx512 means AVX-512 F+BW+VL+DQ+VBMI
// (Ice Lake / Zen 4 class). `automatic` = the process default (below).
enum class Isa { automatic, scalar, avx2, avx512 };

const char* to_string(Isa isa);
// "scalar" | "avx2" | "avx512" | "auto"; throws std::invalid_argument otherwise.
Isa parse_isa(std::string_view text);
// True if this CPU (and OS) can run the ISA's kernels (CPUID + XGETBV).
bool isa_supported(Isa isa);
// The supported ISAs, scalar first, best last.
std::vector<Isa> available_isas();
// The best supported ISA.
Isa best_isa();
// The process default, chosen once: GQALUT_ISA if set, else best_isa().
// Throws std::invalid_argument if GQALUT_ISA names an unknown or unsupported ISA.
Isa default_isa();
// automatic -> default_isa(); otherwise checks support (throws if not).
Isa resolve_isa(Isa isa);

// A prepared table for int8 (input_bits 8) or int16 (input_bits 16) input codes.
// Segment j (0..segments-1) covers codes q with thr[j-1] <= q < thr[j]; its
// accumulator is acc = k[j] * q + b[j] computed modulo 2^32 (k, b already
// shifted by L-n-Fk and L-Fb), exact because every reachable acc fits int32.
struct PwlPlan {
  static constexpr int kMaxSegments = 64;
  int input_bits = 8;
  int n = 0;             // input scale 2^-n
  int shift = 0;         // L: output value = acc * 2^-L
  int segments = 1;      // reachable segments (1..64)
  int16_t thr[kMaxSegments] = {};   // first code of segment j+1 (segments-1 used)
  int8_t thr8[kMaxSegments] = {};   // same, int8 (input_bits 8 only)
  int8_t thr8m1[kMaxSegments] = {}; // thr - 1 (for q > thr-1 compares)
  int32_t k[kMaxSegments] = {};     // pre-shifted slopes (mod 2^32)
  int32_t b[kMaxSegments] = {};     // pre-shifted intercepts (mod 2^32)
  int16_t k16[kMaxSegments] = {};   // low 16 bits of k (valid arithmetic when fits_s16)
  int16_t b16[kMaxSegments] = {};
  int32_t acc_min = 0, acc_max = 0; // exact accumulator range over the input span
  bool fits_s16 = false;            // every acc fits int16
  // Compare tree (int8 input): segments padded to P = 2^tree_levels; level l
  // tests q > tree[l][idx] with tree[l][i] = thr8m1[i + P/2^(l+1) - 1] (127 = never).
  int tree_levels = 0;
  int8_t tree[6][kMaxSegments] = {};
};

// Builds the plan; validates the table and throws std::invalid_argument if
// input_bits is not 8 or 16 or an accumulator does not fit int32.
PwlPlan prepare_pwl(const Table& table, int input_bits = 8);

// int8 -> int8 with output scale 2^-out_frac: code = sat8(round(acc * 2^(out_frac - L))),
// rounding half away from zero.
struct RequantPlan {
  PwlPlan pwl;
  int out_frac = 0;
  int rshift = 0;        // L - out_frac; > 0: rounding right shift, <= 0: left shift
  int32_t half = 0;      // 2^(rshift-1) when rshift > 0
  // rshift <= 0: acc is clamped to [clamp_lo, clamp_hi] (just past the
  // saturation points), shifted left by lshift = min(-rshift, 8), then saturated.
  int32_t clamp_lo = 0, clamp_hi = 0;
  int lshift = 0;
  bool use16 = false;    // every intermediate fits int16 (fast path)
  // vpmaddubsw form (use16 and every pre-shifted slope an int8 code):
  // acc + half = k8[s] * (q + 128) + c16[s] with c16 = b - 128*k + half.
  bool madd_ok = false;
  int8_t k8[PwlPlan::kMaxSegments] = {};
  int16_t c16[PwlPlan::kMaxSegments] = {};
  // Round half away from zero needs v - (acc < 0) before the shift (v = acc + half).
  // The plan proves per segment when that correction is a constant: it is -1 on a
  // segment whose every acc is < 0 and changes nothing where acc + half is not a
  // multiple of 2^rshift. If no segment mixes signs with a negative tie, the -1 is
  // folded into c16 of the all-negative segments and madd_tie_fix is false (the
  // kernel skips the per-element compare); otherwise c16 is as above and it is true.
  bool madd_tie_fix = true;
};
// Throws if out_frac is outside [0, 31] or the rounding add overflows int32.
RequantPlan prepare_requant(const Table& table, int out_frac);

// The scalar requantization formula (the reference the kernels match).
int8_t requantize_s8(int64_t acc, int L, int out_frac);

// The 256-entry full-output lookup baseline: one output per int8 code.
struct Lut256Plan {
  int32_t s32[256] = {};  // eval_acc at code (index = q + 128)
  int8_t s8[256] = {};    // requantized to out_frac (index = q + 128)
  int out_frac = 0;
};
Lut256Plan prepare_lut256(const Table& table, int out_frac);

// ---- the kernel list and the operator layer ----------------------------------
// One entry of the kernel list (src/kernels/kernels.def), which drives the
// declarations, the dispatch, the tests and the benchmarks.
struct KernelInfo {
  const char* name;         // <in>_<op>_<out>__<isa>[_<method>], e.g. "s8_pwl_s8__avx512_madd"
  const char* family;       // the contract, e.g. "s8_pwl_s8" (plan, input and output types)
  Isa isa;                  // scalar, avx2 or avx512
  const char* requirement;  // the condition on the plan p, as C++ (e.g. "p.madd_ok && !p.madd_tie_fix")
};
// Every kernel, in list order: within a family and ISA, preferred first.
const std::vector<KernelInfo>& kernel_list();

// Overrides the process default ISA (GQALUT_ISA, else the best) from now on;
// automatic restores it. Throws std::invalid_argument if unsupported. For
// `gqalut --isa`; call it before kernels run (not thread-safe against them).
void set_default_isa(Isa isa);

// Tensor API (operator layer): resolves the ISA, checks the plan, runs the
// FIRST kernel of the family in list order on that ISA whose requirement the
// plan meets (else the same on the next lower ISA; scalar always has one) and
// returns its name. n is an element count; no alignment requirement.
const char* apply(const PwlPlan& plan, const int8_t* in, int32_t* out, size_t n, Isa isa = Isa::automatic);
// Throws if !plan.fits_s16 or plan.input_bits != 8.
const char* apply(const PwlPlan& plan, const int8_t* in, int16_t* out, size_t n, Isa isa = Isa::automatic);
const char* apply(const PwlPlan& plan, const int16_t* in, int32_t* out, size_t n, Isa isa = Isa::automatic);
// In place allowed (in == out).
const char* apply(const RequantPlan& plan, const int8_t* in, int8_t* out, size_t n, Isa isa = Isa::automatic);
const char* apply(const Lut256Plan& plan, const int8_t* in, int8_t* out, size_t n, Isa isa = Isa::automatic);
const char* apply(const Lut256Plan& plan, const int8_t* in, int32_t* out, size_t n, Isa isa = Isa::automatic);

}  // namespace gqalut
