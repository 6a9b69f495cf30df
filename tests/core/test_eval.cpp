// The evaluator against a direct double-precision formula, exhaustively.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "gqalut/table.hpp"

using namespace gqalut;

namespace {

Table random_table(std::mt19937_64& rng, int n, int entries, Format fk, Format fb) {
  Table t;
  t.n = n;
  t.slope_format = fk;
  t.intercept_format = fb;
  std::uniform_int_distribution<int> bp(-160, 160);
  for (int i = 0; i + 1 < entries; ++i) t.breakpoints.push_back(bp(rng));
  std::sort(t.breakpoints.begin(), t.breakpoints.end());
  std::uniform_int_distribution<int64_t> kc(fk.min_code(), fk.max_code()), bc(fb.min_code(), fb.max_code());
  for (int i = 0; i < entries; ++i) {
    t.slopes.push_back(int32_t(kc(rng)));
    t.intercepts.push_back(int32_t(bc(rng)));
  }
  t.validate();
  return t;
}

// SPEC section 1 directly: seg = #{p_i <= x}, y = k x + b, in real numbers.
double direct(const Table& t, int q) {
  double x = std::ldexp(double(q), -t.n);
  int seg = 0;
  for (size_t i = 0; i < t.breakpoints.size(); ++i)
    if (std::ldexp(double(t.breakpoints[i]), -t.n) <= x) ++seg;
  return std::ldexp(double(t.slopes[seg]), -t.slope_format.frac_bits) * x +
         std::ldexp(double(t.intercepts[seg]), -t.intercept_format.frac_bits);
}

}  // namespace

TEST(Evaluator, MatchesTheDirectFormulaOnEveryCodeAndScale) {
  const uint64_t seed = 20261124;
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  const Format formats[] = {kQ1_6, kQ2_5, {7, 8}, {0, 8}, {9, 10}, {12, 16}, {3, 4}};
  int checked = 0;
  for (int n = 0; n <= Table::kMaxScale; ++n)
    for (const Format& fk : formats)
      for (const Format& fb : formats)
        for (int entries : {1, 2, 8, 16, 64}) {
          Table t = random_table(rng, n, entries, fk, fb);
          for (int q = -128; q <= 127; ++q) {
            ASSERT_EQ(eval_value(t, q), direct(t, q)) << "n=" << n << " q=" << q;
            ASSERT_EQ(std::ldexp(double(eval_acc(t, q)), -t.shift()), direct(t, q));
            ++checked;
          }
        }
  EXPECT_EQ(checked, 13 * 7 * 7 * 5 * 256);
}

TEST(Evaluator, Q16DatapathIsKqPlusBShiftedByN) {
  // SPEC: with Fk = Fb = 6, acc = K*q + (B << n) at output scale 2^-(n+6).
  Table t;
  t.n = 3;
  t.breakpoints = {-8, 0, 8};
  t.slopes = {0, 10, 64, -7};
  t.intercepts = {-3, 5, 0, 127};
  EXPECT_EQ(t.shift(), 9);
  for (int q = -128; q <= 127; ++q) {
    int s = segment_of(t, q);
    EXPECT_EQ(eval_acc(t, q), int64_t(t.slopes[s]) * q + int64_t(t.intercepts[s]) * 8);
  }
}

TEST(Evaluator, TieRuleRightAndLeft) {
  Table t;
  t.n = 0;
  t.breakpoints = {-1, 2, 2};
  t.slopes = {0, 0, 0, 0};
  t.intercepts = {0, 1, 2, 3};
  // gqalut: on a breakpoint go right.
  EXPECT_EQ(segment_of(t, -2), 0);
  EXPECT_EQ(segment_of(t, -1), 1);
  EXPECT_EQ(segment_of(t, 1), 1);
  EXPECT_EQ(segment_of(t, 2), 3);  // the empty segment 2 is skipped
  // The official op: on a breakpoint go left.
  EXPECT_EQ(segment_of(t, -1, TieRule::left), 0);
  EXPECT_EQ(segment_of(t, 2, TieRule::left), 1);
  EXPECT_EQ(segment_of(t, 3, TieRule::left), 3);
  EXPECT_EQ(eval_value(t, 2), 3.0 / 64);
  EXPECT_EQ(eval_value(t, 2, TieRule::left), 1.0 / 64);
}

TEST(Evaluator, AccumulatorBitsHoldEveryOutputAndAreTight) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    int n = int(rng() % 8);
    Format fk{int(rng() % 8), 8}, fb{int(rng() % 8), 8};
    Table t = random_table(rng, n, 2 + int(rng() % 15), fk, fb);
    int bits = t.accumulator_bits();
    int64_t lo = 0, hi = 0;
    for (int q = -128; q <= 127; ++q) {
      int64_t a = eval_acc(t, q);
      lo = std::min(lo, a);
      hi = std::max(hi, a);
    }
    EXPECT_GE(lo, -(int64_t(1) << (bits - 1)));
    EXPECT_LE(hi, (int64_t(1) << (bits - 1)) - 1);
    // Tight: one bit fewer would not hold some reachable output (under the table's rule).
    if (bits > 1)
      EXPECT_TRUE(lo < -(int64_t(1) << (bits - 2)) || hi > (int64_t(1) << (bits - 2)) - 1) << "bits " << bits;
  }
}

TEST(Table, ValidateNamesTheRule) {
  Table t;
  t.n = 2;
  t.breakpoints = {4, 1};
  t.slopes = {0, 0, 0};
  t.intercepts = {0, 0, 0};
  try {
    t.validate();
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "breakpoints must be sorted, got 0.25 after 1 (scale 2)");
  }
  t.breakpoints = {1};
  EXPECT_THROW(t.validate(), std::invalid_argument);  // 2 entries need 1 breakpoint, 3 given slopes
  t.breakpoints = {1, 4};
  t.slopes[1] = 128;
  EXPECT_THROW(t.validate(), std::invalid_argument);
  t.slopes[1] = 0;
  t.n = 13;
  EXPECT_THROW(t.validate(), std::invalid_argument);
  t.n = 0;
  EXPECT_NO_THROW(t.validate());
}
