// gqalut: fixed-point code formats of slopes and intercepts (SPEC section 2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gqalut {

// A signed fixed-point format: value = code * 2^-frac_bits, code a two's
// complement integer of `width` bits. "qI.F" names width = 1 + I + F.
struct Format {
  int frac_bits = 6;
  int width = 8;

  static constexpr int kMaxWidth = 16;
  static constexpr int kMaxFracBits = 15;

  int64_t min_code() const { return -(int64_t{1} << (width - 1)); }
  int64_t max_code() const { return (int64_t{1} << (width - 1)) - 1; }
  double step() const;                 // 2^-frac_bits
  double min_value() const { return min_code() * step(); }
  double max_value() const { return max_code() * step(); }
  std::string name() const;            // e.g. "q1.6"
  // True when every code fits an int8 (width <= 8: narrower codes are INT8
  // hardware too, with the high bits sign extension).
  bool is_int8() const { return width <= 8; }

  // True if v is exactly code * 2^-frac_bits with the code in range.
  bool represents(double v) const;
  // The code of v; throws std::invalid_argument naming the rule and the value
  // if v is off the grid or out of range. `what` names the quantity.
  int32_t encode(double v, std::string_view what = "value") const;
  // round-half-to-even(v * 2^F), without a range check.
  int64_t round_code(double v) const;
  double decode(int64_t code) const { return static_cast<double>(code) * step(); }

  // Throws if the fields are outside width in [2, 16], frac_bits in [0, 15].
  void validate() const;

  // Parses "q1.6", "Q2.5", "q3.12" (width 1+I+F <= 16). Throws on anything else.
  static Format parse(std::string_view text);

  bool operator==(const Format& o) const { return frac_bits == o.frac_bits && width == o.width; }
  bool operator!=(const Format& o) const { return !(*this == o); }
};

inline constexpr Format kQ1_6{6, 8};
inline constexpr Format kQ2_5{5, 8};

// A format request: a fixed format, or "auto" (chosen per table: the largest
// frac_bits at `width` bits at which every value fits).
struct FormatChoice {
  std::optional<Format> fixed;  // empty = auto
  int auto_width = 8;
  static constexpr int kMaxWidthChoice = 16;
  // "auto" (8 bits), "auto:W" (W bits, e.g. auto:5) or a Format name.
  static FormatChoice parse(std::string_view text);
  std::string name() const;
  bool is_auto() const { return !fixed.has_value(); }
};

// The largest frac_bits in [0, 15] at which every |v| in [lo_v, hi_v] fits
// `width` bits (rounded to the grid). Throws if none does.
int auto_frac_bits(double min_v, double max_v, int width = 8);

}  // namespace gqalut
