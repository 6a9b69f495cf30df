// libFuzzer target: gqalut's small text parsers on arbitrary bytes.
//
// The first byte picks the parser, the rest is its text: Format::parse,
// FormatChoice::parse, parse_scales, parse_protocol, find_function,
// parse_expression (muparser) on a range taken from two more bytes, the P-grid
// (arange) and the search range rule + finiteness check on "lo hi" text. Each must
// either throw std::invalid_argument with a one-line message or return a value
// that satisfies its own documented invariants (checked below). Anything else
// is a finding (docs/fuzzing.md).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "gqalut/format.hpp"
#include "gqalut/function.hpp"
#include "gqalut/metrics.hpp"

namespace {

[[noreturn]] void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_parsers: %s: %s\n", what, detail.c_str());
  std::abort();
}

void check_format(const gqalut::Format& f, const std::string& text) {
  if (f.width < 2 || f.width > 16) finding("format width out of [2, 16]", text);
  // The name must parse back to the same format.
  if (!(gqalut::Format::parse(f.name()) == f)) finding("format name does not round trip", text);
}

// Two doubles from the text ("lo hi", strtod: any spelling, inf, nan, 1e308).
bool two_doubles(const std::string& text, double* lo, double* hi) {
  const char* p = text.c_str();
  char* end = nullptr;
  *lo = std::strtod(p, &end);
  if (end == p) return false;
  p = end;
  *hi = std::strtod(p, &end);
  return end != p;
}

void run(uint8_t selector, const std::string& text, const uint8_t* extra, size_t extra_size) {
  double lo = 0, hi = 0;
  switch (selector % 8) {
    case 0: check_format(gqalut::Format::parse(text), text); break;
    case 1: {
      const gqalut::FormatChoice c = gqalut::FormatChoice::parse(text);
      if (!c.is_auto()) check_format(*c.fixed, text);
      break;
    }
    case 2: {
      const std::vector<int> s = gqalut::parse_scales(text);
      if (s.empty()) finding("parse_scales returned no scale", text);
      for (int n : s) {
        if (n < 0 || n > 12) finding("parse_scales returned a scale outside [0, 12]", text);
      }
      break;
    }
    case 3: (void)gqalut::parse_protocol(text); break;
    case 4: {
      const gqalut::Function& f = gqalut::find_function(text);
      if (!(f.lo < f.hi)) finding("registry function with an empty range", text);
      break;
    }
    case 6: {
      // The P-grid on any range: bounded (kMaxGridPoints) or refused, never UB or a huge allocation.
      if (!two_doubles(text, &lo, &hi)) return;
      // Grids between 1e5 points and the bound are valid but slow to fill: skipped.
      const double points = std::ceil((hi - lo) / 0.01);
      if (points > 1e5 && points <= double(gqalut::kMaxGridPoints)) return;
      const std::vector<double> x = gqalut::arange(lo, hi);
      if (x.size() > gqalut::kMaxGridPoints) finding("arange returned more than kMaxGridPoints points", text);
      if (!x.empty() && x[0] != lo) finding("arange does not start at lo", text);
      break;
    }
    case 7: {
      // The search range rule, then the finiteness check of a built-in function on that range
      // (gelu is finite everywhere: a refusal other than the range rule is a finding).
      if (!two_doubles(text, &lo, &hi)) return;
      gqalut::check_search_range(lo, hi);
      if (!(lo >= -gqalut::kMaxSearchMagnitude && hi <= gqalut::kMaxSearchMagnitude && lo < hi))
        finding("check_search_range accepted a range outside its bound", text);
      if (hi - lo <= 1024) gqalut::check_finite_on(gqalut::find_function("gelu"), lo, hi);  // bounded work
      break;
    }
    default: {
      // Range from two bytes: lo in [-8, 7.9], width in (0, 16].
      const double lo = extra_size > 0 ? (static_cast<int>(extra[0]) - 128) / 16.0 : -4;
      const double hi = lo + (extra_size > 1 ? (extra[1] + 1) / 16.0 : 8);
      const gqalut::Function f = gqalut::parse_expression(text, lo, hi);
      gqalut::check_finite_on(f, lo, hi);  // as the CLI does; throws if not finite
      // check_finite_on samples every 2^-10: these points (multiples of 2^-8) are among them.
      for (int i = 0; i <= 16; ++i) {
        const double x = lo + (hi - lo) * i / 16;
        if (!std::isfinite(f.f(x))) finding("expression accepted but not finite on its range", text);
      }
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const std::string text(reinterpret_cast<const char*>(data + 3), size - 3);
  try {
    run(data[0], text, data + 1, 2);
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    if (msg.empty() || msg.find('\n') != std::string::npos) finding("error is not one line", msg);
  } catch (const std::exception& e) {
    finding("exception other than std::invalid_argument", e.what());
  }
  return 0;
}
