// Uniform: K-1 breakpoints evenly spaced over [lo, hi], rounded half to even
// to each scale's grid (shared: to the finest grid, then to each scale), with
// the exactly best integer coefficients per segment (fit_line_int).
#include <algorithm>
#include <chrono>
#include <cmath>

#include "gqalut/search.hpp"
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
  std::vector<ScalePoints> pts = p.points();
  std::vector<double> real_bp(K - 1);
  for (int i = 1; i < K; ++i) real_bp[i - 1] = p.lo + (p.hi - p.lo) * double(i) / double(K);
  const int m = *std::max_element(p.scales.begin(), p.scales.end());
  auto codes_at = [&](int n) {
    std::vector<int32_t> c(K - 1);
    for (int i = 0; i + 1 < K; ++i) {
      if (p.shared) {
        auto fine = static_cast<int64_t>(std::nearbyint(std::ldexp(real_bp[i], m)));
        c[i] = int32_t(detail::shift_round_even(fine, m - n));
      } else {
        c[i] = int32_t(std::nearbyint(std::ldexp(real_bp[i], n)));
      }
    }
    return c;
  };
  // Segment t of a scale holds its points with t = #{P <= q} (right rule) or
  // #{P < q} (left rule): the rounded breakpoints are read with the target rule.
  auto segment_of_points = [&](const ScalePoints& sp, const std::vector<int32_t>& bp) {
    std::vector<int> seg(sp.q.size());
    for (std::size_t i = 0; i < sp.q.size(); ++i)
      seg[i] = int((p.tie == TieRule::right ? std::upper_bound(bp.begin(), bp.end(), sp.q[i])
                                            : std::lower_bound(bp.begin(), bp.end(), sp.q[i])) -
                   bp.begin());
    return seg;
  };
  std::size_t evals = 0;
  TableSet set;
  auto make_table = [&](int n, std::vector<int32_t> bp, std::vector<int32_t> ks, std::vector<int32_t> bs) {
    Table t;
    t.n = n;
    t.slope_format = fk;
    t.intercept_format = fb;
    t.breakpoints = std::move(bp);
    t.slopes = std::move(ks);
    t.intercepts = std::move(bs);
    t.validate();
    set.tables[n] = std::move(t);
  };
  if (!p.shared) {
    for (const ScalePoints& sp : pts) {
      std::vector<int32_t> bp = codes_at(sp.n);
      std::vector<int> seg = segment_of_points(sp, bp);
      std::vector<Group> groups(K);
      for (std::size_t i = 0; i < sp.q.size(); ++i) groups[seg[i]].push_back(sp.x[i], sp.y[i], 1.0);
      std::vector<int32_t> ks(K), bs(K);
      std::vector<char> empty(K);
      for (int t = 0; t < K; ++t) {
        LineFit f = groups[t].fit(fk, fb, p.objective, evals);
        ks[t] = f.k, bs[t] = f.b, empty[t] = groups[t].empty();
      }
      detail::fill_empty_segments(ks, bs, empty);
      make_table(sp.n, std::move(bp), std::move(ks), std::move(bs));
    }
  } else {
    std::vector<Group> groups(K);
    for (const ScalePoints& sp : pts) {
      std::vector<int> seg = segment_of_points(sp, codes_at(sp.n));
      double w = sp.q.empty() ? 0.0 : 1.0 / double(sp.q.size());
      for (std::size_t i = 0; i < sp.q.size(); ++i) groups[seg[i]].push_back(sp.x[i], sp.y[i], w);
    }
    std::vector<int32_t> ks(K), bs(K);
    std::vector<char> empty(K);
    for (int t = 0; t < K; ++t) {
      LineFit f = groups[t].fit(fk, fb, p.objective, evals);
      ks[t] = f.k, bs[t] = f.b, empty[t] = groups[t].empty();
    }
    detail::fill_empty_segments(ks, bs, empty);
    for (const ScalePoints& sp : pts) make_table(sp.n, codes_at(sp.n), ks, bs);
  }
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
