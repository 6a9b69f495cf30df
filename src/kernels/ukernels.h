// gqalut private: microkernel declarations (from the list, kernels.def) and
// the scalar per-element reference shared by every ISA's tail loop. Everything here has internal
// linkage or is an extern "declared-only" function, so the per-ISA translation
// units (compiled with different -m flags) never share an inline definition.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gqalut/kernels.hpp"
#include "kernel_list.h"

namespace gqalut {
namespace ukernel {

// One declaration per line of the kernel list.
#define GQALUT_KERNEL(name, fam, isa, requirement) \
  void name(const family::fam::Plan&, const family::fam::In*, family::fam::Out*, size_t);
#include "kernels.def"
#undef GQALUT_KERNEL

// Outputs of at least this many bytes are written with non-temporal (streaming) stores by
// the AVX-512 byte-output kernels (stream_s8): from DRAM sizes on, a store that first reads
// its line into the cache (read-for-ownership) costs a third of the bandwidth, which is why
// glibc's memcpy streams above a fraction of the shared cache. The threshold follows that
// rule: 3/4 of the last-level cache (sysconf), clamped to [4, 32] MiB; GQALUT_NT_THRESHOLD
// (bytes) overrides it. AVX2 keeps plain stores: its 32-byte streaming stores measured 3x
// slower (docs/kernels.md). Defined in dispatch.cpp, computed once.
size_t nontemporal_threshold();

namespace {

// seg(q) = #{j : q >= thr[j]}: the comparator of SPEC section 2.
inline int segment_index(const PwlLayout& p, int32_t q) {
  int s = 0;
  for (int j = 0; j + 1 < p.segments; ++j) s += q >= p.thr[j];
  return s;
}

// acc = k*q + b modulo 2^32 (exact: the plan proved it fits int32).
inline int32_t pwl_acc(const PwlLayout& p, int32_t q) {
  int s = segment_index(p, q);
  return static_cast<int32_t>(static_cast<uint32_t>(p.k[s]) * static_cast<uint32_t>(q) +
                              static_cast<uint32_t>(p.b[s]));
}

// sat8(round_half_away(acc * 2^-rshift)), as prepared in the plan.
inline int8_t requant_acc(const RequantLayout& r, int32_t acc) {
  int32_t v;
  if (r.rshift > 0) {
    v = (acc + r.half - (acc < 0 ? 1 : 0)) >> r.rshift;  // plan proved no overflow
    v = v < -128 ? -128 : (v > 127 ? 127 : v);
  } else {
    v = acc < r.clamp_lo ? r.clamp_lo : (acc > r.clamp_hi ? r.clamp_hi : acc);
    v = static_cast<int32_t>(static_cast<uint32_t>(v) << r.lshift);
    v = v < -128 ? -128 : (v > 127 ? 127 : v);
  }
  return static_cast<int8_t>(v);
}

}  // namespace
}  // namespace ukernel
}  // namespace gqalut
