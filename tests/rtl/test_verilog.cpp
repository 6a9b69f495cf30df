// The Verilog exporter: every generated INT8 unit is simulated exhaustively
// (all 256 input codes, every scale loaded) against gqalut::eval_acc through
// its generated testbench, and linted with verilator -Wall.
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gqalut/export.hpp"
#include "gqalut/io.hpp"
#include "gqalut/verilog.hpp"
#include "tests/rtl/rtl_util.hpp"

namespace gqalut {
namespace {

using rtl_test::fs::path;

TableSet official(const std::string& file) {
  return read_json_file(std::string(GQALUT_SHARED_DIR) + "/reference/official/" + file);
}

std::string to_text(void (*fn)(std::ostream&, const TableSet&, const ExportOptions&), const TableSet& s,
                    const ExportOptions& o) {
  std::ostringstream out;
  fn(out, s, o);
  return out.str();
}

// Generates design + testbench, lints the design, simulates; returns the sim result.
rtl_test::RunResult build_and_run(const std::string& tag, const std::string& design, const std::string& tb,
                                  const std::string& top) {
  path dir = rtl_test::scratch(tag);
  // The file is named after the module (verilator's DECLFILENAME rule).
  rtl_test::write_file(dir / (top + ".v"), design);
  rtl_test::write_file(dir / "tb.v", tb);
  auto l = rtl_test::lint(dir, {top + ".v"}, top);
  EXPECT_EQ(l.status, 0) << tag << ": verilator -Wall failed:\n" << l.log;
  return rtl_test::simulate(dir, {top + ".v", "tb.v"});
}

struct BakedCase {
  const char* file;
  int scale;
  bool outreg;
};

class Baked : public ::testing::TestWithParam<BakedCase> {};

TEST_P(Baked, MatchesEvaluatorOnEveryCode) {
  const auto& c = GetParam();
  TableSet set = official(c.file);
  ExportOptions o;
  o.scale = c.scale;
  o.output_register = c.outreg;
  std::string tag = fmt::format("baked_{}_n{}_{}", set.function, c.scale, c.outreg ? "reg" : "comb");
  if (set.entries() != 8) tag += fmt::format("_k{}", set.entries());
  auto r = build_and_run(tag, to_text(write_verilog, set, o), to_text(write_verilog_testbench, set, o),
                         verilog_module_name(set, o));
  EXPECT_TRUE(rtl_test::passed(r)) << r.log;
  EXPECT_NE(r.log.find("PASS: 256 checks"), std::string::npos) << r.log;
}

INSTANTIATE_TEST_SUITE_P(Official, Baked,
                         ::testing::Values(BakedCase{"gelu_pwl_7.json", 0, false}, BakedCase{"gelu_pwl_7.json", 3, true},
                                           BakedCase{"gelu_pwl_7.json", 6, false}, BakedCase{"gelu_pwl_7.json", 6, true},
                                           BakedCase{"hswish_pwl_7.json", 4, false},
                                           BakedCase{"hswish_pwl_7.json", 6, true}, BakedCase{"exp_pwl_7.json", 2, true},
                                           BakedCase{"exp_pwl_7.json", 6, false}, BakedCase{"silu_pwl_7.json", 5, false},
                                           BakedCase{"silu_pwl_7.json", 6, true},
                                           BakedCase{"gelu_pwl_15.json", 6, false},
                                           BakedCase{"exp_pwl_15.json", 1, true}));

// One programmable unit serves every function and every scale: load each in
// turn, sweep all 256 codes after each load.
class Programmable : public ::testing::TestWithParam<bool> {};

TEST_P(Programmable, EveryFunctionEveryScale) {
  const bool outreg = GetParam();
  std::vector<TableSet> sets = {official("gelu_pwl_7.json"), official("hswish_pwl_7.json"),
                                official("exp_pwl_7.json"), official("silu_pwl_7.json")};
  ExportOptions o;
  o.programmable = true;
  o.output_register = outreg;
  std::ostringstream tb;
  write_verilog_testbench(tb, sets, o);
  size_t expected = 0;
  for (const auto& s : sets) expected += 256 * s.tables.size();
  auto r = build_and_run(fmt::format("prog8_{}", outreg ? "reg" : "comb"), to_text(write_verilog, sets[0], o),
                         tb.str(), verilog_module_name(sets[0], o));
  EXPECT_TRUE(rtl_test::passed(r)) << r.log;
  EXPECT_NE(r.log.find(fmt::format("PASS: {} checks", expected)), std::string::npos) << r.log;
}

INSTANTIATE_TEST_SUITE_P(Flavours, Programmable, ::testing::Bool());

TEST(Programmable, SixteenEntriesEveryScale) {
  std::vector<TableSet> sets = {official("gelu_pwl_15.json"), official("hswish_pwl_15.json"),
                                official("exp_pwl_15.json")};
  ExportOptions o;
  o.programmable = true;
  std::ostringstream tb;
  write_verilog_testbench(tb, sets, o);
  auto r = build_and_run("prog16", to_text(write_verilog, sets[0], o), tb.str(), verilog_module_name(sets[0], o));
  EXPECT_TRUE(rtl_test::passed(r)) << r.log;
  EXPECT_NE(r.log.find(fmt::format("PASS: {} checks", 3 * 7 * 256)), std::string::npos) << r.log;
}

// A synthetic table with codes outside the int8 span, other formats and a
// non-zero slope shift (Fb > n + Fk): folding and shifts in both flavours.
TableSet synthetic() {
  TableSet s;
  s.function = "synthetic";
  s.lo = -4;
  s.hi = 4;
  Table t;
  t.n = 0;
  t.slope_format = Format{4, 8};
  t.intercept_format = Format{7, 8};  // L = max(0 + 4, 7) = 7: sk = 3, sb = 0
  t.breakpoints = {-300, -128, -5, -5, 0, 127, 128, 400};
  t.slopes = {11, -128, 127, 3, -7, 100, -100, 64, 5};
  t.intercepts = {-128, 127, 0, 1, -1, 90, -90, 55, 17};
  t.validate();
  s.tables[0] = t;
  Table u = t;  // scale 2: sk = 1, sb = 0; L = max(2 + 4, 7) = 7
  u.n = 2;
  s.tables[2] = u;
  Table v = t;  // scale 7: L = 11, sk = 0, sb = 4
  v.n = 7;
  s.tables[7] = v;
  return s;
}

TEST(Baked, OutOfSpanBreakpointsAndShifts) {
  TableSet s = synthetic();
  for (int n : s.scales()) {
    for (bool reg : {false, true}) {
      ExportOptions o;
      o.scale = n;
      o.output_register = reg;
      o.name = "synth_unit";
      std::string v = to_text(write_verilog, s, o);
      EXPECT_NE(v.find("1'b1;  // P_0 = -300"), std::string::npos);
      EXPECT_NE(v.find("1'b0;  // P_6 = 128"), std::string::npos);
      auto r = build_and_run(fmt::format("baked_synth_n{}_{}", n, reg), v, to_text(write_verilog_testbench, s, o),
                             "synth_unit");
      EXPECT_TRUE(rtl_test::passed(r)) << r.log;
    }
  }
}

TEST(Programmable, OutOfSpanBreakpointsAndShifts) {
  ExportOptions o;
  o.programmable = true;
  o.name = "synth_prog";
  TableSet s = synthetic();
  auto r = build_and_run("prog_synth", to_text(write_verilog, s, o), to_text(write_verilog_testbench, s, o),
                         "synth_prog");
  EXPECT_TRUE(rtl_test::passed(r)) << r.log;
  EXPECT_NE(r.log.find("PASS: 768 checks"), std::string::npos) << r.log;
}

// The testbench can fail: a unit baked for one scale, checked against another.
TEST(Testbench, DetectsAWrongUnit) {
  TableSet set = official("gelu_pwl_7.json");
  ExportOptions o;
  o.scale = 6;
  std::string design = to_text(write_verilog, set, o);
  o.scale = 5;
  std::string tb = to_text(write_verilog_testbench, set, o);
  path dir = rtl_test::scratch("wrong_unit");
  rtl_test::write_file(dir / "dut.v", design);
  rtl_test::write_file(dir / "tb.v", tb);
  auto r = rtl_test::simulate(dir, {"dut.v", "tb.v"});
  EXPECT_FALSE(rtl_test::passed(r)) << r.log;
  EXPECT_NE(r.log.find("FAIL: "), std::string::npos) << r.log;
}

// The register image reproduces eval_acc for every code (pure C++ check of the
// normalisation, independent of simulation).
TEST(ProgramImage, EquivalentToTableOnEveryCode) {
  std::vector<TableSet> sets = {official("gelu_pwl_7.json"), official("exp_pwl_15.json"), synthetic()};
  for (const auto& s : sets) {
    ProgrammableGeometry g = programmable_geometry(s);
    for (const auto& kv : s.tables) {
      const Table& t = kv.second;
      auto w = program_image(t, g);
      ASSERT_EQ(static_cast<int>(w.size()), 3 * g.entries - 1 + 2);
      std::vector<int> p(g.entries - 1), k(g.entries), b(g.entries);
      int sk = -1, sb = -1;
      for (const auto& x : w) {
        int bank = x.addr >> g.index_bits(), idx = x.addr & ((1u << g.index_bits()) - 1);
        int v = static_cast<int8_t>(x.data);
        if (bank == 0) p[idx] = v;
        if (bank == 1) k[idx] = v;
        if (bank == 2) b[idx] = v;
        if (bank == 3) (idx == 0 ? sk : sb) = static_cast<int>(x.data);
      }
      for (int q = -128; q <= 127; ++q) {
        int seg = 0;
        for (int i = 0; i + 1 < g.entries; ++i)
          if (q >= p[i]) seg = i + 1;
        int64_t acc = (int64_t{k[seg]} * q) * (int64_t{1} << sk) + int64_t{b[seg]} * (int64_t{1} << sb);
        ASSERT_EQ(acc, eval_acc(t, q)) << s.function << " n=" << t.n << " q=" << q;
      }
    }
  }
}

TEST(Errors, RefusesNonInt8Tables) {
  TableSet reci = official("reci_pwl_7.json");
  ASSERT_FALSE(reci.tables.begin()->second.is_int8());
  for (bool prog : {false, true}) {
    ExportOptions o;
    o.programmable = prog;
    std::ostringstream out;
    try {
      write_verilog(out, reci, o);
      ADD_FAILURE() << "expected std::invalid_argument";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("INT8"), std::string::npos) << e.what();
    }
  }
}

TEST(Errors, BadScaleNameAndShiftRange) {
  TableSet gelu = official("gelu_pwl_7.json");
  ExportOptions o;
  o.scale = 9;
  std::ostringstream out;
  EXPECT_THROW(write_verilog(out, gelu, o), std::invalid_argument);
  o.scale = -1;
  o.name = "9bad-name";
  EXPECT_THROW(write_verilog(out, gelu, o), std::invalid_argument);
  ProgrammableGeometry g;  // default ranges: sb <= 7
  Table t = gelu.at(6);
  t.n = 9;                 // L - Fb = 9
  t.breakpoints = {-3, -2, -1, 0, 1, 2, 3};
  EXPECT_THROW(program_image(t, g), std::invalid_argument);
}

TEST(Exporter, DefaultsAndRegistry) {
  TableSet gelu = official("gelu_pwl_7.json");
  ExportOptions o;
  EXPECT_EQ(verilog_scale(gelu, o), 6);  // the largest scale
  EXPECT_EQ(verilog_module_name(gelu, o), "gqalut_gelu");
  o.programmable = true;
  EXPECT_EQ(verilog_module_name(gelu, o), "gqalut_lut8");
  EXPECT_EQ(find_exporter("verilog").write, &write_verilog);
  ExportOptions tb;
  tb.testbench = true;
  std::ostringstream a, b;
  find_exporter("verilog").write(a, gelu, tb);
  find_exporter("verilog-tb").write(b, gelu, ExportOptions{});
  EXPECT_EQ(a.str(), b.str());
  EXPECT_NE(a.str().find("$finish"), std::string::npos);
}


// ---- the tie rule: left-rule tables get comparators q > P -------------------
TableSet synthetic_left() {
  TableSet s = synthetic();
  s.set_tie(TieRule::left);  // the same codes read with q > P: another function
  return s;
}

TEST(TieRule, BakedLeftRuleUnitsMatchTheEvaluator) {
  TableSet s = synthetic_left();
  TableSet deployed = official("gelu_pwl_7.json");  // as the official op deploys it
  deployed.set_tie(TieRule::left);
  for (const TableSet* set : {&s, &deployed}) {
    for (int n : {set->scales().front(), set->scales().back()}) {
      ExportOptions o;
      o.scale = n;
      o.name = "left_unit";
      std::string v = to_text(write_verilog, *set, o);
      EXPECT_NE(v.find("tie rule left"), std::string::npos);
      EXPECT_EQ(v.find("(q >= "), std::string::npos) << "a >= comparator in a left-rule unit";
      if (set == &s) {
        EXPECT_NE(v.find("1'b1;  // P_0 = -300 < -128"), std::string::npos) << v;
        EXPECT_NE(v.find("1'b0;  // P_5 = 127 >= 127"), std::string::npos) << v;
      }
      auto r = build_and_run(fmt::format("baked_left_{}_n{}", set->function, n), v,
                             to_text(write_verilog_testbench, *set, o), "left_unit");
      EXPECT_TRUE(rtl_test::passed(r)) << r.log;
      EXPECT_NE(r.log.find("PASS: 256 checks"), std::string::npos) << r.log;
    }
  }
}

// A left-rule programmable unit loads left-rule tables as they are and
// right-rule tables converted (codes moved by one, same function); the -128
// edge needs the segment merge of program_image.
TEST(TieRule, ProgrammableLeftRuleUnitLoadsTablesOfBothRules) {
  TableSet gelu_left = official("gelu_pwl_7.json");
  gelu_left.set_tie(TieRule::left);
  TableSet edge;  // left rule, codes below -128 (q = -128 must reach segment 3)
  edge.function = "edge";
  edge.lo = -1;
  edge.hi = 1;
  Table t;
  t.n = 3;
  t.tie = TieRule::left;
  t.breakpoints = {-300, -200, -129, -5, 0, 127, 128};
  t.slopes = {1, 2, 3, 4, 5, 6, 7, 8};
  t.intercepts = {-1, -2, -3, -4, 5, 6, 7, 8};
  edge.tables[3] = t;
  std::vector<TableSet> sets = {gelu_left, official("hswish_pwl_7.json"), edge};
  ExportOptions o;
  o.programmable = true;
  o.name = "left_prog";
  std::ostringstream tb;
  write_verilog_testbench(tb, sets, o);
  std::string v = to_text(write_verilog, sets[0], o);
  EXPECT_NE(v.find("assign c[gi] = (q > bp[gi]);"), std::string::npos);
  auto r = build_and_run("prog_left", v, tb.str(), "left_prog");
  EXPECT_TRUE(rtl_test::passed(r)) << r.log;
  EXPECT_NE(r.log.find(fmt::format("PASS: {} checks", 15 * 256)), std::string::npos) << r.log;
}

TEST(TieRule, ProgramImageOfEitherRuleOnEitherUnit) {
  TableSet right = synthetic(), left = synthetic_left();
  for (TieRule unit : {TieRule::right, TieRule::left})
    for (const TableSet* s : {&right, &left}) {
      ProgrammableGeometry g = programmable_geometry(*s);
      g.tie = unit;
      for (const auto& kv : s->tables) {
        const Table& t = kv.second;
        std::vector<int> p(g.entries - 1), k(g.entries), b(g.entries);
        int sk = -1, sb = -1;
        for (const auto& x : program_image(t, g)) {
          int bank = x.addr >> g.index_bits(), idx = x.addr & ((1u << g.index_bits()) - 1);
          int val = static_cast<int8_t>(x.data);
          if (bank == 0) p[idx] = val;
          if (bank == 1) k[idx] = val;
          if (bank == 2) b[idx] = val;
          if (bank == 3) (idx == 0 ? sk : sb) = static_cast<int>(x.data);
        }
        for (int q = -128; q <= 127; ++q) {
          int seg = 0;
          for (int i = 0; i + 1 < g.entries; ++i)
            if (unit == TieRule::right ? q >= p[i] : q > p[i]) seg = i + 1;
          int64_t acc = (int64_t{k[seg]} * q) * (int64_t{1} << sk) + int64_t{b[seg]} * (int64_t{1} << sb);
          ASSERT_EQ(acc, eval_acc(t, q)) << to_string(unit) << " unit, " << to_string(t.tie) << " table n=" << t.n
                                         << " q=" << q;
        }
      }
    }
}

}  // namespace
}  // namespace gqalut
