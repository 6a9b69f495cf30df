// The faithful GA replayed on the official trainer's random streams
// (GaSettings::engine = "numpy-deap", src/search/py_rng.hpp): the streams
// against values CPython and numpy print, then seed 42 against the official
// tables in /work/shared/reference/official, value for value.
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "../../src/search/py_rng.hpp"
#include "gqalut/io.hpp"
#include "gqalut/search.hpp"

namespace gqalut {
namespace {

// random.seed(42); random.random(), then random.seed(42); random.randint(1, 100).
TEST(PyRandom, MatchesCPythonSeed42) {
  detail::PyRandom a(42);
  EXPECT_EQ(a.random(), 0.6394267984578837);
  EXPECT_EQ(a.random(), 0.025010755222666936);
  detail::PyRandom b(42);
  EXPECT_EQ(b.randint(1, 100), 82);
}

// np.random.seed(42); np.random.random() x2, then np.random.seed(42); np.random.normal() x2.
TEST(NumpyLegacy, MatchesNumpySeed42) {
  detail::NumpyLegacy a(42);
  EXPECT_EQ(a.random_sample(), 0.3745401188473625);
  EXPECT_EQ(a.random_sample(), 0.9507143064099162);
  detail::NumpyLegacy b(42);
  EXPECT_EQ(b.normal(0.0, 1.0), 0.4967141530112327);
  EXPECT_EQ(b.normal(0.0, 1.0), -0.13826430117118466);
  detail::NumpyLegacy c(42);
  EXPECT_EQ(c.uniform(-4.0, 4.0), -4.0 + 8.0 * 0.3745401188473625);
}

// Pairwise order, not left to right: 1e16 + 1 + ... + 1 (eight ones).
TEST(NumpyPairwiseSum, SumsInNumpysOrder) {
  std::vector<double> v{1e16, 1, 1, 1, 1, 1, 1, 1, 1};
  double left_to_right = 0;
  for (double x : v) left_to_right += x;
  EXPECT_EQ(left_to_right, 1e16);  // every + 1 is lost
  // ((1e16 + 1) + (1 + 1)) + ((1 + 1) + (1 + 1)) = 1e16 + 6, then + 1 (tie, to even).
  EXPECT_EQ(detail::numpy_pairwise_sum(v.data(), v.size()), 1e16 + 8);
  std::vector<double> few{0.1, 0.2, 0.3};
  EXPECT_EQ(detail::numpy_pairwise_sum(few.data(), few.size()), (0.0 + 0.1 + 0.2) + 0.3);
}

TEST(GaReplay, RejectsUnknownEngineAndImprovedMode) {
  GaSettings s;
  s.engine = "pcg";
  EXPECT_THROW(GeneticAlgorithm{s}, std::invalid_argument);
  s.engine = "numpy-deap";
  s.improved = true;
  EXPECT_THROW(GeneticAlgorithm{s}, std::invalid_argument);
  s.improved = false;
  s.seed = uint64_t(1) << 32;
  EXPECT_THROW(GeneticAlgorithm{s}, std::invalid_argument);
}

struct Case {
  const char* function;  // registry name
  int entries;
  const char* file;      // in reference/official
};

class OfficialReplay : public ::testing::TestWithParam<Case> {};

// Seed 42 with the default (Makefile) settings gives every breakpoint, slope
// and intercept of the official file at every scale it holds.
TEST_P(OfficialReplay, ReproducesTheOfficialFileExactly) {
  const Case& c = GetParam();
  TableSet official =
      read_json_file(fmt::format("{}/reference/official/{}", GQALUT_SHARED_DIR, c.file));
  Problem p = Problem::make(find_function(c.function), c.entries);
  p.scales.clear();
  for (const auto& [n, t] : official.tables) p.scales.push_back(n);
  GaSettings s;
  s.engine = "numpy-deap";
  s.seed = 42;
  Result r = GeneticAlgorithm(s).run(p);
  EXPECT_EQ(r.settings["engine"], "numpy-deap");
  ASSERT_EQ(r.tables.tables.size(), official.tables.size());
  for (const auto& [n, want] : official.tables) {
    ASSERT_EQ(r.tables.tables.count(n), 1u) << "scale " << n;
    const Table& got = r.tables.tables.at(n);
    ASSERT_EQ(got.breakpoints.size(), want.breakpoints.size());
    ASSERT_EQ(got.slopes.size(), want.slopes.size());
    for (int i = 0; i < int(want.breakpoints.size()); ++i)
      EXPECT_EQ(got.breakpoint_value(i), want.breakpoint_value(i)) << "scale " << n << " p" << i;
    for (int i = 0; i < int(want.slopes.size()); ++i) {
      EXPECT_EQ(got.slope_value(i), want.slope_value(i)) << "scale " << n << " k" << i;
      EXPECT_EQ(got.intercept_value(i), want.intercept_value(i)) << "scale " << n << " b" << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Seed42, OfficialReplay,
    ::testing::Values(Case{"silu", 8, "silu_pwl_7.json"}, Case{"reci", 8, "reci_pwl_7.json"},
                      Case{"reci", 16, "reci_pwl_15.json"},
                      Case{"rsqrt", 8, "sqrt_reci_pwl_7.json"},
                      Case{"rsqrt", 16, "sqrt_reci_pwl_15.json"},
                      Case{"gelu", 8, "gelu_pwl_7.json"}, Case{"gelu", 16, "gelu_pwl_15.json"},
                      Case{"hswish", 8, "hswish_pwl_7.json"},
                      Case{"hswish", 16, "hswish_pwl_15.json"},
                      Case{"exp", 8, "exp_pwl_7.json"}, Case{"exp", 16, "exp_pwl_15.json"}),
    [](const ::testing::TestParamInfo<Case>& param_info) {
      return fmt::format("{}_{}", param_info.param.function, param_info.param.entries);
    });

}  // namespace
}  // namespace gqalut
