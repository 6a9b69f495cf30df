// The INT32 and FP32 reference designs (rtl/lut_int32.v, rtl/lut_fp32.v; the
// area baselines of docs/hardware.md): lint with verilator -Wall, then replay
// random tables and inputs (plus edge cases) against their C++ models in
// rtl/models.hpp, bit for bit. The seed is printed for replay.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "rtl/models.hpp"
#include "tests/rtl/rtl_util.hpp"

namespace gqalut {
namespace {

using rtl_test::fs::path;
constexpr uint32_t kSeed = 20240328;

// One command of tb_lut_*.v: {op[7:0], addr[23:0], a[31:0], b[63:0]}.
std::string write_cmd(uint32_t addr, uint32_t data) { return fmt::format("01{:06x}{:08x}{:016x}\n", addr, data, 0); }
std::string check_cmd(uint32_t in, uint64_t expected) { return fmt::format("02{:06x}{:08x}{:016x}\n", 0, in, expected); }

int index_bits(int k) {
  int b = 1;
  while ((1 << b) < k) ++b;
  return b;
}

std::string run_reference(const std::string& unit, int K, bool outreg, const std::string& cmds, size_t n_checks) {
  path dir = rtl_test::scratch(fmt::format("ref_{}_k{}_{}", unit, K, outreg ? "reg" : "comb"));
  rtl_test::write_file(dir / "cmds.hex", cmds);
  std::string rtl = GQALUT_RTL_DIR;
  std::vector<std::string> src = {rtl + "/lut_" + unit + ".v"};
  if (unit == "fp32")
    for (const char* m : {"fp32_ge", "fp32_mul", "fp32_add"}) src.push_back(rtl + "/" + m + ".v");
  auto l = rtl_test::lint(dir, src, "lut_" + unit, fmt::format("-GK={} -GOUTREG={}", K, outreg ? 1 : 0));
  EXPECT_EQ(l.status, 0) << "verilator -Wall:\n" << l.log;
  src.push_back(rtl + "/tb_lut_" + unit + ".v");
  auto r = rtl_test::simulate(dir, src, fmt::format("-s tb_lut_{0} -Ptb_lut_{0}.K={1} -Ptb_lut_{0}.OUTREG={2}", unit, K,
                                                    outreg ? 1 : 0));
  EXPECT_TRUE(rtl_test::passed(r)) << "seed " << kSeed << "\n" << r.log;
  EXPECT_NE(r.log.find(fmt::format("PASS: {} checks", n_checks)), std::string::npos) << r.log;
  return r.log;
}

struct Shape {
  int K;
  bool outreg;
};
class Reference : public ::testing::TestWithParam<Shape> {};

TEST_P(Reference, Int32MatchesModel) {
  const auto [K, outreg] = GetParam();
  std::mt19937_64 rng(kSeed + K);
  std::uniform_int_distribution<int64_t> any(INT32_MIN, INT32_MAX), small(-300, 300);
  const int I = index_bits(K);
  std::string cmds;
  size_t checks = 0;
  for (int load = 0; load < 3; ++load) {
    rtl::Int32Table t;
    for (int i = 0; i + 1 < K; ++i) t.bp.push_back(int32_t(load == 1 ? small(rng) : any(rng)));
    std::sort(t.bp.begin(), t.bp.end());
    if (K > 3) t.bp[2] = t.bp[1];  // an empty segment
    for (int i = 0; i < K; ++i) {
      t.ks.push_back(int32_t(load == 1 ? small(rng) : any(rng)));
      t.bs.push_back(int32_t(any(rng)));
    }
    t.sk = unsigned(rng() % 4);
    t.sb = unsigned(rng() % 8);
    for (int i = 0; i + 1 < K; ++i) cmds += write_cmd((0u << I) | i, uint32_t(t.bp[i]));
    for (int i = 0; i < K; ++i) cmds += write_cmd((1u << I) | i, uint32_t(t.ks[i]));
    for (int i = 0; i < K; ++i) cmds += write_cmd((2u << I) | i, uint32_t(t.bs[i]));
    cmds += write_cmd(3u << I, t.sk);
    cmds += write_cmd((3u << I) | 1, t.sb);
    std::vector<int32_t> xs = {INT32_MIN, INT32_MAX, 0, -1, 1};
    for (int32_t p : t.bp)
      for (int64_t d : {-1, 0, 1}) xs.push_back(int32_t(std::clamp<int64_t>(int64_t{p} + d, INT32_MIN, INT32_MAX)));
    for (int j = 0; j < 200; ++j) xs.push_back(int32_t(load == 1 ? small(rng) : any(rng)));
    for (int32_t x : xs) {
      cmds += check_cmd(uint32_t(x), uint64_t(rtl::int32_unit(t, x)));
      ++checks;
    }
  }
  run_reference("int32", K, outreg, cmds, checks);
}

float random_float(std::mt19937_64& rng) {
  switch (rng() % 4) {
    case 0:  // any bit pattern: every class, subnormals, inf and NaN included
      return rtl::float_of(uint32_t(rng()));
    case 1: {  // moderate magnitudes
      std::uniform_real_distribution<float> u(-8.f, 8.f);
      return u(rng);
    }
    case 2: {  // huge or tiny magnitudes: overflow and underflow paths
      int e = int(rng() % 60) - 30;
      float m = 1.0f + float(rng() % (1u << 23)) / float(1u << 23);
      float v = std::ldexp(m, e > 0 ? 100 + e : -100 + e);
      return (rng() & 1) ? -v : v;
    }
    default: {  // few-bit values, like the INT8 tables' coefficients
      float v = std::ldexp(float(int(rng() % 255) - 127), -int(rng() % 8));
      return v;
    }
  }
}

TEST_P(Reference, Fp32MatchesModel) {
  const auto [K, outreg] = GetParam();
  std::mt19937_64 rng(kSeed + 100 + K);
  const int I = index_bits(K);
  std::string cmds;
  size_t checks = 0;
  const float inf = std::numeric_limits<float>::infinity();
  for (int load = 0; load < 4; ++load) {
    rtl::Fp32Table t;
    for (int i = 0; i + 1 < K; ++i) t.bp.push_back(load == 0 ? float(int(rng() % 17) - 8) * 0.5f : random_float(rng));
    std::sort(t.bp.begin(), t.bp.end(), [](float a, float b) { return rtl::bits_of(a) < rtl::bits_of(b); });
    if (load == 0 && K > 3) {
      t.bp[1] = -0.0f;  // -0 and +0 are equal breakpoints
      t.bp[2] = 0.0f;
    }
    for (int i = 0; i < K; ++i) {
      t.ks.push_back(random_float(rng));
      t.bs.push_back(random_float(rng));
    }
    if (load == 3) {  // special coefficients: inf, NaN, zero, subnormal
      t.ks[0] = inf;
      t.bs[1] = -inf;
      t.ks[2 % K] = std::numeric_limits<float>::quiet_NaN();
      t.ks[3 % K] = 0.0f;
      t.bs[4 % K] = std::ldexp(1.0f, -140);
    }
    for (int i = 0; i + 1 < K; ++i) cmds += write_cmd((0u << I) | i, rtl::bits_of(t.bp[i]));
    for (int i = 0; i < K; ++i) cmds += write_cmd((1u << I) | i, rtl::bits_of(t.ks[i]));
    for (int i = 0; i < K; ++i) cmds += write_cmd((2u << I) | i, rtl::bits_of(t.bs[i]));
    std::vector<float> xs = {0.0f, -0.0f, inf, -inf, std::numeric_limits<float>::quiet_NaN(),
                             std::ldexp(1.0f, -130), -std::ldexp(1.0f, -149), std::numeric_limits<float>::max(),
                             std::numeric_limits<float>::min()};
    for (float p : t.bp) xs.insert(xs.end(), {p, std::nextafter(p, -inf), std::nextafter(p, inf)});
    // Cancellation: x near -B/K makes K*x + B nearly vanish.
    for (int i = 0; i < K; ++i) {
      float r = -t.bs[i] / t.ks[i];
      if (std::isfinite(r)) xs.insert(xs.end(), {r, std::nextafter(r, -inf), std::nextafter(r, inf)});
    }
    for (int j = 0; j < 400; ++j) xs.push_back(random_float(rng));
    for (float x : xs) {
      cmds += check_cmd(rtl::bits_of(x), rtl::fp32_unit(t, x));
      ++checks;
    }
  }
  run_reference("fp32", K, outreg, cmds, checks);
}

INSTANTIATE_TEST_SUITE_P(Shapes, Reference,
                         ::testing::Values(Shape{8, false}, Shape{8, true}, Shape{16, false}, Shape{16, true}),
                         [](const ::testing::TestParamInfo<Shape>& i) {
                           return fmt::format("k{}_{}", i.param.K, i.param.outreg ? "reg" : "comb");
                         });

// Spot checks of the FP32 model itself against hand-computed IEEE results.
TEST(Fp32Model, RoundingAndFlushes) {
  using rtl::fp32_add;
  using rtl::fp32_mul;
  // 1 + 2^-24 is a tie: even -> 1; 1 + 3*2^-24 -> 1 + 2^-22.
  EXPECT_EQ(fp32_add(1.0f, std::ldexp(1.0f, -24)), 1.0f);
  EXPECT_EQ(fp32_add(1.0f, 3 * std::ldexp(1.0f, -24)), 1.0f + std::ldexp(1.0f, -22));
  // Underflow: a product below 2^-126 flushes to a signed zero.
  float z = fp32_mul(-std::ldexp(1.0f, -100), std::ldexp(1.0f, -30));
  EXPECT_EQ(z, 0.0f);
  EXPECT_TRUE(std::signbit(z));
  // A product just below 2^-126 that rounds up to it stays normal.
  float a = std::ldexp(1.0f - std::ldexp(1.0f, -24), -63);  // (1 - 2^-24) 2^-63
  float b = std::ldexp(1.0f + std::ldexp(1.0f, -23), -63);  // (1 + 2^-23) 2^-63
  EXPECT_EQ(fp32_mul(a, b), std::ldexp(1.0f, -126));
  EXPECT_EQ(rtl::bits_of(fp32_mul(0.0f, std::numeric_limits<float>::infinity())), rtl::kCanonicalNan);
  EXPECT_EQ(fp32_mul(std::ldexp(1.0f, -140), 1e30f), 0.0f);  // subnormal input flushed first
  EXPECT_TRUE(std::isinf(fp32_mul(1e30f, 1e30f)));
}

}  // namespace
}  // namespace gqalut
