// The official GQA-LUT PyTorch op (gqa_lut_op.py) reading the files gqalut
// writes, emulated in C++: per scale S = 2^-n, float32 tensors of the JSON
// lists, idx = torch.bucketize(q, breakpoints / S) with right=False (the
// number of boundaries strictly below q), y = (slopes[idx] * q +
// (intercepts / S)[idx]) * S, each operation rounded to float32 as the op's
// tensors are. For every method, both tie rules, 8 and 16 entries, every
// scale and every int8 code the result must be the evaluator's value, and
// the per-scale MSE and max error of the op's outputs must be gqalut's.
// (python/tests/test_official_op.py runs the same check in torch itself.)
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "gqalut/io.hpp"
#include "gqalut/methods.hpp"
#include "gqalut/metrics.hpp"

using namespace gqalut;

namespace {

// The op's forward without its straight-through term, on int8 code q.
float op_forward(const nlohmann::json& params, int n, int q) {
  const float scale = std::ldexp(1.0f, -n);
  const float x = float(q);
  int idx = 0;
  for (const auto& b : params["breakpoints"]) idx += (float(b.get<double>()) / scale) < x;
  const float k = float(params["slopes"][idx].get<double>());
  const float c = float(params["intercepts"][idx].get<double>()) / scale;
  const float pwl = k * x + c;  // two float32 roundings, as two tensor operations
  return pwl * scale;
}

nlohmann::json small_settings(const Method& m) {
  nlohmann::json s = nlohmann::json::object();
  if (m.has_setting("generations")) s["generations"] = 30;
  if (m.has_setting("population")) s["population"] = 20;
  if (m.has_setting("epochs")) s["epochs"] = 3;
  if (m.has_setting("samples")) s["samples"] = 5000;
  return s;
}

}  // namespace

TEST(OfficialOp, ComputesGqalutsFunctionFromEveryFileGqalutWrites) {
  int files = 0;
  for (const char* fn : {"gelu", "hswish", "exp"})
    for (const Method& m : methods())
      for (int entries : {8, 16})
        for (TieRule rule : {TieRule::right, TieRule::left}) {
          Problem p = Problem::make(find_function(fn), entries);
          p.tie = rule;
          Result r = m.run(p, small_settings(m), {});
          std::ostringstream text;
          write_json(text, r.tables);
          nlohmann::json doc = nlohmann::json::parse(text.str());
          const nlohmann::json& per_scale = doc[official_key(fn)];
          const std::string what = fmt::format("{} {} K={} tie {}", fn, m.name, entries, to_string(rule));
          ASSERT_EQ(per_scale.size(), r.tables.tables.size()) << what;
          for (const ScaleError& e : r.errors.scales) {
            const Table& t = r.tables.at(e.n);
            const nlohmann::json& params = per_scale[std::to_string(e.n)];
            for (int q = -128; q <= 127; ++q)
              ASSERT_EQ(double(op_forward(params, e.n, q)), eval_value(t, q)) << what << " n=" << e.n << " q=" << q;
            // The op's per-scale figures, summed in gqalut's order over the in-range codes.
            double sse = 0, mx = 0;
            int count = 0;
            for (int32_t q : codes_in_range(e.n, p.lo, p.hi)) {
              double err = double(op_forward(params, e.n, q)) - p.function(std::ldexp(double(q), -e.n));
              sse += err * err;
              mx = std::max(mx, std::fabs(err));
              ++count;
            }
            EXPECT_EQ(count, e.points);
            EXPECT_EQ(count ? sse / count : 0.0, e.mse) << what << " n=" << e.n;
            EXPECT_EQ(mx, e.max_abs_error) << what << " n=" << e.n;
          }
          ++files;
        }
  EXPECT_EQ(files, 3 * int(methods().size()) * 2 * 2);
}

// Without the half codes (breakpoints P 2^-n read with the op's q > P) the op
// would compute another function: the check above can fail.
TEST(OfficialOp, CodesOnTheGridWouldNotMatch) {
  Problem p = Problem::make(find_function("gelu"), 8);
  Result r = find_method("optimal").run(p, nlohmann::json::object(), {});
  int differ = 0;
  for (const auto& [n, t] : r.tables.tables) {
    nlohmann::json params = {{"breakpoints", nlohmann::json::array()}, {"slopes", nlohmann::json::array()},
                             {"intercepts", nlohmann::json::array()}};
    for (int i = 0; i + 1 < t.entries(); ++i) params["breakpoints"].push_back(t.breakpoint_value(i));
    for (int i = 0; i < t.entries(); ++i) {
      params["slopes"].push_back(t.slope_value(i));
      params["intercepts"].push_back(t.intercept_value(i));
    }
    for (int q = -128; q <= 127; ++q) differ += double(op_forward(params, n, q)) != eval_value(t, q);
  }
  EXPECT_GT(differ, 0);
}
