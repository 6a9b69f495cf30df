#include <gtest/gtest.h>

#include <cmath>

#include "gqalut/format.hpp"

using namespace gqalut;

TEST(Format, ParsesNamesIntoWidthAndFractionBits) {
  EXPECT_EQ(Format::parse("q1.6"), (Format{6, 8}));
  EXPECT_EQ(Format::parse("Q2.5"), (Format{5, 8}));
  EXPECT_EQ(Format::parse("q3.12"), (Format{12, 16}));
  EXPECT_EQ(Format::parse("q7.0"), (Format{0, 8}));
  EXPECT_EQ(Format::parse("q-1.8"), (Format{8, 8}));
  // Every name Format::name() gives parses back to the same format.
  for (int w = 2; w <= 16; ++w)
    for (int f = 0; f <= 15; ++f) EXPECT_EQ(Format::parse((Format{f, w}).name()), (Format{f, w})) << w << " " << f;
  EXPECT_EQ((Format{6, 8}.name()), "q1.6");
  EXPECT_EQ((Format{9, 10}.name()), "q0.9");
  for (const char* bad : {"", "q", "q1", "q1.", "q.6", "x1.6", "q1.6x", "q9.9", "q-6.6", "q1.16", "q--1.8"})
    EXPECT_THROW(Format::parse(bad), std::invalid_argument) << bad;
}

TEST(Format, RangeAndGridOfEveryWidth) {
  for (int w = 2; w <= 16; ++w)
    for (int f = 0; f <= 15; ++f) {
      Format fm{f, w};
      EXPECT_EQ(fm.min_code(), -(1 << (w - 1)));
      EXPECT_EQ(fm.max_code(), (1 << (w - 1)) - 1);
      EXPECT_TRUE(fm.represents(fm.max_value()));
      EXPECT_TRUE(fm.represents(fm.min_value()));
      EXPECT_FALSE(fm.represents(fm.max_value() + fm.step()));
      EXPECT_FALSE(fm.represents(fm.min_value() - fm.step()));
      EXPECT_FALSE(fm.represents(fm.step() / 2));
    }
}

TEST(Format, EncodeRefusesOffGridOutOfRangeAndNonFinite) {
  Format q16 = kQ1_6;
  EXPECT_EQ(q16.encode(-0.109375), -7);
  EXPECT_EQ(q16.encode(1.984375), 127);
  EXPECT_EQ(q16.encode(-2.0), -128);
  try {
    q16.encode(2.0, "slope");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "slope 2 does not fit q1.6 (range [-2, 1.984375])");
  }
  EXPECT_THROW(q16.encode(0.01), std::invalid_argument);
  EXPECT_THROW(q16.encode(NAN), std::invalid_argument);
  EXPECT_THROW(q16.encode(INFINITY), std::invalid_argument);
}

TEST(Format, RoundCodeIsHalfToEven) {
  Format f{0, 8};
  EXPECT_EQ(f.round_code(0.5), 0);
  EXPECT_EQ(f.round_code(1.5), 2);
  EXPECT_EQ(f.round_code(2.5), 2);
  EXPECT_EQ(f.round_code(-0.5), 0);
  EXPECT_EQ(f.round_code(-1.5), -2);
}

TEST(Format, AutoPicksTheLargestFractionThatFits) {
  EXPECT_EQ(auto_frac_bits(-1.5, 1.5), 6);   // |v| < 2 -> q1.6
  EXPECT_EQ(auto_frac_bits(-0.9, 0.9), 7);   // |v| < 1 -> q0.7
  EXPECT_EQ(auto_frac_bits(-3.2, 0.5), 5);   // q2.5
  EXPECT_EQ(auto_frac_bits(0, 100), 0);
  EXPECT_EQ(auto_frac_bits(-0.001, 0.001), 15);
  EXPECT_EQ(auto_frac_bits(-3.2, 0.5, 10), 7);
  EXPECT_THROW(auto_frac_bits(0, 1000), std::invalid_argument);
  EXPECT_EQ(FormatChoice::parse("auto").is_auto(), true);
  EXPECT_EQ(FormatChoice::parse("q2.5").fixed, kQ2_5);
}
