// The generated integer LayerNorm unit (gqalut/hw/layernorm_unit.hpp): bit-exact with the scalar
// reference (gqalut/datapath.hpp) on the row statistics and rsqrt (every RSQRT code at both ends of
// its rounding interval for several exponents, the carry, every small V, V = 0, edge and random
// rows' sums), the output stage (every q on corner gamma/beta, random vectors) and on edge and
// random rows through the streaming interface with random stalls; Verilator-lint clean; the
// documented cycle count; a wrong unit fails; the unit meets the 10 ns clock in the synthesis flow
// (when yosys, OpenSTA and the OSU 0.18 um cells are installed). GQALUT_HW_FULL=1 runs 10^5
// random rows. The re-streamed unit (restream: no row buffer, each row sent twice, random gamma and
// beta in pass 1) passes the same checks and the same cycle formula.
#include <cstdlib>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gqalut/hw/layernorm_unit.hpp"
#include "gqalut/hw/synth.hpp"
#include "gqalut/intops.hpp"
#include "gqalut/intops_measure.hpp"
#include "hw_test_util.hpp"

namespace gqalut::hw {
namespace {

const ref::LayerNormRef& plan8() {
  static const LayerNormPlan p = prepare_layernorm(fit_int8_optimum("rsqrt", 8, {5}), 4, 4, 6, 1e-5);
  return p.reference();
}

SimOptions sim(const std::string& name) { return test::sim_options("layernorm_" + name, 3000); }

void verify(const std::string& name, const LayerNormUnitOptions& o, long long rows) {
  test::expect_row_unit_verified("layernorm_" + name, 3000, o, rows,
                                 [](auto&&... a) { return verify_layernorm_unit(plan8(), a...); });
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

// Re-streamed units: the row testbench sends each row twice (pass 1 with random gamma and beta);
// expected values and the stage testbench are the buffered unit's.
void verify_restream(const std::string& name, int max_n, int lanes, bool programmable, long long rows) {
  LayerNormUnitOptions o;
  o.max_n = max_n;
  o.lanes = lanes;
  o.programmable = programmable;
  o.restream = true;
  verify("restream_" + name, o, rows);
}

TEST(LayerNormUnit, RestreamBakedOneLane) {
  verify_restream("baked_l1_n2", 2, 1, false, 400);
  verify_restream("baked_l1_n256", 256, 1, false, 60);
}

TEST(LayerNormUnit, RestreamBakedFourLanes) { verify_restream("baked_l4_n256", 256, 4, false, 150); }

TEST(LayerNormUnit, RestreamProgrammable) {
  verify_restream("prog_l1_n2", 2, 1, true, 400);
  verify_restream("prog_l4_n256", 256, 4, true, 100);
}

// The re-streamed unit holds no row buffer, and differs from the buffered unit only in its top
// module (and the beta module's comment): the statistics and the output stages are the same text.
TEST(LayerNormUnit, RestreamHasNoRowBuffer) {
  for (int lanes : {1, 4}) {
    LayerNormUnitOptions o;
    o.max_n = 64;
    o.lanes = lanes;
    const VerilogUnit buffered = generate_layernorm_unit(plan8(), o);
    o.restream = true;
    const VerilogUnit rs = generate_layernorm_unit(plan8(), o);
    ASSERT_EQ(buffered.files.size(), rs.files.size());
    for (size_t i = 0; i < rs.files.size(); ++i) {
      const auto& [name, text] = rs.files[i];
      EXPECT_EQ(name, buffered.files[i].first);
      if (name == "gqalut_layernorm.v") {
        EXPECT_NE(buffered.files[i].second.find(" mem [0:"), std::string::npos);
        EXPECT_EQ(text.find(" mem "), std::string::npos) << text;
        EXPECT_EQ(text.find("rsel"), std::string::npos) << text;
        EXPECT_NE(text.find("Re-streamed"), std::string::npos);
      } else if (name != "gqalut_layernorm_beta.v") {
        EXPECT_EQ(text, buffered.files[i].second) << name;
      }
    }
    // same rows, same timing
    for (long long n : {1LL, 7LL, 64LL}) {
      o.restream = false;
      const UnitTiming b = layernorm_unit_timing(plan8(), o, n);
      o.restream = true;
      const UnitTiming r = layernorm_unit_timing(plan8(), o, n);
      EXPECT_EQ(r.row_cycles, b.row_cycles);
      EXPECT_EQ(r.interval, b.interval);
    }
  }
}

TEST(LayerNormUnit, CycleCountIsTheDocumentedFormula) {
  test::expect_documented_cycle_count<LayerNormUnitOptions>(
      "layernorm_", 3000, [](auto&&... a) { return layernorm_row_testbench(plan8(), a...); },
      [](const LayerNormUnitOptions& o) { return generate_layernorm_unit(plan8(), o); },
      [](auto&&... a) { return layernorm_unit_timing(plan8(), a...); });
}

// Re-streamed, rows back to back without stalls (the source holds its next beat while in_ready is
// low): the testbench's cycle count is the restream timing summed over the rows.
TEST(LayerNormUnit, RestreamCycleCountIsTheDocumentedFormula) {
  auto rs = [](LayerNormUnitOptions o) {
    o.restream = true;
    return o;
  };
  test::expect_documented_cycle_count<LayerNormUnitOptions>(
      "layernorm_restream_", 3000,
      [&](const LayerNormUnitOptions& o, const UnitTestOptions& t) { return layernorm_row_testbench(plan8(), rs(o), t); },
      [&](const LayerNormUnitOptions& o) { return generate_layernorm_unit(plan8(), rs(o)); },
      [&](const LayerNormUnitOptions& o, long long n) { return layernorm_unit_timing(plan8(), rs(o), n); });
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

// A re-streamed unit that takes pass-2 beats without a free credit (in_ready ignores the output
// queue) loses beats under out_ready stalls (rows of 64 beats): its row testbench fails.
TEST(LayerNormUnit, RestreamWithoutCreditsFails) {
  LayerNormUnitOptions o;
  o.max_n = 64;
  o.restream = true;
  VerilogUnit u = generate_layernorm_unit(plan8(), o);
  bool changed = false;
  for (auto& [name, text] : u.files) {
    if (name != "gqalut_layernorm.v") continue;
    const std::string from = "wire pass2_ready = (ph == PASS) && (rp != nb) && (cred != 3'd7);";
    const size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << text;
    text.replace(at, from.size(), "wire pass2_ready = (ph == PASS) && (rp != nb);");
    changed = true;
  }
  ASSERT_TRUE(changed);
  UnitTestOptions t;
  t.random_rows = 100;
  t.lengths = {64};
  const UnitTestbench tb = layernorm_row_testbench(plan8(), o, t);
  SimOptions so = sim("restream_wrong");
  so.data_files = tb.data_files;
  const SimResult r = simulate(u, tb.tb, so);
  EXPECT_TRUE(r.compiled) << r.compile_log;
  EXPECT_FALSE(r.passed()) << r.summary();
}

// Every register-to-register path fits the flow's 10 ns clock, without buffer trees where no net
// reaches every buffer entry (short rows: 1 lane, and 4 lanes with their own copies of the row
// constants s and t) and with --buffer-nets. Results are cached in ~/.cache/gqalut like
// `gqalut hw synthesize`.
TEST(LayerNormUnit, MeetsTheTenNanosecondClock) {
  const char* home = std::getenv("HOME");
  const SynthFlow probe = SynthFlow::find(std::string(home ? home : "/tmp") + "/.cache/gqalut", "", false);
  if (!probe.available() || probe.timing() != "opensta")
    GTEST_SKIP() << "needs yosys, OpenSTA and the OSU 0.18 um Liberty file (gqalut hw synthesize fetches it)";
  struct Case {
    int max_n, lanes;
    bool buffered;
  };
  for (const Case c : {Case{2, 1, false}, Case{8, 4, false}, Case{8, 4, true}}) {
    SynthFlow f = probe;
    f.set_buffering(c.buffered);
    LayerNormUnitOptions o;
    o.max_n = c.max_n;
    o.lanes = c.lanes;
    const SynthResult r = f.synth(design_of(generate_layernorm_unit(plan8(), o)));
    EXPECT_GT(r.critical_path_ns, 0);
    EXPECT_LT(r.critical_path_ns, SynthFlow::kClockNs)
        << "max_n " << c.max_n << ", lanes " << c.lanes << (c.buffered ? ", buffered" : "");
  }
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
