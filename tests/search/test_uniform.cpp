// Uniform baseline: breakpoints where the spec puts them, coefficients equal
// to fit_line_int's per segment, never better than the optimum.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "gqalut/search.hpp"
#include "shared_tables.hpp"

using namespace gqalut;

TEST(Uniform, BreakpointsAndCoefficientsPerScale) {
  for (const char* name : {"gelu", "exp", "reci"})
    for (Objective o : {Objective::mse, Objective::max_abs}) {
      Problem p = Problem::make(find_function(name), 8);
      p.objective = o;
      Result r = Uniform().run(p);
      EXPECT_EQ(r.tables.meta["method"], "uniform");
      for (const auto& [n, t] : r.tables.tables) {
        ASSERT_EQ(t.entries(), 8);
        std::vector<std::vector<double>> xs(8), ys(8);
        for (int i = 1; i < 8; ++i)
          EXPECT_EQ(t.breakpoints[i - 1], std::nearbyint(std::ldexp(p.lo + (p.hi - p.lo) * i / 8.0, n)));
        for (int32_t q : codes_in_range(n, p.lo, p.hi)) {
          int s = segment_of(t, q);
          double x = std::ldexp(double(q), -n);
          xs[s].push_back(x);
          ys[s].push_back(p.function(x));
        }
        for (int s = 0; s < 8; ++s) {
          if (xs[s].empty()) continue;
          LineFit f = fit_line_int(xs[s].data(), ys[s].data(), nullptr, xs[s].size(), kQ1_6, kQ1_6, o);
          EXPECT_EQ(t.slopes[s], f.k) << name << " n=" << n << " segment " << s;
          EXPECT_EQ(t.intercepts[s], f.b) << name << " n=" << n << " segment " << s;
        }
      }
    }
}

TEST(Uniform, NeverBeatsTheOptimum) {
  for (const char* name : {"gelu", "hswish", "exp", "reci", "rsqrt", "sigmoid"})
    for (bool shared : {false, true})
      for (Objective o : {Objective::mse, Objective::max_abs}) {
        Problem p = Problem::make(find_function(name), 6);
        p.shared = shared;
        p.objective = o;
        Result u = Uniform().run(p), b = Optimal().run(p);
        if (!shared) {
          for (std::size_t i = 0; i < u.errors.scales.size(); ++i) {
            double ue = o == Objective::mse ? u.errors.scales[i].mse : u.errors.scales[i].max_abs_error;
            double be = o == Objective::mse ? b.errors.scales[i].mse : b.errors.scales[i].max_abs_error;
            EXPECT_LE(be, ue * (1 + 1e-12)) << name << " n=" << u.errors.scales[i].n;
          }
        } else if (o == Objective::mse) {
          EXPECT_LE(b.errors.paper_score, u.errors.paper_score * (1 + 1e-12)) << name;
        } else {
          double ue = 0, be = 0;
          for (const auto& e : u.errors.scales) ue = std::max(ue, e.max_abs_error);
          for (const auto& e : b.errors.scales) be = std::max(be, e.max_abs_error);
          EXPECT_LE(be, ue * (1 + 1e-12)) << name;
        }
      }
}

TEST(Uniform, SharedUsesOneCoefficientSet) {
  Problem p = Problem::make(find_function("exp"), 8);
  p.shared = true;
  Result r = Uniform().run(p);
  gqalut_test::expect_shared_tables(r.tables, 6);
  const Table& fine = r.tables.at(6);
  // exp on [-8, 0] with 8 entries: breakpoints at -7, -6, ..., -1 exactly.
  for (int i = 0; i < 7; ++i) EXPECT_EQ(fine.breakpoints[i], (i - 7) * 64);
}

TEST(Uniform, ExactOnRepresentableLines) {
  Function f = make_function("line", [](double x) { return 0.75 * x - 0.5; }, -2, 2);
  Problem p = Problem::make(f, 4);
  Result r = Uniform().run(p);
  for (const auto& e : r.errors.scales) EXPECT_EQ(e.max_abs_error, 0.0) << "n=" << e.n;
}
