// Test helper for shared tables (Problem::shared = true), one copy for every search test:
// each scale's table has the finest scale's coefficients, and its breakpoints are the finest
// ones rounded half to even to its own grid.
#pragma once

#include <gtest/gtest.h>

#include <cmath>

#include "gqalut/table.hpp"

namespace gqalut_test {

inline void expect_shared_tables(const gqalut::TableSet& set, int finest) {
  const gqalut::Table& fine = set.at(finest);
  for (const auto& [n, t] : set.tables) {
    SCOPED_TRACE(::testing::Message() << "scale " << n);
    EXPECT_EQ(t.slopes, fine.slopes);
    EXPECT_EQ(t.intercepts, fine.intercepts);
    ASSERT_EQ(t.breakpoints.size(), fine.breakpoints.size());
    for (size_t i = 0; i < t.breakpoints.size(); ++i)
      EXPECT_EQ(t.breakpoints[i], std::nearbyint(std::ldexp(double(fine.breakpoints[i]), n - finest)));
  }
}

}  // namespace gqalut_test
