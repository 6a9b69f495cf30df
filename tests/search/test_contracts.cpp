// Accuracy contracts are data: every registered function declares the paper score its default
// 8-entry table must meet; this one table-driven test walks the registry.
#include <gtest/gtest.h>

#include "gqalut/search.hpp"
#include "paper_problem.hpp"

using namespace gqalut;

TEST(Contracts, EveryBuiltinMeetsItsDeclaredBoundWithTheOptimum) {
  for (const Function& fn : builtin_functions()) {
    SCOPED_TRACE(fn.name);
    ASSERT_GT(fn.contract_paper_score_8, 0.0);
    Problem p = gqalut_test::paper_problem(fn, 8);
    Result r = Optimal().run(p);
    EXPECT_TRUE(r.tables.at(p.scales.front()).is_int8());
    EXPECT_LE(r.errors.paper_score, fn.contract_paper_score_8)
        << fn.name << " paper score " << r.errors.paper_score;
    // The reported errors are the evaluator's.
    ErrorReport again = evaluate(r.tables, fn.f, p.lo, p.hi, Protocol::p_int, p.scales);
    EXPECT_EQ(again.paper_score, r.errors.paper_score);
  }
}
