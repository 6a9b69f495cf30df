// fit_line_int against brute force over every (K, B) code pair.
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "gqalut/search.hpp"

using gqalut::Format;
using gqalut::LineFit;
using gqalut::Objective;

namespace {

// The cost of (K, B) computed the plain way.
double cost_of(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>* w,
               int64_t k, int64_t b, Format fk, Format fb, Objective o) {
  double u = std::ldexp(double(k), -fk.frac_bits), v = std::ldexp(double(b), -fb.frac_bits), s = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    double wi = w ? (*w)[i] : 1.0;
    double r = u * x[i] + v - y[i];
    if (o == Objective::mse)
      s += wi * r * r;
    else if (wi > 0)
      s = std::max(s, std::fabs(r));
  }
  return s;
}

double brute_min(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>* w,
                 Format fk, Format fb, Objective o) {
  double best = std::numeric_limits<double>::infinity();
  for (int64_t k = fk.min_code(); k <= fk.max_code(); ++k)
    for (int64_t b = fb.min_code(); b <= fb.max_code(); ++b)
      best = std::min(best, cost_of(x, y, w, k, b, fk, fb, o));
  return best;
}

bool close(double a, double b) { return std::fabs(a - b) <= 1e-12 * std::max(std::fabs(a), std::fabs(b)); }

}  // namespace

TEST(FitLineInt, EmptyIsZero) {
  LineFit f = gqalut::fit_line_int(nullptr, nullptr, nullptr, 0, gqalut::kQ1_6, gqalut::kQ1_6);
  EXPECT_EQ(f.k, 0);
  EXPECT_EQ(f.b, 0);
  EXPECT_EQ(f.cost, 0.0);
}

TEST(FitLineInt, ExactLineIsFoundWithZeroCost) {
  std::vector<double> x{-1, -0.5, 0, 0.25, 1.5}, y;
  for (double xi : x) y.push_back(37 / 64.0 * xi - 5 / 64.0);
  for (auto o : {Objective::mse, Objective::max_abs}) {
    LineFit f = gqalut::fit_line_int(x.data(), y.data(), nullptr, x.size(), gqalut::kQ1_6, gqalut::kQ1_6, o);
    EXPECT_EQ(f.k, 37);
    EXPECT_EQ(f.b, -5);
    EXPECT_EQ(f.cost, 0.0);
  }
}

TEST(FitLineInt, RejectsBadInput) {
  double x[1] = {NAN}, y[1] = {0};
  EXPECT_THROW(gqalut::fit_line_int(x, y, nullptr, 1, gqalut::kQ1_6, gqalut::kQ1_6), std::invalid_argument);
}

// Random point sets of several shapes, all formats of the proof set, both
// objectives, with and without weights.
TEST(FitLineInt, MatchesBruteForceOnRandomSets) {
  const uint64_t seed = 20240601;
  std::printf("seed %llu (std::mt19937_64)\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uni(-1, 1);
  const Format formats[] = {Format{6, 8}, Format{5, 8}, Format{4, 8}, Format{2, 4}};
  const char* fns[] = {"gelu", "exp", "reci", "sin", "step"};
  int cases = 0;
  for (int trial = 0; trial < 60; ++trial) {
    int count = 1 + int(rng() % 12);
    int n = int(rng() % 7);
    double x0 = std::ldexp(double(int(rng() % 200) - 100), -n);
    std::vector<double> x, y, w;
    const char* fn = fns[trial % 5];
    for (int i = 0; i < count; ++i) {
      double xi = trial % 7 == 3 ? x0 : x0 + std::ldexp(double(i), -n);  // some sets with one x
      x.push_back(xi);
      double yi = 0;
      std::string s(fn);
      if (s == "gelu") yi = 0.5 * xi * (1 + std::erf(xi / std::sqrt(2.0)));
      if (s == "exp") yi = std::exp(xi / 8);
      if (s == "reci") yi = 1 / (std::fabs(xi) + 0.5);
      if (s == "sin") yi = std::sin(3 * xi) + 0.1 * uni(rng);
      if (s == "step") yi = (i < count / 2 ? 0.3 : -0.7) + 0.5 * uni(rng);
      y.push_back(yi);
      w.push_back(trial % 3 == 0 ? (0.25 + std::fabs(uni(rng))) : 1.0);
    }
    for (Format fk : formats)
      for (Format fb : formats) {
        if ((fk.width == 4) != (fb.width == 4) && trial % 4) continue;  // keep it quick
        for (auto o : {Objective::mse, Objective::max_abs}) {
          const std::vector<double>* wp = trial % 3 == 0 ? &w : nullptr;
          LineFit f = gqalut::fit_line_int(x.data(), y.data(), wp ? w.data() : nullptr, x.size(), fk, fb, o);
          double brute = brute_min(x, y, wp, fk, fb, o);
          double mine = cost_of(x, y, wp, f.k, f.b, fk, fb, o);
          ASSERT_TRUE(close(f.cost, brute)) << "trial " << trial << " " << fk.name() << "/" << fb.name()
                                            << " " << gqalut::to_string(o) << " got " << f.cost
                                            << " brute " << brute << " (K=" << f.k << ", B=" << f.b << ")";
          ASSERT_TRUE(close(mine, f.cost)) << "returned codes do not evaluate to the reported cost";
          ASSERT_GE(f.k, fk.min_code());
          ASSERT_LE(f.k, fk.max_code());
          ASSERT_GE(f.b, fb.min_code());
          ASSERT_LE(f.b, fb.max_code());
          ++cases;
        }
      }
  }
  std::printf("%d brute-force comparisons\n", cases);
}

// The tie-break: the smallest |K| among equal costs (a point at x = 0 leaves K free).
TEST(FitLineInt, TieBreakPrefersSmallSlope) {
  double x[2] = {0, 0}, y[2] = {0.5, 0.5};
  LineFit f = gqalut::fit_line_int(x, y, nullptr, 2, gqalut::kQ1_6, gqalut::kQ1_6);
  EXPECT_EQ(f.k, 0);
  EXPECT_EQ(f.b, 32);
  EXPECT_EQ(f.cost, 0.0);
}
