// gqalut::hw unit registry (gqalut/hw/registry.hpp): every kind builds, lints clean under
// Verilator -Wall and passes its testbench (expected values from the scalar reference: eval_acc
// for the PWL unit, rtl/models.hpp for the INT32/FP32 LUTs); a unit with one wrong constant fails
// its testbench; the folder of the hand-written units is never a silent fallback.
#include <cstdlib>
#include <filesystem>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gqalut/hw/registry.hpp"
#include "gqalut/hw/report.hpp"
#include "gqalut/io.hpp"
#include "gqalut/recipes.hpp"

namespace gqalut::hw {
namespace {

namespace fs = std::filesystem;

const std::string kTable = std::string(GQALUT_SHARED_DIR) + "/reference/official/gelu_pwl_7.json";

SimOptions sim(const std::string& name) {
  SimOptions o;
  o.work_dir = std::string(GQALUT_RTL_WORK_DIR) + "/registry_" + name;
  o.iverilog = GQALUT_IVERILOG;
  o.vvp = GQALUT_VVP;
  return o;
}
LintOptions lint_opts(const std::string& name, const BuiltUnit& b) {
  LintOptions o;
  o.work_dir = std::string(GQALUT_RTL_WORK_DIR) + "/registry_lint_" + name;
  o.verilator = GQALUT_VERILATOR;
  o.flags = b.lint_flags;
  return o;
}

TEST(Registry, KindsAndUnknownKind) {
  std::string names;
  for (const auto& k : unit_kinds()) names += std::string(k.name) + ",";
  EXPECT_EQ(names.rfind("pwl,lut-int32,lut-fp32,", 0), 0u) << names;
  try {
    find_unit_kind("nosuch");
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).rfind("unknown unit kind 'nosuch' (known: pwl, lut-int32, lut-fp32", 0), 0u)
        << e.what();
  }
}

TEST(Registry, PwlBakedAndProgrammablePassAndLintClean) {
  const TableSet set = read_json_file(kTable);
  for (bool prog : {false, true})
    for (bool reg : {false, true}) {
      SCOPED_TRACE(fmt::format("programmable {} output register {}", prog, reg));
      UnitRequest r;
      r.table = kTable;
      r.programmable = prog;
      r.output_register = reg;
      BuiltUnit b = build_unit("pwl", r);
      EXPECT_EQ(b.kind, "pwl");
      std::string tag = fmt::format("pwl_{}_{}", prog, reg);
      LintResult l = lint(b.unit, lint_opts(tag, b));
      EXPECT_TRUE(l.clean()) << l.log;
      SimResult s = b.simulate(sim(tag));
      EXPECT_TRUE(s.passed()) << s.summary() << "\n" << s.compile_log << s.log;
      // Every int8 code, at the baked scale or at every scale loaded in turn.
      EXPECT_EQ(s.checks, 256 * (prog ? static_cast<long long>(set.tables.size()) : 1));
    }
}

TEST(Registry, PwlWithOneWrongConstantFails) {
  UnitRequest r;
  r.table = kTable;
  BuiltUnit b = build_unit("pwl", r);
  std::string& text = b.unit.files[0].second;
  // The slope code of the segment right of P_2 = -57 (reachable at every scale) changed.
  const std::string at = "if (c[2]) begin k_sel = 8'h";
  size_t pos = text.find(at);
  ASSERT_NE(pos, std::string::npos);
  char& digit = text[pos + at.size()];
  digit = digit == '0' ? '1' : '0';
  SimResult s = b.simulate(sim("pwl_wrong"));
  EXPECT_TRUE(s.compiled) << s.compile_log;
  EXPECT_FALSE(s.passed());
  EXPECT_EQ(s.summary().rfind("FAIL", 0), 0u) << s.summary();
}

TEST(Registry, PwlNeedsATable) {
  try {
    build_unit("pwl", UnitRequest{});
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).rfind("unit pwl needs a table file (--table FILE", 0), 0u) << e.what();
  }
}

TEST(Registry, ReferenceLutsMatchTheirModels) {
  for (const char* kind : {"lut-int32", "lut-fp32"})
    for (int K : {8, 16}) {
      SCOPED_TRACE(fmt::format("{} K={}", kind, K));
      UnitRequest r;
      r.entries = K;
      r.rtl_dir = GQALUT_RTL_DIR;
      BuiltUnit b = build_unit(kind, r);
      EXPECT_EQ(b.chparam, fmt::format("-set K {} -set OUTREG 1", K));
      std::string tag = fmt::format("{}_{}", kind, K);
      LintResult l = lint(b.unit, lint_opts(tag, b));
      EXPECT_TRUE(l.clean()) << l.log;
      SimResult s = b.simulate(sim(tag));
      EXPECT_TRUE(s.passed()) << s.summary() << "\n" << s.log;
      EXPECT_GT(s.checks, 600);
    }
}

TEST(Registry, RtlDirIsNeverASilentFallback) {
  try {
    find_rtl_dir("/nonexistent/rtl");
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).rfind("--rtl-dir /nonexistent/rtl: no reference units there", 0), 0u)
        << e.what();
  }
  EXPECT_EQ(find_rtl_dir(GQALUT_RTL_DIR), GQALUT_RTL_DIR);
  ::setenv("GQALUT_RTL_DIR", "/nonexistent/env", 1);
  EXPECT_THROW(find_rtl_dir(""), std::invalid_argument);
  ::unsetenv("GQALUT_RTL_DIR");
  EXPECT_EQ(fs::path(find_rtl_dir("")).lexically_normal(), fs::path(GQALUT_RTL_DIR).lexically_normal());
  UnitRequest r;
  r.rtl_dir = "/nonexistent/rtl";
  EXPECT_THROW(build_unit("lut-int32", r), std::invalid_argument);
}

}  // namespace
}  // namespace gqalut::hw

namespace gqalut::hw {
namespace {

bool registered(const std::string& kind) {
  for (const auto& k : unit_kinds())
    if (kind == k.name) return true;
  return false;
}

// The row units, as the report and `gqalut hw` build them: lint-clean, every stage input and the
// reduced row set bit-exact with the scalar reference, and the reference's error on the rows of
// `gqalut ops` within the operation's accuracy target (gqalut/recipes.hpp), the same figure
// `gqalut ops` prints (softmax, 8 entries: 0.5137 LSB max).
TEST(Registry, RowUnitsPassAndMeetTheirErrorBounds) {
  int tried = 0;
  for (const auto& [kind, out_frac] : {std::pair<const char*, int>{"softmax", 8}, {"layernorm", 4}}) {
    if (!registered(kind)) continue;
    const AccuracyTarget* target = accuracy_target(kind, 8, out_frac);
    ASSERT_NE(target, nullptr);
    ++tried;
    for (int lanes : {1, 4}) {
      SCOPED_TRACE(fmt::format("{} lanes {}", kind, lanes));
      UnitRequest r;
      r.entries = 8;
      r.lanes = lanes;
      r.programmable = lanes == 4;
      r.max_n = 64;
      BuiltUnit b = build_unit(kind, r);
      EXPECT_GT(b.elements_per_cycle, 0);
      EXPECT_LE(b.elements_per_cycle, lanes);
      const std::string tag = fmt::format("{}_{}", kind, lanes);
      LintResult l = lint(b.unit, lint_opts(tag, b));
      EXPECT_TRUE(l.clean()) << l.summary();
      SimResult s = b.simulate(sim(tag));
      EXPECT_TRUE(s.passed()) << s.summary();
      EXPECT_GT(s.checks, 1000);
      ASSERT_TRUE(b.error);
      UnitError e = b.error();
      EXPECT_LE(e.max_lsb, target->max_lsb);
      if (target->mean_lsb >= 0) {
        EXPECT_LE(e.mean_lsb, target->mean_lsb);
      }
      EXPECT_GT(e.mean_lsb, 0);
    }
  }
  if (!tried) GTEST_SKIP() << "neither softmax nor layernorm is registered in this build";
}

// Every row kind re-streamed (no row buffer, each row sent once per pass) passes its own testbench,
// lints clean, and says so in its description; the buffered unit's testbench (each row sent once)
// fails it, so the re-streamed testbench really sends the passes; the throughput is the buffered
// unit's (the source keeps up). Kinds without rows refuse --restream.
TEST(Registry, RestreamedRowUnitsPassTheirTestbenchesAndNotTheBufferedOne) {
  int tried = 0;
  for (const char* kind : {"softmax", "layernorm", "softmax-fp32", "layernorm-fp32", "softmax-ibert", "layernorm-ibert"}) {
    if (!registered(kind)) continue;
    ++tried;
    SCOPED_TRACE(kind);
    UnitRequest r;
    r.max_n = 8;
    BuiltUnit buffered = build_unit(kind, r);
    r.restream = true;
    BuiltUnit b = build_unit(kind, r);
    EXPECT_NE(b.description.find("re-streamed (no row buffer)"), std::string::npos) << b.description;
    EXPECT_EQ(buffered.description.find("re-streamed"), std::string::npos) << buffered.description;
    EXPECT_DOUBLE_EQ(b.elements_per_cycle, buffered.elements_per_cycle);
    const std::string tag = std::string("restream_") + kind;
    LintResult l = lint(b.unit, lint_opts(tag, b));
    EXPECT_TRUE(l.clean()) << l.summary();
    SimResult s = b.simulate(sim(tag));
    EXPECT_TRUE(s.passed()) << s.summary();
    EXPECT_GT(s.checks, 1000);
    SimOptions so = sim(tag + "_in_buffered_tb");
    so.timeout_s = 120;
    SimResult wrong = buffered.verify(b.unit, so);
    EXPECT_FALSE(wrong.passed()) << wrong.summary();
    EXPECT_FALSE(wrong.timed_out) << "the buffered testbench should see the mismatch, not hang: " << wrong.summary();
  }
  if (!tried) GTEST_SKIP() << "no row unit is registered in this build";
  UnitRequest r;
  r.table = kTable;
  r.restream = true;
  try {
    build_unit("pwl", r);
    ADD_FAILURE() << "pwl accepted restream";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--restream applies to the row units only"), std::string::npos) << e.what();
  }
}

// The report's softmax / LayerNorm set: each integer unit at every entries x lanes x tables point,
// the FP32 and I-BERT-style references once at 1 lane, and at more lanes the references whose kind
// has lanes; every item labelled as it is built (re-streamed ones say so).
TEST(Registry, OpsReportItemsListEveryUnitAndItsReferences) {
  auto has_lanes = [](const std::string& kind) {
    for (const auto& k : unit_kinds())
      if (kind == k.name) return std::string(k.options).find("lanes") != std::string::npos;
    return false;
  };
  for (bool restream : {false, true}) {
    std::vector<std::string> missing;
    const std::vector<ReportItem> items = ops_report_items({8, 16}, {1, 4}, 64, "", &missing, restream);
    std::vector<std::string> expected;
    const std::string rs = restream ? " re-streamed" : "";
    for (const std::string op : {"softmax", "layernorm"}) {
      for (int L : {1, 4}) {
        if (registered(op))
          for (int K : {8, 16})
            for (const char* t : {"baked", "programmable"})
              expected.push_back(fmt::format("{} K={} {} lane{} {}{}", op, K, L, L == 1 ? "" : "s", t, rs));
        for (const char* ref : {"fp32", "ibert"}) {
          const std::string kind = op + "-" + ref;
          if (!registered(kind) || (L > 1 && !has_lanes(kind))) continue;
          expected.push_back(fmt::format("{} {} {} lane{}{}", op, std::string(ref) == "fp32" ? "FP32" : "I-BERT-style", L,
                                         L == 1 ? "" : "s", rs));
        }
      }
    }
    std::vector<std::string> got;
    for (const ReportItem& i : items) {
      got.push_back(i.label);
      EXPECT_EQ(i.request.restream, restream) << i.label;
      EXPECT_EQ(i.request.max_n, 64) << i.label;
      EXPECT_EQ(i.group, i.kind.substr(0, i.kind.find('-'))) << i.label;
      const BuiltUnit b = build_unit(i.kind, i.request);  // every item builds as listed
      EXPECT_EQ(b.description.find("re-streamed") != std::string::npos, restream) << b.description;
    }
    EXPECT_EQ(got, expected);
  }
}

// References with lanes (their kind's options name lanes) build at 4 lanes, buffered and
// re-streamed, and pass their testbench (4 elements a beat, partial last beats) lint clean; the
// others refuse lanes > 1 in one line.
TEST(Registry, ReferencesWithLanesPassAtFourLanes) {
  int tried = 0;
  for (const auto& k : unit_kinds()) {
    const std::string kind = k.name;
    const bool reference = kind.find("-fp32") != std::string::npos || kind.find("-ibert") != std::string::npos;
    if (!reference) continue;
    UnitRequest r;
    r.lanes = 4;
    r.max_n = 10;
    if (std::string(k.options).find("lanes") == std::string::npos) {
      try {
        build_unit(kind, r);
        ADD_FAILURE() << kind << " accepted 4 lanes";
      } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find(kind + ": lanes must be 1"), std::string::npos) << e.what();
      }
      continue;
    }
    for (bool restream : {false, true}) {
      SCOPED_TRACE(fmt::format("{} restream {}", kind, restream));
      ++tried;
      r.restream = restream;
      const BuiltUnit b = build_unit(kind, r);
      EXPECT_NE(b.description.find("4 lanes"), std::string::npos) << b.description;
      UnitRequest one = r, four = r;  // throughput on long rows (at 10 the pipeline latency dominates)
      one.lanes = 1;
      one.max_n = four.max_n = 256;
      EXPECT_GT(build_unit(kind, four).elements_per_cycle, 2.5 * build_unit(kind, one).elements_per_cycle);
      const std::string tag = fmt::format("lanes4_{}_{}", kind, restream);
      LintResult l = lint(b.unit, lint_opts(tag, b));
      EXPECT_TRUE(l.clean()) << l.summary();
      SimResult s = b.simulate(sim(tag));
      EXPECT_TRUE(s.passed()) << s.summary();
      EXPECT_GT(s.checks, 1000);
    }
  }
  if (!tried) GTEST_SKIP() << "no reference kind with lanes in this build";
}

}  // namespace
}  // namespace gqalut::hw
