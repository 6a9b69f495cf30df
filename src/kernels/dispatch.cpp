// ISA detection, the kernel list (kernels.def) as typed tables, the selection
// rule and the operator layer (apply(), kernel_set()). The microkernels live
// in kernels_<isa>.cpp, the plans in plan.cpp.
#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <type_traits>

#include <unistd.h>

#include <fmt/format.h>

#include "gqalut/kernels.hpp"
#include "gqalut/text.hpp"
#include "ukernels.h"

namespace gqalut {

// ---- ISAs -------------------------------------------------------------------

const char* to_string(Isa isa) {
  switch (isa) {
    case Isa::automatic: return "auto";
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "?";
}

Isa parse_isa(std::string_view text) {
  if (text == "scalar") return Isa::scalar;
  if (text == "avx2") return Isa::avx2;
  if (text == "avx512") return Isa::avx512;
  if (text == "auto") return Isa::automatic;
  throw std::invalid_argument(
      fmt::format("ISA must be scalar, avx2, avx512 or auto, got {}", quote(text, 40)));
}

bool isa_supported(Isa isa) {
  switch (isa) {
    case Isa::automatic:
    case Isa::scalar: return true;
#if defined(__x86_64__) || defined(__i386__)
    // __builtin_cpu_supports checks CPUID and the OS-enabled state (XGETBV).
    case Isa::avx2: return __builtin_cpu_supports("avx2");
    case Isa::avx512:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vbmi");
#else
    default: return false;
#endif
  }
  return false;
}

std::vector<Isa> available_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512})
    if (isa_supported(isa)) out.push_back(isa);
  return out;
}

Isa best_isa() { return available_isas().back(); }

namespace {
std::atomic<int> g_forced_isa{-1};  // set_default_isa(); -1: none
}  // namespace

void set_default_isa(Isa isa) {
  if (isa == Isa::automatic) {
    g_forced_isa.store(-1);
    return;
  }
  if (!isa_supported(isa))
    throw std::invalid_argument(fmt::format("ISA {} is not supported by this CPU", to_string(isa)));
  g_forced_isa.store(static_cast<int>(isa));
}

Isa default_isa() {
  const int forced = g_forced_isa.load();
  if (forced >= 0) return static_cast<Isa>(forced);
  // Chosen once per process: the environment cannot change the kernels mid-run.
  static const Isa chosen = [] {
    const char* env = std::getenv("GQALUT_ISA");
    if (env == nullptr || *env == '\0') return best_isa();
    Isa isa = Isa::automatic;
    try {
      isa = parse_isa(env);
    } catch (const std::invalid_argument& e) {  // name the variable: the user may not know it is set
      throw std::invalid_argument(std::string("GQALUT_ISA (environment): ") + e.what());
    }
    if (isa == Isa::automatic) return best_isa();
    if (!isa_supported(isa))
      throw std::invalid_argument(
          fmt::format("GQALUT_ISA (environment) {} is not supported by this CPU", quote(env, 40)));
    return isa;
  }();
  return chosen;
}

Isa resolve_isa(Isa isa) {
  if (isa == Isa::automatic) return default_isa();
  if (!isa_supported(isa))
    throw std::invalid_argument(fmt::format("ISA {} is not supported by this CPU", to_string(isa)));
  return isa;
}

// ---- the list -----------------------------------------------------------------

const std::vector<KernelInfo>& kernel_list() {
  static const std::vector<KernelInfo> all = {
#define GQALUT_KERNEL(name, fam, isa, requirement) {#name, #fam, Isa::isa, #requirement},
#include "kernels.def"
#undef GQALUT_KERNEL
  };
  return all;
}

namespace ukernel {

size_t nontemporal_threshold() {
  static const size_t value = [] {
    if (const char* env = std::getenv("GQALUT_NT_THRESHOLD")) {
      char* end = nullptr;
      const unsigned long long v = std::strtoull(env, &end, 10);
      if (end != env && *end == '\0') return static_cast<size_t>(v);
    }
    long llc = -1;
#ifdef _SC_LEVEL3_CACHE_SIZE
    llc = sysconf(_SC_LEVEL3_CACHE_SIZE);
    if (llc <= 0) llc = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
    // 3/4 of the last-level cache, within [4, 32] MiB: virtual machines report LLCs of
    // hundreds of MiB (480 MiB on the Xeon of docs/kernels.md) that no single core's
    // stream gets, and a 64 Mi-code tensor does not stay cached for the next layer anyway.
    const size_t lo = size_t{4} << 20, hi = size_t{32} << 20;
    const size_t t = llc > 0 ? static_cast<size_t>(llc) / 4 * 3 : lo;
    return t < lo ? lo : (t > hi ? hi : t);
  }();
  return value;
}

}  // namespace ukernel

namespace ukernel {

template <class F>
const std::vector<Kernel<F>>& kernels() {
  static const std::vector<Kernel<F>> list = [] {
    using Plan = typename F::Plan;
    std::vector<Kernel<F>> v;
#define GQALUT_KERNEL(name, fam, isa, requirement)                                              \
  if constexpr (std::is_same_v<F, family::fam>)                                                  \
    v.push_back(Kernel<F>{#name, Isa::isa, &ukernel::name,                                       \
                          [](const Plan& p) { return static_cast<void>(p), bool(requirement); }, \
                          #requirement});
#include "kernels.def"
#undef GQALUT_KERNEL
    return v;
  }();
  return list;
}

template <class F>
const Kernel<F>* find_kernel(std::string_view name) {
  for (const auto& k : kernels<F>())
    if (name == k.name) return &k;
  return nullptr;
}

template <class F>
const Kernel<F>& select(const typename F::Plan& plan, Isa isa) {
  const Isa top = resolve_isa(isa);
  const auto& list = kernels<F>();
  for (int level = static_cast<int>(top); level >= static_cast<int>(Isa::scalar); --level) {
    const Isa at = static_cast<Isa>(level);
    if (!isa_supported(at)) continue;
    for (const auto& k : list)
      if (k.isa == at && k.applies(plan)) return k;
  }
  return list.back();  // the list ends each family with its scalar kernel (tested)
}

#define GQALUT_FAMILY(fam, plan, in, out)                                                          \
  template const std::vector<Kernel<family::fam>>& kernels<family::fam>();                         \
  template const Kernel<family::fam>* find_kernel<family::fam>(std::string_view);                  \
  template const Kernel<family::fam>& select<family::fam>(const family::fam::Plan&, Isa);
#include "kernels.def"
#undef GQALUT_FAMILY

namespace {
template <class F, Isa I>
void run(const typename F::Plan& p, const typename F::In* in, typename F::Out* out, size_t n) {
  select<F>(p, I).fn(p, in, out, n);
}
}  // namespace

}  // namespace ukernel

// ---- operator layer -------------------------------------------------------------

namespace {
using namespace ukernel;

template <Isa I>
constexpr KernelSet make_set() {
  KernelSet s{};
  s.isa = I;
#define GQALUT_FAMILY(fam, plan, in, out) s.fam = &run<family::fam, I>;
#include "kernels.def"
#undef GQALUT_FAMILY
  return s;
}
// constexpr: constant-initialized, usable from any static initializer.
constexpr KernelSet kSets[3] = {make_set<Isa::scalar>(), make_set<Isa::avx2>(), make_set<Isa::avx512>()};

// The public plan's layout (throws on an empty plan), then the first kernel that applies.
template <class F>
const char* run_selected(const typename F::Handle& handle, const typename F::In* in, typename F::Out* out, size_t n,
                         Isa isa) {
  const typename F::Plan& plan = detail::PlanAccess::layout(handle);
  const Kernel<F>& k = select<F>(plan, isa);
  k.fn(plan, in, out, n);
  return k.name;
}

void check_input_bits(const detail::PwlLayout& plan, int bits) {
  if (plan.input_bits != bits)
    throw std::invalid_argument(
        fmt::format("plan must be for {}-bit input, got {}", bits, plan.input_bits));
}
}  // namespace

const KernelSet& kernel_set(Isa isa) {
  switch (resolve_isa(isa)) {
    case Isa::avx2: return kSets[1];
    case Isa::avx512: return kSets[2];
    default: return kSets[0];
  }
}

const char* apply(const PwlPlan& plan, const int8_t* in, int32_t* out, size_t n, Isa isa) {
  check_input_bits(detail::PlanAccess::layout(plan), 8);
  return run_selected<family::s8_pwl_s32>(plan, in, out, n, isa);
}

const char* apply(const PwlPlan& plan, const int8_t* in, int16_t* out, size_t n, Isa isa) {
  const detail::PwlLayout& p = detail::PlanAccess::layout(plan);
  check_input_bits(p, 8);
  if (!p.fits_s16)
    throw std::invalid_argument(fmt::format(
        "accumulator must fit int16 for an int16 output, got range [{}, {}]", p.acc_min, p.acc_max));
  return run_selected<family::s8_pwl_s16>(plan, in, out, n, isa);
}

const char* apply(const PwlPlan& plan, const int16_t* in, int32_t* out, size_t n, Isa isa) {
  check_input_bits(detail::PlanAccess::layout(plan), 16);
  return run_selected<family::s16_pwl_s32>(plan, in, out, n, isa);
}

const char* apply(const RequantPlan& plan, const int8_t* in, int8_t* out, size_t n, Isa isa) {
  return run_selected<family::s8_pwl_s8>(plan, in, out, n, isa);
}

const char* apply(const Lut256Plan& plan, const int8_t* in, int8_t* out, size_t n, Isa isa) {
  return run_selected<family::s8_lut256_s8>(plan, in, out, n, isa);
}

const char* apply(const Lut256Plan& plan, const int8_t* in, int32_t* out, size_t n, Isa isa) {
  return run_selected<family::s8_lut256_s32>(plan, in, out, n, isa);
}

}  // namespace gqalut
