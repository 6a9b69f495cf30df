// The generated integer softmax unit (gqalut/hw/softmax_unit.hpp): bit-exact with the scalar
// reference (gqalut/datapath.hpp) on every EXP-stage input, every DIV code (both ends of its
// interval, several exponents, the rounding carry), output-stage corners and random vectors, and
// on edge and random rows through the streaming interface with random stalls; Verilator-lint clean;
// the documented cycle count; a wrong unit fails. GQALUT_HW_FULL=1 runs 10^5 random rows.
#include <cstdlib>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gqalut/hw/softmax_unit.hpp"
#include "gqalut/intops.hpp"
#include "gqalut/intops_measure.hpp"

namespace gqalut::hw {
namespace {

const ref::SoftmaxRef& plan8() {
  static const SoftmaxPlan p =
      prepare_softmax(fit_int8_optimum("exp2m1", 8, {8}), fit_int8_optimum("reci", 8, {5}), 4, 8);
  return p.reference();
}

SimOptions sim(const std::string& name) {
  SimOptions o;
  o.work_dir = std::string(GQALUT_RTL_WORK_DIR) + "/softmax_" + name;
  o.iverilog = GQALUT_IVERILOG;
  o.vvp = GQALUT_VVP;
  o.timeout_s = 900;
  return o;
}
LintOptions lint_opts(const std::string& name) {
  LintOptions o;
  o.work_dir = std::string(GQALUT_RTL_WORK_DIR) + "/softmax_" + name;
  o.verilator = GQALUT_VERILATOR;
  return o;
}
bool full() {
  const char* f = std::getenv("GQALUT_HW_FULL");
  return f != nullptr && std::string(f) == "1";
}

void verify(const std::string& name, const SoftmaxUnitOptions& o, long long rows) {
  UnitTestOptions t;
  SoftmaxUnitOptions o2 = o;
  if (full()) o2.max_n = 256;  // the full run: rows up to 256 (the edge rows reach it)
  t.random_rows = full() ? 100000 : rows;
  if (full()) t.lengths = {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 16, 17, 24, 31, 32, 33, 48, 64, 100, 197, 256};
  const std::string dir = full() ? name + "_full" : name;
  const UnitVerification v = verify_softmax_unit(plan8(), o2, t, sim(dir), lint_opts(dir));
  EXPECT_TRUE(v.lint.clean()) << v.lint.log;
  EXPECT_TRUE(v.stages.passed()) << v.stages.summary() << "\n" << v.stages.compile_log << v.stages.log;
  EXPECT_TRUE(v.rows.passed()) << v.rows.summary() << "\n" << v.rows.compile_log << v.rows.log.substr(0, 4000);
  std::printf("%s: %s\n", name.c_str(), v.summary().c_str());
}

TEST(SoftmaxUnit, BakedOneLane) {
  SoftmaxUnitOptions o;
  o.max_n = 64;
  verify("baked_l1", o, 1500);
}

TEST(SoftmaxUnit, BakedFourLanes) {
  SoftmaxUnitOptions o;
  o.max_n = 64;
  o.lanes = 4;
  verify("baked_l4", o, 1500);
}

TEST(SoftmaxUnit, ProgrammableOneLaneInt8Out) {
  SoftmaxUnitOptions o;
  o.max_n = 32;
  o.programmable = true;
  o.int8_out = true;
  verify("prog_l1", o, 500);
}

}  // namespace
}  // namespace gqalut::hw

namespace gqalut::hw {
namespace {

long long cycles_of(const std::string& log) {
  const size_t at = log.find("CYCLES: ");
  return at == std::string::npos ? -1 : std::stoll(log.substr(at + 8));
}

// Without stalls the rows run back to back: the testbench's cycle count is the documented
// interval summed over its rows, plus the one cycle the testbench takes to present the first beat.
TEST(SoftmaxUnit, CycleCountIsTheDocumentedFormula) {
  for (int lanes : {1, 4}) {
    SoftmaxUnitOptions o;
    o.max_n = 32;
    o.lanes = lanes;
    UnitTestOptions t;
    t.random_rows = 40;
    t.stall = false;
    const UnitTestbench tb = softmax_row_testbench(plan8(), o, t);
    SimOptions so = sim(fmt::format("cycles_l{}", lanes));
    so.data_files = tb.data_files;
    const SimResult r = simulate(generate_softmax_unit(plan8(), o), tb.tb, so);
    ASSERT_TRUE(r.passed()) << r.summary();
    long long want = 1;
    for (long long n : tb.row_lengths) want += softmax_unit_timing(plan8(), o, n).interval;
    EXPECT_EQ(cycles_of(r.log), want) << "lanes " << lanes;
  }
}

// A unit with one wrong constant (the EXP split's log2(e) constant off by one in its last bit)
// fails the stage testbench.
TEST(SoftmaxUnit, AWrongUnitFails) {
  SoftmaxUnitOptions o;
  o.max_n = 16;
  VerilogUnit u = generate_softmax_unit(plan8(), o);
  bool changed = false;
  for (auto& [name, text] : u.files) {
    if (name != "gqalut_softmax_exp_split.v") continue;
    const size_t at = text.find(" * 23'd");
    ASSERT_NE(at, std::string::npos) << text;
    const size_t end = text.find(' ', at + 7);
    const long long c = std::stoll(text.substr(at + 7, end - at - 7));
    text.replace(at + 7, end - at - 7, std::to_string(c + 1));
    changed = true;
  }
  ASSERT_TRUE(changed);
  UnitTestOptions t;
  t.stage_random = 100;
  const UnitTestbench tb = softmax_stage_testbench(plan8(), o, t);
  SimOptions so = sim("wrong");
  so.data_files = tb.data_files;
  const SimResult r = simulate(u, tb.tb, so);
  EXPECT_TRUE(r.compiled) << r.compile_log;
  EXPECT_FALSE(r.passed()) << r.summary();
  EXPECT_NE(r.log.find("FAIL: EXP u="), std::string::npos) << r.log.substr(0, 2000);
}

TEST(SoftmaxUnit, BadOptionsAreRefusedInOneLine) {
  SoftmaxUnitOptions o;
  o.lanes = 3;
  o.max_n = 32;
  try {
    generate_softmax_unit(plan8(), o);
    FAIL() << "lanes 3 with max_n 32 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("multiple of lanes"), std::string::npos) << e.what();
  }
  o = {};
  o.name = "module";
  EXPECT_THROW(generate_softmax_unit(plan8(), o), std::invalid_argument);
  o = {};
  o.lanes = 0;
  EXPECT_THROW(generate_softmax_unit(plan8(), o), std::invalid_argument);
  o = {};
  EXPECT_THROW(softmax_unit_timing(plan8(), o, 0), std::invalid_argument);
}

}  // namespace
}  // namespace gqalut::hw
