// Optimal: the exact global optimum of the quantized table problem (SPEC
// sections 2-3) by dynamic programming over breakpoint positions.
//
//   classes  <- the distinct ways a breakpoint can split the scored points
//               (per scale: every in-range code plus "after all"; shared: the
//               codes of the finest grid, grouped by the split they induce at
//               every scale after rounding half to even)
//   for every class pair a < c:
//       cost[a][c], (K, B)[a][c] <- exact best integer line of the points
//                                   between a and c (segment_fit.hpp)
//   best[t][c] = min over a <= c of best[t-1][a] (+ or max) cost[a][c]
//   backtrack the K-1 cuts; equal cuts are empty segments
//
// Exactness: the cost of a segment depends only on its two ends, segments do
// not interact, and every class of breakpoint placements is represented, so
// the DP over all placements with exact per-segment fits is the optimum. See
// docs/optimal.md.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "gqalut/search.hpp"
#include "scale_driver.hpp"
#include "segment_fit.hpp"

namespace gqalut {
namespace {

// Where breakpoints may go: P classes of codes on the view's grid 2^-m;
// left[a*S+s] = number of points of scored scale s left of a breakpoint of
// class a (ScaleView::left_of). Class 0 leaves every point on its right, the
// last class every point on its left.
struct Layout {
  explicit Layout(const detail::ScaleView& v) : view(v) {}
  const detail::ScaleView& view;
  int classes = 0;
  std::vector<int32_t> left;
  std::vector<int64_t> rep;  // a representative code per class

  int32_t at(int a, int s) const { return left[std::size_t(a) * view.scales.size() + s]; }
};

Layout make_layout(const detail::ScaleView& v) {
  Layout L(v);
  const std::size_t S = v.scales.size();
  int64_t lo = std::numeric_limits<int64_t>::max(), hi = std::numeric_limits<int64_t>::min();
  for (const ScalePoints* sp : v.scales) {
    int sh = v.m - sp->n;
    // The codes that put every point right (lo) and every point left (hi).
    const int64_t first = v.tie == TieRule::right ? sp->q.front() : int64_t{sp->q.front()} - 1;
    const int64_t last = v.tie == TieRule::right ? int64_t{sp->q.back()} + 1 : sp->q.back();
    lo = std::min(lo, first * (int64_t{1} << sh));
    hi = std::max(hi, last * (int64_t{1} << sh));
  }
  std::vector<int32_t> prev(S, -1), cur(S);
  int64_t class_start = lo;
  auto close_class = [&](int64_t last) {
    // The code of the class with the most trailing zeros: the coarsest value.
    int64_t best = class_start;
    int best_tz = -1;
    for (int64_t c = class_start; c <= last; ++c) {
      int tz = c == 0 ? 64 : __builtin_ctzll(static_cast<unsigned long long>(c));
      if (tz > best_tz) best = c, best_tz = tz;
    }
    L.rep.push_back(best);
  };
  for (int64_t c = lo; c <= hi; ++c) {
    for (std::size_t s = 0; s < S; ++s) cur[s] = v.left_of(c, s);
    if (cur != prev) {
      if (L.classes > 0) close_class(c - 1);
      class_start = c;
      L.left.insert(L.left.end(), cur.begin(), cur.end());
      ++L.classes;
      prev = cur;
    }
  }
  close_class(hi);
  return L;
}

struct SegmentCosts {
  int classes = 0;
  std::vector<double> cost;   // [a * classes + c], a < c
  std::vector<int32_t> k, b;
  double operator()(int a, int c) const { return a == c ? 0.0 : cost[std::size_t(a) * classes + c]; }
};

SegmentCosts segment_costs(const Layout& L, const detail::CodeBox& box, Objective obj,
                           const ProgressFn& progress, std::size_t& evaluations) {
  const int P = L.classes;
  const std::size_t S = L.view.scales.size();
  SegmentCosts sc;
  sc.classes = P;
  sc.cost.assign(std::size_t(P) * P, 0.0);
  sc.k.assign(std::size_t(P) * P, 0);
  sc.b.assign(std::size_t(P) * P, 0);
  for (int a = 0; a + 1 < P; ++a) {
    detail::Moments m;
    bool started = false;
    int64_t guess = 0;
    for (int c = a + 1; c < P; ++c) {
      for (std::size_t s = 0; s < S; ++s) {
        const ScalePoints& sp = *L.view.scales[s];
        for (int32_t i = L.at(c - 1, s); i < L.at(c, s); ++i) {
          if (!started) m.reset(sp.x[i], sp.y[i]), started = true;
          m.add(sp.x[i], sp.y[i], L.view.weight[s]);
        }
      }
      auto each = [&](auto&& f) {
        for (std::size_t s = 0; s < S; ++s) {
          const ScalePoints& sp = *L.view.scales[s];
          const double w = L.view.weight[s];
          for (int32_t i = L.at(a, s), e = L.at(c, s); i < e; ++i) f(sp.x[i], sp.y[i], w);
        }
      };
      LineFit f = obj == Objective::mse
                      ? detail::fit_mse(m, each, box, &evaluations)
                      : detail::fit_max(each, c == a + 1 ? detail::ls_slope_code(m, box) : guess, box,
                                        &evaluations);
      guess = f.k;
      std::size_t idx = std::size_t(a) * P + c;
      sc.cost[idx] = f.cost;
      sc.k[idx] = f.k;
      sc.b[idx] = f.b;
    }
    if (progress && (a % 16 == 0))
      progress(L.view.progress(double(a) / P), "segment costs");
  }
  return sc;
}

// The K-1 cuts (class indices, non-decreasing) minimising the sum (mse) or
// max (max_abs) of segment costs; first class 0, last class P-1.
std::vector<int> best_cuts(const SegmentCosts& sc, int entries, Objective obj, double& total) {
  const int P = sc.classes;
  auto combine = [&](double x, double y) { return obj == Objective::mse ? x + y : std::max(x, y); };
  std::vector<double> prev(P), cur(P);
  std::vector<int> arg(std::size_t(entries) * P, 0);
  for (int c = 0; c < P; ++c) prev[c] = sc(0, c);
  for (int t = 1; t < entries; ++t) {
    for (int c = 0; c < P; ++c) {
      double best = std::numeric_limits<double>::infinity();
      int besta = 0;
      for (int a = 0; a <= c; ++a) {
        double v = combine(prev[a], sc(a, c));
        if (v < best) best = v, besta = a;
      }
      cur[c] = best;
      arg[std::size_t(t) * P + c] = besta;
    }
    std::swap(prev, cur);
  }
  total = prev[P - 1];
  std::vector<int> cuts(entries + 1);
  cuts[entries] = P - 1;
  for (int t = entries - 1; t >= 1; --t) cuts[t] = arg[std::size_t(t) * P + cuts[t + 1]];
  cuts[0] = 0;
  return cuts;
}

}  // namespace

Result Optimal::run(const Problem& p) const {
  auto t0 = std::chrono::steady_clock::now();
  p.validate();
  const CodeFormats formats = p.resolve_formats();
  detail::CodeBox box(formats.slope, formats.intercept);
  const int K = p.entries;
  std::size_t evaluations = 0;
  nlohmann::json costs = nlohmann::json::array();
  TableSet set = detail::search_scales(p, formats, [&](const detail::ScaleView& v) {
    detail::ViewTable out{std::vector<int64_t>(K - 1, 0), std::vector<int32_t>(K, 0), std::vector<int32_t>(K, 0)};
    if (v.empty()) return out;  // nothing scored: a blank table
    Layout L = make_layout(v);
    SegmentCosts sc = segment_costs(L, box, p.objective, s_.progress, evaluations);
    double total = 0;
    std::vector<int> cuts = best_cuts(sc, K, p.objective, total);
    std::vector<char> empty(K);
    for (int s = 0; s < K; ++s) {
      empty[s] = cuts[s] == cuts[s + 1];
      std::size_t idx = std::size_t(cuts[s]) * L.classes + cuts[s + 1];
      out.slopes[s] = empty[s] ? 0 : sc.k[idx];
      out.intercepts[s] = empty[s] ? 0 : sc.b[idx];
      if (s > 0) out.breakpoints[s - 1] = L.rep[cuts[s]];
    }
    detail::fill_empty_segments(out.slopes, out.intercepts, empty);
    if (!v.shared) {
      // Trailing empty segments copy the last line, so their breakpoints
      // may sit anywhere after it: keep them inside the input span.
      const int64_t qmax = (int64_t{1} << (p.input_bits - 1)) - 1;
      for (auto& bp : out.breakpoints) bp = std::min(bp, qmax);
    }
    double cost = p.objective == Objective::mse ? total / v.norm : total;
    costs.push_back({{"n", v.shared ? nlohmann::json("shared") : nlohmann::json(v.n())}, {"cost", cost}});
    return out;
  });
  if (s_.progress) s_.progress(1.0, "done");
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json settings = {{"method", "optimal"},
                             {"objective", to_string(p.objective)},
                             {"shared", p.shared},
                             {"slope_format", formats.slope.name()},
                             {"intercept_format", formats.intercept.name()},
                             {"optimum", costs}};
  return finish_result(p, std::move(set), std::move(settings), seconds, evaluations);
}

}  // namespace gqalut
