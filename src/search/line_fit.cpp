// fit_line_int: the exactly optimal integer line of a point set (see
// segment_fit.hpp for the method and docs/optimal.md for the argument).
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "gqalut/search.hpp"
#include "segment_fit.hpp"

namespace gqalut {

LineFit fit_line_int(const double* x, const double* y, const double* w, std::size_t count,
                     Format fk, Format fb, Objective objective, std::size_t* evaluations) {
  fk.validate();
  fb.validate();
  if (count == 0) return LineFit{};
  if (!x || !y) throw std::invalid_argument("fit_line_int needs x and y for a non-empty point set");
  for (std::size_t i = 0; i < count; ++i) {
    double wi = w ? w[i] : 1.0;
    if (!std::isfinite(x[i]) || !std::isfinite(y[i]) || !std::isfinite(wi) || wi < 0)
      throw std::invalid_argument(fmt::format(
          "fit_line_int points must be finite with weights >= 0, got x = {}, y = {}, w = {} at {}",
          x[i], y[i], wi, i));
  }
  detail::CodeBox box(fk, fb);
  auto each = [&](auto&& f) {
    for (std::size_t i = 0; i < count; ++i) f(x[i], y[i], w ? w[i] : 1.0);
  };
  // Reference point: the weighted mean keeps the moments well conditioned.
  double sw = 0, mx = 0, my = 0;
  each([&](double xi, double yi, double wi) {
    sw += wi;
    mx += wi * xi;
    my += wi * yi;
  });
  detail::Moments m;
  if (sw > 0)
    m.reset(mx / sw, my / sw);
  else
    return LineFit{};
  each([&](double xi, double yi, double wi) { m.add(xi, yi, wi); });
  if (objective == Objective::mse) return detail::fit_mse(m, each, box, evaluations);
  return detail::fit_max(each, detail::ls_slope_code(m, box), box, evaluations);
}

}  // namespace gqalut
