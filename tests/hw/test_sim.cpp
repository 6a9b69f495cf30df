// gqalut::hw simulation and lint (gqalut/hw/sim.hpp): a verdict is read from the testbench's
// PASS/FAIL line and the exit status, a failing check, a syntax error, a hang and a missing tool
// each give their own result, and lint reports Verilator's warnings.
#include <cstdlib>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gqalut/hw/sim.hpp"

namespace gqalut::hw {
namespace {

// An 8-bit adder and a testbench that checks every (a, b) pair with a = b (256 checks) against
// `expect_expr` (a Verilog expression of i).
VerilogUnit adder() {
  return {"add8", {{"add8.v",
                    "`timescale 1ns/1ps\nmodule add8(input wire [7:0] a, input wire [7:0] b, output wire [8:0] s);\n"
                    "  assign s = a + b;\nendmodule\n"}}};
}
VerilogUnit adder_tb(const std::string& expect_expr, const std::string& extra = "") {
  return {"tb", {{"tb.v", fmt::format("`timescale 1ns/1ps\nmodule tb;\n  reg [7:0] a, b; wire [8:0] s;\n"
                                      "  integer i, errors = 0, checks = 0;\n  add8 dut(.a(a), .b(b), .s(s));\n"
                                      "  initial begin\n{}"
                                      "    for (i = 0; i < 256; i = i + 1) begin\n"
                                      "      a = i; b = i; #1; checks = checks + 1;\n"
                                      "      if (s !== {}) errors = errors + 1;\n    end\n"
                                      "    if (errors == 0) $display(\"PASS: %0d checks\", checks);\n"
                                      "    else begin $display(\"FAIL: %0d of %0d checks\", errors, checks); "
                                      "$fatal(1, \"failed\"); end\n    $finish;\n  end\nendmodule\n",
                                      extra, expect_expr)}}};
}

SimOptions opts(const std::string& name) {
  SimOptions o;
  o.work_dir = std::string(GQALUT_RTL_WORK_DIR) + "/sim_" + name;
  o.iverilog = GQALUT_IVERILOG;
  o.vvp = GQALUT_VVP;
  o.timeout_s = 60;
  return o;
}

TEST(Simulate, PassingTestbenchCountsItsChecks) {
  SimResult r = simulate(adder(), adder_tb("2 * i"), opts("pass"));
  EXPECT_TRUE(r.compiled) << r.compile_log;
  EXPECT_TRUE(r.passed()) << r.summary() << "\n" << r.log;
  EXPECT_EQ(r.checks, 256);
  EXPECT_EQ(r.summary(), "PASS: 256 checks");
  EXPECT_FALSE(r.work_dir.empty());
}

TEST(Simulate, WrongExpectationFails) {
  SimResult r = simulate(adder(), adder_tb("2 * i + (i == 77)"), opts("fail"));
  EXPECT_TRUE(r.compiled) << r.compile_log;
  EXPECT_FALSE(r.passed());
  EXPECT_EQ(r.summary(), "FAIL: 1 of 256 checks");
  EXPECT_EQ(r.checks, -1);
}

TEST(Simulate, SyntaxErrorIsACompileFailure) {
  VerilogUnit bad = adder();
  bad.files[0].second += "module broken(;\n";
  SimResult r = simulate(bad, adder_tb("2 * i"), opts("syntax"));
  EXPECT_FALSE(r.compiled);
  EXPECT_FALSE(r.passed());
  EXPECT_EQ(r.summary().rfind("iverilog failed: ", 0), 0u) << r.summary();
}

TEST(Simulate, HangIsKilledAfterTheTimeLimit) {
  SimOptions o = opts("hang");
  o.timeout_s = 1;
  SimResult r = simulate(adder(), adder_tb("2 * i", "    forever #1 a = a + 1;\n"), o);
  EXPECT_TRUE(r.compiled) << r.compile_log;
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.passed());
  EXPECT_EQ(r.summary(), "timed out in vvp");
}

TEST(Simulate, DataFilesAndTemporaryFolder) {
  // The testbench reads its expected sums from a file written beside the sources.
  std::string hex;
  for (int i = 0; i < 256; ++i) hex += fmt::format("{:03x}\n", 2 * i);
  VerilogUnit tb = adder_tb("mem[i]", "    $readmemh(\"expect.hex\", mem);\n");
  tb.files[0].second.insert(tb.files[0].second.find("  integer"), "  reg [8:0] mem [0:255];\n");
  SimOptions o = opts("data");
  o.work_dir.clear();  // temporary, removed afterwards
  o.data_files = {{"expect.hex", hex}};
  SimResult r = simulate(adder(), tb, o);
  EXPECT_TRUE(r.passed()) << r.summary() << r.compile_log << r.log;
  EXPECT_TRUE(r.work_dir.empty());
  o.data_files = {{"../escape.hex", hex}};
  EXPECT_THROW(simulate(adder(), tb, o), std::invalid_argument);
}

TEST(Simulate, MissingToolIsOneClearLine) {
  ::setenv("GQALUT_IVERILOG", "/nonexistent/iverilog", 1);
  SimOptions o = opts("missing");
  o.iverilog.clear();
  try {
    simulate(adder(), adder_tb("2 * i"), o);
    ADD_FAILURE() << "no ToolNotFound";
  } catch (const ToolNotFound& e) {
    EXPECT_EQ(std::string(e.what()),
              "GQALUT_IVERILOG=/nonexistent/iverilog is not an executable (Debian: apt-get install iverilog; or "
              "unset GQALUT_IVERILOG)");
  }
  ::unsetenv("GQALUT_IVERILOG");
  const std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  ::setenv("PATH", "/nonexistent", 1);
  try {
    find_verilator();
    ADD_FAILURE() << "no ToolNotFound";
  } catch (const ToolNotFound& e) {
    EXPECT_EQ(std::string(e.what()),
              "verilator not found in PATH (Debian: apt-get install verilator; or set GQALUT_VERILATOR to the binary)");
  }
  ::setenv("PATH", path.c_str(), 1);
}

TEST(Lint, CleanUnitAndAWarning) {
  LintOptions o;
  o.work_dir = std::string(GQALUT_RTL_WORK_DIR) + "/lint";
  o.verilator = GQALUT_VERILATOR;
  LintResult ok = lint(adder(), o);
  EXPECT_TRUE(ok.clean()) << ok.log;
  EXPECT_EQ(ok.summary(), "clean");
  VerilogUnit unused = {"u", {{"u.v", "module u(input wire [7:0] a, output wire y);\n  assign y = a[0];\nendmodule\n"}}};
  LintResult w = lint(unused, o);
  EXPECT_FALSE(w.clean());
  EXPECT_NE(w.summary().find("%Warning-UNUSED"), std::string::npos) << w.log;
}

TEST(ReadUnit, MissingFileIsNamed) {
  EXPECT_THROW(read_unit("x", {"/nonexistent/x.v"}), std::invalid_argument);
  VerilogUnit u = read_unit("lut_int32", {std::string(GQALUT_RTL_DIR) + "/lut_int32.v"});
  ASSERT_EQ(u.files.size(), 1u);
  EXPECT_EQ(u.files[0].first, "lut_int32.v");
  EXPECT_NE(u.files[0].second.find("module lut_int32"), std::string::npos);
}

}  // namespace
}  // namespace gqalut::hw
