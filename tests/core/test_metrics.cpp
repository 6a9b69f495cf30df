// The protocols of SPEC section 3 on hand-computed cases.
#include <gtest/gtest.h>

#include <cmath>

#include "gqalut/metrics.hpp"

using namespace gqalut;

namespace {
// y = 0 for x < 0, y = x for x >= 0 (one breakpoint at 0), Q1.6.
Table relu_table(int n) {
  Table t;
  t.n = n;
  t.breakpoints = {0};
  t.slopes = {0, 64};
  t.intercepts = {0, 0};
  return t;
}
}  // namespace

TEST(PInt, CountsOnlyCodesInsideTheClosedRange) {
  EXPECT_EQ(codes_in_range(0, -4, 4).size(), 9u);          // -4..4
  EXPECT_EQ(codes_in_range(6, -4, 4).size(), 256u);        // [-2, 1.984375] all inside
  EXPECT_EQ(codes_in_range(5, 0.5, 4).size(), 112u);       // 16..127
  EXPECT_EQ(codes_in_range(1, -8, 0).size(), 17u);         // -16..0
  EXPECT_EQ(codes_in_range(3, -8, 0).size(), 65u);         // -64..0
}

TEST(PInt, HandComputedAbsoluteValueCase) {
  // f(x) = |x| on [-1, 1] at n = 1: x in {-1, -0.5, 0, 0.5, 1}; relu table errs by |x| for x < 0.
  auto f = [](double x) { return std::fabs(x); };
  ScaleError e = p_int_error(relu_table(1), f, -1, 1);
  EXPECT_EQ(e.points, 5);
  EXPECT_DOUBLE_EQ(e.mse, (1.0 + 0.25) / 5);
  EXPECT_DOUBLE_EQ(e.max_abs_error, 1.0);
  EXPECT_EQ(e.n, 1);
}

TEST(PGrid, ArangeMatchesNumpyLengthAndValues) {
  auto x = arange(-4, 4, 0.01);
  EXPECT_EQ(x.size(), 800u);
  EXPECT_EQ(x[0], -4.0);
  EXPECT_LT(x.back(), 4.0);
  EXPECT_EQ(arange(-8, 0, 0.01).size(), 800u);
  EXPECT_EQ(arange(0.5, 4, 0.01).size(), 350u);
  EXPECT_EQ(arange(0.25, 4, 0.01).size(), 375u);
  // numpy fills start + i * ((start + step) - start), not start + i * step.
  double delta = (-4 + 0.01) - (-4.0);
  EXPECT_EQ(x[100], -4 + 100 * delta);
  EXPECT_LT(x[100], -3.0);
}

TEST(PGrid, HandComputedCase) {
  // f(x) = x on [-1, 1): relu table errs by -x for x < 0 and 0 otherwise.
  auto f = [](double x) { return x; };
  ScaleError e = p_grid_error(relu_table(4), f, -1, 1);
  auto x = arange(-1, 1, 0.01);
  double sse = 0, mx = 0;
  for (double v : x)
    if (v < 0) {
      sse += v * v;
      mx = std::max(mx, -v);
    }
  EXPECT_EQ(e.points, 200);
  EXPECT_DOUBLE_EQ(e.mse, sse / 200);
  EXPECT_DOUBLE_EQ(e.max_abs_error, 1.0);
}

TEST(PaperScore, MeanOfPerScaleMseSkippingEmptyScales) {
  std::vector<ScaleError> e = {{0, 9, 1e-3, 0}, {1, 17, 3e-3, 0}, {2, 0, 5.0, 0}};
  EXPECT_DOUBLE_EQ(paper_score(e), 2e-3);
  EXPECT_EQ(paper_score({}), 0.0);
}

TEST(Scales, ParseLists) {
  EXPECT_EQ(parse_scales("0:6"), (std::vector<int>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(parse_scales("5"), (std::vector<int>{5}));
  EXPECT_EQ(parse_scales("4,0,2,2"), (std::vector<int>{0, 2, 4}));
  EXPECT_EQ(parse_scales("0:1,7"), (std::vector<int>{0, 1, 7}));
  for (const char* bad : {"", "6:0", "13", "a", "1:", "-1", "0:99"})
    EXPECT_THROW(parse_scales(bad), std::invalid_argument) << bad;
}
