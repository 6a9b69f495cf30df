// Uniform: K-1 breakpoints evenly spaced over [lo, hi], rounded half to even
// to each scale's grid (shared: to the finest grid, then to each scale), with
// the exactly best integer coefficients per segment (fit_line_int).
#include <algorithm>
#include <chrono>
#include <cmath>

#include "gqalut/search.hpp"
#include "scale_driver.hpp"
#include "segment_fit.hpp"

namespace gqalut {
namespace {

// The points of one segment, as fit_line_int takes them.
struct Group {
  std::vector<double> x, y, w;
  void push_back(double xi, double yi, double wi) {
    x.push_back(xi);
    y.push_back(yi);
    w.push_back(wi);
  }
  bool empty() const { return x.empty(); }
  LineFit fit(Format fk, Format fb, Objective obj, std::size_t& evals) const {
    return fit_line_int(x.data(), y.data(), w.data(), x.size(), fk, fb, obj, &evals);
  }
};

}  // namespace

Result Uniform::run(const Problem& p) const {
  auto t0 = std::chrono::steady_clock::now();
  p.validate();
  const CodeFormats formats = p.resolve_formats();
  const Format fk = formats.slope, fb = formats.intercept;
  const int K = p.entries;
  std::vector<double> real_bp(K - 1);
  for (int i = 1; i < K; ++i) real_bp[i - 1] = p.lo + (p.hi - p.lo) * double(i) / double(K);
  std::size_t evals = 0;
  // The breakpoints on the view's grid; segment t of each scale holds the
  // points between its rounded breakpoints t-1 and t (read with the tie rule).
  TableSet set = detail::search_scales(p, formats, [&](const detail::ScaleView& v) {
    detail::ViewTable out{detail::codes_on_grid(real_bp, v.m), std::vector<int32_t>(K), std::vector<int32_t>(K)};
    std::vector<Group> groups(K);
    for (std::size_t s = 0; s < v.scales.size(); ++s) {
      const ScalePoints& sp = *v.scales[s];
      int32_t i = 0;
      for (int t = 0; t < K; ++t) {
        const int32_t end = t + 1 < K ? v.left_of(out.breakpoints[t], s) : int32_t(sp.q.size());
        for (; i < end; ++i) groups[t].push_back(sp.x[i], sp.y[i], v.weight[s]);
      }
    }
    std::vector<char> empty(K);
    for (int t = 0; t < K; ++t) {
      LineFit f = groups[t].fit(fk, fb, p.objective, evals);
      out.slopes[t] = f.k, out.intercepts[t] = f.b, empty[t] = groups[t].empty();
    }
    detail::fill_empty_segments(out.slopes, out.intercepts, empty);
    return out;
  });
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json settings = {{"method", "uniform"},
                             {"objective", to_string(p.objective)},
                             {"shared", p.shared},
                             {"slope_format", fk.name()},
                             {"intercept_format", fb.name()},
                             {"breakpoints", real_bp}};
  return finish_result(p, std::move(set), std::move(settings), seconds, evals);
}

}  // namespace gqalut
