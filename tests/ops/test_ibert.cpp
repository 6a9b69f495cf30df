// I-BERT's integer operations (include/gqalut/ibert.hpp): each stage equals its
// defining integer formula, recomputed here independently (constants from the
// paper's coefficients in long double, products in 128 bits), exhaustively over
// every int8 input; errors against double stay within bounds derived from the
// polynomial's own error and each floor; the integer square root is the exact
// floor over a brute-force range; softmax rows sum to 1 within the rounding.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gqalut/ibert.hpp"

using namespace gqalut;
__extension__ typedef __int128 i128;

namespace {

uint64_t test_seed() {
  const char* env = std::getenv("GQALUT_TEST_SEED");
  return env ? std::strtoull(env, nullptr, 10) : 20261203ull;
}

long double S_of(int f) { return std::ldexp(1.0L, -f); }

// floor(b / S) etc. for S = 2^-f: the paper's integer constants, recomputed.
int64_t floor_ld(long double v) { return static_cast<int64_t>(std::floor(v)); }

}  // namespace

// i-exp over every difference u = q - max of int8 logits (q in [-255, 0]) at every input scale.
TEST(Ibert, ExpEveryInt8InputEqualsItsDefinitionAndItsBound) {
  for (int f = ibert::kExpInFracMin; f <= ibert::kExpInFracMax; ++f) {
    SCOPED_TRACE(fmt::format("in_frac {}", f));
    const ibert::Exp e = ibert::make_exp(f);
    const long double S = S_of(f);
    const int64_t q_ln2 = floor_ld(std::log(2.0L) / S);
    const int64_t qb = floor_ld(1.353L / S), qc = floor_ld(0.344L / (0.3585L * S * S));
    ASSERT_EQ(e.q_ln2, q_ln2);
    ASSERT_EQ(e.poly.qb, qb);
    ASSERT_EQ(e.poly.qc, qc);
    // delta: the integer polynomial's relative error on every reduced code p in (-q_ln2, 0].
    const double SL = double(0.3585L * S * S);
    double delta = 0;
    for (int64_t p = -q_ln2 + 1; p <= 0; ++p) {
      const double ex = std::exp(double(p) * double(S));
      const double d = std::abs(double((p + qb) * (p + qb) + qc) * SL / ex - 1);
      delta = std::max(delta, d);
      // The real polynomial's error (under 1% on (-ln2, 0]) plus the floors of qb (2|p + qb| + 1 units of S_L)
      // and qc (1 unit).
      const double pr = double(p) * double(S), real = 0.3585 * (pr + 1.353) * (pr + 1.353) + 0.344;
      ASSERT_LE(d, std::abs(real / ex - 1) + double(2 * std::abs(p + qb) + 2) * SL / ex + 1e-12) << p;
      ASSERT_LT(std::abs(real / ex - 1), 0.0098);
    }
    for (int64_t q = -255; q <= 0; ++q) {
      // Independent: z by repeated subtraction, the polynomial in 128 bits, the shift as a division.
      int64_t z = 0, p = q;
      while (p <= -q_ln2) {
        p += q_ln2;
        ++z;
      }
      const ibert::ExpSplit sp = ibert::exp_split(e, q);
      ASSERT_EQ(sp.z, z) << q;
      ASSERT_EQ(sp.p, p) << q;
      const i128 poly = i128(p + qb) * (p + qb) + qc;
      const int64_t want = z > 62 ? 0 : int64_t(poly / (i128(1) << z));
      ASSERT_EQ(ibert::i_exp(e, q), want) << q;
      // |e S_L - exp(x)| <= exp(x) |(1 +- delta) e^{-z eps} - 1| + S_L (the >> z), eps = ln2 - q_ln2 S.
      const double x = double(q) * double(S), exact = std::exp(x);
      const double shrink = std::exp(-double(z) * double(std::log(2.0L) - q_ln2 * S));
      const double rel = std::max(std::abs((1 + delta) * shrink - 1), std::abs((1 - delta) * shrink - 1));
      ASSERT_LE(std::abs(double(want) * SL - exact), exact * rel + SL + 1e-15) << q;
    }
  }
}

// Softmax rows: each output is the rounded integer division, rows sum to 2^out_frac within n/2 codes.
TEST(Ibert, SoftmaxRowsAreTheRoundedDivisionAndSumToOne) {
  std::mt19937_64 rng(test_seed());
  for (auto [f, w] : {std::pair{1, -1}, {4, -1}, {4, 4}, {10, -1}, {16, -1}, {0, 12}})
    for (int o : {1, 7, 8, 15}) {
      SCOPED_TRACE(fmt::format("in_frac {} work_frac {} out_frac {}", f, w, o));
      const ibert::Softmax s = ibert::make_softmax(f, o, w);
      ASSERT_EQ(s.exp.in_frac, w < 0 ? std::max(f, ibert::kSoftmaxWorkFrac) : w);
      ASSERT_EQ(s.shift, s.exp.in_frac - f);
      for (size_t n : {size_t{1}, size_t{2}, size_t{17}, size_t{197}, size_t{768}}) {
        std::vector<int32_t> q(n);
        std::normal_distribution<double> nd(0, 2.0);
        for (auto& v : q) v = int32_t(std::lround(std::ldexp(nd(rng), f)));
        if (n > 3) q[1] = INT32_MIN;  // an int32 extreme: exp underflows to 0
        std::vector<uint8_t> out(n);
        ibert::softmax_row(s, q.data(), out.data(), n);
        const int64_t m = *std::max_element(q.begin(), q.end());
        std::vector<int64_t> e(n);
        int64_t S = 0;
        for (size_t i = 0; i < n; ++i) S += e[i] = ibert::i_exp(s.exp, (q[i] - m) * (int64_t{1} << s.shift));
        int64_t sum = 0;
        bool saturated = false;
        for (size_t i = 0; i < n; ++i) {
          const i128 num = i128(2) * e[i] * (i128(1) << o) + S, den = i128(2) * S;
          const int64_t want = int64_t(std::min<i128>(num / den, 255));  // num, den > 0: floor
          ASSERT_EQ(out[i], want);
          saturated |= want == 255;
          sum += out[i];
        }
        if (!saturated) {
          ASSERT_LE(std::abs(sum - (int64_t{1} << o)), int64_t(n) / 2 + 1) << "n " << n;
        }
        std::vector<int8_t> q8(n), o8(n);
        for (size_t i = 0; i < n; ++i) q8[i] = int8_t(std::clamp<int32_t>(q[i], -128, 127));
        ibert::softmax_row(s, q8.data(), o8.data(), n);
        std::vector<uint8_t> o8u(n);
        ibert::softmax_row(s, q8.data(), o8u.data(), n);
        for (size_t i = 0; i < n; ++i) ASSERT_EQ(int(o8[i]), std::min(int(o8u[i]), 127));
      }
    }
}

// i-GELU on every int8 code at every input scale: the definition, and the error
// against double within the erf polynomial's error and the floors' bound.
TEST(Ibert, GeluEveryInt8CodeEqualsItsDefinitionAndItsBound) {
  for (int f = 1; f <= ibert::kGeluInFracMax; ++f)
    for (int o : {0, 3, 5, 7}) {
      SCOPED_TRACE(fmt::format("in_frac {} out_frac {}", f, o));
      const ibert::Gelu g = ibert::make_gelu(f, o);
      const long double S = S_of(f), Se = S / std::sqrt(2.0L);
      const int64_t qb = floor_ld(-1.769L / Se), qc = floor_ld(1.0L / (-0.2888L * Se * Se));
      const long double SL = -0.2888L * Se * Se;
      const int64_t q_one = floor_ld(1.0L / SL);
      ASSERT_EQ(g.erf.qb, qb);
      ASSERT_EQ(g.erf.qc, qc);
      ASSERT_EQ(g.q_one, q_one);
      // The real polynomial's error against erf on x >= 0 (dense sample; the clip makes it exact past 1.769 - 1).
      double derf = 0;
      for (double x = 0; x <= 4; x += 1e-4) {
        const double L = x >= 1.769 ? 1.0 : -0.2888 * (x - 1.769) * (x - 1.769) + 1.0;
        derf = std::max(derf, std::abs(L - std::erf(x)));
      }
      for (int q = -128; q < 128; ++q) {
        const int64_t mag = std::min<int64_t>(std::abs(q), -qb);
        const int64_t L = (q == 0 ? 0 : (q < 0 ? -1 : 1)) * ((mag + qb) * (mag + qb) + qc);
        ASSERT_EQ(ibert::i_erf(g, q), L) << q;
        const int64_t acc = int64_t{q} * (L + q_one);
        ASSERT_EQ(ibert::i_gelu_acc(g, q), acc) << q;
        const i128 prod = i128(acc) * g.mult, half = i128(1) << (g.shift - 1);
        const i128 mag_out = ((prod < 0 ? -prod : prod) + half) >> g.shift;
        const int64_t y = int64_t(std::clamp<i128>(prod < 0 ? -mag_out : mag_out, -128, 127));
        const int8_t got = ibert::i_gelu(g, int8_t(q));
        ASSERT_EQ(int(got), y) << q;
        // Error bound in output steps: the erf error and the three floors (qb: 2|q+qb|+1, qc and q_one: 1
        // unit of |S_L| each) scaled by |x|/2, the dyadic multiplier's rounding, and the output rounding.
        const double x = double(q) * double(S), exact = 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
        const double floor_err = double(std::abs(SL)) * double(2 * std::abs(mag + qb) + 3);
        const double bound = std::ldexp(std::abs(x) / 2 * (derf + floor_err), o) * (1 + 1e-6) +
                             std::ldexp(std::abs(double(acc)), -g.shift) + 0.5 + 1e-9;
        const double want = std::clamp(std::ldexp(exact, o), -128.0, 127.0);
        ASSERT_LE(std::abs(double(got) - want), bound) << "q " << q;
      }
    }
}

// The integer square root is floor(sqrt(v)): every v up to 2^20, and around
// every square and random values up to 2^64.
TEST(Ibert, IsqrtIsTheExactFloor) {
  uint64_t r = 0;
  int worst_it = 0;
  for (uint64_t v = 0; v <= (uint64_t{1} << 20); ++v) {
    while ((r + 1) * (r + 1) <= v) ++r;
    int it = 0;
    ASSERT_EQ(ibert::isqrt(v, &it), r) << v;
    worst_it = std::max(worst_it, it);
  }
  std::mt19937_64 rng(test_seed() + 1);
  for (int i = 0; i < 200000; ++i) {
    const uint64_t k = rng() >> (i % 33);  // roots of every size up to 2^32 - 1
    const uint64_t root = std::min<uint64_t>(k >> 32 ? k >> 32 : k, 0xffffffffull);
    const uint64_t sq = root * root;
    ASSERT_EQ(ibert::isqrt(sq), root);
    ASSERT_EQ(ibert::isqrt(sq + 2 * root), root);  // (root + 1)^2 - 1
    if (root > 0) {
      ASSERT_EQ(ibert::isqrt(sq - 1), root - 1);
    }
    const uint64_t v = rng();
    const uint64_t s = ibert::isqrt(v);
    ASSERT_LE(i128(s) * s, i128(v));
    ASSERT_GT(i128(s + 1) * (s + 1), i128(v));
  }
  RecordProperty("isqrt_max_iterations_to_2^20", worst_it);
  EXPECT_LE(worst_it, 12);
}

// LayerNorm rows: the statistics, the integer square root, the rounded division
// and the output rounding recomputed here; error against double within the bound
// of sigma's floor and the two roundings.
TEST(Ibert, LayerNormRowsEqualTheirDefinitionAndBound) {
  std::mt19937_64 rng(test_seed() + 2);
  for (auto [f, o, gf] : {std::tuple{4, 4, 6}, {3, 5, 6}, {0, 0, 0}, {6, 2, 7}})
    for (double eps : {1e-5, 0.0}) {
      SCOPED_TRACE(fmt::format("in {} out {} gamma {} eps {}", f, o, gf, eps));
      const ibert::LayerNorm l = ibert::make_layernorm(f, o, gf, eps);
      for (size_t n : {size_t{1}, size_t{2}, size_t{64}, size_t{197}, size_t{768}}) {
        for (double sd : {0.5, 4.0, 40.0}) {
          std::normal_distribution<double> nd(2, sd);
          std::vector<int8_t> x(n), gamma(n), out(n);
          std::vector<int32_t> beta(n);
          for (size_t i = 0; i < n; ++i) {
            x[i] = int8_t(std::clamp<long>(std::lround(nd(rng)), -128, 127));
            gamma[i] = int8_t(int(rng() % 256) - 128);
            beta[i] = int32_t(rng() % 201) - 100;
          }
          ibert::layernorm_row(l, x.data(), gamma.data(), beta.data(), out.data(), n);
          int64_t sx = 0, sxx = 0;
          for (int8_t v : x) {
            sx += v;
            sxx += int64_t{v} * v;
          }
          const int64_t nn = int64_t(n);
          const int64_t V = nn * sxx - sx * sx + std::llround(eps * double(nn) * double(nn) * std::ldexp(1.0, 2 * f));
          uint64_t sigma = V > 0 ? uint64_t(std::sqrt(double(V))) : 0;  // then made exact
          while (i128(sigma) * sigma > V) --sigma;
          while (i128(sigma + 1) * (sigma + 1) <= V) ++sigma;
          const ibert::LayerNormRow row = ibert::layernorm_row_stats(l, x.data(), n);
          ASSERT_EQ(row.V, V);
          ASSERT_EQ(row.sigma, sigma);
          const double var = std::ldexp(double(nn * sxx - sx * sx) / double(nn * nn), -2 * f) + eps;
          for (size_t i = 0; i < n; ++i) {
            const int64_t d = nn * x[i] - sx;
            int64_t z = 0;
            if (sigma) {
              const i128 num = i128(2) * d * (int64_t{1} << 14) + sigma, den = i128(2) * sigma;
              i128 qq = num / den;
              if (num % den != 0 && num < 0) --qq;
              z = int64_t(qq);
            }
            ASSERT_EQ(ibert::layernorm_z(row, x[i]), z);
            const int sh = 14 + gf - o;
            const i128 zg = i128(z) * gamma[i];
            i128 w = sh <= 0 ? zg * (i128(1) << -sh) : (((zg < 0 ? -zg : zg) + (i128(1) << (sh - 1))) >> sh);
            if (sh > 0 && zg < 0) w = -w;
            const int64_t y = int64_t(std::clamp<i128>(w + beta[i], -128, 127));
            ASSERT_EQ(int(out[i]), y) << i;
            if (var <= 0 || sigma < 16) continue;
            // |z 2^-14 - D / sqrt(V)| <= |D| (1/sigma - 1/sqrt(V)) + 2^-15, times |gamma| 2^(o - g), + 0.5.
            const double exact_z = double(d) / std::sqrt(double(V));
            const double zerr = std::abs(double(d)) * (1.0 / double(sigma) - 1.0 / std::sqrt(double(V))) + std::ldexp(1.0, -15);
            const double gv = std::ldexp(double(gamma[i]), -gf);
            const double exact = std::ldexp(gv * exact_z, o) + double(beta[i]);
            const double bound = std::ldexp(std::abs(gv) * zerr, o) + 0.5 + 1e-9;
            ASSERT_LE(std::abs(double(out[i]) - std::clamp(exact, -128.0, 127.0)), bound) << i;
          }
        }
      }
    }
}

TEST(Ibert, BadArgumentsAreRefusedNamingTheRule) {
  const auto message = [](auto f) {
    try {
      f();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("(no exception)");
  };
  EXPECT_EQ(message([] { ibert::make_exp(0); }), "I-BERT exp in_frac must be in [1, 20], got 0");
  EXPECT_EQ(message([] { ibert::make_softmax(4, 16); }), "I-BERT softmax out_frac must be in [1, 15], got 16");
  EXPECT_EQ(message([] { ibert::make_softmax(6, 8, 5); }), "I-BERT softmax work_frac must be in [6, 20], got 5");
  EXPECT_EQ(message([] { ibert::make_gelu(11, 5); }), "I-BERT gelu in_frac must be in [1, 10], got 11");
  EXPECT_EQ(message([] { ibert::make_layernorm(4, 4, 6, -1.0); }), "eps must be >= 0, got -1");
}
