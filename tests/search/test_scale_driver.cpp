// The per-scale / shared driver (src/search/scale_driver.hpp): the views it
// hands a search, the weights and grids of each mode, half-to-even rounding of
// shared breakpoints, segment membership under both tie rules, blank scales.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "../../src/search/scale_driver.hpp"
#include "gqalut/search.hpp"

namespace gqalut {
namespace {

using detail::ScaleView;
using detail::ViewTable;

// reci on [0.5, 4] with 4-bit inputs: scale 0 has q = 1..4, scale 2 has
// q = 2..7, scales 4 and 6 have no code in range.
Problem reci4() {
  Problem p = Problem::make(find_function("reci"), 3);
  p.input_bits = 4;
  p.scales = {0, 2, 4, 6};
  return p;
}

TEST(ScaleDriver, PerScaleOneViewPerScaleIncludingBlankOnes) {
  Problem p = reci4();
  const int points[] = {4, 6, 0, 0};
  int i = 0;  // the views live only during the call: check them there
  TableSet set = detail::search_scales(p, {kQ1_6, kQ1_6}, [&](const ScaleView& v) {
    EXPECT_FALSE(v.shared);
    EXPECT_EQ(v.m, p.scales[size_t(i)]);
    EXPECT_EQ(v.n(), v.m);
    EXPECT_EQ(v.index, i);
    EXPECT_EQ(v.count, 4);
    EXPECT_DOUBLE_EQ(v.progress(0.5), (i + 0.5) / 4);
    EXPECT_EQ(v.empty(), points[i] == 0);
    if (!v.empty()) {
      EXPECT_EQ(v.scales.size(), 1u);
      EXPECT_EQ(v.scales[0]->n, v.m);
      EXPECT_EQ(int(v.scales[0]->q.size()), points[i]);
      EXPECT_EQ(v.weight, std::vector<double>{1.0});
      EXPECT_DOUBLE_EQ(v.norm, points[i]);
    }
    ++i;
    return ViewTable{{v.m, v.m + 1}, {1, 2, 3}, {-1, -2, v.m}};
  });
  EXPECT_EQ(i, 4);
  ASSERT_EQ(set.tables.size(), 4u);
  for (int n : p.scales) {  // each scale's table is exactly what its view returned
    const Table& t = set.tables.at(n);
    EXPECT_EQ(t.breakpoints, (std::vector<int32_t>{n, n + 1}));
    EXPECT_EQ(t.slopes, (std::vector<int32_t>{1, 2, 3}));
    EXPECT_EQ(t.intercepts, (std::vector<int32_t>{-1, -2, n}));
    EXPECT_EQ(t.slope_format, kQ1_6);
  }
}

TEST(ScaleDriver, SharedOneViewOnTheFinestGridRoundedHalfToEvenToEveryScale) {
  Problem p = reci4();
  p.shared = true;
  int calls = 0;
  // Codes of the grid 2^-6: 40 = 0.625 (a tie at n = 2), 48 = 0.75.
  const std::vector<int64_t> fine{40, 48};
  TableSet set = detail::search_scales(p, {kQ1_6, kQ1_6}, [&](const ScaleView& v) {
    ++calls;
    EXPECT_TRUE(v.shared);
    EXPECT_EQ(v.m, 6);
    EXPECT_EQ(v.index, 0);
    EXPECT_EQ(v.count, 1);
    EXPECT_EQ(v.scales.size(), 2u);  // the scales with points only
    EXPECT_EQ(v.scales[0]->n, 0);
    EXPECT_EQ(v.scales[1]->n, 2);
    EXPECT_EQ(v.weight, (std::vector<double>{1.0 / 4, 1.0 / 6}));
    EXPECT_DOUBLE_EQ(v.norm, 2.0);
    return ViewTable{fine, {5, 6, 7}, {8, 9, 10}};
  });
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(set.tables.size(), 4u);
  // 40 / 64 = 0.625: n = 0 -> 0.625 -> 1; n = 2 -> 2.5 -> 2 (even); n = 4 -> 10; n = 6 -> 40.
  // 48 / 64 = 0.75:  n = 0 -> 0.75 -> 1; n = 2 -> 3; n = 4 -> 12; n = 6 -> 48.
  EXPECT_EQ(set.tables.at(0).breakpoints, (std::vector<int32_t>{1, 1}));
  EXPECT_EQ(set.tables.at(2).breakpoints, (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(set.tables.at(4).breakpoints, (std::vector<int32_t>{10, 12}));
  EXPECT_EQ(set.tables.at(6).breakpoints, (std::vector<int32_t>{40, 48}));
  for (const auto& [n, t] : set.tables) {  // one coefficient set, blank scales included
    EXPECT_EQ(t.slopes, (std::vector<int32_t>{5, 6, 7})) << n;
    EXPECT_EQ(t.intercepts, (std::vector<int32_t>{8, 9, 10})) << n;
  }
}

TEST(ScaleDriver, LeftOfReadsTheRoundedCodeWithTheTieRule) {
  Problem p = reci4();
  p.shared = true;
  for (TieRule tie : {TieRule::right, TieRule::left}) {
    p.tie = tie;
    detail::search_scales(p, {kQ1_6, kQ1_6}, [&](const ScaleView& v) {
      // Scale 2 holds q = 2..7. Fine code 24 is 1.5 there: rounds to 2 (even).
      EXPECT_EQ(v.code_at(24, 1), 2);
      EXPECT_EQ(v.code_at(40, 1), 2);
      EXPECT_EQ(v.code_at(-24, 1), -2);
      // Right rule: points q < P are left; left rule: q <= P.
      const bool right = tie == TieRule::right;
      EXPECT_EQ(v.left_of(24, 1), right ? 0 : 1);
      EXPECT_EQ(v.left_of(48, 1), right ? 1 : 2);   // P = 3
      EXPECT_EQ(v.left_of(448, 1), 6);  // P = 28: beyond every point
      EXPECT_EQ(v.left_of(-1000, 1), 0);
      // Scale 0 holds q = 1..4; 0.75 * 64 = 48 rounds to 1.
      EXPECT_EQ(v.left_of(48, 0), right ? 0 : 1);
      return ViewTable{{0, 0}, {0, 0, 0}, {0, 0, 0}};
    });
  }
}

TEST(ScaleDriver, GridHelpersRoundHalfToEven) {
  EXPECT_EQ(detail::codes_on_grid({0.25, 0.75, -0.25, -0.75, 1.3}, 1),
            (std::vector<int64_t>{0, 2, 0, -2, 3}));
  EXPECT_EQ(detail::round_codes({1, 3, 5, -1, -3, 7}, 3, 2), (std::vector<int64_t>{0, 2, 2, 0, -2, 4}));
  EXPECT_EQ(detail::round_codes({9, -9}, 4, 4), (std::vector<int64_t>{9, -9}));
}

TEST(ScaleDriver, PutTableValidates) {
  TableSet set;
  detail::put_table(set, 3, {kQ1_6, kQ1_6}, {-2, 5}, {1, 2, 3}, {4, 5, 6});
  ASSERT_EQ(set.tables.count(3), 1u);
  EXPECT_EQ(set.tables.at(3).n, 3);
  EXPECT_EQ(set.tables.at(3).breakpoints, (std::vector<int32_t>{-2, 5}));
  EXPECT_THROW(detail::put_table(set, 3, {kQ1_6, kQ1_6}, {5, -2}, {1, 2, 3}, {4, 5, 6}), std::invalid_argument);
  EXPECT_THROW(detail::put_table(set, 3, {kQ1_6, kQ1_6}, {0, 1}, {1, 200, 3}, {4, 5, 6}), std::invalid_argument);
}

}  // namespace
}  // namespace gqalut
