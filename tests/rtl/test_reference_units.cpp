// The INT32 and FP32 reference designs (rtl/lut_int32.v, rtl/lut_fp32.v; the
// area baselines of docs/hardware.md), combinational and registered: lint with
// verilator -Wall, then replay random tables and inputs (plus edge cases)
// against their C++ models in rtl/models.hpp, bit for bit, through the hardware
// layer's registry. The seed is printed for replay.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gqalut/hw/registry.hpp"
#include "rtl/models.hpp"
#include "tests/rtl/rtl_util.hpp"

namespace gqalut {
namespace {

constexpr uint32_t kSeed = 20240328;

// The testbench commands (random tables and edge inputs, each checked against rtl/models.hpp)
// come from the hardware layer's registry (kinds lut-int32 and lut-fp32, src/hw/registry.cpp).
void run_reference(const char* kind, int K, bool outreg) {
  hw::UnitRequest r;
  r.entries = K;
  r.output_register = outreg;
  r.rtl_dir = GQALUT_RTL_DIR;
  r.seed = kSeed + K;
  hw::BuiltUnit b = hw::build_unit(kind, r);
  const std::string tag = fmt::format("ref_{}_k{}_{}", kind, K, outreg ? "reg" : "comb");
  hw::LintOptions lo;
  lo.work_dir = rtl_test::scratch(tag + "_lint").string();
  lo.verilator = GQALUT_VERILATOR;
  lo.flags = b.lint_flags;
  hw::LintResult l = hw::lint(b.unit, lo);
  EXPECT_TRUE(l.clean()) << "verilator -Wall:\n" << l.log;
  hw::SimOptions so;
  so.work_dir = rtl_test::scratch(tag).string();
  so.iverilog = GQALUT_IVERILOG;
  so.vvp = GQALUT_VVP;
  hw::SimResult s = b.simulate(so);
  EXPECT_TRUE(s.passed()) << "seed " << r.seed << ": " << s.summary() << "\n" << s.log;
  EXPECT_GT(s.checks, 600);
}

struct Shape {
  int K;
  bool outreg;
};
class Reference : public ::testing::TestWithParam<Shape> {};

TEST_P(Reference, Int32MatchesModel) { run_reference("lut-int32", GetParam().K, GetParam().outreg); }
TEST_P(Reference, Fp32MatchesModel) { run_reference("lut-fp32", GetParam().K, GetParam().outreg); }

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
