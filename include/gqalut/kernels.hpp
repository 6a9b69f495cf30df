// gqalut: deployable integer kernels that apply a piecewise-linear table to
// tensors (SPEC section 2), in three layers (XNNPACK style):
//   1. plans:        built once from a validated Table (may throw), holding
//                    what the kernels need (reachable segments, thresholds
//                    clamped to the input span, pre-shifted K and B); opaque
//                    values here, their layout internal (src/kernels/plan_layout.h);
//   2. microkernels: pure functions, no allocation, no error paths, one
//                    method each, named by contract and method
//                    `<in>_<op>_<out>__<isa>[_<method>]` (e.g. s8_pwl_s8__avx512_madd),
//                    listed with their requirement on the plan in one list
//                    (src/kernels/kernels.def; kernel_list() below). Their
//                    signatures, the function-pointer types and the dispatch
//                    tables (KernelSet) are internal (src/kernels/kernel_list.h);
//   3. apply():      resolves the ISA (once, by CPUID, or forced by argument /
//                    GQALUT_ISA=scalar|avx2|avx512 / set_default_isa), checks the
//                    plan fits the output type, runs the first listed kernel
//                    whose requirement the plan meets and says which.
// Every kernel is bit-exact with gqalut::eval_acc (right tie rule).
// Public headers contain no intrinsics.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
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

// ---- plans -----------------------------------------------------------------
// A plan is an opaque, immutable value: a cheap-to-copy handle (one shared
// pointer) on the layout the kernels read, built once by prepare_*(). Its
// memory layout (thresholds, pre-shifted slopes and intercepts, compare tree,
// vpmaddubsw tables, ...) is internal (src/kernels/plan_layout.h) and may
// change between versions; the accessors below are the public facts. A
// default-constructed plan is empty (for containers): apply() and the
// accessors throw std::invalid_argument on it.
namespace detail {
struct PwlLayout;
struct RequantLayout;
struct Lut256Layout;
struct PlanAccess;
}  // namespace detail

// A prepared table for int8 (input_bits 8) or int16 (input_bits 16) input
// codes: the reachable segments of the table over the input span, with
// acc = K * q * 2^(L-n-Fk) + B * 2^(L-Fb) exact in int32 (SPEC section 2).
class PwlPlan {
 public:
  static constexpr int kMaxSegments = 64;  // at most this many reachable segments
  PwlPlan() = default;
  // False for a default-constructed plan.
  bool valid() const noexcept { return layout_ != nullptr; }
  int input_bits() const;  // 8 or 16
  int scale() const;       // n: the input scale 2^-n
  int shift() const;       // L: output value = acc * 2^-L
  int segments() const;    // reachable segments for this input width (1..64)
  int32_t acc_min() const; // exact accumulator range over the input span
  int32_t acc_max() const;
  bool fits_s16() const;   // every accumulator fits int16 (apply to int16_t* is allowed)

 private:
  friend struct detail::PlanAccess;
  std::shared_ptr<const detail::PwlLayout> layout_;
};

// Builds the plan; validates the table and throws std::invalid_argument if
// input_bits is not 8 or 16 or an accumulator does not fit int32.
PwlPlan prepare_pwl(const Table& table, int input_bits = 8);

// int8 -> int8 with output scale 2^-out_frac: code = sat8(round(acc * 2^(out_frac - L))),
// rounding half away from zero (requantize_s8).
class RequantPlan {
 public:
  RequantPlan() = default;
  bool valid() const noexcept { return layout_ != nullptr; }
  int out_frac() const;  // output scale 2^-out_frac
  PwlPlan pwl() const;   // the int8 table plan it requantizes (shares this plan's memory)

 private:
  friend struct detail::PlanAccess;
  std::shared_ptr<const detail::RequantLayout> layout_;
};
// Throws if out_frac is outside [0, 31] or the rounding add overflows int32.
RequantPlan prepare_requant(const Table& table, int out_frac);

// The scalar requantization formula (the reference the kernels match).
int8_t requantize_s8(int64_t acc, int L, int out_frac);

// The 256-entry full-output lookup baseline: one output per int8 code (its
// int32 accumulator and its int8 code requantized to out_frac).
class Lut256Plan {
 public:
  Lut256Plan() = default;
  bool valid() const noexcept { return layout_ != nullptr; }
  int out_frac() const;

 private:
  friend struct detail::PlanAccess;
  std::shared_ptr<const detail::Lut256Layout> layout_;
};
Lut256Plan prepare_lut256(const Table& table, int out_frac);

// ---- the kernel list and the operator layer ----------------------------------
// One entry of the kernel list (src/kernels/kernels.def), which drives the
// declarations, the dispatch, the tests and the benchmarks.
struct KernelInfo {
  const char* name;         // <in>_<op>_<out>__<isa>[_<method>], e.g. "s8_pwl_s8__avx512_madd"
  const char* family;       // the contract, e.g. "s8_pwl_s8" (plan, input and output types)
  Isa isa;                  // scalar, avx2 or avx512
  const char* requirement;  // the condition on the plan's internal layout p (src/kernels/plan_layout.h),
                            // as C++ (e.g. "p.madd_ok && !p.madd_tie_fix")
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
// returns its name. n is an element count; no alignment requirement. Every
// apply() throws std::invalid_argument on an empty plan.
const char* apply(const PwlPlan& plan, const int8_t* in, int32_t* out, size_t n, Isa isa = Isa::automatic);
// Throws if !plan.fits_s16() or plan.input_bits() != 8.
const char* apply(const PwlPlan& plan, const int8_t* in, int16_t* out, size_t n, Isa isa = Isa::automatic);
const char* apply(const PwlPlan& plan, const int16_t* in, int32_t* out, size_t n, Isa isa = Isa::automatic);
// In place allowed (in == out).
const char* apply(const RequantPlan& plan, const int8_t* in, int8_t* out, size_t n, Isa isa = Isa::automatic);
const char* apply(const Lut256Plan& plan, const int8_t* in, int8_t* out, size_t n, Isa isa = Isa::automatic);
const char* apply(const Lut256Plan& plan, const int8_t* in, int32_t* out, size_t n, Isa isa = Isa::automatic);

}  // namespace gqalut
