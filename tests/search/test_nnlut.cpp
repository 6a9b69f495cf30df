// Tests of the NN-LUT baseline (src/search/nnlut.cpp).
#include <algorithm>
#include <cmath>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gqalut/io.hpp"
#include "gqalut/search.hpp"
#include "paper_problem.hpp"

namespace gqalut {
namespace {

using gqalut_test::paper_problem;

NnLutSettings small(uint64_t seed) {
  NnLutSettings s;
  s.seed = seed;
  s.samples = 20000;
  s.epochs = 15;
  s.batch = 500;
  return s;
}

std::string json_bytes(const TableSet& set) {
  std::ostringstream os;
  write_json(os, set);
  return os.str();
}

TEST(NnLut, RejectsBadSettings) {
  auto message = [](NnLutSettings s) {
    try {
      NnLut nn(std::move(s));
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  NnLutSettings s;
  s.samples = 0;
  EXPECT_EQ(message(s), "samples must be in [1, 100000000], got 0");
  s = {};
  s.epochs = -1;
  EXPECT_EQ(message(s), "epochs must be >= 0, got -1");
  s = {};
  s.batch = 0;
  EXPECT_EQ(message(s), "batch must be >= 1, got 0");
  s = {};
  s.learning_rate = -1e-3;
  EXPECT_EQ(message(s), "learning rate must be finite and > 0, got -0.001");
  EXPECT_EQ(message(NnLutSettings{}), "accepted");
}

TEST(NnLut, SameSeedSameBytes) {
  Problem p = paper_problem("gelu");
  Result a = NnLut(small(3)).run(p), b = NnLut(small(3)).run(p), c = NnLut(small(4)).run(p);
  EXPECT_EQ(json_bytes(a.tables), json_bytes(b.tables));
  EXPECT_EQ(a.settings, b.settings);
  EXPECT_NE(a.settings["kinks"], c.settings["kinks"]);
  EXPECT_EQ(a.settings["method"], "nnlut");
  EXPECT_EQ(a.settings["seed"], 3);
  EXPECT_EQ(a.tables.meta["method"], "nnlut");
}

TEST(NnLut, TableHasKEntriesAndBreakpointsAreTheRoundedKinks) {
  for (int entries : {4, 8, 16}) {
    Problem p = paper_problem("exp", entries);
    Result r = NnLut(small(1)).run(p);
    std::vector<double> kinks = r.settings["kinks"].get<std::vector<double>>();
    ASSERT_EQ(kinks.size(), size_t(entries - 1));
    ASSERT_TRUE(std::is_sorted(kinks.begin(), kinks.end()));
    const Table& first = r.tables.tables.begin()->second;
    for (const auto& [n, t] : r.tables.tables) {
      EXPECT_NO_THROW(t.validate());
      EXPECT_EQ(t.entries(), entries);
      for (int i = 0; i + 1 < entries; ++i) {
        double clamped = std::clamp(kinks[i], p.lo, p.hi);
        EXPECT_EQ(t.breakpoints[i], std::nearbyint(std::ldexp(clamped, n)));
      }
      EXPECT_EQ(t.slopes, first.slopes);
      EXPECT_EQ(t.intercepts, first.intercepts);
    }
  }
}

TEST(NnLut, OutOfFormatSlopesWidenAndAreRecorded) {
  // 1/x has slope -4 at 0.5: a trained net's first segment leaves Q1.6.
  // (A short run does not train the first segment that steep: default settings, ~1 s.)
  Problem p = paper_problem("reci");
  NnLutSettings s;
  s.seed = 1;
  Result r = NnLut(s).run(p);
  const Table& t = r.tables.at(5);
  EXPECT_NO_THROW(t.validate());
  EXPECT_EQ(r.settings["int8"].get<bool>(), t.is_int8());
  EXPECT_FALSE(t.is_int8()) << "the first segment of 1/x needs slope -4, outside q1.6";
  // A widened table says so, and only a widened one.
  bool noted = r.settings.contains("note") &&
               r.settings["note"].get<std::string>().find("widened") != std::string::npos;
  EXPECT_EQ(noted, !t.is_int8());
}

TEST(NnLut, GeluPaperScoreIsNearThePapersNnLutFigure) {
  // Default settings (100k samples, 200 epochs, batch 1000, Adam 1e-3).
  Problem p = paper_problem("gelu");
  Result r = NnLut(NnLutSettings{}).run(p);
  double score = r.errors.paper_score;
  std::cout << fmt::format("nnlut gelu/8 seed 1: paper score {:.4g} (paper's NN-LUT: 1.3e-3), final L1 {:.4g}, "
                           "{:.2f} s\n",
                           score, r.settings["final_l1"].get<double>(), r.seconds);
  EXPECT_TRUE(std::isfinite(score));
  EXPECT_GT(score, 1.3e-4);
  EXPECT_LT(score, 1.3e-2);
  EXPECT_TRUE(r.tables.at(0).is_int8());
}

}  // namespace
}  // namespace gqalut
