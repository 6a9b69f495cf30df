// The FP32 reference units of issue 16 (rtl/fp32_exp.v, fp32_newton.v, fp32_cvt.v,
// softmax_fp32.v, layernorm_fp32.v): linted by Verilator -Wall, simulated under iverilog bit for
// bit against the C++ models of gqalut/hw/reference_units.hpp (every int8 EXP input, every seed
// interval and exponent class of the reciprocal / rsqrt, random rows and edge rows), the models'
// own accuracy against double precision, and the error on the rows of `gqalut ops`.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gqalut/hw/reference_units.hpp"
#include "gqalut/hw/registry.hpp"
#include "gqalut/hw/sim.hpp"
#include "gqalut/intops_measure.hpp"
#include "hw_test_util.hpp"
#include "rtl/models.hpp"

namespace gqalut {
namespace {

using hw::fp32ref::from_int;
using rtl::bits_of;
using rtl::float_of;
using hw::test::kRtl;
using hw::test::lint_unit;
using hw::test::scaled;
using hw::test::sim_options;
constexpr uint32_t kSeed = 20261203;
const float kInf = std::numeric_limits<float>::infinity();
// GQALUT_HW_FULL=1: the larger random sets (the reduced default keeps the suite well under a minute).
const bool kFull = hw::test::full();

// ------------------------------------------------------------------ blocks (tb_fp32_ops.v)
const std::vector<std::string> kBlocks = {"ref_pipe.v", "fp32_add.v", "fp32_mul.v", "fp32_cvt.v", "fp32_exp.v", "fp32_newton.v"};

// Runs tb_fp32_ops with OP, one check per (x, expected) pair.
void run_ops(int op, int pipe, const std::vector<std::pair<uint32_t, uint32_t>>& v, const std::string& name) {
  std::vector<std::string> paths;
  for (const auto& f : kBlocks) paths.push_back(kRtl + "/" + f);
  hw::VerilogUnit design = hw::read_unit("fp32_exp", paths);
  hw::VerilogUnit tb = hw::read_unit("tb_fp32_ops", {kRtl + "/tb_fp32_ops.v"});
  std::string hex;
  for (auto [x, y] : v) hex += fmt::format("1{:08x}{:08x}\n", x, y);
  hw::SimOptions o = sim_options(name);
  o.data_files.emplace_back("vec.hex", hex);
  o.iverilog_flags = {fmt::format("-Ptb_fp32_ops.OP={}", op), fmt::format("-Ptb_fp32_ops.PIPE={}", pipe)};
  hw::SimResult r = hw::simulate(design, tb, o);
  EXPECT_TRUE(r.passed()) << r.summary() << "\n" << r.compile_log << r.log;
  EXPECT_EQ(r.checks, (long long)v.size()) << r.summary();
}

TEST(Fp32Blocks, LintClean) {
  std::vector<std::string> paths;
  for (const auto& f : kBlocks) paths.push_back(kRtl + "/" + f);
  hw::LintResult le = lint_unit(hw::read_unit("fp32_exp", paths), "lint_fp32_exp");
  EXPECT_TRUE(le.clean()) << le.log;
  for (int rsqrt : {0, 1}) {
    const std::string name = fmt::format("lint_fp32_newton_unit_r{}", rsqrt);
    hw::LintResult l = hw::lint(hw::read_unit("fp32_newton_unit", paths),
                                hw::test::lint_options(name, {fmt::format("-GRSQRT={}", rsqrt)}));
    EXPECT_TRUE(l.clean()) << name << ": " << l.log;
  }
  hw::LintResult l0 =
      hw::lint(hw::read_unit("fp32_exp", paths), hw::test::lint_options("lint_fp32_exp_comb", {"-GPIPE=0"}));
  EXPECT_TRUE(l0.clean()) << l0.log;
}

float random_float(std::mt19937_64& rng) {
  switch (rng() % 3) {
    case 0:
      return float_of(uint32_t(rng()));  // any pattern: subnormals, inf, NaN
    case 1:
      return std::uniform_real_distribution<float>(-300.f, 300.f)(rng);
    default:
      return std::ldexp(1.0f + float(rng() % (1u << 23)) / float(1u << 23), int(rng() % 60) - 30) *
             ((rng() & 1) ? -1.f : 1.f);
  }
}

// Inputs of the exponential: every int8 difference u at every input scale 2^-f (f = 0..8:
// the softmax unit's x - M), random values, and the special classes.
std::vector<float> exp_inputs(bool reduced = false) {
  std::vector<float> d;
  for (int f = 0; f <= 8; ++f)
    if (!reduced || f % 4 == 0)
      for (int u = 0; u <= 255; ++u) d.push_back(-std::ldexp(float(u), -f));
  std::mt19937_64 rng(kSeed);
  for (int i = 0; i < (reduced ? 100 : scaled(300, 5000)); ++i) d.push_back(random_float(rng));
  for (int i = 0; i < (reduced ? 50 : scaled(100, 2000)); ++i)
    d.push_back(std::uniform_real_distribution<float>(-1.f, 0.f)(rng));
  for (float s : {0.0f, -0.0f, kInf, -kInf, std::numeric_limits<float>::quiet_NaN(), 88.0f, 89.0f, -87.0f, -88.0f,
                  -103.0f, -104.0f, 177.0f, 178.0f, -177.0f, -178.0f, std::ldexp(1.0f, -130), 1e-8f, -1e-8f})
    d.push_back(s);
  // Halfway points of the rounding of t = d log2(e) (k changes there).
  for (int k = -20; k <= 20; ++k) {
    const float d0 = float((k + 0.5) / std::log2(std::exp(1.0)));
    d.insert(d.end(), {d0, std::nextafter(d0, -kInf), std::nextafter(d0, kInf)});
  }
  return d;
}

TEST(Fp32Blocks, ExpMatchesModel) {
  std::vector<std::pair<uint32_t, uint32_t>> v, v0;
  for (float d : exp_inputs()) v.emplace_back(bits_of(d), bits_of(hw::fp32ref::exp(d)));
  run_ops(0, 1, v, "fp32_exp_pipe");
  // The combinational build simulates slowly (every operation re-evaluates on each input event).
  for (float d : exp_inputs(!kFull)) v0.emplace_back(bits_of(d), bits_of(hw::fp32ref::exp(d)));
  run_ops(0, 0, v0, "fp32_exp_comb");
}

// Every seed interval (start, end, random point) at a few exponents, every exponent class at a
// few mantissas, the specials and random patterns.
std::vector<float> newton_inputs(int index_shift) {
  std::mt19937_64 rng(kSeed + index_shift);
  std::vector<float> x;
  const uint32_t span = 1u << index_shift;
  for (uint32_t e : {1u, 127u, 128u, 254u})
    for (uint32_t i = 0; i < (1u << (23 - index_shift)); ++i)
      for (uint32_t m : {i * span, i * span + span - 1, i * span + uint32_t(rng() % span)})
        x.push_back(float_of((e << 23) | m));
  for (uint32_t e = 0; e <= 255; ++e)
    for (uint32_t m : {0u, 0x7fffffu, uint32_t(rng() & 0x7fffff)})
      for (uint32_t s : {0u, 1u}) x.push_back(float_of((s << 31) | (e << 23) | m));
  for (int i = 0; i < scaled(100, 5000); ++i) x.push_back(random_float(rng));
  return x;
}

TEST(Fp32Blocks, RecipMatchesModel) {
  std::vector<std::pair<uint32_t, uint32_t>> v;
  for (float x : newton_inputs(17)) v.emplace_back(bits_of(x), bits_of(hw::fp32ref::recip(x)));
  run_ops(1, 1, v, "fp32_recip");
}

TEST(Fp32Blocks, RsqrtMatchesModel) {
  std::vector<std::pair<uint32_t, uint32_t>> v;
  for (float x : newton_inputs(18)) v.emplace_back(bits_of(x), bits_of(hw::fp32ref::rsqrt(x)));
  run_ops(2, 1, v, "fp32_rsqrt");
}

TEST(Fp32Blocks, ConversionsMatchModel) {
  std::mt19937_64 rng(kSeed + 7);
  std::vector<float> xs = {0.0f, -0.0f, kInf, -kInf, std::numeric_limits<float>::quiet_NaN(), std::ldexp(1.0f, -130)};
  // Every halfway point of both output grids and its neighbours, then random values.
  for (int s : {8, 4})
    for (int k = -300; k <= 300; ++k) {
      const float h = std::ldexp(float(k) + 0.5f, -s);
      xs.insert(xs.end(), {h, std::nextafter(h, -kInf), std::nextafter(h, kInf), std::ldexp(float(k), -s)});
    }
  for (int i = 0; i < scaled(1000, 20000); ++i) xs.push_back(random_float(rng));
  std::vector<std::pair<uint32_t, uint32_t>> v9, v8;
  for (float x : xs) {
    v9.emplace_back(bits_of(x), uint32_t(hw::fp32ref::to_int(x, 8, 0, 255)));
    v8.emplace_back(bits_of(x), uint32_t(hw::fp32ref::to_int(x, 4, -128, 127)));
  }
  run_ops(3, 1, v9, "fp32_to_int_u8");
  run_ops(4, 1, v8, "fp32_to_int_s8");
  // int32 -> float at 2^-4: exact below 2^24, rounded to nearest even above (ties included).
  std::vector<int32_t> qs = {0, 1, -1, INT32_MIN, INT32_MAX, (1 << 24) + 1, (1 << 24) + 3, -(1 << 24) - 1, (1 << 25) + 2,
                             (1 << 25) + 6};
  for (int i = 0; i < scaled(1000, 20000); ++i) qs.push_back(int32_t(uint32_t(rng())) >> (rng() % 31));
  std::vector<std::pair<uint32_t, uint32_t>> vi;
  for (int32_t q : qs) vi.emplace_back(uint32_t(q), bits_of(from_int(q, 4)));
  run_ops(5, 1, vi, "fp32_from_int32");
}

// ------------------------------------------------------------------ the models' accuracy
TEST(Fp32Models, AccurateAgainstDouble) {
  double e_exp = 0, e_rcp = 0, e_rsq = 0;
  for (float d : exp_inputs()) {
    const double ref = std::exp(double(d));
    if (!(d <= 0 && d > -80)) continue;
    e_exp = std::max(e_exp, std::abs(double(hw::fp32ref::exp(d)) / ref - 1));
  }
  for (float x : newton_inputs(17)) {
    if (!(x > 1e-37f && x < 1e37f)) continue;
    e_rcp = std::max(e_rcp, std::abs(double(hw::fp32ref::recip(x)) * double(x) - 1));
    e_rsq = std::max(e_rsq, std::abs(double(hw::fp32ref::rsqrt(x)) * std::sqrt(double(x)) - 1));
  }
  // A few ulp (2^-23 = 1.2e-7): the polynomial's 2.4e-7 plus the rounding of t = d log2(e)
  // (up to |t| 2^-24 absolute, 80 log2(e) = 115 -> 7e-6 relative at the far end).
  EXPECT_LT(e_exp, 1e-5);
  EXPECT_LT(e_rcp, 3e-7);
  EXPECT_LT(e_rsq, 3e-7);
  EXPECT_EQ(hw::fp32ref::exp(-200.0f), 0.0f);
  EXPECT_EQ(bits_of(hw::fp32ref::recip(0.0f)), 0x7f800000u);
  EXPECT_EQ(bits_of(hw::fp32ref::rsqrt(-1.0f)), rtl::kCanonicalNan);
  // The seeds are 1 / the interval's midpoint, 9 bits: within 2^-6.9 of the true value on it.
  for (int i = 0; i < 64; ++i) {
    const double lo = 1 + i / 64.0, hi = 1 + (i + 1) / 64.0, y = hw::fp32ref::recip_seed(i) / 1024.0;
    EXPECT_LT(std::max(std::abs(y * lo - 1), std::abs(y * hi - 1)), 1.0 / 120) << i;  // 2^-6.9
    const int p = i >> 5, j = i & 31;
    const double a = (1 + j / 32.0) * (1 << p), b = (1 + (j + 1) / 32.0) * (1 << p),
                 z = hw::fp32ref::rsqrt_seed(i) / 1024.0;
    EXPECT_LT(std::max(std::abs(z * std::sqrt(a) - 1), std::abs(z * std::sqrt(b) - 1)), 1.0 / 118) << i;
  }
}

// ------------------------------------------------------------------ the units
std::vector<std::vector<int8_t>> edge_and_random_rows(int max_n, int random_rows, std::mt19937_64& rng) {
  std::vector<std::vector<int8_t>> rows;
  std::vector<int8_t> all;  // every int8 code once: every EXP-stage input u = M - q in [0, 255]
  for (int q = -128; q < 128; ++q) all.push_back(int8_t(q));
  std::shuffle(all.begin(), all.end(), rng);
  for (size_t i = 0; i < all.size(); i += size_t(max_n))
    rows.emplace_back(all.begin() + long(i), all.begin() + long(std::min(all.size(), i + size_t(max_n))));
  rows.push_back({int8_t(-128)});                          // length 1
  rows.push_back({int8_t(127)});
  rows.push_back(std::vector<int8_t>(size_t(max_n), 5));    // the maximum length, all equal
  rows.push_back(std::vector<int8_t>(size_t(max_n), -128));  // all -128
  std::vector<int8_t> spike(size_t(max_n), -128);
  spike[size_t(max_n) / 3] = 127;
  rows.push_back(spike);  // one spike
  for (int r = 0; r < random_rows; ++r) {
    const size_t n = 1 + size_t(rng() % size_t(max_n));
    const int sd = 4 + int(rng() % 40);
    std::normal_distribution<double> d(0, sd);
    std::vector<int8_t> row(n);
    for (auto& v : row) v = int8_t(std::clamp(std::lround(d(rng)), -128L, 127L));
    rows.push_back(row);
  }
  return rows;
}

class Fp32Softmax : public ::testing::TestWithParam<bool> {};

TEST_P(Fp32Softmax, MatchesModelBitExact) {
  const bool pipe = GetParam();
  hw::Fp32SoftmaxConfig c;
  c.max_n = pipe ? 64 : 16;  // the combinational build simulates slowly: short rows
  c.pipeline = pipe;
  hw::VerilogUnit u = hw::fp32_softmax_unit(c, kRtl);
  hw::LintResult l = lint_unit(u, fmt::format("lint_softmax_fp32_p{}", pipe));
  EXPECT_TRUE(l.clean()) << l.log;
  std::mt19937_64 rng(kSeed + pipe);
  hw::StreamCheck chk;
  chk.q = edge_and_random_rows(c.max_n, pipe ? scaled(15, 1000) : scaled(2, 50), rng);
  for (const auto& row : chk.q) {
    std::vector<uint8_t> out(row.size());
    hw::fp32_softmax_row(c, row.data(), out.data(), row.size());
    chk.expected.emplace_back(out.begin(), out.end());
  }
  // With random valid/ready gaps, then at full rate.
  hw::test::expect_stream_passes(u, false, chk, fmt::format("softmax_fp32_p{}", pipe), kSeed, pipe || kFull);
}

TEST_P(Fp32Softmax, OtherScales) {
  // in 2^-0 (u up to 255: exp underflows to 0 for part of the row) and out 2^-7.
  hw::Fp32SoftmaxConfig c;
  c.max_n = 16;
  c.in_frac = 0;
  c.out_frac = 7;
  c.pipeline = GetParam();
  if (!c.pipeline && !kFull) GTEST_SKIP() << "combinational build: with GQALUT_HW_FULL=1";
  std::mt19937_64 rng(kSeed + 11);
  hw::StreamCheck chk;
  chk.q = edge_and_random_rows(c.max_n, scaled(10, 300), rng);
  for (const auto& row : chk.q) {
    std::vector<uint8_t> out(row.size());
    hw::fp32_softmax_row(c, row.data(), out.data(), row.size());
    chk.expected.emplace_back(out.begin(), out.end());
  }
  hw::SimResult r = hw::simulate_stream(hw::fp32_softmax_unit(c, kRtl), false, chk, kRtl,
                                        sim_options(fmt::format("softmax_fp32_i0_p{}", GetParam())), kSeed + 1);
  EXPECT_TRUE(r.passed()) << r.summary() << "\n" << r.compile_log << r.log;
}

INSTANTIATE_TEST_SUITE_P(Pipe, Fp32Softmax, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "pipelined" : "combinational"; });

class Fp32LayerNorm : public ::testing::TestWithParam<bool> {};

hw::StreamCheck layernorm_check(const hw::Fp32LayerNormConfig& c, std::vector<std::vector<int8_t>> rows,
                                std::mt19937_64& rng) {
  hw::StreamCheck chk;
  chk.q = std::move(rows);
  std::normal_distribution<double> g(1.0, 0.3), b(0.0, 0.5);
  for (size_t r = 0; r < chk.q.size(); ++r) {
    const auto& q = chk.q[r];
    std::vector<int8_t> gamma(q.size());
    std::vector<int32_t> beta(q.size());
    for (size_t i = 0; i < q.size(); ++i) {
      gamma[i] = int8_t(std::clamp(std::lround(std::ldexp(g(rng), c.gamma_frac)), -128L, 127L));
      beta[i] = int32_t(std::lround(std::ldexp(b(rng), c.out_frac)));
      if (r % 7 == 3 && i % 5 == 0) beta[i] = int32_t(uint32_t(rng()));  // int32 extremes: saturation, rounding
      if (r % 7 == 4 && i % 3 == 0) gamma[i] = int8_t(rng() & 1 ? -128 : 127);
    }
    chk.gamma.push_back(gamma);
    chk.beta.push_back(beta);
    std::vector<int8_t> out(q.size());
    hw::fp32_layernorm_row(c, q.data(), gamma.data(), beta.data(), out.data(), q.size());
    chk.expected.emplace_back(out.begin(), out.end());
  }
  return chk;
}

TEST_P(Fp32LayerNorm, MatchesModelBitExact) {
  const bool pipe = GetParam();
  hw::Fp32LayerNormConfig c;
  c.max_n = pipe ? 64 : 32;
  c.pipeline = pipe;
  hw::VerilogUnit u = hw::fp32_layernorm_unit(c, kRtl);
  hw::LintResult l = lint_unit(u, fmt::format("lint_layernorm_fp32_p{}", pipe));
  EXPECT_TRUE(l.clean()) << l.log;
  std::mt19937_64 rng(kSeed + 20 + pipe);
  hw::StreamCheck chk =
      layernorm_check(c, edge_and_random_rows(c.max_n, pipe ? scaled(15, 1000) : scaled(8, 200), rng), rng);
  hw::test::expect_stream_passes(u, true, chk, fmt::format("layernorm_fp32_p{}", pipe), kSeed, pipe || kFull);
}

TEST_P(Fp32LayerNorm, OtherScalesAndEps) {
  hw::Fp32LayerNormConfig c;
  c.max_n = 16;
  c.in_frac = 2;
  c.gamma_frac = 7;
  c.out_frac = 6;
  c.eps = 0.25f;
  c.pipeline = GetParam();
  std::mt19937_64 rng(kSeed + 30);
  hw::StreamCheck chk = layernorm_check(c, edge_and_random_rows(c.max_n, scaled(10, 300), rng), rng);
  hw::SimResult r = hw::simulate_stream(hw::fp32_layernorm_unit(c, kRtl), true, chk, kRtl,
                                        sim_options(fmt::format("layernorm_fp32_i2_p{}", GetParam())), kSeed + 2);
  EXPECT_TRUE(r.passed()) << r.summary() << "\n" << r.compile_log << r.log;
}

INSTANTIATE_TEST_SUITE_P(Pipe, Fp32LayerNorm, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "pipelined" : "combinational"; });

// ------------------------------------------------------------------ re-streamed (issue 16)
// RESTREAM = 1: no row buffer, the testbench sends each row 3 (softmax) / 2 (LayerNorm) times,
// LayerNorm's first pass with random gamma and beta; the same model, bit for bit, with random
// valid/ready gaps and at full rate; lint clean. The buffered units keep their names and text.
TEST(Fp32Units, RestreamedSoftmaxMatchesModelBitExact) {
  for (bool pipe : {true, false}) {
    hw::Fp32SoftmaxConfig c;
    c.max_n = pipe ? 16 : 8;
    c.pipeline = pipe;
    c.restream = true;
    const hw::VerilogUnit u = hw::fp32_softmax_unit(c, kRtl);
    EXPECT_EQ(u.top, fmt::format("ref_softmax_fp32_n{}_i4_o8_p{}_r1", c.max_n, pipe ? 1 : 0));
    hw::LintResult l = lint_unit(u, fmt::format("lint_softmax_fp32_p{}_r1", pipe));
    EXPECT_TRUE(l.clean()) << l.log;
    std::mt19937_64 rng(kSeed + 40 + pipe);
    hw::StreamCheck chk;
    chk.q = edge_and_random_rows(c.max_n, pipe ? scaled(15, 1000) : scaled(4, 100), rng);
    for (const auto& row : chk.q) {
      std::vector<uint8_t> out(row.size());
      hw::fp32_softmax_row(c, row.data(), out.data(), row.size());
      chk.expected.emplace_back(out.begin(), out.end());
    }
    chk.passes = 3;
    hw::test::expect_stream_passes(u, false, chk, fmt::format("softmax_fp32_p{}_r1", pipe), kSeed + 3);
    // Each row sent once: the unit takes the next rows as its passes 2 and 3 (wrong outputs) and
    // at the end waits for passes that never come: the testbench's watchdog ends the run.
    chk.passes = 1;
    const hw::SimResult once =
        hw::simulate_stream(u, false, chk, kRtl, sim_options(fmt::format("softmax_fp32_p{}_r1_once", pipe)), kSeed);
    EXPECT_FALSE(once.passed());
    EXPECT_NE(once.log.find("FAIL: watchdog: no beat moved for 10000 cycles"), std::string::npos) << once.log;
  }
  hw::Fp32SoftmaxConfig b;
  const hw::VerilogUnit ub = hw::fp32_softmax_unit(b, kRtl);
  EXPECT_EQ(ub.top, "ref_softmax_fp32_n256_i4_o8_p1");
  EXPECT_EQ(ub.files.back().second.find("RESTREAM"), std::string::npos);
}

// The FP32 softmax at L lanes (softmax_fp32_lanes): lint clean; bit-exact with the model at the
// same lanes (per-lane sums combined in lane order) on the edge rows and random rows of lengths
// 1..max_n (partial last beats), with random valid/ready gaps and at full rate, buffered and
// re-streamed; L = 3 with max_n not a multiple of L, L = 16.
hw::StreamCheck fp32_softmax_lanes_check(const hw::Fp32SoftmaxConfig& c, int random_rows, std::mt19937_64& rng) {
  hw::StreamCheck chk;
  chk.q = edge_and_random_rows(c.max_n, random_rows, rng);
  for (int n = 1; n <= std::min(c.max_n, 3 * c.lanes + 1); ++n) {  // every partial last beat
    std::vector<int8_t> row(static_cast<size_t>(n));
    for (auto& v : row) v = int8_t(int(rng() % 256) - 128);
    chk.q.push_back(row);
  }
  for (const auto& row : chk.q) {
    std::vector<uint8_t> out(row.size());
    hw::fp32_softmax_row(c, row.data(), out.data(), row.size());
    chk.expected.emplace_back(out.begin(), out.end());
  }
  chk.lanes = c.lanes;
  return chk;
}

TEST(Fp32Units, LanesSoftmaxMatchesModelBitExact) {
  struct Case {
    int lanes, max_n;
    bool pipe, restream;
  };
  for (const Case k : {Case{4, 64, true, false}, Case{4, 16, true, true}, Case{4, 16, false, false},
                       Case{4, 8, false, true}, Case{3, 10, true, false}, Case{16, 40, true, false}}) {
    hw::Fp32SoftmaxConfig c;
    c.lanes = k.lanes;
    c.max_n = k.max_n;
    c.pipeline = k.pipe;
    c.restream = k.restream;
    const hw::VerilogUnit u = hw::fp32_softmax_unit(c, kRtl);
    const std::string tag = fmt::format("softmax_fp32_l{}_n{}_p{}_r{}", k.lanes, k.max_n, k.pipe, k.restream);
    EXPECT_EQ(u.top, fmt::format("ref_softmax_fp32_n{}_i4_o8_p{}_l{}{}", k.max_n, k.pipe ? 1 : 0, k.lanes,
                                 k.restream ? "_r1" : ""));
    hw::LintResult l = lint_unit(u, "lint_" + tag);
    EXPECT_TRUE(l.clean()) << tag << "\n" << l.log;
    std::mt19937_64 rng(kSeed + 60 + uint64_t(k.lanes) + uint64_t(k.max_n));
    hw::StreamCheck chk = fp32_softmax_lanes_check(c, k.pipe ? scaled(15, 500) : scaled(4, 100), rng);
    chk.passes = k.restream ? 3 : 1;
    hw::test::expect_stream_passes(u, false, chk, tag, kSeed + 5, k.pipe || kFull);
  }
}

// The model at L lanes: lane j sums elements j, j + L, ... in order, then the lanes in order; at
// 1 lane (the default) the single in-order sum (both written out here); lanes outside [1, 16]
// are refused.
TEST(Fp32Units, LanesSoftmaxModelSumsPerLane) {
  hw::Fp32SoftmaxConfig one, four;
  four.lanes = 4;
  EXPECT_EQ(one.lanes, 1);
  std::mt19937_64 rng(kSeed + 70);
  for (int r = 0; r < 400; ++r) {
    const size_t n = 1 + size_t(rng() % 256);
    std::vector<int8_t> q(n);
    for (auto& v : q) v = int8_t(int(rng() % 64) - 32);
    std::vector<uint8_t> a(n), b(n), ref(n);
    hw::fp32_softmax_row(one, q.data(), a.data(), n);
    hw::fp32_softmax_row(four, q.data(), b.data(), n);
    // the 4-lane reference written out: M, the exps, per-lane sums, lane order, recip, outputs
    float m = hw::fp32ref::from_int(q[0], 4);
    for (size_t i = 1; i < n; ++i)
      if (!rtl::fp32_ge(m, hw::fp32ref::from_int(q[i], 4))) m = hw::fp32ref::from_int(q[i], 4);
    std::vector<float> e(n);
    float s4[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < n; ++i) {
      e[i] = hw::fp32ref::exp(rtl::fp32_add(hw::fp32ref::from_int(q[i], 4), -m));
      s4[i % 4] = rtl::fp32_add(s4[i % 4], e[i]);
    }
    const float s = rtl::fp32_add(rtl::fp32_add(rtl::fp32_add(s4[0], s4[1]), s4[2]), s4[3]);
    const float rc = hw::fp32ref::recip(s);
    for (size_t i = 0; i < n; ++i) ref[i] = uint8_t(hw::fp32ref::to_int(rtl::fp32_mul(e[i], rc), 8, 0, 255));
    EXPECT_EQ(b, ref) << "row " << r;
    // and the 1-lane model is the single in-order sum
    float s1 = 0.0f;
    for (size_t i = 0; i < n; ++i) s1 = rtl::fp32_add(s1, e[i]);
    const float rc1 = hw::fp32ref::recip(s1);
    for (size_t i = 0; i < n; ++i) ref[i] = uint8_t(hw::fp32ref::to_int(rtl::fp32_mul(e[i], rc1), 8, 0, 255));
    EXPECT_EQ(a, ref) << "row " << r;
  }
  for (int bad : {0, 17}) {
    hw::Fp32SoftmaxConfig c;
    c.lanes = bad;
    EXPECT_THROW(hw::fp32_softmax_unit(c, kRtl), std::invalid_argument);
  }
}

// LANES = 1 stays the 1-lane unit: module softmax_fp32, the wrapper's text as before lanes.
TEST(Fp32Units, OneLaneSoftmaxWrapperUnchanged) {
  hw::Fp32SoftmaxConfig c;
  c.max_n = 16;
  const hw::VerilogUnit u = hw::fp32_softmax_unit(c, kRtl);
  EXPECT_EQ(u.top, "ref_softmax_fp32_n16_i4_o8_p1");
  EXPECT_EQ(u.files.back().second,
            "// Generated by gqalut (gqalut/hw/reference_units.hpp): softmax_fp32 with its parameters set.\n"
            "`timescale 1ns / 1ps\n"
            "module ref_softmax_fp32_n16_i4_o8_p1 (\n"
            "  input  wire        clk,\n  input  wire        rst,\n  input  wire        in_valid,\n"
            "  output wire        in_ready,\n  input  wire [7:0]  in_q,\n  input  wire        in_last,\n"
            "  output wire        out_valid,\n  input  wire        out_ready,\n  output wire [7:0]  out_p,\n"
            "  output wire        out_last\n);\n"
            "  softmax_fp32 #(.MAXN(16), .IN_FRAC(4), .OUT_FRAC(8), .PIPE(1)) u_unit (.clk(clk), .rst(rst), "
            ".in_valid(in_valid), .in_ready(in_ready), .in_q(in_q),\n"
            "    .in_last(in_last), .out_valid(out_valid), .out_ready(out_ready), .out_p(out_p), "
            ".out_last(out_last));\n"
            "endmodule\n");
}

TEST(Fp32Units, RestreamedLayerNormMatchesModelBitExact) {
  for (bool pipe : {true, false}) {
    hw::Fp32LayerNormConfig c;
    c.max_n = pipe ? 16 : 8;
    c.pipeline = pipe;
    c.restream = true;
    const hw::VerilogUnit u = hw::fp32_layernorm_unit(c, kRtl);
    EXPECT_EQ(u.top.substr(u.top.size() - 6), fmt::format("_p{}_r1", pipe ? 1 : 0));
    hw::LintResult l = lint_unit(u, fmt::format("lint_layernorm_fp32_p{}_r1", pipe));
    EXPECT_TRUE(l.clean()) << l.log;
    std::mt19937_64 rng(kSeed + 50 + pipe);
    hw::StreamCheck chk =
        layernorm_check(c, edge_and_random_rows(c.max_n, pipe ? scaled(15, 1000) : scaled(4, 100), rng), rng);
    chk.passes = 2;
    hw::test::expect_stream_passes(u, true, chk, fmt::format("layernorm_fp32_p{}_r1", pipe), kSeed + 4);
  }
  hw::Fp32LayerNormConfig b;
  const hw::VerilogUnit ub = hw::fp32_layernorm_unit(b, kRtl);
  EXPECT_EQ(ub.top, "ref_layernorm_fp32_n256_i4_g6_o4_e3727c5ac_p1");
  EXPECT_EQ(ub.files.back().second.find("RESTREAM"), std::string::npos);
}

// The FP32 LayerNorm at L lanes (layernorm_fp32_lanes): lint clean; bit-exact with the model at
// the same lanes (per-lane Sx / Sxx combined in lane order) on the edge rows, every length
// 1..3L+1 and random rows of lengths 1..max_n, random gamma / beta (int32 extremes), with random
// valid/ready gaps and at full rate, buffered and re-streamed; L = 3 with max_n not a multiple.
TEST(Fp32Units, LanesLayerNormMatchesModelBitExact) {
  struct Case {
    int lanes, max_n;
    bool pipe, restream;
  };
  for (const Case k : {Case{4, 64, true, false}, Case{4, 16, true, true}, Case{4, 16, false, false},
                       Case{4, 8, false, true}, Case{3, 10, true, false}}) {
    hw::Fp32LayerNormConfig c;
    c.lanes = k.lanes;
    c.max_n = k.max_n;
    c.pipeline = k.pipe;
    c.restream = k.restream;
    const hw::VerilogUnit u = hw::fp32_layernorm_unit(c, kRtl);
    const std::string tag = fmt::format("layernorm_fp32_l{}_n{}_p{}_r{}", k.lanes, k.max_n, k.pipe, k.restream);
    EXPECT_EQ(u.top, fmt::format("ref_layernorm_fp32_n{}_i4_g6_o4_e3727c5ac_p{}_l{}{}", k.max_n, k.pipe ? 1 : 0,
                                 k.lanes, k.restream ? "_r1" : ""));
    hw::LintResult l = lint_unit(u, "lint_" + tag);
    EXPECT_TRUE(l.clean()) << tag << "\n" << l.log;
    std::mt19937_64 rng(kSeed + 80 + uint64_t(k.lanes) + uint64_t(k.max_n));
    auto rows = edge_and_random_rows(c.max_n, k.pipe ? scaled(15, 500) : scaled(4, 100), rng);
    for (int n = 1; n <= std::min(c.max_n, 3 * c.lanes + 1); ++n) {  // every partial last beat
      std::vector<int8_t> row(static_cast<size_t>(n));
      for (auto& v : row) v = int8_t(int(rng() % 256) - 128);
      rows.push_back(row);
    }
    hw::StreamCheck chk = layernorm_check(c, std::move(rows), rng);
    chk.lanes = k.lanes;
    chk.passes = k.restream ? 2 : 1;
    hw::test::expect_stream_passes(u, true, chk, tag, kSeed + 6, k.pipe || kFull);
  }
  hw::Fp32LayerNormConfig one;  // 1 lane: layernorm_fp32 as before
  const hw::VerilogUnit u1 = hw::fp32_layernorm_unit(one, kRtl);
  EXPECT_EQ(u1.top, "ref_layernorm_fp32_n256_i4_g6_o4_e3727c5ac_p1");
  EXPECT_NE(u1.files.back().second.find("  layernorm_fp32 #(.MAXN(256), .IN_FRAC(4), .GAMMA_FRAC(6), .OUT_FRAC(4), "
                                        ".EPS(32'h3727c5ac), .PIPE(1)) u_unit"),
            std::string::npos);
  EXPECT_EQ(u1.files.back().second.find("keep"), std::string::npos);
}

// The LayerNorm model at L lanes against the order written out (Sx_j, Sxx_j per lane, then lane
// order; the rest as the 1-lane model), for 1 and 4 lanes.
TEST(Fp32Units, LanesLayerNormModelSumsPerLane) {
  std::mt19937_64 rng(kSeed + 90);
  for (int lanes : {1, 4}) {
    hw::Fp32LayerNormConfig c;
    c.lanes = lanes;
    for (int r = 0; r < 300; ++r) {
      const size_t n = 1 + size_t(rng() % 256);
      std::vector<int8_t> q(n), g(n), y(n), ref(n);
      std::vector<int32_t> b(n);
      for (size_t i = 0; i < n; ++i) {
        q[i] = int8_t(int(rng() % 256) - 128);
        g[i] = int8_t(int(rng() % 256) - 128);
        b[i] = int32_t(int(rng() % 512) - 256);
      }
      hw::fp32_layernorm_row(c, q.data(), g.data(), b.data(), y.data(), n);
      std::vector<float> ax(size_t(lanes), 0.0f), axx(size_t(lanes), 0.0f);
      for (size_t i = 0; i < n; ++i) {
        const float x = hw::fp32ref::from_int(q[i], 4);
        ax[i % size_t(lanes)] = rtl::fp32_add(ax[i % size_t(lanes)], x);
        axx[i % size_t(lanes)] = rtl::fp32_add(axx[i % size_t(lanes)], rtl::fp32_mul(x, x));
      }
      float sx = ax[0], sxx = axx[0];
      for (size_t j = 1; j < size_t(lanes); ++j) {
        sx = rtl::fp32_add(sx, ax[j]);
        sxx = rtl::fp32_add(sxx, axx[j]);
      }
      const float rn = hw::fp32ref::recip(float(n));
      const float mean = rtl::fp32_mul(sx, rn);
      float var = rtl::fp32_add(rtl::fp32_mul(sxx, rn), -rtl::fp32_mul(mean, mean));
      if (std::signbit(var)) var = 0.0f;
      const float rs = hw::fp32ref::rsqrt(rtl::fp32_add(var, c.eps));
      for (size_t i = 0; i < n; ++i) {
        const float d = rtl::fp32_add(hw::fp32ref::from_int(q[i], 4), -mean);
        const float w = rtl::fp32_add(rtl::fp32_mul(rtl::fp32_mul(d, rs), hw::fp32ref::from_int(g[i], 6)),
                                      hw::fp32ref::from_int(b[i], 4));
        ref[i] = int8_t(hw::fp32ref::to_int(w, 4, -128, 127));
      }
      EXPECT_EQ(y, ref) << "lanes " << lanes << " row " << r;
    }
  }
  for (int bad : {0, 17}) {
    hw::Fp32LayerNormConfig c;
    c.lanes = bad;
    EXPECT_THROW(hw::fp32_layernorm_unit(c, kRtl), std::invalid_argument);
  }
}

TEST(Fp32Units, BadConfigurationsAreRefused) {
  hw::Fp32SoftmaxConfig s;
  s.in_frac = 16;
  EXPECT_THROW(hw::fp32_softmax_unit(s, kRtl), std::invalid_argument);
  hw::Fp32LayerNormConfig l;
  l.eps = 0;
  EXPECT_THROW(hw::fp32_layernorm_unit(l, kRtl), std::invalid_argument);
  hw::Fp32SoftmaxConfig ok;
  std::vector<int8_t> q(300, 0);
  std::vector<uint8_t> out(300);
  EXPECT_THROW(hw::fp32_softmax_row(ok, q.data(), out.data(), 300), std::invalid_argument);  // > max_n
  EXPECT_THROW(hw::fp32_softmax_row(ok, q.data(), out.data(), 0), std::invalid_argument);
}

// ------------------------------------------------------------------ error on the `gqalut ops` rows
// The generic measurement equals intops_measure's on the integer operation (same rows, same
// definitions), and the FP32 units' errors are at the output format's floor.
TEST(Fp32Units, ErrorOnOpsRows) {
  const size_t n = 197;
  const Rows rows = normal_logit_rows(n, 8, 1 * 1000003 + n);
  const SoftmaxPlan plan = prepare_softmax(fit_int8_optimum("exp2m1", 8, {8}), fit_int8_optimum("reci", 8, {5}), 4, 8);
  const OpErrorStats a = measure_softmax(plan, rows, false, Isa::scalar);
  const OpErrorStats b = hw::measure_softmax_rows(
      [&](const int8_t* q, uint8_t* out, size_t m) { softmax_row(plan, q, out, m, Isa::scalar); }, 4, 8, rows);
  EXPECT_EQ(a.points, b.points);
  EXPECT_DOUBLE_EQ(a.max_err_lsb, b.max_err_lsb);
  EXPECT_DOUBLE_EQ(a.mean_err_lsb, b.mean_err_lsb);

  hw::Fp32SoftmaxConfig c;
  c.max_n = 4096;
  const OpErrorStats f = hw::measure_softmax_rows(
      [&](const int8_t* q, uint8_t* out, size_t m) { hw::fp32_softmax_row(c, q, out, m); }, 4, 8, rows);
  EXPECT_LE(f.max_err_lsb, 0.5 + 1e-3);
  EXPECT_NEAR(f.mean_err_lsb, f.floor_mean_err_lsb, 1e-3);

  const LayerNormPlan lp = prepare_layernorm(fit_int8_optimum("rsqrt", 8, {5}), 4, 4, 6, 1e-5);
  const Rows lrows = layernorm_rows(n, 8, 1 * 1000003 + n);
  const OpErrorStats la = measure_layernorm(lp, lrows, 1, Isa::scalar);
  const OpErrorStats lb = hw::measure_layernorm_rows(
      [&](const int8_t* q, const int8_t* g, const int32_t* be, int8_t* out, size_t m) {
        layernorm_row(lp, q, g, be, out, m, Isa::scalar);
      },
      4, 6, 4, 1e-5, lrows, 1);
  EXPECT_DOUBLE_EQ(la.max_err_lsb, lb.max_err_lsb);
  EXPECT_DOUBLE_EQ(la.mean_err_lsb, lb.mean_err_lsb);
  hw::Fp32LayerNormConfig lc;
  lc.max_n = 4096;
  // The row sets of `gqalut ops` (40 rows per length), printed for docs/hw_reference_units.md.
  for (size_t len : {size_t{197}, size_t{768}, size_t{3072}}) {
    const OpErrorStats s = hw::test::ops_softmax_error(&hw::fp32_softmax_row, c, len);
    const OpErrorStats pk = hw::test::ops_softmax_error(&hw::fp32_softmax_row, c, len, /*peaked=*/true);
    const OpErrorStats lf = hw::test::ops_layernorm_error(&hw::fp32_layernorm_row, lc, len);
    fmt::print("FP32 n={}: softmax normal max {:.3f} mean {:.4f} (floor {:.3f} / {:.4f}) | peaked max {:.3f} mean "
               "{:.4f} | layernorm max {:.3f} mean {:.4f} (floor {:.3f} / {:.4f})\n",
               len, s.max_err_lsb, s.mean_err_lsb, s.floor_max_err_lsb, s.floor_mean_err_lsb, pk.max_err_lsb,
               pk.mean_err_lsb, lf.max_err_lsb, lf.mean_err_lsb, lf.floor_max_err_lsb, lf.floor_mean_err_lsb);
    EXPECT_LE(s.max_err_lsb, 0.5 + 1e-3);
    EXPECT_LE(lf.max_err_lsb, 0.5 + 1e-3);
  }
}

// The registry's kinds (src/hw/units.def): build, verify in their own testbench, measure.
TEST(Fp32Units, RegistryKinds) { hw::test::expect_reference_kinds_build({"softmax-fp32", "layernorm-fp32"}); }

}  // namespace
}  // namespace gqalut
