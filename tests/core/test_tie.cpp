// The tie rule as a property of a table (SPEC section 1): evaluation under the
// table's own rule, conversion between rules, and the file representation
// (half-code breakpoints) that every bucketize convention reads the same way.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <sstream>

#include "gqalut/io.hpp"
#include "gqalut/metrics.hpp"
#include "gqalut/table.hpp"

using namespace gqalut;

namespace {

Table random_table(std::mt19937_64& rng, int n, int entries, TieRule tie) {
  Table t;
  t.n = n;
  t.tie = tie;
  // Breakpoints on, inside and beyond the int8 span, with duplicates.
  std::uniform_int_distribution<int> bp(-140, 140);
  for (int i = 0; i + 1 < entries; ++i) t.breakpoints.push_back(bp(rng));
  if (entries > 3) t.breakpoints[1] = t.breakpoints[0];
  std::sort(t.breakpoints.begin(), t.breakpoints.end());
  std::uniform_int_distribution<int> code(-128, 127);
  for (int i = 0; i < entries; ++i) {
    t.slopes.push_back(code(rng));
    t.intercepts.push_back(code(rng));
  }
  t.validate();
  return t;
}

TableSet random_set(std::mt19937_64& rng, TieRule tie, int entries = 8) {
  TableSet set;
  set.function = "gelu";
  set.lo = -4;
  set.hi = 4;
  for (int n = 0; n <= 7; ++n) set.tables[n] = random_table(rng, n, entries, tie);
  return set;
}

std::string to_json(const TableSet& set) {
  std::ostringstream s;
  write_json(s, set);
  return s.str();
}

}  // namespace

TEST(Tie, EvaluatorUsesTheTablesOwnRule) {
  Table t;
  t.n = 0;
  t.breakpoints = {0};
  t.slopes = {0, 0};
  t.intercepts = {-1, 1};
  EXPECT_EQ(segment_of(t, 0), 1);  // right (default): q >= P goes right
  EXPECT_EQ(eval_acc(t, 0), 1);
  t.tie = TieRule::left;
  EXPECT_EQ(segment_of(t, 0), 0);  // left: q > P goes right
  EXPECT_EQ(eval_acc(t, 0), -1);
  EXPECT_EQ(eval_acc(t, 1), 1);
  EXPECT_EQ(eval_acc(t, 0, TieRule::right), 1);  // explicit what-if
}

TEST(Tie, WithTieKeepsTheFunctionOnEveryInt16Code) {
  std::mt19937_64 rng(91);
  for (int trial = 0; trial < 60; ++trial) {
    TieRule from = trial % 2 ? TieRule::left : TieRule::right;
    TieRule to = from == TieRule::right ? TieRule::left : TieRule::right;
    Table t = random_table(rng, trial % 8, 2 + trial % 15, from);
    Table u = with_tie(t, to);
    EXPECT_EQ(u.tie, to);
    for (size_t i = 0; i < t.breakpoints.size(); ++i)
      EXPECT_EQ(u.breakpoints[i], t.breakpoints[i] + (to == TieRule::left ? -1 : 1));
    for (int q = -32768; q <= 32767; ++q) ASSERT_EQ(eval_acc(u, q), eval_acc(t, q)) << "q=" << q;
    // Read with the other comparator the same codes mean another function somewhere.
    EXPECT_EQ(with_tie(u, from).breakpoints, t.breakpoints);
  }
}

TEST(Tie, AccumulatorBitsAreTightUnderEachRule) {
  Table t;
  t.n = 0;
  t.breakpoints = {-128};
  t.slopes = {-1, 0};  // acc = -q in segment 0, 0 in segment 1
  t.intercepts = {0, 0};
  EXPECT_EQ(t.accumulator_bits(), 1);  // right: segment 0 unreachable, acc 0 everywhere
  t.tie = TieRule::left;
  EXPECT_EQ(t.accumulator_bits(), 9);  // left: q = -128 stays in segment 0: acc 128
  std::mt19937_64 rng(44);
  for (int trial = 0; trial < 200; ++trial) {
    Table u = random_table(rng, trial % 8, 2 + trial % 10, trial % 2 ? TieRule::left : TieRule::right);
    int64_t lo = 0, hi = 0;
    for (int q = -128; q <= 127; ++q) {
      lo = std::min(lo, eval_acc(u, q));
      hi = std::max(hi, eval_acc(u, q));
    }
    int bits = u.accumulator_bits();
    EXPECT_GE(lo, -(int64_t{1} << (bits - 1)));
    EXPECT_LE(hi, (int64_t{1} << (bits - 1)) - 1);
    if (bits > 1) EXPECT_TRUE(lo < -(int64_t{1} << (bits - 2)) || hi > (int64_t{1} << (bits - 2)) - 1);
  }
}

TEST(Tie, TableSetRule) {
  std::mt19937_64 rng(3);
  TableSet set = random_set(rng, TieRule::left);
  EXPECT_EQ(set.tie(), TieRule::left);
  TableSet conv = set;
  conv.convert_tie(TieRule::right);
  EXPECT_EQ(conv.tie(), TieRule::right);
  for (const auto& [n, t] : set.tables)
    for (int q = -128; q <= 127; ++q) ASSERT_EQ(eval_acc(conv.at(n), q), eval_acc(t, q));
  conv.tables[3].tie = TieRule::left;
  EXPECT_THROW(conv.tie(), std::invalid_argument);
  EXPECT_THROW(to_json(conv), std::invalid_argument);  // one rule per file
  const std::vector<int32_t> codes = set.at(0).breakpoints;
  set.set_tie(TieRule::right);  // relabels: same codes, other comparator
  EXPECT_EQ(set.tie(), TieRule::right);
  EXPECT_EQ(set.at(0).breakpoints, codes);
}

// The file stores half codes: no input lies on a stored breakpoint, so the
// segment every code gets is the same whichever comparator reads the file,
// and it is the one the table's rule gives.
TEST(TieFile, StoredBreakpointsAreHalfCodesEveryComparatorReadsAlike) {
  std::mt19937_64 rng(17);
  for (TieRule rule : {TieRule::right, TieRule::left}) {
    TableSet set = random_set(rng, rule, 16);
    nlohmann::json doc = nlohmann::json::parse(to_json(set));
    EXPECT_EQ(doc["gqalut"]["tie"], to_string(rule));
    EXPECT_EQ(doc["gqalut"]["breakpoint_encoding"], "half-code");
    for (const auto& [n, t] : set.tables) {
      const auto& bp = doc["gelu"][std::to_string(n)]["breakpoints"];
      ASSERT_EQ(bp.size(), t.breakpoints.size());
      for (int q = -128; q <= 127; ++q) {
        int ge = 0, gt = 0;
        for (const auto& p : bp) {
          double s = std::ldexp(p.get<double>(), n);  // breakpoint / scale
          EXPECT_NE(s, double(q));
          ge += double(q) >= s;
          gt += double(q) > s;
        }
        ASSERT_EQ(ge, gt);
        ASSERT_EQ(ge, segment_of(t, q)) << "n=" << n << " q=" << q;
      }
    }
  }
}

TEST(TieFile, RoundTripIsExactForBothRules) {
  std::mt19937_64 rng(5);
  for (TieRule rule : {TieRule::right, TieRule::left}) {
    TableSet set = random_set(rng, rule);
    std::string text = to_json(set);
    std::istringstream in(text);
    TableSet back = read_json(in);
    EXPECT_TRUE(back.tie_recorded);
    EXPECT_EQ(back.tie(), rule);
    for (const auto& [n, t] : set.tables) {
      EXPECT_EQ(back.at(n).breakpoints, t.breakpoints);
      EXPECT_EQ(back.at(n).slopes, t.slopes);
      EXPECT_EQ(back.at(n).intercepts, t.intercepts);
      EXPECT_EQ(back.at(n).tie, rule);
    }
    EXPECT_EQ(to_json(back), text);  // byte for byte
  }
}

TEST(TieFile, OfficialFilesAreReadWithTheRightRuleUnrecorded) {
  std::istringstream in(R"({"gelu": {"6": {"breakpoints": [-1.0, 0.5], "slopes": [0.0, 0.5, 1.0],
                          "intercepts": [0.0, 0.25, 0.0]}}})");
  TableSet set = read_json(in);
  EXPECT_FALSE(set.tie_recorded);
  EXPECT_EQ(set.tie(), TieRule::right);
  EXPECT_EQ(set.at(6).breakpoints, (std::vector<int32_t>{-64, 32}));
  // Written back, the file records the rule it was read with and stores half
  // codes: loaded in the official op it now computes the as-trained function.
  nlohmann::json doc = nlohmann::json::parse(to_json(set));
  EXPECT_EQ(doc["gelu"]["6"]["breakpoints"][0].get<double>(), -64.5 / 64);
  EXPECT_EQ(doc["gqalut"]["tie"], "right");
}

TEST(TieFile, OlderGqalutFilesHoldCodesReadWithTheirRule) {
  std::istringstream a(R"({"gelu": {"0": {"breakpoints": [1.0], "slopes": [0.0, 1.0], "intercepts": [0.0, 0.0]}},
                         "gqalut": {"function": "gelu"}})");
  TableSet set = read_json(a);
  EXPECT_TRUE(set.tie_recorded);
  EXPECT_EQ(set.tie(), TieRule::right);
  EXPECT_EQ(set.at(0).breakpoints, std::vector<int32_t>{1});
  std::istringstream b(R"({"gelu": {"0": {"breakpoints": [1.0], "slopes": [0.0, 1.0], "intercepts": [0.0, 0.0]}},
                         "gqalut": {"tie": "left", "breakpoint_encoding": "code"}})");
  set = read_json(b);
  EXPECT_EQ(set.tie(), TieRule::left);
  EXPECT_EQ(set.at(0).breakpoints, std::vector<int32_t>{1});
  EXPECT_EQ(eval_acc(set.at(0), 1), 0);
}

TEST(TieFile, BadRuleOrEncodingIsOneClearError) {
  auto error_of = [](const std::string& text) {
    std::istringstream in(text);
    try {
      read_json(in, "t.json");
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string body = R"({"gelu": {"0": {"breakpoints": [0.5], "slopes": [0.0, 1.0], "intercepts": [0.0, 0.0]}},)";
  EXPECT_EQ(error_of(body + R"("gqalut": {"tie": "middle"}})"),
            "t.json: gqalut.tie: tie rule must be right or left, got 'middle'");
  EXPECT_EQ(error_of(body + R"("gqalut": {"breakpoint_encoding": "x"}})"),
            "t.json: gqalut.breakpoint_encoding must be half-code or code, got 'x'");
  // 0.5 is a half code (read as code 1 under the right rule); 0.25 is not.
  EXPECT_EQ(error_of(body + R"("gqalut": {"breakpoint_encoding": "half-code"}})"), "no error");
  std::string quarter = R"({"gelu": {"0": {"breakpoints": [0.25], "slopes": [0.0, 1.0], "intercepts": [0.0, 0.0]}},)";
  std::string e = error_of(quarter + R"("gqalut": {"breakpoint_encoding": "half-code"}})");
  EXPECT_NE(e.find("breakpoint 0.25 is not a half code"), std::string::npos) << e;
}

// What-if evaluation: the same codes read with the other comparator.
TEST(Tie, MetricsHonourTheTableRuleOrAnOverride) {
  Table t;
  t.n = 0;
  t.breakpoints = {0};
  t.slopes = {0, 0};
  t.intercepts = {0, 64};  // y = 0 left of the breakpoint, 1 from it (right rule)
  auto step = [](double x) { return x >= 0 ? 1.0 : 0.0; };
  EXPECT_EQ(p_int_error(t, step, -2, 2).mse, 0.0);
  ScaleError left = p_int_error(t, step, -2, 2, TieRule::left);
  EXPECT_EQ(left.max_abs_error, 1.0);  // q = 0 goes left
  EXPECT_EQ(left.mse, 1.0 / 5);
  t.tie = TieRule::left;
  EXPECT_EQ(p_int_error(t, step, -2, 2).mse, 1.0 / 5);
  EXPECT_EQ(p_grid_error(t, step, -2, 2).mse, p_grid_error(t, step, -2, 2, TieRule::left).mse);
}
