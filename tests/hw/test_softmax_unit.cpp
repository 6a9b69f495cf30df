// The generated integer softmax unit (gqalut/hw/softmax_unit.hpp): bit-exact with the scalar
// reference (gqalut/datapath.hpp) on every EXP-stage input, every DIV code (both ends of its
// interval, several exponents, the rounding carry), output-stage corners and random vectors, and
// on edge and random rows through the streaming interface with random stalls; Verilator-lint clean;
// the documented cycle count; a wrong unit fails. GQALUT_HW_FULL=1 runs 10^5 random rows.
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gqalut/hw/softmax_unit.hpp"
#include "gqalut/intops.hpp"
#include "gqalut/intops_measure.hpp"
#include "hw_test_util.hpp"

namespace gqalut::hw {
namespace {

const ref::SoftmaxRef& plan8() {
  static const SoftmaxPlan p =
      prepare_softmax(fit_int8_optimum("exp2m1", 8, {8}), fit_int8_optimum("reci", 8, {5}), 4, 8);
  return p.reference();
}

SimOptions sim(const std::string& name) { return test::sim_options("softmax_" + name, 900); }

void verify(const std::string& name, const SoftmaxUnitOptions& o, long long rows) {
  test::expect_row_unit_verified("softmax_" + name, 900, o, rows,
                                 [](auto&&... a) { return verify_softmax_unit(plan8(), a...); });
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

// Rows of up to 4096: sums up to 2^36, so the output shift T reaches 32 (every output 0, the
// zero flag the short units do not generate), the exponent takes 13 values, and the 4096-deep
// buffer reads through the copies of its read address. Every stage input plus rows of the
// extreme lengths.
TEST(SoftmaxUnit, LongRowsReachTheZeroShift) {
  SoftmaxUnitOptions o;
  o.max_n = 4096;
  UnitTestOptions t;
  t.random_rows = 12;
  t.lengths = {4096, 1, 4095, 2, 1000, 4096};
  t.stage_random = 4000;
  const UnitVerification v = verify_softmax_unit(plan8(), o, t, sim("long"), test::lint_options("softmax_long"));
  EXPECT_TRUE(v.lint.clean()) << v.lint.log;
  EXPECT_TRUE(v.stages.passed()) << v.stages.summary() << "\n" << v.stages.log.substr(0, 4000);
  EXPECT_TRUE(v.rows.passed()) << v.rows.summary() << "\n" << v.rows.log.substr(0, 4000);
  const VerilogUnit u = generate_softmax_unit(plan8(), o);
  bool zero_port = false, copies = false;
  for (const auto& [name, text] : u.files) {
    if (name == "gqalut_softmax_recip.v") zero_port = text.find("output wire          zero") != std::string::npos;
    if (name == "gqalut_softmax.v") copies = text.find("mem[ra7]") != std::string::npos;
  }
  EXPECT_TRUE(zero_port);
  EXPECT_TRUE(copies);
}

// Rows of 2 take the narrowest unit: no zero flag (T <= 24), a 2-value exponent, and the
// Newton steps on the output multiplier: no sequential multiplier module, 4 partial products per
// multiply (the reciprocal in 4 + 2 * 2 * 5 cycles).
TEST(SoftmaxUnit, ShortRowsNeedNoZeroFlag) {
  SoftmaxUnitOptions o;
  o.max_n = 2;
  verify("short", o, 200);
  const VerilogUnit u = generate_softmax_unit(plan8(), o);
  for (const auto& [name, text] : u.files) {
    if (name == "gqalut_softmax_recip.v") EXPECT_EQ(text.find("zero"), std::string::npos) << text;
    EXPECT_EQ(text.find("Sequential multiplier"), std::string::npos) << name;
  }
  EXPECT_EQ(softmax_unit_timing(plan8(), o, 2).recip_cycles, 4 + 2 * 2 * 5);
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

TEST(SoftmaxUnit, CycleCountIsTheDocumentedFormula) {
  test::expect_documented_cycle_count<SoftmaxUnitOptions>(
      "softmax_", 900, [](auto&&... a) { return softmax_row_testbench(plan8(), a...); },
      [](const SoftmaxUnitOptions& o) { return generate_softmax_unit(plan8(), o); },
      [](auto&&... a) { return softmax_unit_timing(plan8(), a...); });
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
