// Every search method targets the problem's tie rule (Problem::tie): its
// tables carry the rule, their reported errors are the evaluator's under it,
// and the optimum under the left rule equals the right-rule optimum (codes
// moved by one) per scale; shared tables may differ (the breakpoint grid).
#include <cmath>
#include <cstdio>

#include <gtest/gtest.h>

#include "gqalut/metrics.hpp"
#include "gqalut/search.hpp"

using namespace gqalut;

namespace {

Problem problem(const char* fn, int entries, TieRule rule) {
  Problem p = Problem::make(find_function(fn), entries);
  p.tie = rule;
  return p;
}

// The result's tables are for `rule` and the errors it reports are the
// evaluator's under the tables' own rule.
void check_result(const Result& r, const Problem& p) {
  EXPECT_EQ(r.tables.tie(), p.tie);
  EXPECT_EQ(r.settings.value("tie", ""), to_string(p.tie));
  ErrorReport e = evaluate(r.tables, p.function.f, p.lo, p.hi);
  ASSERT_EQ(e.scales.size(), r.errors.scales.size());
  for (size_t i = 0; i < e.scales.size(); ++i) EXPECT_EQ(e.scales[i].mse, r.errors.scales[i].mse);
}

}  // namespace

TEST(TieSearch, OptimalPerScaleLeftEqualsRightWithCodesMovedByOne) {
  for (const char* fn : {"gelu", "hswish", "exp"}) {
    Problem pr = problem(fn, 8, TieRule::right), pl = problem(fn, 8, TieRule::left);
    Result r = Optimal().run(pr), l = Optimal().run(pl);
    check_result(l, pl);
    for (size_t i = 0; i < r.errors.scales.size(); ++i) {
      EXPECT_EQ(l.errors.scales[i].mse, r.errors.scales[i].mse) << fn << " n=" << r.errors.scales[i].n;
      EXPECT_EQ(l.errors.scales[i].max_abs_error, r.errors.scales[i].max_abs_error);
    }
    std::printf("%-7s optimal 8 per scale: paper score right %.6e left %.6e\n", fn, r.errors.paper_score,
                l.errors.paper_score);
  }
}

TEST(TieSearch, OptimalSharedTargetsTheLeftRule) {
  for (const char* fn : {"gelu", "exp"}) {
    Problem pr = problem(fn, 8, TieRule::right), pl = problem(fn, 8, TieRule::left);
    pr.shared = pl.shared = true;
    Result r = Optimal().run(pr), l = Optimal().run(pl);
    check_result(l, pl);
    // The left-rule optimum is at least as good as the right-rule tables read
    // with the left rule (what the official op would make of them).
    TableSet as_left = r.tables;
    as_left.set_tie(TieRule::left);
    double relabelled = evaluate(as_left, pl.function.f, pl.lo, pl.hi).paper_score;
    EXPECT_LE(l.errors.paper_score, relabelled * (1 + 1e-12));
    std::printf("%-7s optimal 8 shared: right %.6e left %.6e (right tables read left: %.6e)\n", fn,
                r.errors.paper_score, l.errors.paper_score, relabelled);
  }
}

TEST(TieSearch, ImprovedGaPerScaleIsTheSameSearchWithCodesMovedByOne) {
  GaSettings s;
  s.improved = true;
  s.generations = 20;
  s.population = 20;
  s.seed = 4;
  Problem pr = problem("gelu", 8, TieRule::right), pl = problem("gelu", 8, TieRule::left);
  Result r = GeneticAlgorithm(s).run(pr), l = GeneticAlgorithm(s).run(pl);
  check_result(l, pl);
  for (const auto& [n, t] : r.tables.tables) {
    const Table& u = l.tables.at(n);
    for (size_t i = 0; i < t.breakpoints.size(); ++i) EXPECT_EQ(u.breakpoints[i], t.breakpoints[i] - 1);
    for (int q = -128; q <= 127; ++q) ASSERT_EQ(eval_acc(u, q), eval_acc(t, q)) << "n=" << n << " q=" << q;
  }
}

TEST(TieSearch, ImprovedGaSharedAndUniformTargetTheRule) {
  GaSettings s;
  s.improved = true;
  s.generations = 10;
  s.population = 16;
  Problem pl = problem("hswish", 8, TieRule::left);
  pl.shared = true;
  check_result(GeneticAlgorithm(s).run(pl), pl);
  for (bool shared : {false, true}) {
    Problem pr = problem("gelu", 8, TieRule::right), pl2 = problem("gelu", 8, TieRule::left);
    pr.shared = pl2.shared = shared;
    Result r = Uniform().run(pr), l = Uniform().run(pl2);
    check_result(l, pl2);
    // Same rounded breakpoints, each code on one read with the target rule:
    // the lines are refitted to the left rule's segments.
    for (const auto& [n, t] : r.tables.tables) EXPECT_EQ(l.tables.at(n).breakpoints, t.breakpoints);
  }
}

TEST(TieSearch, FaithfulGaAndNnLutKeepTheirSearchAndRecordTheRule) {
  GaSettings s;
  s.improved = false;
  s.generations = 5;
  Problem pr = problem("gelu", 8, TieRule::right), pl = problem("gelu", 8, TieRule::left);
  Result r = GeneticAlgorithm(s).run(pr), l = GeneticAlgorithm(s).run(pl);
  check_result(l, pl);
  for (const auto& [n, t] : r.tables.tables) EXPECT_EQ(l.tables.at(n).breakpoints, t.breakpoints);
  NnLutSettings ns;
  ns.epochs = 2;
  ns.samples = 2000;
  Result nl = NnLut(ns).run(pl);
  check_result(nl, pl);
}
