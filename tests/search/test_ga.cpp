// Tests of the GQA-LUT genetic algorithm (src/search/ga.cpp): operators,
// faithful fitness, determinism, exports, the improved mode against a brute
// force optimum and the official tables.
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "../../src/search/ga_ops.hpp"
#include "gqalut/io.hpp"
#include "gqalut/search.hpp"
#include "paper_problem.hpp"
#include "shared_tables.hpp"

namespace gqalut {
namespace {

std::string official_path(const std::string& fn) {
  return fmt::format("{}/reference/official/{}_pwl_7.json", GQALUT_SHARED_DIR, official_key(fn));
}

using gqalut_test::paper_problem;

std::string json_bytes(const TableSet& set) {
  std::ostringstream os;
  write_json(os, set);
  return os.str();
}

bool on_grid(double v, int bits) { return std::ldexp(v, bits) == std::floor(std::ldexp(v, bits)); }

// ---------------------------------------------------------------- settings

void expect_rejected(GaSettings s, const std::string& fragment) {
  try {
    GeneticAlgorithm ga(std::move(s));
    FAIL() << "accepted settings that should fail with '" << fragment << "'";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(GaSettings, RejectsBadValuesNamingRuleAndValue) {
  GaSettings s;
  s.population = 1;
  expect_rejected(s, "population must be >= 2, got 1");
  s = {};
  s.generations = -3;
  expect_rejected(s, "generations must be >= 0, got -3");
  s = {};
  s.crossover_prob = 1.5;
  expect_rejected(s, "crossover probability must be in [0, 1], got 1.5");
  s = {};
  s.mutation_prob = -0.1;
  expect_rejected(s, "mutation probability must be in [0, 1], got -0.1");
  s = {};
  s.sigma = 0;
  expect_rejected(s, "sigma must be finite and > 0, got 0");
  s = {};
  s.sigma = std::numeric_limits<double>::quiet_NaN();
  expect_rejected(s, "sigma must be finite and > 0");
  s = {};
  s.rm_lo = 4;
  s.rm_hi = 2;
  expect_rejected(s, "rm_hi must be in [rm_lo = 4, 12], got 2");
  s = {};
  s.rm_offset = -1;
  expect_rejected(s, "offset must be in [0, 12], got -1");
  s = {};
  s.breakpoint_range = std::make_pair(2.0, 1.0);
  expect_rejected(s, "breakpoint range must be finite with lo < hi, got [2, 1]");
  s = {};
  s.outer_points = std::make_pair(-std::numeric_limits<double>::infinity(), 1.0);
  expect_rejected(s, "outer points must be finite with lo < hi");
  s = {};
  s.elites = -1;  // more elites than the population is fine: the GA keeps min(elites, population - 1)
  expect_rejected(s, "elites must be >= 0, got -1");
  EXPECT_NO_THROW(GeneticAlgorithm(GaSettings{}));
}

TEST(GaSettings, RunValidatesTheProblem) {
  Problem p = paper_problem("gelu");
  p.entries = 300;
  EXPECT_THROW(GeneticAlgorithm(GaSettings{}).run(p), std::invalid_argument);
}

// ---------------------------------------------------------------- operators

TEST(GaOperators, RoundToBitsIsHalfToEven) {
  EXPECT_EQ(detail::round_to_bits(0.125, 2), 0.0);   // 0.5 -> 0
  EXPECT_EQ(detail::round_to_bits(0.375, 2), 0.5);   // 1.5 -> 2
  EXPECT_EQ(detail::round_to_bits(-0.625, 2), -0.5); // -2.5 -> -2
  EXPECT_EQ(detail::round_to_bits(1.3, 0), 1.0);
  EXPECT_EQ(detail::round_to_bits(2.5, 0), 2.0);
}

TEST(GaOperators, TwoPointCrossoverSwapsOneInnerSlice) {
  detail::Rng rng(7);
  std::set<std::pair<int, int>> seen;
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<int> a{0, 1, 2, 3, 4, 5, 6}, b{10, 11, 12, 13, 14, 15, 16};
    detail::two_point_crossover(a, b, rng);
    int c1 = -1, c2 = -1;
    for (int i = 0; i < 7; ++i) {
      bool swapped = a[i] == 10 + i;
      ASSERT_TRUE(swapped ? b[i] == i : (a[i] == i && b[i] == 10 + i));
      if (swapped && c1 < 0) c1 = i;
      if (swapped) c2 = i + 1;
    }
    ASSERT_GE(c1, 1);  // DEAP never swaps from position 0
    for (int i = c1; i < c2; ++i) ASSERT_EQ(a[i], 10 + i);  // contiguous
    seen.insert({c1, c2});
  }
  // cxTwoPoint reaches every slice [c1, c2) with 1 <= c1 < c2 <= 7: 21 of them.
  EXPECT_EQ(seen.size(), 21u);
}

TEST(GaOperators, MutationWithoutRmNeverRounds) {
  // Range ends off the dyadic grid so clipping cannot put a gene on it.
  detail::FaithfulMutation mut{false, 0, 6, 0, 0.2, -4.0123, 4.0123};
  detail::Rng rng(3);
  std::vector<double> genes(7);
  int moved = 0, on_grid_count = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    for (int i = 0; i < 7; ++i) genes[i] = -3.1 + 0.9 * i + 1e-3 * (trial % 17);
    std::vector<double> before = genes;
    mut(genes, rng);
    for (int i = 0; i < 7; ++i) {
      if (genes[i] != before[i]) ++moved;
      if (genes[i] != before[i] && on_grid(genes[i], 6)) ++on_grid_count;
    }
  }
  EXPECT_EQ(on_grid_count, 0);
  // Each gene moves with probability 0.1: 2100 expected of 21000.
  EXPECT_GT(moved, 1800);
  EXPECT_LT(moved, 2400);
}

TEST(GaOperators, MutationWithRmRoundsToCoarseGridsAtTheOfficialRates) {
  detail::FaithfulMutation mut{true, 0, 6, 0, 0.2, -4.0123, 4.0123};
  detail::Rng rng(5);
  int total = 0, on6 = 0, on0 = 0;
  for (int trial = 0; trial < 4000; ++trial) {
    std::vector<double> genes{-2.9137, -1.7071, -0.3331, 0.1234, 0.9111, 2.2222, 3.3333};
    mut(genes, rng);
    for (double g : genes) {
      ++total;
      on6 += on_grid(g, 6);
      on0 += on_grid(g, 0);
    }
  }
  // A gene ends on 2^-6 unless a Gaussian step (u >= 0.9) follows its last
  // rounding; roughly 0.35 * 0.9^k..: in practice about a quarter.
  EXPECT_GT(on6, total / 6);
  EXPECT_GT(on0, 0);  // j = 0 rounds to integers with probability 0.05 per gene
  // The offset skips the coarse grids: from 0.3 with a tiny sigma, only the
  // j = 0, 1 roundings can reach 0 or 0.5; with offset 2 they never happen.
  for (int offset : {0, 2}) {
    detail::FaithfulMutation m{true, 0, 6, offset, 1e-6, -4.0123, 4.0123};
    int coarse = 0;
    for (int trial = 0; trial < 4000; ++trial) {
      std::vector<double> genes(7, 0.3);
      m(genes, rng);
      for (double g : genes) coarse += g == 0.0 || g == 0.5;
    }
    if (offset == 0)
      EXPECT_GT(coarse, 1000) << "j = 0, 1 fire with probability 0.1 per gene";
    else
      EXPECT_EQ(coarse, 0);
  }
}

TEST(GaOperators, MutationIsDeterministicAndClipped) {
  detail::FaithfulMutation mut{true, 0, 6, 0, 5.0, -1.0, 1.0};  // huge sigma: clips often
  detail::Rng a(11), b(11);
  for (int trial = 0; trial < 500; ++trial) {
    std::vector<double> ga{-0.5, 0.0, 0.5}, gb{-0.5, 0.0, 0.5};
    mut(ga, a);
    mut(gb, b);
    ASSERT_EQ(ga, gb);
    for (double g : ga) {
      ASSERT_GE(g, -1.0);
      ASSERT_LE(g, 1.0);
    }
  }
}

// ---------------------------------------------------------------- fitness

// The official fitness written the plain way: numpy.arange grid, chords with
// half-to-even coefficients, segment = #{ends <= x} - 1 by linear scan.
double naive_fitness(const Function& fn, double lo, double hi, double olo, double ohi,
                     const std::vector<double>& genes) {
  std::vector<double> ends{olo};
  ends.insert(ends.end(), genes.begin(), genes.end());
  ends.push_back(ohi);
  size_t k = ends.size() - 1;
  std::vector<double> ks(k), bs(k);
  for (size_t s = 0; s < k; ++s) {
    double a = ends[s], c = ends[s + 1], slope = 0, icpt = 0;
    if (a != c) {
      slope = (fn(c) - fn(a)) / (c - a);
      icpt = -a * slope + fn(a);
    }
    ks[s] = std::nearbyint(slope * 64) / 64;
    bs[s] = std::nearbyint(icpt * 64) / 64;
  }
  for (double& e : ends) e = std::clamp(e, olo, ohi);
  double sum = 0;
  std::vector<double> xs = arange(lo, hi, 0.01);
  for (double x : xs) {
    long count = 0;
    for (double e : ends) count += e <= x;
    long idx = count - 1;
    if (idx < 0) idx += long(k);  // Python's index -1
    idx = std::min(idx, long(k) - 1);
    double d = fn(x) - (ks[idx] * x + bs[idx]);
    sum += d * d;
  }
  return sum / double(xs.size());
}

TEST(GaFitness, FaithfulFitnessEqualsAStraightforwardComputation) {
  struct Case {
    const char* fn;
    double olo, ohi;
    std::vector<double> genes;
  };
  std::vector<Case> cases{
      {"gelu", -10000, 10000, {-3.0156, -2.2031, -0.8906, -0.4219, 0.0313, 0.625, 2.7969}},
      {"gelu", -10000, 10000, {-2.0, -2.0, -1.0, 0.0, 0.0, 1.0, 3.0}},  // duplicates, on-grid ties
      {"hswish", -10000, 10000, {-3.0, -2.5, -1.25, 0.0, 0.5, 1.5, 3.0}},
      {"exp", -16, 0, {-5.5, -4.0, -3.0, -2.0, -1.25, -0.75, -0.25}},
      {"reci", 0.5, 4, {0.625, 0.75, 1.0, 1.25, 1.75, 2.5, 3.25}},
      {"rsqrt", 0.25, 4, {0.3, 0.45, 0.7, 1.0, 1.5, 2.2, 3.1}},
      {"gelu", -3, 3, {-3.5, -2.0, -1.0, 0.0, 0.5, 1.0, 3.5}},  // genes beyond the outer points
  };
  for (const auto& c : cases) {
    const Function& fn = find_function(c.fn);
    detail::FaithfulFitness ff(fn.f, fn.lo, fn.hi, c.olo, c.ohi, 6, 6);
    EXPECT_EQ(ff.grid_size(), arange(fn.lo, fn.hi, 0.01).size());
    double want = naive_fitness(fn, fn.lo, fn.hi, c.olo, c.ohi, c.genes);
    EXPECT_NEAR(ff(c.genes), want, 1e-12 * want + 1e-300) << c.fn;
  }
  EXPECT_EQ(arange(-4, 4, 0.01).size(), 800u);
}

// ---------------------------------------------------------------- faithful runs

GaSettings quick(uint64_t seed, bool improved, int generations) {
  GaSettings s;
  s.seed = seed;
  s.improved = improved;
  s.generations = generations;
  return s;
}

TEST(GaFaithful, SameSeedSameBytesAndLog) {
  Problem p = paper_problem("gelu");
  Result a = GeneticAlgorithm(quick(9, false, 60)).run(p);
  Result b = GeneticAlgorithm(quick(9, false, 60)).run(p);
  Result c = GeneticAlgorithm(quick(10, false, 60)).run(p);
  EXPECT_EQ(json_bytes(a.tables), json_bytes(b.tables));
  EXPECT_EQ(a.log, b.log);
  EXPECT_EQ(a.log.size(), 61u);
  EXPECT_EQ(a.evaluations, b.evaluations);
  EXPECT_NE(a.log, c.log);
  EXPECT_EQ(a.settings["method"], "ga-faithful");
  EXPECT_EQ(a.settings["seed"], 9);
  EXPECT_EQ(a.settings["engine"], "std::mt19937_64");
  EXPECT_EQ(a.tables.meta["seed"], 9);
  EXPECT_EQ(a.settings["rm_offset"], 2);  // gelu with 8 entries
  EXPECT_EQ(a.settings["rounding_mutation"], true);
}

TEST(GaFaithful, NoElitismButLogTracksThePopulationBest) {
  // Without elitism the best can get worse; it must equal the fitness of the
  // exported individual at the end.
  Problem p = paper_problem("gelu");
  Result r = GeneticAlgorithm(quick(4, false, 80)).run(p);
  const Function& fn = p.function;
  detail::FaithfulFitness ff(fn.f, p.lo, p.hi, fn.outer_lo, fn.outer_hi, 6, 6);
  std::vector<double> best = r.settings["best_breakpoints"].get<std::vector<double>>();
  EXPECT_DOUBLE_EQ(ff(best), r.log.back().get<double>());
  EXPECT_DOUBLE_EQ(ff(best), r.settings["best_fitness"].get<double>());
}

TEST(GaFaithful, ExportRoundsTheRealBreakpointsHalfToEvenPerScale) {
  for (const char* name : {"gelu", "exp", "rsqrt"}) {
    Problem p = paper_problem(name);
    Result r = GeneticAlgorithm(quick(2, false, 40)).run(p);
    std::vector<double> best = r.settings["best_breakpoints"].get<std::vector<double>>();
    ASSERT_EQ(best.size(), 7u);
    ASSERT_TRUE(std::is_sorted(best.begin(), best.end()));
    ASSERT_EQ(r.tables.scales(), p.scales);
    const Table& first = r.tables.tables.begin()->second;
    for (const auto& [n, t] : r.tables.tables) {
      EXPECT_NO_THROW(t.validate());
      ASSERT_EQ(t.entries(), 8);
      for (int i = 0; i < 7; ++i) EXPECT_EQ(t.breakpoints[i], std::nearbyint(std::ldexp(best[i], n))) << name;
      EXPECT_EQ(t.slopes, first.slopes);  // one coefficient set for every scale
      EXPECT_EQ(t.intercepts, first.intercepts);
    }
    // The errors are the oracle's.
    ErrorReport e = evaluate(r.tables, p.function.f, p.lo, p.hi, Protocol::p_int, p.scales);
    EXPECT_DOUBLE_EQ(e.paper_score, r.errors.paper_score);
  }
}

TEST(GaFaithful, OutOfFormatCoefficientsWidenTheTableNotClipIt) {
  // 1/x near 0.5 has slope about -4: chords need more than Q1.6's 8 bits.
  Problem p = paper_problem("reci");
  Result r = GeneticAlgorithm(quick(1, false, 30)).run(p);
  const Table& t = r.tables.at(5);
  EXPECT_NO_THROW(t.validate());
  EXPECT_FALSE(t.is_int8());
  EXPECT_EQ(t.slope_format.frac_bits, 6);
  EXPECT_GT(t.slope_format.width, 8);
  EXPECT_LT(*std::min_element(t.slopes.begin(), t.slopes.end()), -128);
  EXPECT_EQ(r.settings["int8"], false);
  EXPECT_NE(r.settings["note"].get<std::string>().find("widened"), std::string::npos);
  // The official reci breakpoint range.
  EXPECT_EQ(r.settings["breakpoint_range"], nlohmann::json({0.625, 3.875}));
}

TEST(GaFaithful, RoundingMutationLeavesBestGenesOnGridsOnlyWhenOn) {
  Problem p = paper_problem("gelu");
  int with_rm = 0, without_rm = 0;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    GaSettings on = quick(seed, false, 500), off = on;
    off.rounding_mutation = false;
    Result r_on = GeneticAlgorithm(on).run(p), r_off = GeneticAlgorithm(off).run(p);
    for (double g : r_on.settings["best_breakpoints"]) with_rm += on_grid(g, 6);
    for (double g : r_off.settings["best_breakpoints"])
      without_rm += on_grid(g, 6) && std::fabs(g) != 4.0;  // the range ends are on the grid
  }
  std::cout << fmt::format("best genes on the 2^-6 grid, seeds 1..5: {} of 35 with RM, {} without\n",
                           with_rm, without_rm);
  EXPECT_GE(with_rm, 5);
  EXPECT_EQ(without_rm, 0);
}

TEST(GaFaithful, ReproducesTheOfficialGeluRun) {
  // The official gelu/8 table (one run of the trainer) against the median of
  // our seeds 1..5. On the trainer's own objective (P-grid MSE at n = 6) the
  // median lies within 25% of the official table's. On the paper score the
  // official table is much luckier than typical runs (its real breakpoints
  // sit near integers, so n = 0, 1 lose little): our 30-seed range is about
  // 1.2x..5.9x the official score, so we only bound the median loosely here
  // (see docs/ga.md for the measured figures).
  Problem p = paper_problem("gelu");
  TableSet off = read_json_file(official_path("gelu"));
  double off_score = evaluate(off, p.function.f, p.lo, p.hi, Protocol::p_int, p.scales).paper_score;
  double off_grid = p_grid_error(off.at(6), p.function.f, p.lo, p.hi).mse;
  std::vector<double> scores, fitness;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    Result r = GeneticAlgorithm(quick(seed, false, 500)).run(p);
    scores.push_back(r.errors.paper_score);
    fitness.push_back(r.settings["best_fitness"].get<double>());
    EXPECT_GT(r.evaluations, 17000u);  // about 19,000 like the trainer
    EXPECT_LT(r.evaluations, 21000u);
  }
  std::nth_element(scores.begin(), scores.begin() + 2, scores.end());
  std::nth_element(fitness.begin(), fitness.begin() + 2, fitness.end());
  double med_score = scores[2], med_fit = fitness[2];
  std::cout << fmt::format("faithful gelu/8 median paper score {:.4g} (official {:.4g}, ratio {:.2f}); "
                           "median P-grid fitness {:.4g} (official table at n=6: {:.4g})\n",
                           med_score, off_score, med_score / off_score, med_fit, off_grid);
  EXPECT_NEAR(med_fit, off_grid, 0.25 * off_grid);
  EXPECT_LT(med_score, 4.0 * off_score);
  EXPECT_GT(med_score, 0.5 * off_score);
}

// ---------------------------------------------------------------- improved runs

// The exact per-scale optimum by brute-force dynamic programming over cut
// positions with fit_line_int segment costs (independent of the GA code).
double optimum_paper_score(const Problem& p) {
  auto [fk, fb] = p.resolve_formats();
  double sum = 0;
  int count = 0;
  for (const auto& sp : p.points()) {
    int n = int(sp.q.size());
    if (n == 0) continue;
    std::vector<double> cost(size_t(n + 1) * size_t(n + 1), 0);
    for (int a = 0; a < n; ++a)
      for (int b = a + 1; b <= n; ++b)
        cost[size_t(a) * (n + 1) + b] =
            fit_line_int(sp.x.data() + a, sp.y.data() + a, nullptr, size_t(b - a), fk, fb).cost;
    std::vector<double> d(n + 1, std::numeric_limits<double>::infinity()), e;
    d[0] = 0;
    for (int s = 0; s < p.entries; ++s) {
      e.assign(n + 1, std::numeric_limits<double>::infinity());
      for (int b = 0; b <= n; ++b)
        for (int a = 0; a <= b; ++a) e[b] = std::min(e[b], d[a] + cost[size_t(a) * (n + 1) + b]);
      d.swap(e);
    }
    sum += d[n] / n;
    ++count;
  }
  return sum / count;
}

TEST(GaImproved, SameSeedSameBytesAndPerScaleLogs) {
  Problem p = paper_problem("exp");
  Result a = GeneticAlgorithm(quick(5, true, 40)).run(p);
  Result b = GeneticAlgorithm(quick(5, true, 40)).run(p);
  EXPECT_EQ(json_bytes(a.tables), json_bytes(b.tables));
  EXPECT_EQ(a.log, b.log);
  EXPECT_EQ(a.settings["method"], "ga-improved");
  EXPECT_EQ(a.log.size(), p.scales.size());
  EXPECT_EQ(a.log["3"].size(), 41u);
  // Elitism: the best never gets worse.
  for (const auto& [n, log] : a.log.items())
    for (size_t g = 1; g < log.size(); ++g) ASSERT_LE(log[g].get<double>(), log[g - 1].get<double>()) << n;
}

TEST(GaImproved, FitnessIsTheOraclesPerScaleError) {
  Problem p = paper_problem("rsqrt");
  Result r = GeneticAlgorithm(quick(3, true, 30)).run(p);
  for (const auto& e : r.errors.scales) {
    double logged = r.log[std::to_string(e.n)].back().get<double>();
    EXPECT_NEAR(logged, e.mse, 1e-12 * e.mse) << "n = " << e.n;
    EXPECT_NO_THROW(r.tables.at(e.n).validate());
    EXPECT_TRUE(r.tables.at(e.n).is_int8());
  }
}

TEST(GaImproved, SharedModeOneSetForAllScales) {
  Problem p = paper_problem("gelu");
  p.shared = true;
  Result r = GeneticAlgorithm(quick(1, true, 40)).run(p);
  gqalut_test::expect_shared_tables(r.tables, 6);
  // The GA's objective is the mean per-scale MSE the oracle reports.
  EXPECT_NEAR(r.log.back().get<double>(), r.errors.paper_score,
              1e-12 * r.errors.paper_score);
  EXPECT_EQ(r.settings["per_scale"], false);
}

TEST(GaImproved, WithinTenPercentOfTheOptimumAndHalfTheOfficial) {
  for (const char* name : {"gelu", "hswish", "exp", "reci", "rsqrt"}) {
    Problem p = paper_problem(name);
    Result r = GeneticAlgorithm(quick(1, true, 500)).run(p);
    double opt = optimum_paper_score(p);
    std::cout << fmt::format("{}: improved GA {:.4g}, optimum {:.4g}\n", name, r.errors.paper_score, opt);
    EXPECT_LE(r.errors.paper_score, 1.10 * opt) << name;
    EXPECT_GE(r.errors.paper_score, opt * (1 - 1e-9)) << name;  // nothing beats the optimum
    if (std::string(name) == "gelu" || std::string(name) == "hswish" || std::string(name) == "exp") {
      TableSet off = read_json_file(official_path(name));
      double off_score = evaluate(off, p.function.f, p.lo, p.hi, Protocol::p_int, p.scales).paper_score;
      EXPECT_LE(r.errors.paper_score, 0.5 * off_score) << name;
    }
  }
}

TEST(GaImproved, ReportsProgress) {
  Problem p = paper_problem("reci");
  GaSettings s = quick(1, true, 20);
  std::vector<double> fractions;
  s.progress = [&](double f, const std::string&) { fractions.push_back(f); };
  GeneticAlgorithm(s).run(p);
  ASSERT_FALSE(fractions.empty());
  EXPECT_TRUE(std::is_sorted(fractions.begin(), fractions.end()));
  EXPECT_DOUBLE_EQ(fractions.back(), 1.0);
}

}  // namespace
}  // namespace gqalut
