// Input and coefficient widths as problem parameters (issue 11).
//
// The exact optimum at small widths against brute force: for b_in = 3..5 and
// coefficient widths 3..5, every breakpoint set (every non-decreasing choice
// of K-1 breakpoint codes) and, per segment, every (K, B) code pair, with the
// errors summed directly on the integer datapath (no moments, no pruning).
// Both objectives (sum of squares, max |error|). Then the other searches on
// narrow inputs: their errors are measured over the b_in-bit codes.
#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gqalut/function.hpp"
#include "gqalut/io.hpp"
#include "gqalut/metrics.hpp"
#include "gqalut/search.hpp"

namespace gqalut {
namespace {

struct Seg {
  double cost = std::numeric_limits<double>::infinity();
  int32_t k = 0, b = 0;
};

// Per-scale brute force. Returns the best total cost (SSE or max) and the table.
struct Brute {
  double cost = std::numeric_limits<double>::infinity();
  Table table;
};

Brute brute_force(const Function& fn, double lo, double hi, int n, int entries, int input_bits, Format fk,
                  Format fb, Objective obj) {
  const std::vector<int32_t> q = codes_in_range(n, lo, hi, input_bits);
  const int N = int(q.size());
  Table proto;
  proto.n = n;
  proto.input_bits = input_bits;
  proto.slope_format = fk;
  proto.intercept_format = fb;
  const int L = proto.shift();
  // Error of code pair (K, B) at point p, on the integer datapath.
  auto err = [&](int64_t K, int64_t B, int p) {
    int64_t acc = K * q[p] * (int64_t{1} << (L - n - fk.frac_bits)) + B * (int64_t{1} << (L - fb.frac_bits));
    return std::ldexp(double(acc), -L) - fn(std::ldexp(double(q[p]), -n));
  };
  // seg[i][j]: best line of points [i, j), every code pair tried.
  std::vector<std::vector<Seg>> seg(N + 1, std::vector<Seg>(N + 1));
  for (int i = 0; i <= N; ++i) {
    seg[i][i].cost = 0;
    for (int j = i + 1; j <= N; ++j) {
      Seg& s = seg[i][j];
      for (int64_t K = fk.min_code(); K <= fk.max_code(); ++K)
        for (int64_t B = fb.min_code(); B <= fb.max_code(); ++B) {
          double c = 0;
          for (int p = i; p < j; ++p) {
            double e = err(K, B, p);
            c = obj == Objective::mse ? c + e * e : std::max(c, std::fabs(e));
          }
          if (c < s.cost) s = Seg{c, int32_t(K), int32_t(B)};
        }
    }
  }
  // Every breakpoint set: K-1 non-decreasing cut positions in [0, N]; a cut
  // at position c is the breakpoint code q[c] (or one past the last code).
  Brute best;
  std::vector<int> cut(entries - 1, 0);
  for (;;) {
    double total = 0;
    int prev = 0;
    for (int t = 0; t <= entries - 1; ++t) {
      int next = t < entries - 1 ? cut[t] : N;
      double c = seg[prev][next].cost;
      total = obj == Objective::mse ? total + c : std::max(total, c);
      prev = next;
    }
    if (total < best.cost) {
      best.cost = total;
      Table t = proto;
      prev = 0;
      for (int s = 0; s < entries; ++s) {
        int next = s < entries - 1 ? cut[s] : N;
        t.slopes.push_back(seg[prev][next].k);
        t.intercepts.push_back(seg[prev][next].b);
        if (s < entries - 1) t.breakpoints.push_back(next < N ? q[next] : q.back() + 1);
        prev = next;
      }
      best.table = t;
    }
    // next non-decreasing sequence
    int i = entries - 2;
    while (i >= 0 && cut[i] == N) --i;
    if (i < 0) break;
    ++cut[i];
    for (int j = i + 1; j < entries - 1; ++j) cut[j] = cut[i];
  }
  return best;
}

struct Case {
  const char* func;
  int input_bits, coef_bits, entries;
};

class BruteForce : public ::testing::TestWithParam<Case> {};

TEST_P(BruteForce, OptimumEqualsEveryBreakpointSetAndCodePair) {
  const Case& c = GetParam();
  const Function& fn = find_function(c.func);
  for (Objective obj : {Objective::mse, Objective::max_abs}) {
    Problem p = Problem::make(fn, c.entries);
    p.input_bits = c.input_bits;
    p.scales = {0, 1, 2};
    p.objective = obj;
    p.slope_format = FormatChoice{std::nullopt, c.coef_bits};
    p.intercept_format = FormatChoice{std::nullopt, c.coef_bits};
    const auto fit = p.resolve_formats();
    // The fitting split and one more fraction bit on either (which clips).
    for (auto [dk, db] : {std::pair<int, int>{0, 0}, {1, 0}, {0, 1}}) {
      Problem q = p;
      Format fk{fit.slope.frac_bits + dk, c.coef_bits}, fb{fit.intercept.frac_bits + db, c.coef_bits};
      q.slope_format = FormatChoice{fk};
      q.intercept_format = FormatChoice{fb};
      Result r = Optimal().run(q);
      for (const auto& e : r.errors.scales) {
        SCOPED_TRACE(fmt::format("{} K={} b_in={} c={} {} {} n={} {}", c.func, c.entries, c.input_bits, c.coef_bits,
                                 fk.name(), fb.name(), e.n, to_string(obj)));
        const Table& t = r.tables.tables.at(e.n);
        ASSERT_EQ(t.input_bits, c.input_bits);
        ASSERT_EQ(e.points, int(codes_in_range(e.n, fn.lo, fn.hi, c.input_bits).size()));
        Brute b = brute_force(fn, fn.lo, fn.hi, e.n, c.entries, c.input_bits, fk, fb, obj);
        ScaleError be = p_int_error(b.table, fn.f, fn.lo, fn.hi);
        if (obj == Objective::mse) {
          EXPECT_DOUBLE_EQ(e.mse, be.mse);
          EXPECT_NEAR(e.mse * e.points, b.cost, 1e-12 * (1 + b.cost));
        } else {
          EXPECT_DOUBLE_EQ(e.max_abs_error, be.max_abs_error);
          EXPECT_NEAR(e.max_abs_error, b.cost, 1e-15);
        }
        for (int32_t bp : t.breakpoints) EXPECT_LE(bp, t.input_max());
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Widths, BruteForce,
    ::testing::Values(Case{"gelu", 3, 3, 3}, Case{"gelu", 4, 4, 4}, Case{"gelu", 5, 5, 3}, Case{"gelu", 5, 3, 4},
                      Case{"exp", 3, 5, 4}, Case{"exp", 4, 3, 3}, Case{"exp", 5, 4, 4}, Case{"rsqrt", 3, 4, 3},
                      Case{"rsqrt", 4, 5, 4}, Case{"rsqrt", 5, 3, 3}, Case{"hswish", 4, 4, 3},
                      Case{"hswish", 5, 5, 4}),
    [](const auto& tp) {
      return fmt::format("{}_b{}_c{}_k{}", tp.param.func, tp.param.input_bits, tp.param.coef_bits, tp.param.entries);
    });

// Every search honours the input width: errors over the b_in-bit codes only,
// codes inside the requested widths, and the width survives a JSON round trip.
TEST(Widths, EverySearchMeasuresOverTheInputCodes) {
  const Function& fn = find_function("gelu");
  Problem p = Problem::make(fn, 4);
  p.input_bits = 4;
  p.scales = {0, 1, 2};
  p.slope_format = FormatChoice{std::nullopt, 5};
  p.intercept_format = FormatChoice{std::nullopt, 5};
  GaSettings gs;
  gs.improved = true;
  gs.generations = 20;
  gs.population = 12;
  NnLutSettings ns;
  ns.samples = 2000;
  ns.epochs = 5;
  std::vector<std::pair<const char*, Result>> runs;
  runs.emplace_back("optimal", Optimal().run(p));
  runs.emplace_back("uniform", Uniform().run(p));
  runs.emplace_back("ga", GeneticAlgorithm(gs).run(p));
  runs.emplace_back("nnlut", NnLut(ns).run(p));
  for (const auto& [name, r] : runs) {
    SCOPED_TRACE(name);
    for (const auto& e : r.errors.scales) {
      const Table& t = r.tables.tables.at(e.n);
      EXPECT_EQ(t.input_bits, 4);
      EXPECT_EQ(e.points, int(codes_in_range(e.n, fn.lo, fn.hi, 4).size()));
      ScaleError direct = p_int_error(t, fn.f, fn.lo, fn.hi);
      EXPECT_EQ(direct.mse, e.mse);
      EXPECT_LE(t.slope_format.width, 8);
    }
    std::stringstream s;
    write_json(s, r.tables);
    TableSet back = read_json(s);
    EXPECT_EQ(back.tables.begin()->second.input_bits, 4);
  }
  // The optimum is no worse than the other searches on the same problem.
  for (const auto& [name, r] : runs) EXPECT_LE(runs[0].second.errors.paper_score, r.errors.paper_score) << name;
}

TEST(Widths, BadWidthsAreRefused) {
  Problem p = Problem::make(find_function("gelu"), 4);
  for (int b : {1, 9, 15, 17}) {
    p.input_bits = b;
    EXPECT_THROW(p.validate(), std::invalid_argument) << b;
  }
  p.input_bits = 16;
  EXPECT_NO_THROW(p.validate());
  p.input_bits = 8;
  p.slope_format = FormatChoice{std::nullopt, 1};
  EXPECT_THROW(p.validate(), std::invalid_argument);
  Table t;
  t.breakpoints = {0};
  t.slopes = {1, 2};
  t.intercepts = {0, 0};
  t.input_bits = 17;
  EXPECT_THROW(t.validate(), std::invalid_argument);
  t.input_bits = 1;
  EXPECT_THROW(t.validate(), std::invalid_argument);
}

}  // namespace
}  // namespace gqalut
