// The unit registry of the hardware layer (gqalut/hw/registry.hpp): the kinds of units.def and
// the generators of the PWL unit and the INT32/FP32 reference LUT units.
#include "gqalut/hw/registry.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <random>
#include <stdexcept>

#include <fmt/format.h>

#include "gqalut/export.hpp"
#include "gqalut/hw/pwl_unit.hpp"
#include "gqalut/io.hpp"
#include "rtl/models.hpp"

#ifndef GQALUT_SOURCE_RTL_DIR
#define GQALUT_SOURCE_RTL_DIR ""
#endif

namespace gqalut::hw {

#define GQALUT_UNIT(name, build, summary, options) BuiltUnit build(const UnitRequest&);
#include "units.def"
#undef GQALUT_UNIT

namespace fs = std::filesystem;

const std::vector<UnitKind>& unit_kinds() {
  static const std::vector<UnitKind> list = {
#define GQALUT_UNIT(name, build, summary, options) UnitKind{#name, summary, options, &build},
#include "units.def"
#undef GQALUT_UNIT
  };
  return list;
}

const UnitKind& find_unit_kind(const std::string& name) {
  std::string known;
  for (const auto& k : unit_kinds()) {
    if (name == k.name) return k;
    known += (known.empty() ? "" : ", ") + std::string(k.name);
  }
  throw std::invalid_argument(fmt::format("unknown unit kind '{}' (known: {})", name, known));
}

BuiltUnit build_unit(const std::string& kind, const UnitRequest& r) {
  const UnitKind& k = find_unit_kind(kind);
  // Options a kind does not read are refused, never ignored (units.def names what each reads).
  if (r.lanes != 1 && std::string(k.options).find("lanes") == std::string::npos)
    throw std::invalid_argument(
        fmt::format("unit {}: lanes must be 1 (this unit takes one element per beat), got {}", kind, r.lanes));
  if (r.restream && std::string(k.options).find("restream") == std::string::npos)
    throw std::invalid_argument(fmt::format(
        "unit {}: --restream applies to the row units only (softmax, layernorm and their references), not to {}",
        kind, kind));
  BuiltUnit b = k.build(r);
  b.kind = k.name;
  return b;
}

namespace {

bool has_reference_sources(const fs::path& d) {
  std::error_code ec;
  for (const char* f : {"lut_int32.v", "lut_fp32.v", "fp32_ge.v", "fp32_mul.v", "fp32_add.v"})
    if (!fs::is_regular_file(d / f, ec)) return false;
  return true;
}

}  // namespace

std::string find_rtl_dir(const std::string& given) {
  if (!given.empty()) {
    if (!has_reference_sources(given))
      throw std::invalid_argument(fmt::format(
          "--rtl-dir {}: no reference units there (lut_int32.v, lut_fp32.v, fp32_ge.v, fp32_mul.v, fp32_add.v)", given));
    return given;
  }
  if (const char* env = std::getenv("GQALUT_RTL_DIR"); env && *env) {
    if (!has_reference_sources(env))
      throw std::invalid_argument(fmt::format(
          "GQALUT_RTL_DIR={}: no reference units there (lut_int32.v, lut_fp32.v, fp32_ge.v, fp32_mul.v, fp32_add.v)",
          env));
    return env;
  }
  std::vector<fs::path> tries;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) tries.push_back(exe.parent_path().parent_path() / "share" / "gqalut" / "rtl");  // installed
  if (*GQALUT_SOURCE_RTL_DIR) tries.push_back(GQALUT_SOURCE_RTL_DIR);                     // this build's sources
  std::string looked;
  for (const auto& d : tries) {
    if (has_reference_sources(d)) return d.string();
    looked += (looked.empty() ? "" : ", ") + d.lexically_normal().string();
  }
  throw std::invalid_argument(fmt::format(
      "the reference units (rtl/lut_int32.v, lut_fp32.v and the fp32_*.v primitives) were not found in {} "
      "(install gqalut with its share/gqalut/rtl, or pass --rtl-dir)",
      looked));
}

// ------------------------------------------------------------------ PWL
BuiltUnit build_pwl_unit(const UnitRequest& r) {
  if (r.table.empty())
    throw std::invalid_argument("unit pwl needs a table file (--table FILE, e.g. from gqalut fit --func gelu -o FILE)");
  TableSet set = read_json_file(r.table);
  ExportOptions o;
  o.programmable = r.programmable;
  o.output_register = r.output_register;
  o.scale = r.scale;
  o.name = r.name;
  BuiltUnit b;
  b.unit = pwl_unit(set, o);
  b.description = fmt::format("INT8 PWL unit of {} ({} entries), {}{}", r.table, set.entries(),
                              r.programmable ? "programmable" : fmt::format("baked for scale {}", verilog_scale(set, o)),
                              r.output_register ? ", output register" : ", combinational");
  b.elements_per_cycle = 1;
  VerilogUnit tb = pwl_testbench(set, o);
  b.verify = [tb](const VerilogUnit& unit, const SimOptions& so) { return hw::simulate(unit, tb, so); };
  return b;
}

// ------------------------------------------------------------------ INT32 / FP32 reference LUTs
namespace {

int index_bits(int k) {
  int b = 1;
  while ((1 << b) < k) ++b;
  return b;
}

// One command of tb_lut_*.v: {op[7:0], addr[23:0], a[31:0], b[63:0]}.
std::string write_cmd(uint32_t addr, uint32_t data) { return fmt::format("01{:06x}{:08x}{:016x}\n", addr, data, 0); }
std::string check_cmd(uint32_t in, uint64_t expected) { return fmt::format("02{:06x}{:08x}{:016x}\n", 0, in, expected); }

void check_entries(const UnitRequest& r, const char* kind) {
  if (r.entries < 2 || r.entries > 64)
    throw std::invalid_argument(fmt::format("unit {}: entries must be in [2, 64], got {}", kind, r.entries));
}

// Random tables (every load: sorted breakpoints, an empty segment) and inputs at the edges, each
// checked against rtl::int32_unit.
std::string int32_commands(int K, uint64_t seed, int loads, int randoms, size_t* checks) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> any(INT32_MIN, INT32_MAX), small(-300, 300);
  const int I = index_bits(K);
  std::string cmds;
  for (int load = 0; load < loads; ++load) {
    rtl::Int32Table t;
    for (int i = 0; i + 1 < K; ++i) t.bp.push_back(int32_t(load == 1 ? small(rng) : any(rng)));
    std::sort(t.bp.begin(), t.bp.end());
    if (K > 3) t.bp[2] = t.bp[1];  // an empty segment
    for (int i = 0; i < K; ++i) {
      t.ks.push_back(int32_t(load == 1 ? small(rng) : any(rng)));
      t.bs.push_back(int32_t(any(rng)));
    }
    t.sk = unsigned(rng() % 4);
    t.sb = unsigned(rng() % 8);
    for (int i = 0; i + 1 < K; ++i) cmds += write_cmd((0u << I) | i, uint32_t(t.bp[i]));
    for (int i = 0; i < K; ++i) cmds += write_cmd((1u << I) | i, uint32_t(t.ks[i]));
    for (int i = 0; i < K; ++i) cmds += write_cmd((2u << I) | i, uint32_t(t.bs[i]));
    cmds += write_cmd(3u << I, t.sk);
    cmds += write_cmd((3u << I) | 1, t.sb);
    std::vector<int32_t> xs = {INT32_MIN, INT32_MAX, 0, -1, 1};
    for (int32_t p : t.bp)
      for (int64_t d : {-1, 0, 1}) xs.push_back(int32_t(std::clamp<int64_t>(int64_t{p} + d, INT32_MIN, INT32_MAX)));
    for (int j = 0; j < randoms; ++j) xs.push_back(int32_t(load == 1 ? small(rng) : any(rng)));
    for (int32_t x : xs) {
      cmds += check_cmd(uint32_t(x), uint64_t(rtl::int32_unit(t, x)));
      ++*checks;
    }
  }
  return cmds;
}

float random_float(std::mt19937_64& rng) {
  switch (rng() % 4) {
    case 0:  // any bit pattern: every class, subnormals, inf and NaN included
      return rtl::float_of(uint32_t(rng()));
    case 1: {  // moderate magnitudes
      std::uniform_real_distribution<float> u(-8.f, 8.f);
      return u(rng);
    }
    case 2: {  // huge or tiny magnitudes: overflow and underflow paths
      int e = int(rng() % 60) - 30;
      float m = 1.0f + float(rng() % (1u << 23)) / float(1u << 23);
      float v = std::ldexp(m, e > 0 ? 100 + e : -100 + e);
      return (rng() & 1) ? -v : v;
    }
    default:  // few-bit values, like the INT8 tables' coefficients
      return std::ldexp(float(int(rng() % 255) - 127), -int(rng() % 8));
  }
}

std::string fp32_commands(int K, uint64_t seed, int loads, int randoms, size_t* checks) {
  std::mt19937_64 rng(seed);
  const int I = index_bits(K);
  std::string cmds;
  const float inf = std::numeric_limits<float>::infinity();
  for (int load = 0; load < loads; ++load) {
    rtl::Fp32Table t;
    for (int i = 0; i + 1 < K; ++i) t.bp.push_back(load == 0 ? float(int(rng() % 17) - 8) * 0.5f : random_float(rng));
    std::sort(t.bp.begin(), t.bp.end(), [](float a, float b) { return rtl::bits_of(a) < rtl::bits_of(b); });
    if (load == 0 && K > 3) {
      t.bp[1] = -0.0f;  // -0 and +0 are equal breakpoints
      t.bp[2] = 0.0f;
    }
    for (int i = 0; i < K; ++i) {
      t.ks.push_back(random_float(rng));
      t.bs.push_back(random_float(rng));
    }
    if (load == 3) {  // special coefficients: inf, NaN, zero, subnormal
      t.ks[0] = inf;
      t.bs[1] = -inf;
      t.ks[2 % K] = std::numeric_limits<float>::quiet_NaN();
      t.ks[3 % K] = 0.0f;
      t.bs[4 % K] = std::ldexp(1.0f, -140);
    }
    for (int i = 0; i + 1 < K; ++i) cmds += write_cmd((0u << I) | i, rtl::bits_of(t.bp[i]));
    for (int i = 0; i < K; ++i) cmds += write_cmd((1u << I) | i, rtl::bits_of(t.ks[i]));
    for (int i = 0; i < K; ++i) cmds += write_cmd((2u << I) | i, rtl::bits_of(t.bs[i]));
    std::vector<float> xs = {0.0f, -0.0f, inf, -inf, std::numeric_limits<float>::quiet_NaN(),
                             std::ldexp(1.0f, -130), -std::ldexp(1.0f, -149), std::numeric_limits<float>::max(),
                             std::numeric_limits<float>::min()};
    for (float p : t.bp) xs.insert(xs.end(), {p, std::nextafter(p, -inf), std::nextafter(p, inf)});
    // Cancellation: x near -B/K makes K*x + B nearly vanish.
    for (int i = 0; i < K; ++i) {
      float q = -t.bs[i] / t.ks[i];
      if (std::isfinite(q)) xs.insert(xs.end(), {q, std::nextafter(q, -inf), std::nextafter(q, inf)});
    }
    for (int j = 0; j < randoms; ++j) xs.push_back(random_float(rng));
    for (float x : xs) {
      cmds += check_cmd(rtl::bits_of(x), rtl::fp32_unit(t, x));
      ++*checks;
    }
  }
  return cmds;
}

BuiltUnit build_reference_lut(const UnitRequest& r, bool fp32) {
  const char* kind = fp32 ? "lut-fp32" : "lut-int32";
  check_entries(r, kind);
  const std::string dir = find_rtl_dir(r.rtl_dir);
  const std::string top = fp32 ? "lut_fp32" : "lut_int32";
  std::vector<std::string> files = {dir + "/" + top + ".v"};
  if (fp32)
    for (const char* m : {"fp32_ge", "fp32_mul", "fp32_add"}) files.push_back(dir + "/" + m + ".v");
  BuiltUnit b;
  b.unit = read_unit(top, files);
  const int K = r.entries, reg = r.output_register ? 1 : 0;
  b.chparam = fmt::format("-set K {} -set OUTREG {}", K, reg);
  b.lint_flags = {fmt::format("-GK={}", K), fmt::format("-GOUTREG={}", reg)};
  b.description = fmt::format("{} programmable {} PWL LUT unit, {} entries{}", fp32 ? "FP32" : "INT32",
                              fp32 ? "single-precision" : "32-bit integer", K,
                              reg ? ", output register" : ", combinational");
  b.elements_per_cycle = 1;
  VerilogUnit tb = read_unit("tb_" + top, {dir + "/tb_" + top + ".v"});
  const uint64_t seed = r.seed;
  const bool full = r.full;
  b.verify = [tb, fp32, K, reg, seed, full, top](const VerilogUnit& unit, const SimOptions& so) {
    size_t checks = 0;
    const int loads = fp32 ? 4 : 3, randoms = full ? 2000 : (fp32 ? 400 : 200);
    std::string cmds = fp32 ? fp32_commands(K, seed, loads, randoms, &checks)
                            : int32_commands(K, seed, loads, randoms, &checks);
    SimOptions o = so;
    o.data_files.push_back({"cmds.hex", cmds});
    o.iverilog_flags.push_back(fmt::format("-Ptb_{}.K={}", top, K));
    o.iverilog_flags.push_back(fmt::format("-Ptb_{}.OUTREG={}", top, reg));
    SimResult res = hw::simulate(unit, tb, o);
    if (res.passed() && res.checks != static_cast<long long>(checks)) {
      res.log += fmt::format("FAIL: the testbench ran {} checks, {} were written\n", res.checks, checks);
    }
    return res;
  };
  return b;
}

}  // namespace

BuiltUnit build_lut_int32_unit(const UnitRequest& r) { return build_reference_lut(r, false); }
BuiltUnit build_lut_fp32_unit(const UnitRequest& r) { return build_reference_lut(r, true); }

}  // namespace gqalut::hw
