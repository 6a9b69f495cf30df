// `gqalut hw` as a user runs it: list, generate, simulate (exit 0 on a pass, JSON verdict),
// synthesize when yosys is there, and one line + exit 2 for bad input, checked before any work.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "run_tool.hpp"

namespace {

using cli_test::Outcome;
using cli_test::tmpdir;

const std::string kTable = std::string(GQALUT_SHARED_DIR) + "/reference/official/gelu_pwl_7.json";

Outcome hw(const std::string& args, const std::string& env = "") {
  return cli_test::run_command(std::string(GQALUT_TOOL) + " hw", args, env);
}

TEST(HwCli, ListNamesEveryKind) {
  Outcome r = hw("list");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* k : {"pwl ", "lut-int32 ", "lut-fp32 "}) EXPECT_NE(r.out.find(k), std::string::npos) << r.out;
  r = hw("list --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"kind\": \"lut-fp32\""), std::string::npos) << r.out;
}

TEST(HwCli, GenerateWritesTheUnit) {
  Outcome r = hw("generate pwl --table " + kTable + " --programmable -o " + tmpdir().string());
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string v = cli_test::slurp(tmpdir() / "gqalut_lut8.v");
  EXPECT_NE(v.find("module gqalut_lut8"), std::string::npos);
  r = hw("generate lut-fp32 --entries 4 --json -o " + tmpdir().string());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"chparam\": \"-set K 4 -set OUTREG 1\""), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::exists(tmpdir() / "fp32_add.v"));
}

TEST(HwCli, SimulatePassesWithExitZero) {
  Outcome r = hw("simulate pwl --table " + kTable + " --json");
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("\"passed\": true"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"checks\": 256"), std::string::npos) << r.out;
  r = hw("simulate lut-int32 --entries 4 --combinational");
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("lint (verilator --lint-only -Wall): clean"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("): PASS: "), std::string::npos) << r.out;
}

TEST(HwCli, BadInputIsOneLineAndExitTwo) {
  struct Case {
    std::string args, err;
  };
  for (const Case& c : std::vector<Case>{
           {"simulate nosuch", "gqalut: error: unknown unit kind 'nosuch' (known: pwl, lut-int32, lut-fp32"},
           {"simulate pwl", "gqalut: error: unit pwl needs a table file (--table FILE"},
           {"simulate lut-int32 --rtl-dir /nonexistent", "gqalut: error: --rtl-dir /nonexistent: no reference units there"},
           {"synthesize lut-int32 --liberty /nonexistent.lib", "gqalut: error: --liberty /nonexistent.lib: no such file"},
           {"report --set pwl --table " + kTable + " --csv /nonexistent/x.csv", "gqalut: error: "},
           {"report --set ops --budget 0", "gqalut: error: --budget must be a positive number of LSB, got 0"},
           {"report --set nosuch", "gqalut: error: --set must be ops or pwl, got 'nosuch'"},
           {"simulate pwl --table " + kTable + " --restream",
            "gqalut: error: unit pwl: --restream applies to the row units only (softmax, layernorm and their "
            "references), not to pwl"},
           {"generate lut-fp32 --restream -o /tmp", "gqalut: error: unit lut-fp32: --restream applies to the row units only"},
           {"simulate pwl --table " + kTable + " --lanes 4",
            "gqalut: error: unit pwl: lanes must be 1 (this unit takes one element per beat), got 4"},
           {"simulate softmax-ibert --lanes 2", "gqalut: error: unit softmax-ibert: lanes must be 1"},
           {"report --set pwl --table " + kTable + " --restream", "gqalut: error: --restream is for --set ops (the row units)"},
       }) {
    SCOPED_TRACE(c.args);
    Outcome r = hw(c.args);
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(r.err.rfind(c.err, 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.out, "");  // nothing done before the error
  }
}

}  // namespace
