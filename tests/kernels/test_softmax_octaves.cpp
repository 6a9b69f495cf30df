// Softmax with every DIV octave: the reciprocal stage must give 1/S whatever
// mantissa octave [2^a, 2^(a+1)) and DIV scale s_d the plan picks. A Q1.6
// reciprocal table makes the plan choose a != s_d (x = d 2^-s_d in [2, 4)),
// which once scaled every probability by 2^(2(a - s_d)) (rows summed to 1/4).
#include <cmath>
#include <numeric>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gqalut/function.hpp"
#include "gqalut/intops.hpp"
#include "gqalut/intops_measure.hpp"
#include "gqalut/search.hpp"

using namespace gqalut;

namespace {

TableSet reci_table(const char* format, int entries, std::vector<int> scales) {
  Problem p = Problem::make(find_function("reci"), entries);
  p.scales = std::move(scales);
  p.slope_format = FormatChoice::parse(format);
  p.intercept_format = FormatChoice::parse(format);
  return Optimal().run(p).tables;
}

}  // namespace

TEST(SoftmaxOctaves, ProbabilitiesDoNotDependOnTheDivOctave) {
  const TableSet exp2 = fit_int8_optimum("exp2m1", 16, {8});
  const Rows rows = normal_logit_rows(197, 8, 7);
  bool saw_other_octave = false;
  for (const char* format : {"q1.6", "auto"})
    for (int s : {4, 5, 6}) {
      SCOPED_TRACE(fmt::format("reci {} at scale {}", format, s));
      const SoftmaxPlan plan = prepare_softmax(exp2, reci_table(format, 16, {s}), 4, 8);
      saw_other_octave |= plan.datapath().div_a != plan.datapath().div_scale;
      const OpErrorStats st = measure_softmax(plan, rows, false);
      EXPECT_LE(st.max_err_lsb, 1.5);
      EXPECT_LE(st.mean_err_lsb, 0.25);
      // Each row's probabilities sum to about 1 (256 codes), not 1/4 or 4.
      for (const auto& r : rows) {
        std::vector<int8_t> q(r.size());
        for (size_t i = 0; i < r.size(); ++i)
          q[i] = static_cast<int8_t>(std::clamp(std::lround(std::ldexp(r[i], 4)), -128L, 127L));
        std::vector<uint8_t> out(q.size());
        softmax_row(plan, q.data(), out.data(), q.size());
        const int sum = std::accumulate(out.begin(), out.end(), 0);
        EXPECT_NEAR(sum, 256, 0.5 * static_cast<double>(q.size()));
      }
    }
  EXPECT_TRUE(saw_other_octave) << "no table made the plan pick an octave a != s_d: the test lost its point";
}
