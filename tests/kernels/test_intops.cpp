// Integer softmax, LayerNorm and activations: every ISA gives the same bits
// as the scalar path, and the errors against double precision stay under the
// bounds documented in docs/intops.md (official 8-entry tables).
#include <cmath>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gqalut/function.hpp"
#include "gqalut/intops.hpp"
#include "random_tables.hpp"

using namespace gqalut;

namespace {

TableSet official(const std::string& file) { return read_json_file(gqalut_test::official_dir() + "/" + file); }

std::vector<size_t> row_sizes() {
  std::vector<size_t> s;
  for (size_t n = 1; n <= 140; ++n) s.push_back(n);
  for (size_t n : {197, 255, 256, 257, 768, 1000, 3072}) s.push_back(n);
  return s;
}

// Attention-like logits: N(0, sigma) in real units, quantized at 2^-in_frac.
std::vector<int8_t> logits_s8(std::mt19937_64& rng, size_t n, int in_frac, double sigma) {
  std::normal_distribution<double> d(0.0, sigma);
  std::vector<int8_t> q(n);
  for (auto& v : q) v = static_cast<int8_t>(std::clamp(std::lround(std::ldexp(d(rng), in_frac)), -128L, 127L));
  return q;
}

std::vector<double> softmax_double(const std::vector<double>& x) {
  double m = *std::max_element(x.begin(), x.end()), s = 0;
  std::vector<double> p(x.size());
  for (size_t i = 0; i < x.size(); ++i) s += p[i] = std::exp(x[i] - m);
  for (auto& v : p) v /= s;
  return p;
}

class IntopsTest : public ::testing::Test {
 protected:
  TableSet exp7 = official("exp_pwl_7.json"), reci7 = official("reci_pwl_7.json");
  TableSet rsqrt7 = official("sqrt_reci_pwl_7.json");
};

TEST_F(IntopsTest, SoftmaxAllIsasAgreeWithScalar) {
  std::mt19937_64 rng(gqalut_test::test_seed());
  std::printf("seed %llu\n", static_cast<unsigned long long>(gqalut_test::test_seed()));
  for (int in_frac : {0, 2, 4, 5, 7, 12}) {
    SoftmaxPlan plan = prepare_softmax(exp7, reci7, in_frac, 8);
    SoftmaxPlan plan7 = prepare_softmax(exp7, reci7, in_frac, 7);
    for (size_t n : row_sizes()) {
      SCOPED_TRACE(fmt::format("in_frac {} n {}", in_frac, n));
      auto x = logits_s8(rng, n, in_frac < 8 ? in_frac : 4, 2.0);
      std::vector<int32_t> x32(n);
      for (size_t i = 0; i < n; ++i) x32[i] = int32_t(x[i]) * 977 - 5000000;  // wide int32 logits
      std::vector<uint8_t> ref(n), ref32(n);
      std::vector<int8_t> ref8(n);
      softmax_row(plan, x.data(), ref.data(), n, Isa::scalar);
      softmax_row(plan, x32.data(), ref32.data(), n, Isa::scalar);
      softmax_row(plan7, x.data(), ref8.data(), n, Isa::scalar);
      for (Isa isa : available_isas()) {
        std::vector<uint8_t> o(n), o32(n);
        std::vector<int8_t> o8(n);
        softmax_row(plan, x.data(), o.data(), n, isa);
        softmax_row(plan, x32.data(), o32.data(), n, isa);
        softmax_row(plan7, x.data(), o8.data(), n, isa);
        ASSERT_EQ(o, ref) << to_string(isa);
        ASSERT_EQ(o32, ref32) << to_string(isa);
        ASSERT_EQ(o8, ref8) << to_string(isa);
      }
      // The largest logit gets the largest probability; all are in range.
      size_t imax = std::max_element(x.begin(), x.end()) - x.begin();
      EXPECT_EQ(*std::max_element(ref.begin(), ref.end()), ref[imax]);
      for (auto v : ref8) ASSERT_GE(v, 0);
    }
  }
}

// Error of the whole integer softmax (uint8 probabilities at 2^-8) against
// double softmax of the same int8 logits (2^-4), attention-like rows.
// Bounds per table pair (docs/intops.md): the official 8-entry EXP table is
// flat zero below about -5, which loses the tail mass of long rows.
TEST_F(IntopsTest, SoftmaxErrorAgainstDouble) {
  struct Pair {
    const char* exp_file;
    const char* div_file;
    double max_bound, mean_bound;
  };
  for (Pair pr : {Pair{"exp_pwl_7.json", "reci_pwl_7.json", 0.12, 0.0015},
                  Pair{"exp_pwl_15.json", "reci_pwl_15.json", 0.08, 0.0015}}) {
    std::mt19937_64 rng(gqalut_test::test_seed() + 1);
    const int in_frac = 4;
    SoftmaxPlan plan = prepare_softmax(official(pr.exp_file), official(pr.div_file), in_frac, 8);
    std::printf("%s + %s: EXP scale %d (limit %d), DIV scale %d octave [%d, %d), DIV max rel error %.4f\n",
                pr.exp_file, pr.div_file, plan.exp_scale, plan.exp_limit, plan.div_scale, 1 << plan.div_a,
                2 << plan.div_a, plan.div_max_rel_error);
    for (size_t n : {size_t{197}, size_t{768}, size_t{3072}}) {
      double max_abs = 0, sum_abs = 0;
      size_t count = 0;
      for (int row = 0; row < 40; ++row) {
        auto x = logits_s8(rng, n, in_frac, 0.5 + 0.5 * (row % 4));
        std::vector<double> xd(n);
        for (size_t i = 0; i < n; ++i) xd[i] = std::ldexp(x[i], -in_frac);
        auto p = softmax_double(xd);
        std::vector<uint8_t> o(n);
        softmax_row(plan, x.data(), o.data(), n);
        for (size_t i = 0; i < n; ++i) {
          double err = std::abs(std::ldexp(o[i], -8) - p[i]);
          max_abs = std::max(max_abs, err);
          sum_abs += err;
          ++count;
        }
      }
      std::printf("  softmax n=%zu: max abs error %.5f, mean abs error %.6f (output step 2^-8 = 0.0039)\n", n,
                  max_abs, sum_abs / count);
      EXPECT_LT(max_abs, pr.max_bound);
      EXPECT_LT(sum_abs / count, pr.mean_bound);
    }
  }
}

std::vector<double> layernorm_double(const std::vector<double>& x, const std::vector<double>& g,
                                     const std::vector<double>& b, double eps) {
  double m = 0, v = 0;
  for (double t : x) m += t;
  m /= x.size();
  for (double t : x) v += (t - m) * (t - m);
  v /= x.size();
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = g[i] * (x[i] - m) / std::sqrt(v + eps) + b[i];
  return y;
}

struct LnRow {
  std::vector<int8_t> x, gamma, out;
  std::vector<int32_t> beta;
};

LnRow ln_row(std::mt19937_64& rng, size_t n, int in_frac, int out_frac, double sigma) {
  LnRow r;
  std::normal_distribution<double> d(0.3, sigma), g(1.0, 0.2), b(0.0, 0.2);
  r.x.resize(n);
  r.gamma.resize(n);
  r.beta.resize(n);
  r.out.resize(n);
  for (size_t i = 0; i < n; ++i) {
    double v = i % 97 == 5 ? 6.0 : d(rng);  // a few outlier channels
    r.x[i] = static_cast<int8_t>(std::clamp(std::lround(std::ldexp(v, in_frac)), -128L, 127L));
    r.gamma[i] = static_cast<int8_t>(std::clamp(std::lround(std::ldexp(g(rng), 6)), -128L, 127L));
    r.beta[i] = static_cast<int32_t>(std::lround(std::ldexp(b(rng), out_frac)));
  }
  return r;
}

TEST_F(IntopsTest, LayerNormAllIsasAgreeWithScalar) {
  std::mt19937_64 rng(gqalut_test::test_seed() + 2);
  for (int in_frac : {0, 3, 4, 6}) {
    LayerNormPlan plan = prepare_layernorm(rsqrt7, in_frac, 4, 6, 1e-5);
    LayerNormPlan plan0 = prepare_layernorm(rsqrt7, in_frac, 5, 6, 0.0);
    for (size_t n : row_sizes()) {
      SCOPED_TRACE(fmt::format("in_frac {} n {}", in_frac, n));
      LnRow r = ln_row(rng, n, in_frac, 4, n % 3 == 0 ? 0.05 : 1.0);
      if (n % 17 == 0) std::fill(r.x.begin(), r.x.end(), int8_t(3));  // constant row
      std::vector<int8_t> ref(n), ref0(n);
      layernorm_row(plan, r.x.data(), r.gamma.data(), r.beta.data(), ref.data(), n, Isa::scalar);
      layernorm_row(plan0, r.x.data(), r.gamma.data(), r.beta.data(), ref0.data(), n, Isa::scalar);
      for (Isa isa : available_isas()) {
        std::vector<int8_t> o(n), o0(n);
        layernorm_row(plan, r.x.data(), r.gamma.data(), r.beta.data(), o.data(), n, isa);
        layernorm_row(plan0, r.x.data(), r.gamma.data(), r.beta.data(), o0.data(), n, isa);
        ASSERT_EQ(o, ref) << to_string(isa);
        ASSERT_EQ(o0, ref0) << to_string(isa);
      }
    }
  }
}

// The 32-bit output datapath at its limits: near-constant rows with one
// outlier (tiny variance, normalised values ~ sqrt(n)), +-128 codes, gamma at
// the int8 extremes, beta at the int32 extremes, every out/gamma scale corner.
// All ISAs give the scalar bits; saturation follows the double reference.
TEST_F(IntopsTest, LayerNormExtremeRows) {
  std::mt19937_64 rng(gqalut_test::test_seed() + 4);
  const int32_t betas[] = {0, INT32_MAX, INT32_MIN, (3 << 29) + 7, -(3 << 29) - 7, 1 << 24, -(1 << 24)};
  int checked = 0;
  for (int in_frac : {0, 4, 7})
    for (auto [out_frac, gamma_frac] : {std::pair{4, 6}, std::pair{0, 0}, std::pair{15, 0}, std::pair{0, 15}}) {
      LayerNormPlan plan = prepare_layernorm(rsqrt7, in_frac, out_frac, gamma_frac, in_frac == 7 ? 0.0 : 1e-5);
      for (size_t n : {size_t{1}, size_t{2}, size_t{197}, size_t{4096}, size_t{70000}}) {
        for (int kind = 0; kind < 4; ++kind) {
          SCOPED_TRACE(fmt::format("in {} out {} gamma {} n {} kind {}", in_frac, out_frac, gamma_frac, n, kind));
          LnRow r;
          r.x.assign(n, kind == 0 ? int8_t(-128) : int8_t(5));
          r.gamma.resize(n);
          r.beta.resize(n);
          r.out.resize(n);
          for (size_t i = 0; i < n; ++i) {
            if (kind == 0 && i % 2) r.x[i] = 127;                // maximal spread
            if (kind == 1 && i == n / 2) r.x[i] = -128;          // one outlier: z ~ -sqrt(n)
            if (kind == 2 && i == n / 3) r.x[i] = 6;             // tiny variance
            if (kind == 3) r.x[i] = static_cast<int8_t>(rng());  // uniform codes
            r.gamma[i] = static_cast<int8_t>(i % 3 == 0 ? -128 : (i % 3 == 1 ? 127 : int(rng() % 256) - 128));
            r.beta[i] = i % 5 == 0 ? betas[rng() % 7] : 0;
          }
          std::vector<int8_t> ref(n);
          layernorm_row(plan, r.x.data(), r.gamma.data(), r.beta.data(), ref.data(), n, Isa::scalar);
          for (Isa isa : available_isas()) {
            layernorm_row(plan, r.x.data(), r.gamma.data(), r.beta.data(), r.out.data(), n, isa);
            ASSERT_EQ(r.out, ref) << to_string(isa);
          }
          std::vector<double> x(n), g(n), b(n);
          for (size_t i = 0; i < n; ++i) {
            x[i] = std::ldexp(r.x[i], -in_frac);
            g[i] = std::ldexp(r.gamma[i], -gamma_frac);
            b[i] = std::ldexp(double(r.beta[i]), -out_frac);
          }
          auto y = layernorm_double(x, g, b, plan.eps);
          const double lo = std::ldexp(-128.0, -out_frac), hi = std::ldexp(127.0, -out_frac);
          for (size_t i = 0; i < n; ++i) {
            // Beyond the int8 range by more than the table error, the output must saturate.
            const double yi = y[i], bi = b[i], slack = 0.05 * std::abs(yi - bi) + std::ldexp(2.0, -out_frac);
            if (yi > hi + slack) {
              ASSERT_EQ(ref[i], 127) << i;
            }
            if (yi < lo - slack) {
              ASSERT_EQ(ref[i], -128) << i;
            }
            if (yi >= lo + slack && yi <= hi - slack) {
              ASSERT_NEAR(std::ldexp(ref[i], -out_frac), yi, slack) << i;
            }
            ++checked;
          }
        }
      }
    }
  EXPECT_GT(checked, 100000);
}

TEST_F(IntopsTest, LayerNormErrorAgainstDouble) {
  std::mt19937_64 rng(gqalut_test::test_seed() + 3);
  const int in_frac = 4, out_frac = 4;
  LayerNormPlan plan = prepare_layernorm(rsqrt7, in_frac, out_frac, 6, 1e-5);
  std::printf("RSQRT scale %d octave [%d, %d), max rel error %.4f\n", plan.rsqrt_scale, 1 << plan.rsqrt_a,
              4 << plan.rsqrt_a, plan.rsqrt_max_rel_error);
  for (size_t n : {size_t{197}, size_t{768}, size_t{3072}}) {
    double max_abs = 0, sum_abs = 0;
    size_t count = 0;
    for (int row = 0; row < 30; ++row) {
      LnRow r = ln_row(rng, n, in_frac, out_frac, 0.5 + 0.5 * (row % 4));
      std::vector<double> x(n), g(n), b(n);
      for (size_t i = 0; i < n; ++i) {
        x[i] = std::ldexp(r.x[i], -in_frac);
        g[i] = std::ldexp(r.gamma[i], -6);
        b[i] = std::ldexp(r.beta[i], -out_frac);
      }
      auto y = layernorm_double(x, g, b, 1e-5);
      layernorm_row(plan, r.x.data(), r.gamma.data(), r.beta.data(), r.out.data(), n);
      for (size_t i = 0; i < n; ++i) {
        double ref = std::clamp(y[i], -8.0, 127.0 / 16);  // the int8 output saturates at [-8, 7.9375]
        double err = std::abs(std::ldexp(r.out[i], -out_frac) - ref);
        max_abs = std::max(max_abs, err);
        sum_abs += err;
        ++count;
      }
    }
    std::printf("layernorm n=%zu: max abs error %.4f, mean abs error %.5f (output step %.4f)\n", n, max_abs,
                sum_abs / count, std::ldexp(1.0, -out_frac));
    EXPECT_LT(max_abs, 0.15);
    EXPECT_LT(sum_abs / count, 0.025);
  }
}

TEST_F(IntopsTest, ActivationsErrorAndIsas) {
  struct Op {
    const char* file;
    const char* fn;
    double bound;
  };
  for (Op op : {Op{"gelu_pwl_7.json", "gelu", 0.06}, Op{"hswish_pwl_7.json", "hswish", 0.07},
                Op{"silu_pwl_7.json", "silu", 0.07}}) {
    TableSet set = official(op.file);
    const Function& f = find_function(op.fn);
    for (int in_frac : {4, 5}) {
      const int out_frac = 5;
      ActivationPlan plan = prepare_activation(set, in_frac, out_frac);
      std::vector<int8_t> in(256), ref(256);
      for (int q = -128; q < 128; ++q) in[q + 128] = static_cast<int8_t>(q);
      activation(plan, in.data(), ref.data(), 256, Isa::scalar);
      for (Isa isa : available_isas()) {
        std::vector<int8_t> o(256);
        activation(plan, in.data(), o.data(), 256, isa);
        ASSERT_EQ(o, ref) << to_string(isa);
      }
      double max_abs = 0, sum_abs = 0;
      int count = 0;
      for (int q = -128; q < 128; ++q) {
        double x = std::ldexp(q, -in_frac);
        if (x < f.lo || x > f.hi) continue;
        double y = std::clamp(f(x), -4.0, 127.0 / 32);
        double err = std::abs(std::ldexp(ref[q + 128], -out_frac) - y);
        max_abs = std::max(max_abs, err);
        sum_abs += err;
        ++count;
      }
      std::printf("%s in 2^-%d out 2^-%d: max abs error %.4f, mean abs error %.4f over %d codes\n", op.fn, in_frac,
                  out_frac, max_abs, sum_abs / count, count);
      EXPECT_LT(max_abs, op.bound);
    }
  }
}

TEST_F(IntopsTest, PlansRejectBadArguments) {
  EXPECT_THROW(prepare_softmax(exp7, reci7, 40, 8), std::invalid_argument);
  EXPECT_THROW(prepare_softmax(exp7, reci7, 4, 0), std::invalid_argument);
  EXPECT_THROW(prepare_softmax(reci7, reci7, 4, 8), std::invalid_argument);  // range not below 0
  EXPECT_THROW(prepare_layernorm(rsqrt7, 4, 4, 6, -1.0), std::invalid_argument);
  EXPECT_THROW(prepare_layernorm(rsqrt7, 16, 4, 6, 1e-5), std::invalid_argument);
  TableSet g = official("gelu_pwl_7.json");
  EXPECT_THROW(prepare_activation(g, 9, 4), std::invalid_argument);  // no such scale
}

}  // namespace
