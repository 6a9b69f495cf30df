#include "gqalut/format.hpp"

#include <cctype>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "gqalut/text.hpp"

namespace gqalut {

double Format::step() const { return std::ldexp(1.0, -frac_bits); }

std::string Format::name() const {
  return fmt::format("q{}.{}", width - 1 - frac_bits, frac_bits);
}

void Format::validate() const {
  if (width < 2 || width > kMaxWidth)
    throw std::invalid_argument(fmt::format("code width must be in [2, {}], got {}", kMaxWidth, width));
  if (frac_bits < 0 || frac_bits > kMaxFracBits)
    throw std::invalid_argument(
        fmt::format("fractional bits must be in [0, {}], got {}", kMaxFracBits, frac_bits));
}

int64_t Format::round_code(double v) const {
  return static_cast<int64_t>(std::nearbyint(std::ldexp(v, frac_bits)));  // half to even
}

bool Format::represents(double v) const {
  if (!std::isfinite(v)) return false;
  double s = std::ldexp(v, frac_bits);
  if (s != std::floor(s)) return false;
  return s >= static_cast<double>(min_code()) && s <= static_cast<double>(max_code());
}

int32_t Format::encode(double v, std::string_view what) const {
  if (!std::isfinite(v))
    throw std::invalid_argument(fmt::format("{} must be finite, got {}", what, v));
  double s = std::ldexp(v, frac_bits);
  if (s != std::floor(s))
    throw std::invalid_argument(
        fmt::format("{} {} is not on the {} grid 2^-{}", what, v, name(), frac_bits));
  if (s < static_cast<double>(min_code()) || s > static_cast<double>(max_code()))
    throw std::invalid_argument(fmt::format("{} {} does not fit {} (range [{}, {}])", what, v, name(),
                                            min_value(), max_value()));
  return static_cast<int32_t>(s);
}

Format Format::parse(std::string_view text) {
  auto bad = [&] {
    return std::invalid_argument(fmt::format(
        "format must be qI.F with 1+I+F <= {} bits (e.g. q1.6, q2.5) or auto, got {}", kMaxWidth, quote(text)));
  };
  if (text.size() < 4 || (text[0] != 'q' && text[0] != 'Q')) throw bad();
  auto dot = text.find('.');
  if (dot == std::string_view::npos || dot == 1 || dot + 1 >= text.size()) throw bad();
  auto num = [&](std::string_view s) {
    int v = 0;
    if (s.empty() || s.size() > 2) throw bad();
    for (char c : s) {
      if (!std::isdigit(static_cast<unsigned char>(c))) throw bad();
      v = v * 10 + (c - '0');
    }
    return v;
  };
  // The integer part may be negative: q-1.8 is 8 bits with 8 fractional bits
  // (values in [-0.5, 0.5)), the name Format::name() gives such a format.
  std::string_view ipart = text.substr(1, dot - 1);
  bool negative = !ipart.empty() && ipart[0] == '-';
  int i = num(negative ? ipart.substr(1) : ipart) * (negative ? -1 : 1);
  int f = num(text.substr(dot + 1));
  if (1 + i + f < 2) throw bad();
  Format out{f, 1 + i + f};
  if (out.width > kMaxWidth || out.frac_bits > kMaxFracBits) throw bad();
  out.validate();
  return out;
}

FormatChoice FormatChoice::parse(std::string_view text) {
  if (text == "auto") return FormatChoice{};
  if (text.substr(0, 5) == "auto:") {  // auto at another code width, e.g. auto:5
    std::string_view w = text.substr(5);
    if (w.empty() || w.size() > 2 || w.find_first_not_of("0123456789") != std::string_view::npos)
      throw std::invalid_argument(
          fmt::format("format auto:W needs a code width W in [2, {}], got {}", kMaxWidthChoice, quote(text)));
    int width = std::stoi(std::string(w));
    if (width < 2 || width > Format::kMaxWidth)
      throw std::invalid_argument(
          fmt::format("format auto:W needs a code width W in [2, {}], got {}", kMaxWidthChoice, quote(text)));
    return FormatChoice{std::nullopt, width};
  }
  return FormatChoice{Format::parse(text)};
}

std::string FormatChoice::name() const {
  if (fixed) return fixed->name();
  return auto_width == 8 ? std::string("auto") : fmt::format("auto:{}", auto_width);
}

int auto_frac_bits(double min_v, double max_v, int width) {
  if (!std::isfinite(min_v) || !std::isfinite(max_v))
    throw std::invalid_argument(fmt::format("values to fit must be finite, got [{}, {}]", min_v, max_v));
  for (int f = Format::kMaxFracBits; f >= 0; --f) {
    Format fm{f, width};
    if (fm.round_code(min_v) >= fm.min_code() && fm.round_code(max_v) <= fm.max_code()) return f;
  }
  throw std::invalid_argument(
      fmt::format("values in [{}, {}] do not fit {} bits at any fractional width", min_v, max_v, width));
}

}  // namespace gqalut
