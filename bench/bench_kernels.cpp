// Every kernel of the list (src/kernels/kernels.def) whose ISA this CPU has
// and whose requirement the benchmark's plan meets, beside exact FP32 GELU /
// exp and memcpy, on Transformer shapes and cache-level sizes, all in one run.
// After the run, prints ratio tables: kernel bytes/s over memcpy bytes/s (same
// element count) and kernel elements/s over FP32 GELU elements/s; kernels
// whose requirement the plan does not meet are listed as skipped.
//
// Bytes are counted as read + written: memcpy of n bytes moves 2n, the
// int8 -> int8 kernel 2n, int8 -> int16 3n, int8 -> int32 5n, int16 -> int32
// 6n. memcpy runs on
// the same buffers and sizes as the kernels.
// Sizes (element counts; the footprint is input + output): L1 16 Ki (32 KiB of
// a 48 KiB L1d), L2 256 Ki (512 KiB of a 1 MiB L2), ViT/BERT FFN activations,
// DRAM 64 Mi (128 MiB; on the development VM memcpy bandwidth falls off past a
// 16-24 MiB footprint, see docs/kernels.md).
// Noise: with --benchmark_repetitions=N the ratio tables use the median of
// the N repetitions of every benchmark (add
// --benchmark_enable_random_interleaving=true to spread them over the run).
// Run: build-*/bench/bench_kernels --benchmark_min_time=0.2 --benchmark_repetitions=5
//        --benchmark_enable_random_interleaving=true   (one command line)
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "bench_util.hpp"
#include "gqalut/io.hpp"
#include "gqalut/kernels.hpp"
#include "kernel_list.h"  // internal: the typed kernel list (src/kernels)

using namespace gqalut;
using gqalut::bench::Capture;
using gqalut::bench::official;
using gqalut::bench::shared_dir;

namespace {

struct Shape {
  const char* name;
  size_t n;  // elements
};
const Shape kShapes[] = {
    {"attn_row_197", 197},         {"L1_16KiB", 16 * 1024},          {"bert_ffn_128x3072", 128 * 3072},
    {"L2_256KiB", 256 * 1024},     {"vit_ffn_197x3072", 197 * 3072}, {"DRAM_64MiB", 64u * 1024 * 1024},
};

struct PerIter {
  double elems, bytes;
};
std::map<std::string, PerIter> g_work;  // benchmark name -> work per iteration


std::vector<int8_t> activations(size_t n) {
  std::mt19937_64 rng(42);
  std::normal_distribution<double> d(0.0, 1.5);
  std::vector<int8_t> v(n);
  for (auto& x : v) x = static_cast<int8_t>(std::clamp(std::lround(d(rng) * 16), -128L, 127L));
  return v;
}

template <typename F>
void reg(const std::string& name, size_t n, double bytes_per_elem, F body) {
  g_work[name] = {double(n), double(n) * bytes_per_elem};
  benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& st) {
    body(st);
    st.SetItemsProcessed(int64_t(st.iterations()) * int64_t(n));
    st.SetBytesProcessed(int64_t(double(st.iterations()) * double(n) * bytes_per_elem));
  })->UseRealTime();
}


}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const TableSet gelu = read_json_file(shared_dir() + "/reference/official/gelu_pwl_7.json");
  const int in_frac = 4, out_frac = 5;
  const Table& t = gelu.at(in_frac);
  const PwlPlan plan = prepare_pwl(t, 8);
  const RequantPlan rq = prepare_requant(t, out_frac);
  const Lut256Plan lut = prepare_lut256(t, out_frac);
  // int16 input: the same table at 16-bit codes (skipped if its accumulator does not fit int32).
  PwlPlan plan16;
  bool have16 = true;
  try {
    plan16 = prepare_pwl(t, 16);
  } catch (const std::invalid_argument&) {
    have16 = false;
  }

  size_t max_n = 0;
  for (const auto& s : kShapes) max_n = std::max(max_n, s.n);
  static std::vector<int8_t> in8 = activations(max_n), out8(max_n);
  static std::vector<int16_t> in16(max_n), out16(max_n);
  static std::vector<int32_t> out32(max_n);
  static std::vector<float> inf(max_n), outf(max_n);
  for (size_t i = 0; i < max_n; ++i) {
    inf[i] = std::ldexp(float(in8[i]), -in_frac);
    in16[i] = static_cast<int16_t>(in8[i] * 256 + int(i % 251));  // the same values at 2^8 finer codes
  }
  auto buffers = [](auto* tag, auto* otag) {
    using In = std::remove_pointer_t<decltype(tag)>;
    using Out = std::remove_pointer_t<decltype(otag)>;
    const In* in;
    Out* out;
    if constexpr (std::is_same_v<In, int8_t>) in = in8.data();
    else in = in16.data();
    if constexpr (std::is_same_v<Out, int8_t>) out = out8.data();
    else if constexpr (std::is_same_v<Out, int16_t>) out = out16.data();
    else out = out32.data();
    return std::make_pair(in, out);
  };

  // One benchmark per (listed kernel, shape) where the CPU has the ISA and the plan meets the requirement.
  std::vector<std::string> kernel_names, skipped;
  auto add_family = [&](auto fam_tag, const typename decltype(fam_tag)::Handle& handle, bool have) {
    using F = decltype(fam_tag);
    using In = typename F::In;
    using Out = typename F::Out;
    // The kernels take the plan's internal layout (the handles outlive the benchmarks).
    const typename F::Plan* pp = have ? &gqalut::detail::PlanAccess::layout(handle) : nullptr;
    for (const auto& k : gqalut::ukernel::kernels<F>()) {
      if (!isa_supported(k.isa)) {
        skipped.push_back(fmt::format("{} (this CPU lacks {})", k.name, to_string(k.isa)));
        continue;
      }
      if (!have || !k.applies(*pp)) {
        skipped.push_back(fmt::format("{} (requirement '{}' not met by this plan)", k.name, k.requirement));
        continue;
      }
      kernel_names.push_back(k.name);
      for (const auto& s : kShapes) {
        const size_t n = s.n;
        const auto fn = k.fn;
        reg(std::string(k.name) + "/" + s.name, n, double(sizeof(In) + sizeof(Out)),
            [=](benchmark::State& st) {
              auto [in, out] = buffers(static_cast<In*>(nullptr), static_cast<Out*>(nullptr));
              for (auto _ : st) {
                fn(*pp, in, out, n);
                benchmark::ClobberMemory();
              }
            });
      }
    }
  };
  namespace fam = gqalut::ukernel::family;
  add_family(fam::s8_pwl_s8{}, rq, true);
  add_family(fam::s8_pwl_s16{}, plan, true);
  add_family(fam::s8_pwl_s32{}, plan, true);
  add_family(fam::s16_pwl_s32{}, plan16, have16);
  add_family(fam::s8_lut256_s8{}, lut, true);
  add_family(fam::s8_lut256_s32{}, lut, true);

  for (const auto& s : kShapes) {
    const size_t n = s.n;
    const std::string sz = s.name;
    reg("memcpy/" + sz, n, 2, [n](benchmark::State& st) {
      for (auto _ : st) {
        std::memcpy(out8.data(), in8.data(), n);
        benchmark::ClobberMemory();
      }
    });
    reg("fp32_gelu_erf/" + sz, n, 8, [n](benchmark::State& st) {
      for (auto _ : st) {
        for (size_t i = 0; i < n; ++i) outf[i] = 0.5f * inf[i] * (1.0f + std::erf(inf[i] * 0.70710678f));
        benchmark::ClobberMemory();
      }
    });
    reg("fp32_exp/" + sz, n, 8, [n](benchmark::State& st) {
      for (auto _ : st) {
        for (size_t i = 0; i < n; ++i) outf[i] = std::exp(inf[i]);
        benchmark::ClobberMemory();
      }
    });
  }

  Capture rep;
  benchmark::RunSpecifiedBenchmarks(&rep);
  rep.Finish();
  auto rate = [&](const std::string& name, bool bytes) {
    auto it = rep.seconds.find(name);
    if (it == rep.seconds.end() || it->second <= 0) return 0.0;
    const PerIter& w = g_work[name];
    return (bytes ? w.bytes : w.elems) / it->second;
  };

  std::printf("\nTable: official gelu_pwl_7.json at scale %d (%d segments reachable), requantized to 2^-%d; "
              "apply() runs %s for it here\n",
              in_frac, plan.segments(), out_frac, [&] {
                std::vector<int8_t> o(64);
                return apply(rq, in8.data(), o.data(), o.size());
              }());
  std::printf("Ratios (read+written bytes/s over memcpy bytes/s of the same element count; elements/s over FP32 GELU "
              "elements/s; %s)\n",
              rep.median_seconds.empty() ? "single runs" : "medians of the repetitions");
  std::printf("%-30s %-20s %12s %12s %12s %12s\n", "kernel", "size", "GB/s", "x memcpy", "Gelem/s", "x fp32 gelu");
  for (const auto& s : kShapes) {
    const std::string sz = s.name;
    const double mc = rate("memcpy/" + sz, true), gelu_e = rate("fp32_gelu_erf/" + sz, false);
    std::vector<std::string> names = {"memcpy", "fp32_gelu_erf", "fp32_exp"};
    names.insert(names.end(), kernel_names.begin(), kernel_names.end());
    for (const auto& k : names) {
      const std::string full = k + "/" + sz;
      if (!rep.seconds.count(full)) continue;
      std::printf("%-30s %-20s %12.2f %12.2f %12.3f %12.1f\n", k.c_str(), s.name, rate(full, true) / 1e9,
                  mc > 0 ? rate(full, true) / mc : 0.0, rate(full, false) / 1e9,
                  gelu_e > 0 ? rate(full, false) / gelu_e : 0.0);
    }
  }
  std::printf("\nNot measured:\n");
  for (const auto& s : skipped) std::printf("  %s\n", s.c_str());
  benchmark::Shutdown();
  return 0;
}
