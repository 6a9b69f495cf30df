// gqalut private: the kernel families (contracts), the typed kernel list built
// from kernels.def, the selection rule and the operator layer's per-ISA
// entry points. Declarations and plain structs only (no inline code): the
// per-ISA translation units, compiled with different -m flags, include this
// through ukernels.h and must never share an inline definition.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "gqalut/kernels.hpp"

namespace gqalut {
namespace ukernel {

// A family is a contract: plan type, input and output element types.
namespace family {
struct s8_pwl_s32 {
  using Plan = PwlPlan;
  using In = int8_t;
  using Out = int32_t;
};
struct s8_pwl_s16 {
  using Plan = PwlPlan;
  using In = int8_t;
  using Out = int16_t;
};
struct s8_pwl_s8 {
  using Plan = RequantPlan;
  using In = int8_t;
  using Out = int8_t;
};
struct s16_pwl_s32 {
  using Plan = PwlPlan;
  using In = int16_t;
  using Out = int32_t;
};
struct s8_lut256_s8 {
  using Plan = Lut256Plan;
  using In = int8_t;
  using Out = int8_t;
};
struct s8_lut256_s32 {
  using Plan = Lut256Plan;
  using In = int8_t;
  using Out = int32_t;
};
}  // namespace family

// One line of kernels.def, typed by its family.
template <class F>
struct Kernel {
  using Plan = typename F::Plan;
  using Fn = void (*)(const Plan&, const typename F::In*, typename F::Out*, size_t);
  const char* name;
  Isa isa;
  Fn fn;
  bool (*applies)(const Plan&);  // the requirement
  const char* requirement;       // its text
};

// Every kernel of family F, in list order.
template <class F>
const std::vector<Kernel<F>>& kernels();

// The kernel of F with this name, or nullptr.
template <class F>
const Kernel<F>* find_kernel(std::string_view name);

// The operator layer's choice: the first kernel of F in list order on the
// resolved ISA whose requirement the plan meets, else the same on the next
// lower supported ISA (scalar always has one). Throws only for an
// unsupported forced ISA.
template <class F>
const Kernel<F>& select(const typename F::Plan& plan, Isa isa);

}  // namespace ukernel

// The operator layer for one ISA: each entry runs select<F>(plan, isa) on
// the plan it is given (no validation; apply() validates). Used by the
// integer operators (intops.cpp), which chain several kernels per row.
struct KernelSet {
  Isa isa;
  void (*s8_pwl_s32)(const PwlPlan&, const int8_t*, int32_t*, size_t);
  void (*s8_pwl_s16)(const PwlPlan&, const int8_t*, int16_t*, size_t);
  void (*s8_pwl_s8)(const RequantPlan&, const int8_t*, int8_t*, size_t);
  void (*s16_pwl_s32)(const PwlPlan&, const int16_t*, int32_t*, size_t);
  void (*s8_lut256_s8)(const Lut256Plan&, const int8_t*, int8_t*, size_t);
  void (*s8_lut256_s32)(const Lut256Plan&, const int8_t*, int32_t*, size_t);
};
// The set of an ISA (automatic resolves); throws if unsupported.
const KernelSet& kernel_set(Isa isa = Isa::automatic);

}  // namespace gqalut
