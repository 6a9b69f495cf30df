#include "quantize.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "scale_driver.hpp"

namespace gqalut::detail {
namespace {

int width_for(int64_t lo_code, int64_t hi_code) {
  int w = 2;
  while (lo_code < -(int64_t{1} << (w - 1)) || hi_code > (int64_t{1} << (w - 1)) - 1) ++w;
  return w;
}

void widen(Format& f, const std::vector<int32_t>& codes, const char* what, const char* who, std::string* note) {
  auto [mn, mx] = std::minmax_element(codes.begin(), codes.end());
  int w = std::max(f.width, width_for(*mn, *mx));
  if (w > Format::kMaxWidth)
    throw std::invalid_argument(fmt::format("{}: {} codes [{}, {}] need {} bits, more than {}", who, what, *mn,
                                            *mx, w, Format::kMaxWidth));
  if (w != f.width) {
    *note += fmt::format("{}{} codes [{}, {}] do not fit {}: widened to {} bits", note->empty() ? "" : "; ",
                         what, *mn, *mx, f.name(), w);
    f.width = w;
  }
}

}  // namespace

TableSet quantize_shared(const std::vector<double>& breakpoints, const std::vector<double>& slopes,
                         const std::vector<double>& intercepts, Format fk, Format fb,
                         const std::vector<int>& scales, const char* who, std::string* note) {
  std::vector<int32_t> kc, bc;
  for (double v : slopes) kc.push_back(int32_t(fk.round_code(v)));
  for (double v : intercepts) bc.push_back(int32_t(fb.round_code(v)));
  widen(fk, kc, "slope", who, note);
  widen(fb, bc, "intercept", who, note);
  TableSet set;
  for (int n : scales) put_table(set, n, {fk, fb}, codes_on_grid(breakpoints, n), kc, bc);
  return set;
}

}  // namespace gqalut::detail
