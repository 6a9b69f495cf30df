// Integer softmax, LayerNorm and activations: every ISA's row functions give
// exactly the bits of the scalar reference (gqalut/datapath.hpp, the one
// definition of the datapaths; tests/ops/test_datapath.cpp checks its stages),
// and the errors against double precision meet the targets of docs/intops.md.
#include <cmath>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gqalut/datapath.hpp"
#include "gqalut/function.hpp"
#include "gqalut/intops.hpp"
#include "gqalut/intops_measure.hpp"
#include "gqalut/search.hpp"
#include "plan_layout.h"  // internal: the lookups the tests compare with the reference
#include "random_tables.hpp"
#include "support/error_of.hpp"

using namespace gqalut;

namespace {

TableSet official(const std::string& file) { return read_json_file(gqalut_test::official_dir() + "/" + file); }

// The optimum table of a registered function with automatic (INT8) formats.
TableSet fit(const char* fn, int entries, std::vector<int> scales) {
  TableSet set = fit_int8_optimum(fn, entries, std::move(scales));
  for (const auto& [n, t] : set.tables) EXPECT_TRUE(t.is_int8()) << fn << " at scale " << n;
  return set;
}

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

class IntopsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    exp2_8 = new TableSet(fit("exp2m1", 8, {8}));
    exp2_16 = new TableSet(fit("exp2m1", 16, {8}));
    reci_8 = new TableSet(fit("reci", 8, {5}));
    reci_16 = new TableSet(fit("reci", 16, {5}));
    // Q1.6 codes make the plan pick a DIV octave a != s_d (codes [64, 128) at scale 5: x in [2, 4)).
    Problem q16 = Problem::make(find_function("reci"), 8);
    q16.scales = {5};
    reci_q16 = new TableSet(Optimal().run(q16).tables);
  }
  static TableSet *exp2_8, *exp2_16, *reci_8, *reci_16, *reci_q16;
  TableSet exp7 = official("exp_pwl_7.json"), reci7 = official("reci_pwl_7.json");
  TableSet rsqrt7 = official("sqrt_reci_pwl_7.json");
};
TableSet *IntopsTest::exp2_8, *IntopsTest::exp2_16, *IntopsTest::reci_8, *IntopsTest::reci_16,
    *IntopsTest::reci_q16;

// Every ISA's rows are the reference's: int8 and wide int32 logits, uint8
// and int8 probabilities, every row length to 140 and Transformer lengths.
TEST_F(IntopsTest, SoftmaxEveryIsaIsTheReference) {
  std::mt19937_64 rng(gqalut_test::test_seed());
  std::printf("seed %llu\n", static_cast<unsigned long long>(gqalut_test::test_seed()));
  for (int in_frac : {0, 2, 4, 5, 7, 12}) {
    SoftmaxPlan plan = prepare_softmax(*exp2_8, reci7, in_frac, 8);
    SoftmaxPlan plan7 = prepare_softmax(*exp2_16, *reci_8, in_frac, 7);
    for (size_t n : row_sizes()) {
      SCOPED_TRACE(fmt::format("in_frac {} n {}", in_frac, n));
      auto x = logits_s8(rng, n, in_frac < 8 ? in_frac : 4, 2.0);
      std::vector<int32_t> x32(n);
      for (size_t i = 0; i < n; ++i) x32[i] = int32_t(x[i]) * 977 - 5000000;  // wide int32 logits
      std::vector<uint8_t> ref(n), ref32(n);
      std::vector<int8_t> ref8(n);
      ref::softmax_row_ref(plan.reference(), x.data(), ref.data(), n);
      ref::softmax_row_ref(plan.reference(), x32.data(), ref32.data(), n);
      ref::softmax_row_ref(plan7.reference(), x.data(), ref8.data(), n);
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

// The plan's int8 lookups are the reference's e(u) on every int8 difference,
// and every ISA's rows (int8, int32 and wide int32 logits up to 9000 long) are
// the reference's, for optimum and official tables and a DIV octave a != s_d;
// on those rows the reference keeps the bounds its plan claims (R within
// recip_max_rel_error of 2^(15 + x) / S, e16 R <= max_product).
TEST_F(IntopsTest, SoftmaxLookupsAndRowsAreTheReference) {
  std::mt19937_64 rng(gqalut_test::test_seed() + 5);
  for (const TableSet* ex : {exp2_8, exp2_16})
    for (const TableSet* dv : {&reci7, reci_8, reci_16, reci_q16})
      for (int in_frac : {0, 3, 4, 6, 10, 20}) {
        SCOPED_TRACE(fmt::format("in_frac {} exp {} div {}", in_frac, ex->at(8).entries(), dv->tables.begin()->second.entries()));
        const SoftmaxPlan plan = prepare_softmax(*ex, *dv, in_frac, 8);
        const ref::SoftmaxRef& r = plan.reference();
        const SoftmaxDatapath& p = plan.datapath();
        if (dv == reci_q16) {
          EXPECT_NE(p.div_a, p.div_scale);  // the case the test exists for
        }
        const auto& lay = gqalut::detail::PlanAccess::layout(plan);
        for (uint32_t u = 0; u < 256; ++u) {
          ASSERT_EQ(lay.e_s8[u], ref::softmax_exp(r, u)) << u;
          ASSERT_EQ(lay.e16_s8[u], ref::softmax_e16(lay.e_s8[u])) << u;
        }
        for (uint32_t u = 0; u < 4096; u += 7) ASSERT_EQ(softmax_exp(plan, u), ref::softmax_exp(r, u));
        for (size_t n : {size_t{1}, size_t{5}, size_t{197}, size_t{3072}, size_t{9000}}) {
          auto x = logits_s8(rng, n, std::min(in_frac, 4), 2.0);
          std::vector<int32_t> x32(n), xw(n);
          for (size_t i = 0; i < n; ++i) {
            x32[i] = x[i];
            xw[i] = int32_t(rng() % 2000001) - 1000000 + (i % 11 == 0 ? INT32_MAX / 2 : 0);
          }
          std::vector<uint8_t> want(n), want_w(n);
          ref::softmax_row_ref(r, x.data(), want.data(), n);
          ref::softmax_row_ref(r, xw.data(), want_w.data(), n);
          for (Isa isa : available_isas()) {
            std::vector<uint8_t> o(n), o32(n), ow(n);
            softmax_row(plan, x.data(), o.data(), n, isa);
            softmax_row(plan, x32.data(), o32.data(), n, isa);
            softmax_row(plan, xw.data(), ow.data(), n, isa);
            ASSERT_EQ(o, want) << to_string(isa);
            ASSERT_EQ(o32, want) << to_string(isa);  // the int8 lookup = the int32 path on the same codes
            ASSERT_EQ(ow, want_w) << to_string(isa);
          }
          for (const std::vector<int32_t>* row : {&x32, &xw}) {
            const int64_t m = *std::max_element(row->begin(), row->end());
            uint64_t S = 0;
            uint32_t e_max = 0;
            for (int32_t q : *row) {
              const uint32_t e = ref::softmax_exp(r, uint32_t(m - q));
              S += e;
              e_max = std::max(e_max, e);
            }
            const ref::SoftmaxRecip rc = ref::softmax_reciprocal(r, S);
            const double r_exact = std::ldexp(1.0, ref::kRecipBits + rc.split.x) / double(S);
            EXPECT_LE(std::abs(rc.R / r_exact - 1), p.recip_max_rel_error + std::ldexp(1.0, -14))
                << "S " << S << " d " << rc.split.d << " R " << rc.R;
            EXPECT_LE(uint64_t{ref::softmax_e16(e_max)} * rc.R, p.max_product) << "S " << S;
          }
        }
      }
}

// The targets of issue 10 on the standard rows (docs/intops.md): uint8
// probabilities at 2^-8, error in output steps against double precision.
TEST_F(IntopsTest, SoftmaxErrorTargets) {
  struct Case {
    const char* name;
    const TableSet* exp;
    const TableSet* div;
    double max_lsb;
  };
  for (Case c : {Case{"optimum 8 + official reci_pwl_7", exp2_8, &reci7, 1.5}, Case{"optimum 8 + 8", exp2_8, reci_8, 1.5},
                 Case{"optimum 16 + 16", exp2_16, reci_16, 1.0}}) {
    for (int kind = 0; kind < 3; ++kind) {
      const int in_frac = kind == 2 ? 10 : 4;
      const SoftmaxPlan plan = prepare_softmax(*c.exp, *c.div, in_frac, 8);
      for (size_t n : {size_t{197}, size_t{768}, size_t{3072}}) {
        const uint64_t seed = gqalut_test::test_seed() + n + 17 * kind;
        const Rows rows = kind == 1 ? peaked_logit_rows(n, 40, seed) : normal_logit_rows(n, 40, seed);
        const OpErrorStats st = measure_softmax(plan, rows, kind == 2);
        std::printf("softmax %s, %s rows n=%zu: max %.3f LSB, mean %.4f LSB\n", c.name,
                    kind == 0 ? "normal int8" : (kind == 1 ? "peaked int8" : "normal int32 2^-10"), n, st.max_err_lsb,
                    st.mean_err_lsb);
        EXPECT_LE(st.max_err_lsb, c.max_lsb) << c.name << " kind " << kind << " n " << n;
        EXPECT_LE(st.mean_err_lsb, 0.25) << c.name << " kind " << kind << " n " << n;
        EXPECT_EQ(st.points, 40 * n);
      }
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

// Every ISA's rows are the reference's, with and without eps, constant rows included.
TEST_F(IntopsTest, LayerNormEveryIsaIsTheReference) {
  std::mt19937_64 rng(gqalut_test::test_seed() + 2);
  for (int in_frac : {0, 3, 4, 6}) {
    LayerNormPlan plan = prepare_layernorm(rsqrt7, in_frac, 4, 6, 1e-5);
    LayerNormPlan plan0 = prepare_layernorm(rsqrt7, in_frac, 5, 6, 0.0);
    for (size_t n : row_sizes()) {
      SCOPED_TRACE(fmt::format("in_frac {} n {}", in_frac, n));
      LnRow r = ln_row(rng, n, in_frac, 4, n % 3 == 0 ? 0.05 : 1.0);
      if (n % 17 == 0) std::fill(r.x.begin(), r.x.end(), int8_t(3));  // constant row
      std::vector<int8_t> ref(n), ref0(n);
      ref::layernorm_row_ref(plan.reference(), r.x.data(), r.gamma.data(), r.beta.data(), ref.data(), n);
      ref::layernorm_row_ref(plan0.reference(), r.x.data(), r.gamma.data(), r.beta.data(), ref0.data(), n);
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
// Every ISA gives the reference's bits; saturation follows double precision.
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
          ref::layernorm_row_ref(plan.reference(), r.x.data(), r.gamma.data(), r.beta.data(), ref.data(), n);
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
          auto y = layernorm_double(x, g, b, plan.datapath().eps);
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
  std::printf("RSQRT scale %d octave [%d, %d), max rel error %.4f\n", plan.datapath().rsqrt_scale, 1 << plan.datapath().rsqrt_a,
              4 << plan.datapath().rsqrt_a, plan.datapath().rsqrt_max_rel_error);
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
    EXPECT_LE(max_abs, 0.0625);  // issue 10 target: one output step
    EXPECT_LT(sum_abs / count, 0.02);
  }
}

// The LayerNorm target (<= 1 output step) with 8-entry RSQRT tables, official and
// optimum, on the standard rows (outlier channels included) and with in/out scales 3..5.
TEST_F(IntopsTest, LayerNormErrorTargets) {
  const TableSet opt8 = fit("rsqrt", 8, {5});
  for (const TableSet* set : {static_cast<const TableSet*>(&rsqrt7), &opt8})
    for (auto [in_frac, out_frac] : {std::pair{4, 4}, std::pair{3, 5}, std::pair{5, 3}}) {
      const LayerNormPlan plan = prepare_layernorm(*set, in_frac, out_frac, 6, 1e-5);
      for (size_t n : {size_t{197}, size_t{768}, size_t{3072}}) {
        const OpErrorStats st = measure_layernorm(plan, layernorm_rows(n, 30, gqalut_test::test_seed() + n), 7);
        std::printf("layernorm %s in 2^-%d out 2^-%d n=%zu: max %.3f steps, mean %.3f (RSQRT rel %.4f, %d Newton)\n",
                    set == &rsqrt7 ? "official sqrt_reci_pwl_7" : "optimum 8", in_frac, out_frac, n, st.max_err_lsb,
                    st.mean_err_lsb, plan.datapath().rsqrt_max_rel_error, plan.datapath().newton_steps);
        EXPECT_LE(st.max_err_lsb, 1.0);
        EXPECT_LE(st.mean_err_lsb, 0.3);
      }
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

// activation() runs a 256-entry lookup built from the table kernel: on every
// int8 code, for official and random tables at every scale and output scale,
// every ISA's activation() and activation_pwl() give requantize_s8(eval_acc).
TEST_F(IntopsTest, ActivationLookupIsTheTableOnEveryCode) {
  std::mt19937_64 rng(gqalut_test::test_seed() + 6);
  std::vector<int8_t> in(256 * 3 + 17);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<int8_t>(i < 256 ? int(i) - 128 : int(rng() % 256) - 128);
  int checked = 0;
  auto check = [&](const TableSet& set, int n, int out_frac) {
    SCOPED_TRACE(fmt::format("{} n {} out_frac {}", set.function, n, out_frac));
    const ActivationPlan plan = prepare_activation(set, n, out_frac);
    const auto& lut = gqalut::detail::PlanAccess::layout(plan).lut;
    EXPECT_EQ(plan.in_frac(), n);
    EXPECT_EQ(plan.out_frac(), out_frac);
    EXPECT_EQ(plan.requant().out_frac(), out_frac);
    EXPECT_EQ(plan.lut().out_frac(), out_frac);
    const Table& t = set.at(n);
    for (int q = -128; q < 128; ++q)
      ASSERT_EQ(lut.s8[q + 128], requantize_s8(eval_acc(t, q), t.shift(), out_frac)) << q;
    for (Isa isa : available_isas()) {
      std::vector<int8_t> a(in.size()), b(in.size());
      activation(plan, in.data(), a.data(), in.size(), isa);
      activation_pwl(plan, in.data(), b.data(), in.size(), isa);
      for (size_t i = 0; i < in.size(); ++i) {
        ASSERT_EQ(a[i], lut.s8[in[i] + 128]) << to_string(isa) << " code " << int(in[i]);
        ASSERT_EQ(b[i], a[i]) << to_string(isa) << " code " << int(in[i]);
      }
      std::vector<int8_t> inplace = in;  // in place
      activation(plan, inplace.data(), inplace.data(), inplace.size(), isa);
      ASSERT_EQ(inplace, a);
    }
    ++checked;
  };
  for (const char* f : {"gelu_pwl_7.json", "hswish_pwl_7.json", "silu_pwl_7.json", "gelu_pwl_15.json"}) {
    TableSet set = official(f);
    for (int n : set.scales())
      for (int of : {0, 3, 5, 7, 12}) check(set, n, of);
  }
  for (int k = 0; k < 40; ++k) {
    TableSet set;
    set.function = "random";
    const int n = int(rng() % 8);
    set.tables[n] = gqalut_test::random_table(rng, n);
    try {
      check(set, n, int(rng() % 12));
    } catch (const std::invalid_argument&) {  // a random table the requantizer refuses (rounding overflow)
    }
  }
  EXPECT_GT(checked, 60);
}

TEST_F(IntopsTest, PlansRejectBadArguments) {
  EXPECT_THROW(prepare_softmax(*exp2_8, reci7, 40, 8), std::invalid_argument);
  EXPECT_THROW(prepare_softmax(*exp2_8, reci7, 4, 0), std::invalid_argument);
  EXPECT_THROW(prepare_softmax(reci7, reci7, 4, 8), std::invalid_argument);  // range not around 0
  // The e^x tables of the old datapath are refused with a message that says what is needed.
  try {
    prepare_softmax(exp7, reci7, 4, 8);
    ADD_FAILURE() << "an e^x table was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("2^x - 1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(prepare_softmax(*exp2_8, exp7, 4, 8), std::invalid_argument);  // DIV set without a positive octave
  // Seeds too far off for the Newton steps to converge are refused, naming the stage.
  const TableSet gelu = official("gelu_pwl_7.json");
  const std::string div_error = gqalut_test::error_of([&] { prepare_softmax(*exp2_8, gelu, 4, 8); });
  EXPECT_NE(div_error.find("softmax DIV table is too far off"), std::string::npos) << div_error;
  const std::string rsqrt_error = gqalut_test::error_of([&] { prepare_layernorm(reci7, 4, 4, 6, 1e-5); });
  EXPECT_NE(rsqrt_error.find("layernorm RSQRT table is too far off"), std::string::npos) << rsqrt_error;
  EXPECT_THROW(prepare_layernorm(rsqrt7, 4, 4, 6, -1.0), std::invalid_argument);
  EXPECT_THROW(prepare_layernorm(rsqrt7, 16, 4, 6, 1e-5), std::invalid_argument);
  TableSet g = official("gelu_pwl_7.json");
  EXPECT_THROW(prepare_activation(g, 9, 4), std::invalid_argument);  // no such scale
}

// Plans are opaque handles: an empty (default-constructed) one is a clear
// std::invalid_argument in every row function and accessor, and copies share
// one immutable layout (the same bits).
TEST_F(IntopsTest, EmptyPlansThrowAndCopiesShare) {
  const SoftmaxPlan sm;
  const LayerNormPlan ln;
  const ActivationPlan act;
  EXPECT_FALSE(sm.valid() || ln.valid() || act.valid());
  std::vector<int8_t> x(8, 1), g(8, 64), o8(8);
  std::vector<int32_t> x32(8, 1), beta(8, 0);
  std::vector<uint8_t> u8(8);
  EXPECT_THROW(softmax_row(sm, x.data(), u8.data(), x.size()), std::invalid_argument);
  EXPECT_THROW(softmax_row(sm, x32.data(), u8.data(), x.size()), std::invalid_argument);
  EXPECT_THROW(softmax_row(sm, x.data(), o8.data(), x.size()), std::invalid_argument);
  EXPECT_THROW(softmax_exp(sm, 0), std::invalid_argument);
  EXPECT_THROW(sm.datapath(), std::invalid_argument);
  EXPECT_THROW(layernorm_row(ln, x.data(), g.data(), beta.data(), o8.data(), x.size()), std::invalid_argument);
  EXPECT_THROW(ln.datapath(), std::invalid_argument);
  EXPECT_THROW(activation(act, x.data(), o8.data(), x.size()), std::invalid_argument);
  EXPECT_THROW(activation_pwl(act, x.data(), o8.data(), x.size()), std::invalid_argument);
  EXPECT_THROW(act.requant(), std::invalid_argument);
  EXPECT_THROW(act.out_frac(), std::invalid_argument);

  const SoftmaxPlan a = prepare_softmax(*exp2_8, reci7, 4, 8);
  const SoftmaxPlan b = a;
  EXPECT_EQ(&a.datapath(), &b.datapath());
  std::vector<uint8_t> oa(8), ob(8);
  softmax_row(a, x.data(), oa.data(), x.size());
  softmax_row(b, x.data(), ob.data(), x.size());
  EXPECT_EQ(oa, ob);
  EXPECT_EQ(a.datapath().exp_table_shift, gqalut::detail::PlanAccess::layout(a).exp.shift);
  EXPECT_EQ(a.datapath().div_table_shift, gqalut::detail::PlanAccess::layout(a).div.shift);
  const LayerNormPlan l = prepare_layernorm(rsqrt7, 4, 4, 6, 1e-5);
  EXPECT_EQ(l.datapath().rsqrt_table_shift, gqalut::detail::PlanAccess::layout(l).rsqrt.shift);
}

}  // namespace
