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
#include "segment_fit.hpp"

namespace gqalut {
namespace {

using detail::shift_round_even;

// Where breakpoints may go: P classes of codes on the grid 2^-m; left[a*S+s]
// = number of points of scale s left of a breakpoint of class a (q < P under
// the right rule, q <= P under the left one). Class 0 leaves every point on
// its right, the last class every point on its left.
struct Layout {
  int m = 0;
  std::vector<const ScalePoints*> scales;  // scales with points
  std::vector<double> weight;              // per scale
  int classes = 0;
  std::vector<int32_t> left;
  std::vector<int64_t> rep;  // a representative code per class

  int32_t at(int a, int s) const { return left[std::size_t(a) * scales.size() + s]; }
};

Layout make_layout(std::vector<const ScalePoints*> scales, std::vector<double> weight, int m, TieRule tie) {
  Layout L;
  L.m = m;
  L.scales = std::move(scales);
  L.weight = std::move(weight);
  const std::size_t S = L.scales.size();
  int64_t lo = std::numeric_limits<int64_t>::max(), hi = std::numeric_limits<int64_t>::min();
  for (const ScalePoints* sp : L.scales) {
    int sh = m - sp->n;
    // The codes that put every point right (lo) and every point left (hi).
    const int64_t first = tie == TieRule::right ? sp->q.front() : int64_t{sp->q.front()} - 1;
    const int64_t last = tie == TieRule::right ? int64_t{sp->q.back()} + 1 : sp->q.back();
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
    for (std::size_t s = 0; s < S; ++s) {
      const auto& q = L.scales[s]->q;
      int64_t p = shift_round_even(c, m - L.scales[s]->n);
      cur[s] = int32_t((tie == TieRule::right ? std::lower_bound(q.begin(), q.end(), p)
                                              : std::upper_bound(q.begin(), q.end(), p)) -
                       q.begin());
    }
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
                           const ProgressFn& progress, double frac0, double frac1,
                           std::size_t& evaluations) {
  const int P = L.classes;
  const std::size_t S = L.scales.size();
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
        const ScalePoints& sp = *L.scales[s];
        for (int32_t i = L.at(c - 1, s); i < L.at(c, s); ++i) {
          if (!started) m.reset(sp.x[i], sp.y[i]), started = true;
          m.add(sp.x[i], sp.y[i], L.weight[s]);
        }
      }
      auto each = [&](auto&& f) {
        for (std::size_t s = 0; s < S; ++s) {
          const ScalePoints& sp = *L.scales[s];
          const double w = L.weight[s];
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
      progress(frac0 + (frac1 - frac0) * double(a) / P, "segment costs");
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
  const Format fk = formats.slope, fb = formats.intercept;
  detail::CodeBox box(fk, fb);
  const int K = p.entries;
  std::vector<ScalePoints> pts = p.points();
  std::size_t evaluations = 0;
  TableSet set;
  nlohmann::json costs = nlohmann::json::array();

  auto blank = [&](int n) {
    Table t;
    t.n = n;
    t.slope_format = fk;
    t.intercept_format = fb;
    t.breakpoints.assign(K - 1, 0);
    t.slopes.assign(K, 0);
    t.intercepts.assign(K, 0);
    return t;
  };

  if (!p.shared) {
    for (std::size_t si = 0; si < pts.size(); ++si) {
      const ScalePoints& sp = pts[si];
      Table t = blank(sp.n);
      if (!sp.q.empty()) {
        double f0 = double(si) / pts.size(), f1 = double(si + 1) / pts.size();
        Layout L = make_layout({&sp}, {1.0}, sp.n, p.tie);
        SegmentCosts sc = segment_costs(L, box, p.objective, s_.progress, f0, f1, evaluations);
        double total = 0;
        std::vector<int> cuts = best_cuts(sc, K, p.objective, total);
        std::vector<char> empty(K);
        for (int s = 0; s < K; ++s) {
          empty[s] = cuts[s] == cuts[s + 1];
          std::size_t idx = std::size_t(cuts[s]) * L.classes + cuts[s + 1];
          t.slopes[s] = empty[s] ? 0 : sc.k[idx];
          t.intercepts[s] = empty[s] ? 0 : sc.b[idx];
          if (s > 0) t.breakpoints[s - 1] = int32_t(L.rep[cuts[s]]);
        }
        detail::fill_empty_segments(t.slopes, t.intercepts, empty);
        // Trailing empty segments copy the last line, so their breakpoints
        // may sit anywhere after it: keep them inside the input span.
        const int32_t qmax = (int32_t{1} << (p.input_bits - 1)) - 1;
        for (auto& bp : t.breakpoints) bp = std::min<int32_t>(bp, qmax);
        double cost = p.objective == Objective::mse ? total / double(sp.q.size()) : total;
        costs.push_back({{"n", sp.n}, {"cost", cost}});
      }
      t.validate();
      set.tables[sp.n] = std::move(t);
    }
  } else {
    int m = *std::max_element(p.scales.begin(), p.scales.end());
    std::vector<const ScalePoints*> with;
    std::vector<double> w;
    for (const auto& sp : pts)
      if (!sp.q.empty()) {
        with.push_back(&sp);
        w.push_back(1.0 / double(sp.q.size()));
      }
    Layout L = make_layout(with, w, m, p.tie);
    SegmentCosts sc = segment_costs(L, box, p.objective, s_.progress, 0.0, 1.0, evaluations);
    double total = 0;
    std::vector<int> cuts = best_cuts(sc, K, p.objective, total);
    std::vector<int32_t> ks(K), bs(K);
    std::vector<char> empty(K);
    std::vector<int64_t> fine(K - 1);
    for (int s = 0; s < K; ++s) {
      empty[s] = cuts[s] == cuts[s + 1];
      std::size_t idx = std::size_t(cuts[s]) * L.classes + cuts[s + 1];
      ks[s] = empty[s] ? 0 : sc.k[idx];
      bs[s] = empty[s] ? 0 : sc.b[idx];
      if (s > 0) fine[s - 1] = L.rep[cuts[s]];
    }
    detail::fill_empty_segments(ks, bs, empty);
    for (const auto& sp : pts) {
      Table t = blank(sp.n);
      t.slopes = ks;
      t.intercepts = bs;
      for (int i = 0; i + 1 < K; ++i) t.breakpoints[i] = int32_t(shift_round_even(fine[i], m - sp.n));
      t.validate();
      set.tables[sp.n] = std::move(t);
    }
    double cost = p.objective == Objective::mse ? total / double(with.size()) : total;
    costs.push_back({{"n", "shared"}, {"cost", cost}});
  }
  if (s_.progress) s_.progress(1.0, "done");
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json settings = {{"method", "optimal"},
                             {"objective", to_string(p.objective)},
                             {"shared", p.shared},
                             {"slope_format", fk.name()},
                             {"intercept_format", fb.name()},
                             {"optimum", costs}};
  return finish_result(p, std::move(set), std::move(settings), seconds, evaluations);
}

}  // namespace gqalut
