// Every official GQA-LUT table loads and evaluates; the numbers agree with an
// independent computation straight from the JSON values.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "gqalut/function.hpp"
#include "gqalut/io.hpp"
#include "gqalut/metrics.hpp"

using namespace gqalut;
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> official_files() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(GQALUT_SHARED_DIR) / "reference/official"))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

struct Independent {
  double mse_int, max_int, mse_grid;
  int points_int;
};

// Straight from the JSON doubles: segment = #{p <= x}, y = k x + b.
Independent independent(const nlohmann::json& s, int n, const Function& fn) {
  std::vector<double> bp = s["breakpoints"], k = s["slopes"], b = s["intercepts"];
  auto pwl = [&](double x) {
    size_t seg = 0;
    for (double p : bp) seg += p <= x;
    return k[seg] * x + b[seg];
  };
  Independent r{0, 0, 0, 0};
  for (int q = -128; q <= 127; ++q) {
    double x = q / std::pow(2.0, n);
    if (x < fn.lo || x > fn.hi) continue;
    double e = pwl(x) - fn(x);
    r.mse_int += e * e;
    r.max_int = std::max(r.max_int, std::fabs(e));
    ++r.points_int;
  }
  r.mse_int /= r.points_int;
  int count = 0;
  double start = fn.lo, delta = (fn.lo + 0.01) - fn.lo;
  auto len = static_cast<int>(std::ceil((fn.hi - fn.lo) / 0.01));
  for (int j = 0; j < len; ++j) {
    double x = j == 0 ? start : j == 1 ? start + 0.01 : start + j * delta;
    double e = pwl(x) - fn(x);
    r.mse_grid += e * e;
    ++count;
  }
  r.mse_grid /= count;
  return r;
}

}  // namespace

TEST(Official, AllElevenFilesLoadAndMatchAnIndependentEvaluator) {
  auto files = official_files();
  ASSERT_EQ(files.size(), 11u);
  for (const auto& path : files) {
    SCOPED_TRACE(path.filename().string());
    TableSet set = read_json_file(path.string());
    const Function& fn = find_function(set.function);
    EXPECT_EQ(set.lo, fn.lo);
    EXPECT_EQ(set.hi, fn.hi);
    std::ifstream in(path);
    nlohmann::json doc = nlohmann::json::parse(in);
    const auto& per_scale = doc.begin().value();
    ASSERT_EQ(set.tables.size(), per_scale.size());
    auto ri = evaluate(set, fn.f, fn.lo, fn.hi, Protocol::p_int);
    auto rg = evaluate(set, fn.f, fn.lo, fn.hi, Protocol::p_grid);
    double score = 0;
    for (size_t i = 0; i < ri.scales.size(); ++i) {
      int n = ri.scales[i].n;
      Independent ind = independent(per_scale[std::to_string(n)], n, fn);
      EXPECT_EQ(ri.scales[i].points, ind.points_int);
      EXPECT_NEAR(ri.scales[i].mse, ind.mse_int, 1e-12 * ind.mse_int);
      EXPECT_NEAR(ri.scales[i].max_abs_error, ind.max_int, 1e-12 * ind.max_int);
      EXPECT_NEAR(rg.scales[i].mse, ind.mse_grid, 1e-12 * ind.mse_grid);
      score += ind.mse_int;
    }
    EXPECT_NEAR(ri.paper_score, score / ri.scales.size(), 1e-12 * score);
  }
}

TEST(Official, FormatsAreInferredAndWideCodesAreFlagged) {
  auto dir = fs::path(GQALUT_SHARED_DIR) / "reference/official";
  TableSet gelu = read_json_file((dir / "gelu_pwl_7.json").string());
  EXPECT_EQ(gelu.function, "gelu");
  EXPECT_EQ(gelu.entries(), 8);
  EXPECT_EQ(gelu.scales(), (std::vector<int>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_TRUE(gelu.at(6).is_int8());
  EXPECT_EQ(gelu.at(6).slope_format, kQ1_6);
  EXPECT_EQ(gelu.at(6).breakpoints.front(), -193);  // -3.015625 * 64
  TableSet reci = read_json_file((dir / "reci_pwl_7.json").string());
  EXPECT_EQ(reci.function, "reci");
  EXPECT_EQ(reci.scales(), std::vector<int>{5});
  EXPECT_FALSE(reci.at(5).is_int8());  // slope -3.203125 needs 9 bits at Q.6
  EXPECT_EQ(reci.at(5).slope_format.frac_bits, 6);
  EXPECT_EQ(reci.at(5).slope_format.width, 9);
  TableSet rs = read_json_file((dir / "sqrt_reci_pwl_15.json").string());
  EXPECT_EQ(rs.function, "rsqrt");
  EXPECT_EQ(rs.entries(), 16);
}

TEST(Official, PaperScoreReproducesThePaperWithinSixPercent) {
  // SPEC section 3: the paper's GQA-LUT figures for GELU, HSWISH, EXP at 8 entries.
  auto dir = fs::path(GQALUT_SHARED_DIR) / "reference/official";
  std::pair<const char*, double> cases[] = {
      {"gelu_pwl_7.json", 9.4e-5}, {"hswish_pwl_7.json", 2.9e-4}, {"exp_pwl_7.json", 1.2e-4}};
  for (auto [file, paper] : cases) {
    TableSet set = read_json_file((dir / file).string());
    const Function& fn = find_function(set.function);
    double score = evaluate(set, fn.f, fn.lo, fn.hi).paper_score;
    EXPECT_NEAR(score / paper, 1.0, 0.07) << file << " score " << score;
  }
}

TEST(Json, RoundTripKeepsTablesAndMetadataByteForByte) {
  auto dir = fs::path(GQALUT_SHARED_DIR) / "reference/official";
  for (const char* file : {"gelu_pwl_15.json", "reci_pwl_7.json", "sqrt_reci_pwl_7.json"}) {
    TableSet a = read_json_file((dir / file).string());
    a.meta["method"] = "official";
    a.meta["seed"] = 42;
    std::ostringstream s1;
    write_json(s1, a);
    std::istringstream in(s1.str());
    TableSet b = read_json(in);
    std::ostringstream s2;
    write_json(s2, b);
    EXPECT_EQ(s1.str(), s2.str());
    for (int n : a.scales()) {
      EXPECT_EQ(a.at(n).breakpoints, b.at(n).breakpoints);
      EXPECT_EQ(a.at(n).slopes, b.at(n).slopes);
      EXPECT_EQ(a.at(n).intercepts, b.at(n).intercepts);
      EXPECT_EQ(a.at(n).slope_format, b.at(n).slope_format);
    }
    EXPECT_EQ(b.meta["seed"], 42);
    // The official op reads json[key][str(n)]: our file keeps that layout.
    auto doc = nlohmann::json::parse(s1.str());
    EXPECT_TRUE(doc[official_key(a.function)].contains(std::to_string(a.scales().front())));
  }
}

TEST(Json, FormatsWithNegativeIntegerPartRoundTrip) {
  // An auto format can have more fractional bits than the width holds (q-1.8).
  TableSet set;
  set.function = "reci";
  set.lo = 0.5;
  set.hi = 4;
  Table t;
  t.n = 5;
  t.breakpoints = {40};
  t.slopes = {-100, -20};
  t.intercepts = {127, 60};
  t.slope_format = Format{8, 8};
  t.intercept_format = Format{6, 8};
  set.tables[5] = t;
  std::ostringstream out;
  write_json(out, set);
  EXPECT_NE(out.str().find("\"q-1.8\""), std::string::npos);
  std::istringstream in(out.str());
  TableSet back = read_json(in);
  EXPECT_EQ(back.at(5).slope_format, (Format{8, 8}));
  EXPECT_EQ(back.at(5).slopes, t.slopes);
}

TEST(Json, UnknownFunctionWithoutMetadataRoundTrips) {
  // An official-layout file under a name the registry does not know, with no
  // "gqalut" key: its range is unknown. Our output of it must read back
  // (it used to carry "range": [0, 0], which the reader rightly rejects;
  // found by fuzz/fuzz_read_json).
  std::istringstream in(R"({"myop": {"3": {"breakpoints": [-1.0, 0.5],
      "slopes": [0.0, 0.25, 1.0], "intercepts": [0.0, 0.125, -0.5]}}})");
  TableSet set = read_json(in, "myop.json");
  EXPECT_EQ(set.function, "myop");
  EXPECT_EQ(set.lo, 0);
  EXPECT_EQ(set.hi, 0);
  std::ostringstream out;
  write_json(out, set);
  EXPECT_FALSE(nlohmann::json::parse(out.str())[kMetaKey].contains("range"));
  std::istringstream again(out.str());
  TableSet back = read_json(again, "round trip");
  EXPECT_EQ(back.function, "myop");
  EXPECT_EQ(back.at(3).breakpoints, set.at(3).breakpoints);
  EXPECT_EQ(back.at(3).slopes, set.at(3).slopes);
  EXPECT_EQ(back.at(3).intercepts, set.at(3).intercepts);
}
