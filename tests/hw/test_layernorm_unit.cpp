// The generated integer LayerNorm unit (gqalut/hw/layernorm_unit.hpp): bit-exact with the scalar
// reference (gqalut/datapath.hpp) on the row statistics and rsqrt (every RSQRT code at both ends of
// its rounding interval for several exponents, the carry, every small V, V = 0, edge and random
// rows' sums), the output stage (every q on corner gamma/beta, random vectors) and on edge and
// random rows through the streaming interface with random stalls; Verilator-lint clean; the
// documented cycle count; a wrong unit fails. GQALUT_HW_FULL=1 runs 10^5 random rows.
#include <cstdlib>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gqalut/hw/layernorm_unit.hpp"
#include "gqalut/intops.hpp"
#include "gqalut/intops_measure.hpp"

namespace gqalut::hw {
namespace {

const ref::LayerNormRef& plan8() {
  static const LayerNormPlan p = prepare_layernorm(fit_int8_optimum("rsqrt", 8, {5}), 4, 4, 6, 1e-5);
  return p.reference();
}

SimOptions sim(const std::string& name) {
  SimOptions o;
  o.work_dir = std::string(GQALUT_RTL_WORK_DIR) + "/layernorm_" + name;
  o.iverilog = GQALUT_IVERILOG;
  o.vvp = GQALUT_VVP;
  o.timeout_s = 3000;
  return o;
}
LintOptions lint_opts(const std::string& name) {
  LintOptions o;
  o.work_dir = std::string(GQALUT_RTL_WORK_DIR) + "/layernorm_" + name;
  o.verilator = GQALUT_VERILATOR;
  return o;
}
bool full() {
  const char* f = std::getenv("GQALUT_HW_FULL");
  return f != nullptr && std::string(f) == "1";
}

void verify(const std::string& name, const LayerNormUnitOptions& o, long long rows) {
  UnitTestOptions t;
  LayerNormUnitOptions o2 = o;
  if (full()) o2.max_n = 256;
  t.random_rows = full() ? 100000 : rows;
  if (full()) t.lengths = {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 16, 17, 24, 31, 32, 33, 48, 64, 100, 197, 256};
  const std::string dir = full() ? name + "_full" : name;
  const UnitVerification v = verify_layernorm_unit(plan8(), o2, t, sim(dir), lint_opts(dir));
  EXPECT_TRUE(v.lint.clean()) << v.lint.log;
  EXPECT_TRUE(v.stages.passed()) << v.stages.summary() << "\n" << v.stages.compile_log << v.stages.log.substr(0, 4000);
  EXPECT_TRUE(v.rows.passed()) << v.rows.summary() << "\n" << v.rows.compile_log << v.rows.log.substr(0, 4000);
  std::printf("%s: %s\n", name.c_str(), v.summary().c_str());
}

TEST(LayerNormUnit, BakedOneLane) {
  LayerNormUnitOptions o;
  o.max_n = 64;
  verify("baked_l1", o, 1500);
}

TEST(LayerNormUnit, BakedFourLanes) {
  LayerNormUnitOptions o;
  o.max_n = 64;
  o.lanes = 4;
  verify("baked_l4", o, 1500);
}

TEST(LayerNormUnit, ProgrammableOneLane) {
  LayerNormUnitOptions o;
  o.max_n = 32;
  o.programmable = true;
  verify("prog_l1", o, 500);
}

long long cycles_of(const std::string& log) {
  const size_t at = log.find("CYCLES: ");
  return at == std::string::npos ? -1 : std::stoll(log.substr(at + 8));
}

// Without stalls the rows run back to back: the testbench's cycle count is the documented
// interval summed over its rows, plus the one cycle the testbench takes to present the first beat.
TEST(LayerNormUnit, CycleCountIsTheDocumentedFormula) {
  for (int lanes : {1, 4}) {
    LayerNormUnitOptions o;
    o.max_n = 32;
    o.lanes = lanes;
    UnitTestOptions t;
    t.random_rows = 40;
    t.stall = false;
    const UnitTestbench tb = layernorm_row_testbench(plan8(), o, t);
    SimOptions so = sim(fmt::format("cycles_l{}", lanes));
    so.data_files = tb.data_files;
    const SimResult r = simulate(generate_layernorm_unit(plan8(), o), tb.tb, so);
    ASSERT_TRUE(r.passed()) << r.summary();
    long long want = 1;
    for (long long n : tb.row_lengths) want += layernorm_unit_timing(plan8(), o, n).interval;
    EXPECT_EQ(cycles_of(r.log), want) << "lanes " << lanes;
  }
}

// A unit with one wrong constant (the rounding half 2^(t-1) of the last output stage made 2^(t-2))
// fails its stage testbench.
TEST(LayerNormUnit, AWrongUnitFails) {
  LayerNormUnitOptions o;
  o.max_n = 16;
  VerilogUnit u = generate_layernorm_unit(plan8(), o);
  bool changed = false;
  for (auto& [name, text] : u.files) {
    if (name != "gqalut_layernorm_out4.v") continue;
    const size_t at = text.find("(t - 5'd1)");
    ASSERT_NE(at, std::string::npos) << text;
    text.replace(at, 10, "(t - 5'd2)");
    changed = true;
  }
  ASSERT_TRUE(changed);
  UnitTestOptions t;
  t.stage_random = 100;
  const UnitTestbench tb = layernorm_stage_testbench(plan8(), o, t);
  SimOptions so = sim("wrong");
  so.data_files = tb.data_files;
  const SimResult r = simulate(u, tb.tb, so);
  EXPECT_TRUE(r.compiled) << r.compile_log;
  EXPECT_FALSE(r.passed()) << r.summary();
  EXPECT_NE(r.log.find("FAIL: OUT"), std::string::npos) << r.log.substr(0, 2000);
}

TEST(LayerNormUnit, BadOptionsAreRefusedInOneLine) {
  LayerNormUnitOptions o;
  o.lanes = 3;
  o.max_n = 32;
  EXPECT_THROW(generate_layernorm_unit(plan8(), o), std::invalid_argument);
  o = {};
  o.max_n = 8192;
  EXPECT_THROW(generate_layernorm_unit(plan8(), o), std::invalid_argument);
  o = {};
  o.name = "wire";
  EXPECT_THROW(generate_layernorm_unit(plan8(), o), std::invalid_argument);
  o = {};
  EXPECT_THROW(layernorm_unit_timing(plan8(), o, 257), std::invalid_argument);
}

}  // namespace
}  // namespace gqalut::hw
