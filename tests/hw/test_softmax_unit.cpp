// The generated integer softmax unit (gqalut/hw/softmax_unit.hpp): bit-exact with the scalar
// reference (gqalut/datapath.hpp) on every EXP-stage input, every DIV code (both ends of its
// interval, several exponents, the rounding carry), output-stage corners and random vectors, and
// on edge and random rows through the streaming interface with random stalls; Verilator-lint clean;
// the documented cycle count; a wrong unit fails; the same for the re-streamed units (no row buffer,
// each row sent three times). GQALUT_HW_FULL=1 runs 10^5 random rows.
#include <string>
#include <utility>

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

// Re-streamed units (no row buffer; the row testbench sends each row three times, with the
// same random in_valid gaps and out_ready stalls): the same stage and row checks.
SoftmaxUnitOptions restreamed(int max_n, int lanes, bool programmable = false) {
  SoftmaxUnitOptions o;
  o.max_n = max_n;
  o.lanes = lanes;
  o.programmable = programmable;
  o.restream = true;
  return o;
}

TEST(SoftmaxUnit, RestreamBakedOneLane) { verify("rs_baked_l1", restreamed(256, 1), 300); }

TEST(SoftmaxUnit, RestreamBakedFourLanes) { verify("rs_baked_l4", restreamed(64, 4), 1000); }

TEST(SoftmaxUnit, RestreamShortRows) { verify("rs_short", restreamed(2, 1), 200); }

TEST(SoftmaxUnit, RestreamProgrammableOneLaneInt8Out) {
  SoftmaxUnitOptions o = restreamed(32, 1, true);
  o.int8_out = true;
  verify("rs_prog_l1", o, 500);
}

TEST(SoftmaxUnit, RestreamProgrammableFourLanes) { verify("rs_prog_l4", restreamed(256, 4, true), 200); }

// The re-streamed unit differs from the buffered one in its top module only: no row buffer, no
// read address copies, in_ready also high in PASS2 / PASS3; the sub-modules are the same text.
TEST(SoftmaxUnit, RestreamHasNoRowBuffer) {
  for (int max_n : {2, 256, 4096}) {
    SoftmaxUnitOptions o;
    o.max_n = max_n;
    const VerilogUnit b = generate_softmax_unit(plan8(), o);
    o.restream = true;
    const VerilogUnit s = generate_softmax_unit(plan8(), o);
    ASSERT_EQ(b.files.size(), s.files.size());
    for (size_t i = 0; i < b.files.size(); ++i) {
      ASSERT_EQ(b.files[i].first, s.files[i].first);
      if (b.files[i].first != "gqalut_softmax.v") {
        EXPECT_EQ(b.files[i].second, s.files[i].second) << b.files[i].first;
        continue;
      }
      EXPECT_NE(b.files[i].second.find("the row buffer (int8 codes)"), std::string::npos);
      EXPECT_EQ(s.files[i].second.find("the row buffer (int8 codes)"), std::string::npos) << s.files[i].second;
      EXPECT_EQ(s.files[i].second.find("mem"), std::string::npos) << s.files[i].second;
      EXPECT_EQ(s.files[i].second.find("(* keep *)"), std::string::npos) << s.files[i].second;
      EXPECT_NE(s.files[i].second.find("assign in_ready = (ph == LOAD) || (pass && adv);"), std::string::npos);
      EXPECT_NE(s.files[i].second.find("if (issue) qr <= in_q;"), std::string::npos);
      EXPECT_EQ(b.files[i].second.find("mem[ra7]") != std::string::npos, max_n >= 256);  // buffers of 128+ beats
    }
    EXPECT_TRUE(test::lint_unit(s, fmt::format("softmax_rs_lint_{}", max_n)).clean()) << max_n;
  }
}

// The re-streamed unit reads the row in every pass: a source that sends a different code in one
// pass (the first element of the max_n-long row of 5s, which the edge rows send fourth, changed to
// 127 in pass 1 or to -100 in pass 2 or 3) makes the outputs differ from the reference's.
TEST(SoftmaxUnit, RestreamReadsEveryPass) {
  const SoftmaxUnitOptions o = restreamed(16, 1);
  UnitTestOptions t;
  t.random_rows = 0;
  t.stall = false;
  const UnitTestbench tb = softmax_row_testbench(plan8(), o, t);
  ASSERT_EQ(tb.row_lengths.at(3), 16);
  for (int pass : {1, 2, 3}) {
    SimOptions so = sim(fmt::format("rs_pass{}", pass));
    so.data_files = tb.data_files;
    for (auto& [name, text] : so.data_files) {
      if (name != "in.hex") continue;
      // rows 0..2 are one beat each (3 passes: lines 0..8); row 3's pass k starts at 9 + 16 (k - 1)
      const size_t line = 9 + 16 * static_cast<size_t>(pass - 1);
      size_t at = 0;
      for (size_t i = 0; i < line; ++i) at = text.find('\n', at) + 1;
      const size_t end = text.find('\n', at);
      const unsigned long w = std::stoul(text.substr(at, end - at), nullptr, 16);
      ASSERT_EQ(w & 0xff, 5u) << pass;
      text.replace(at, end - at, fmt::format("{:03x}", (w & ~0xfful) | (pass == 1 ? 0x7fu : 0x9cu)));
    }
    const SimResult r = simulate(generate_softmax_unit(plan8(), o), tb.tb, so);
    EXPECT_TRUE(r.compiled) << r.compile_log;
    EXPECT_FALSE(r.passed()) << "pass " << pass << ": " << r.summary();
    EXPECT_NE(r.log.find("FAIL: beat"), std::string::npos) << r.log.substr(0, 2000);
  }
}

// Rows of up to 4096 re-streamed: the zero shift (T >= 32) and the 13-value exponent without a
// buffer; rows of the extreme lengths, each sent three times.
TEST(SoftmaxUnit, RestreamLongRowsReachTheZeroShift) {
  UnitTestOptions t;
  t.random_rows = 6;
  t.lengths = {4096, 1, 4095, 2, 1000, 4096};
  t.stage_random = 2000;
  const UnitVerification v =
      verify_softmax_unit(plan8(), restreamed(4096, 1), t, sim("rs_long"), test::lint_options("softmax_rs_long"));
  EXPECT_TRUE(v.lint.clean()) << v.lint.log;
  EXPECT_TRUE(v.stages.passed()) << v.stages.summary() << "\n" << v.stages.log.substr(0, 4000);
  EXPECT_TRUE(v.rows.passed()) << v.rows.summary() << "\n" << v.rows.log.substr(0, 4000);
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

// Re-streamed, when the source keeps up (it presents each pass's beats as soon as they are taken):
// the testbench's cycle count (rows back to back, each sent three times, no stalls) is the
// documented interval summed over the rows plus the cycle the testbench takes to present the first
// beat, at 1 and 4 lanes, rows up to 32 and max_n 2.
TEST(SoftmaxUnit, RestreamCycleCountIsTheDocumentedFormula) {
  for (auto [max_n, lanes] : {std::pair{32, 1}, std::pair{32, 4}, std::pair{2, 1}}) {
    const SoftmaxUnitOptions o = restreamed(max_n, lanes);
    UnitTestOptions t;
    t.random_rows = 40;
    t.stall = false;
    const UnitTestbench tb = softmax_row_testbench(plan8(), o, t);
    SimOptions so = sim(fmt::format("rs_cycles_n{}_l{}", max_n, lanes));
    so.data_files = tb.data_files;
    const SimResult r = simulate(generate_softmax_unit(plan8(), o), tb.tb, so);
    ASSERT_TRUE(r.passed()) << r.summary() << "\n" << r.log.substr(0, 4000);
    long long want = 1;
    for (long long n : tb.row_lengths) want += softmax_unit_timing(plan8(), o, n).interval;
    EXPECT_EQ(test::cycles_of(r.log), want) << "max_n " << max_n << " lanes " << lanes;
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
