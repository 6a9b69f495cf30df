// gqalut private: the memory layouts of the plans (XNNPACK keeps its params
// structs in src/xnnpack/microparams.h the same way). The public plans
// (include/gqalut/kernels.hpp, intops.hpp) are opaque handles holding a
// std::shared_ptr<const Layout>, built once by prepare_*() and immutable
// afterwards; the microkernels, the operator layer and the integer operators
// take the layouts. Internal code reaches a plan's layout through
// detail::PlanAccess (the plans' only friend); tests and benchmarks of the
// internals include this header with src/kernels on their include path.
//
// Plain structs and declarations only (no inline code): the per-ISA
// translation units, compiled with different -m flags, include this and must
// never share an inline definition.
#pragma once

#include <cstdint>
#include <memory>

#include "gqalut/datapath.hpp"
#include "gqalut/intops.hpp"
#include "gqalut/kernels.hpp"

namespace gqalut {
namespace detail {

constexpr int kMaxSegments = PwlPlan::kMaxSegments;

// A prepared table for int8 (input_bits 8) or int16 (input_bits 16) input codes.
// Segment j (0..segments-1) covers codes q with thr[j-1] <= q < thr[j]; its
// accumulator is acc = k[j] * q + b[j] computed modulo 2^32 (k, b already
// shifted by L-n-Fk and L-Fb), exact because every reachable acc fits int32.
struct PwlLayout {
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

// int8 -> int8 with output scale 2^-out_frac: code = sat8(round(acc * 2^(out_frac - L))),
// rounding half away from zero.
struct RequantLayout {
  PwlLayout pwl;
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
  int8_t k8[kMaxSegments] = {};
  int16_t c16[kMaxSegments] = {};
  // Round half away from zero needs v - (acc < 0) before the shift (v = acc + half).
  // The plan proves per segment when that correction is a constant: it is -1 on a
  // segment whose every acc is < 0 and changes nothing where acc + half is not a
  // multiple of 2^rshift. If no segment mixes signs with a negative tie, the -1 is
  // folded into c16 of the all-negative segments and madd_tie_fix is false (the
  // kernel skips the per-element compare); otherwise c16 is as above and it is true.
  bool madd_tie_fix = true;
};

// The 256-entry full-output lookup: one output per int8 code.
struct Lut256Layout {
  int32_t s32[256] = {};  // eval_acc at code (index = q + 128)
  int8_t s8[256] = {};    // requantized to out_frac (index = q + 128)
  int out_frac = 0;
};

// The softmax datapath (intops.hpp): its public constants plus the lookups.
struct SoftmaxLayout {
  ref::SoftmaxRef ref;      // the scalar reference: constants (ref.dp) and the tables as Table
  PwlLayout exp;            // the EXP2M1 table at s_e (the hardware mirror the lookups are built from)
  PwlLayout div;            // the DIV table at s_d
  uint32_t mant[256] = {};  // 2^L_e + EXP2M1_acc(c), index c + 2^(s_e-1)
  uint32_t e_s8[256] = {};  // e(u) for u in [0, 255]: the int8-logit lookup
  uint32_t e16_s8[256] = {};  // (e(u) + 2^7) >> 8 (< 2^16): what the outputs multiply
  uint8_t e_bytes[5][256] = {};  // byte planes of e_s8 (0..2) and e16_s8 (3..4), for byte permutes
};

struct LayerNormLayout {
  ref::LayerNormRef ref;    // the scalar reference: constants (ref.dp) and the RSQRT table
  PwlLayout rsqrt;          // the RSQRT table at s_r
};

struct ActivationLayout {
  RequantLayout requant;    // the table kernel's plan (hardware mirror)
  Lut256Layout lut;         // lut.s8[q + 128] = requant of the table at q
  int in_frac = 0;
};

// The builders behind prepare_pwl / prepare_requant (validate, may throw), for
// plans that embed a table layout by value (softmax, LayerNorm, activations).
PwlLayout make_pwl_layout(const Table& table, int input_bits);
RequantLayout make_requant_layout(const Table& table, int out_frac);

// The plans' friend: wraps a freshly built layout into its public handle and
// gives internal code the layout of a handle. layout() throws
// std::invalid_argument for an empty (default-constructed) plan, naming the
// plan type and the function that builds one; it is called once per
// operator call, never per element.
struct PlanAccess {
  static PwlPlan wrap(std::shared_ptr<const PwlLayout> l);
  static RequantPlan wrap(std::shared_ptr<const RequantLayout> l);
  static Lut256Plan wrap(std::shared_ptr<const Lut256Layout> l);
  static SoftmaxPlan wrap(std::shared_ptr<const SoftmaxLayout> l);
  static LayerNormPlan wrap(std::shared_ptr<const LayerNormLayout> l);
  static ActivationPlan wrap(std::shared_ptr<const ActivationLayout> l);

  static const PwlLayout& layout(const PwlPlan& p);
  static const RequantLayout& layout(const RequantPlan& p);
  static const Lut256Layout& layout(const Lut256Plan& p);
  static const SoftmaxLayout& layout(const SoftmaxPlan& p);
  static const LayerNormLayout& layout(const LayerNormPlan& p);
  static const ActivationLayout& layout(const ActivationPlan& p);

 private:
  // The two steps every overload above is (defined and instantiated in plan_access.cpp only).
  template <class Plan, class Layout>
  static Plan make(std::shared_ptr<const Layout> l);
  // Throws "<plan> is empty (default-constructed): build it with <maker>" for an empty plan.
  template <class Layout, class Plan>
  static const Layout& get(const Plan& p, const char* plan, const char* maker);
};

}  // namespace detail
}  // namespace gqalut
