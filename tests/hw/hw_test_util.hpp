// Helpers shared by the hardware-layer tests: this build's iverilog/vvp/verilator working in a
// folder of the build tree named after the check, the GQALUT_HW_FULL switch, the testbenches'
// cycle count, the integer row units' verification and cycle check (gqalut/hw/softmax_unit.hpp,
// layernorm_unit.hpp) and the reference units' stream checks (gqalut/hw/reference_units.hpp).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gqalut/hw/reference_units.hpp"
#include "gqalut/hw/registry.hpp"
#include "gqalut/hw/sim.hpp"
#include "gqalut/hw/softmax_unit.hpp"

namespace gqalut::hw::test {

// The source tree's rtl/ (the hand-written units).
inline const std::string kRtl = GQALUT_RTL_DIR;

// GQALUT_HW_FULL=1 asks for the full check sets (the reduced default keeps the suite short).
inline bool full() {
  const char* f = std::getenv("GQALUT_HW_FULL");
  return f != nullptr && std::string(f) == "1";
}
inline int scaled(int reduced, int full_count) { return full() ? full_count : reduced; }

// Simulation and lint with this build's tools, in <build>/tests/hw/work/<name>.
inline SimOptions sim_options(const std::string& name, double timeout_s = 600) {
  SimOptions o;
  o.work_dir = std::string(GQALUT_RTL_WORK_DIR) + "/" + name;
  o.iverilog = GQALUT_IVERILOG;
  o.vvp = GQALUT_VVP;
  o.timeout_s = timeout_s;
  return o;
}
inline LintOptions lint_options(const std::string& name, std::vector<std::string> flags = {}) {
  LintOptions o;
  o.work_dir = std::string(GQALUT_RTL_WORK_DIR) + "/" + name;
  o.verilator = GQALUT_VERILATOR;
  o.flags = std::move(flags);
  return o;
}
inline LintResult lint_unit(const VerilogUnit& u, const std::string& name) {
  return lint(u, lint_options(name));
}

// The count of a testbench's "CYCLES: <c>" line; -1 without one.
inline long long cycles_of(const std::string& log) {
  const size_t at = log.find("CYCLES: ");
  return at == std::string::npos ? -1 : std::stoll(log.substr(at + 8));
}

// An integer row unit (options `o` of SoftmaxUnitOptions / LayerNormUnitOptions) linted and run
// through its stage and row testbenches with `rows` random rows; GQALUT_HW_FULL=1: 10^5 random
// rows up to 256, the long lengths included. `verify(o, t, sim, lint)` is verify_softmax_unit /
// verify_layernorm_unit with a plan; `dir` prefixes the work folders.
template <class UnitOptions, class Verify>
void expect_row_unit_verified(const std::string& dir, double timeout_s, UnitOptions o, long long rows,
                              const Verify& verify) {
  UnitTestOptions t;
  t.random_rows = full() ? 100000 : rows;
  if (full()) {
    o.max_n = 256;  // the edge rows reach it
    t.lengths = {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 16, 17, 24, 31, 32, 33, 48, 64, 100, 197, 256};
  }
  const std::string d = full() ? dir + "_full" : dir;
  const UnitVerification v = verify(o, t, sim_options(d, timeout_s), lint_options(d));
  EXPECT_TRUE(v.lint.clean()) << v.lint.log;
  EXPECT_TRUE(v.stages.passed()) << v.stages.summary() << "\n" << v.stages.compile_log << v.stages.log.substr(0, 4000);
  EXPECT_TRUE(v.rows.passed()) << v.rows.summary() << "\n" << v.rows.compile_log << v.rows.log.substr(0, 4000);
  std::printf("%s: %s\n", dir.c_str(), v.summary().c_str());
}

// Without stalls the rows of an integer row unit run back to back: its row testbench's cycle
// count is the documented interval summed over the rows, plus the one cycle the testbench takes
// to present the first beat. At 1 and 4 lanes, rows up to 32. `row_testbench(o, t)`,
// `generate(o)` and `timing(o, n)` are the unit's (softmax_row_testbench, ... with a plan).
template <class UnitOptions, class RowTestbench, class Generate, class Timing>
void expect_documented_cycle_count(const std::string& dir, double timeout_s, const RowTestbench& row_testbench,
                                   const Generate& generate, const Timing& timing) {
  for (int lanes : {1, 4}) {
    UnitOptions o;
    o.max_n = 32;
    o.lanes = lanes;
    UnitTestOptions t;
    t.random_rows = 40;
    t.stall = false;
    const UnitTestbench tb = row_testbench(o, t);
    SimOptions so = sim_options(fmt::format("{}cycles_l{}", dir, lanes), timeout_s);
    so.data_files = tb.data_files;
    const SimResult r = simulate(generate(o), tb.tb, so);
    ASSERT_TRUE(r.passed()) << r.summary();
    long long want = 1;
    for (long long n : tb.row_lengths) want += timing(o, n).interval;
    EXPECT_EQ(cycles_of(r.log), want) << "lanes " << lanes;
  }
}

inline size_t elements(const std::vector<std::vector<int8_t>>& rows) {
  size_t n = 0;
  for (const auto& r : rows) n += r.size();
  return n;
}

// A reference unit through its stream testbench (rtl/tb_*_ref.v), with random valid/ready gaps
// and, unless skipped (slow combinational builds outside the full run), at full rate: every
// output checked. `tag` names the work folders.
inline void expect_stream_passes(const VerilogUnit& u, bool layernorm, const StreamCheck& chk,
                                 const std::string& tag, unsigned seed, bool full_rate = true) {
  for (bool stall : {true, false}) {
    if (!stall && !full_rate) continue;
    const SimResult r =
        simulate_stream(u, layernorm, chk, kRtl, sim_options(fmt::format("{}_s{}", tag, stall)), seed, stall);
    EXPECT_TRUE(r.passed()) << tag << ": " << r.summary() << "\n" << r.compile_log << r.log;
    EXPECT_EQ(r.checks, (long long)elements(chk.q)) << tag;
  }
}

// The error of a reference model `row` with configuration `c` on a row set of `gqalut ops` of
// length n: 40 rows, seed 1 * 1000003 + n; softmax: normal (or peaked) logits at 2^-4, uint8 out
// at 2^-8; LayerNorm: int8 at 2^-4, gamma 2^-6, int8 out at 2^-4, eps 1e-5.
template <class Config>
OpErrorStats ops_softmax_error(void (*row)(const Config&, const int8_t*, uint8_t*, size_t), const Config& c, size_t n,
                               bool peaked = false) {
  const uint64_t seed = 1 * 1000003 + n;
  return measure_softmax_rows([&](const int8_t* q, uint8_t* out, size_t m) { row(c, q, out, m); }, 4, 8,
                              peaked ? peaked_logit_rows(n, 40, seed) : normal_logit_rows(n, 40, seed));
}
template <class Config>
OpErrorStats ops_layernorm_error(void (*row)(const Config&, const int8_t*, const int8_t*, const int32_t*, int8_t*,
                                             size_t),
                                 const Config& c, size_t n) {
  return measure_layernorm_rows(
      [&](const int8_t* q, const int8_t* g, const int32_t* b, int8_t* out, size_t m) { row(c, q, g, b, out, m); }, 4,
      6, 4, 1e-5, layernorm_rows(n, 40, 1 * 1000003 + n), 1);
}

// The registry's reference kinds: build at max_n 16, pass their own testbench, have an error
// measurement, refuse more than one lane unless their kind has lanes.
inline void expect_reference_kinds_build(std::initializer_list<const char*> kinds) {
  for (const char* kind : kinds) {
    UnitRequest r;
    r.max_n = 16;
    r.rtl_dir = kRtl;
    const BuiltUnit b = build_unit(kind, r);
    EXPECT_EQ(b.kind, kind);
    // One row at a time, phases one after another: below one element per cycle
    // (test_reference_timing.cpp checks the figure against simulation).
    EXPECT_GT(b.elements_per_cycle, 0);
    EXPECT_LT(b.elements_per_cycle, 1);
    const SimResult s = b.simulate(sim_options(std::string("registry_") + kind));
    EXPECT_TRUE(s.passed()) << kind << ": " << s.summary() << "\n" << s.log;
    EXPECT_GT(s.checks, 256);
    ASSERT_TRUE(bool(b.error));
    // More than one lane only where the kind says it has lanes (Registry.ReferencesWithLanesPassAtFourLanes
    // simulates those).
    UnitRequest lanes = r;
    lanes.lanes = 4;
    if (std::string(find_unit_kind(kind).options).find("lanes") == std::string::npos)
      EXPECT_THROW(build_unit(kind, lanes), std::invalid_argument) << kind;
    else
      EXPECT_NO_THROW(build_unit(kind, lanes)) << kind;
  }
}

}  // namespace gqalut::hw::test
