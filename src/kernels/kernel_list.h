// gqalut private: the kernel families (contracts) and the typed kernel list,
// both generated from kernels.def, the selection rule and the operator layer's per-ISA
// entry points. Declarations and plain structs only (no inline code): the
// per-ISA translation units, compiled with different -m flags, include this
// through ukernels.h and must never share an inline definition.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "gqalut/kernels.hpp"
#include "plan_layout.h"

namespace gqalut {
namespace ukernel {

using detail::Lut256Layout;
using detail::PwlLayout;
using detail::RequantLayout;

// A family is a contract: public plan (Handle), the layout its kernels take
// (Plan), input and output element types. One struct per GQALUT_FAMILY line.
namespace family {
#define GQALUT_FAMILY(fam, plan, in, out) \
  struct fam {                            \
    using Handle = plan##Plan;            \
    using Plan = detail::plan##Layout;    \
    using In = in;                        \
    using Out = out;                      \
  };
#include "kernels.def"
#undef GQALUT_FAMILY
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

// The operator layer for one ISA: each entry (one per family) runs
// select<F>(plan, isa) on the layout it is given (no validation; apply() validates). Used by the
// integer operators (intops.cpp), which chain several kernels per row.
struct KernelSet {
  Isa isa;
#define GQALUT_FAMILY(fam, plan, in, out) void (*fam)(const detail::plan##Layout&, const in*, out*, size_t);
#include "kernels.def"
#undef GQALUT_FAMILY
};
// The set of an ISA (automatic resolves); throws if unsupported.
const KernelSet& kernel_set(Isa isa = Isa::automatic);

}  // namespace gqalut
