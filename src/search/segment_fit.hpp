// gqalut internal: the exact best integer line (K, B) of a set of weighted
// points, shared by fit_line_int (line_fit.cpp), Optimal and Uniform.
//
// Method (MSE). With u = K 2^-Fk and v = B 2^-Fb the cost is a convex
// quadratic in (u, v). For fixed u the best real v is the weighted mean of
// the residuals y - u x and what remains, LB(u) = Cxx (u - u*)^2 + R, is a
// convex quadratic in u: a lower bound on the cost of every integer pair with
// slope code K. We visit K outward from round(u*/2^-Fk); per K only
// floor/ceil of the best real B (clamped) can be optimal; we stop a direction
// once LB is increasing there and exceeds the best cost found. Moments give
// approximate costs fast; every candidate that could beat the best within a
// rigorous round-off slack is re-evaluated directly (sum of w r^2 with r
// computed in one rounding), so the returned cost is a plain sum of squared
// residuals, not an expanded formula.
//
// Max |error|: for fixed K, with r_i = y_i - u x_i, the best real v is the
// midpoint of [min r, max r] and LB(K) = (max r - min r) / 2 is convex in u;
// the same outward search applies, each K costing one pass over the points.
//
// Tie-break (documented in docs/optimal.md): among pairs with the same
// (double) cost, the smallest |K|, then the smaller K, then the smallest |B|,
// then the smaller B.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>

#include "gqalut/search.hpp"

namespace gqalut::detail {

// Weighted sums of dx = x - x0 and dy = y - y0 (x0, y0: a point of the set,
// so the sums stay small relative to the segment); a*: sums of |.| for the
// round-off slack.
struct Moments {
  double x0 = 0, y0 = 0;
  double w = 0, sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0;
  double ax = 0, ay = 0, axy = 0;
  void reset(double x_ref, double y_ref) { *this = Moments{}; x0 = x_ref; y0 = y_ref; }
  void add(double x, double y, double wt) {
    double dx = x - x0, dy = y - y0;
    w += wt;
    sx += wt * dx;
    sy += wt * dy;
    sxx += wt * dx * dx;
    sxy += wt * dx * dy;
    syy += wt * dy * dy;
    ax += wt * std::fabs(dx);
    ay += wt * std::fabs(dy);
    axy += wt * std::fabs(dx * dy);
  }
};

// Lexicographic (cost, |K|, K, |B|, B): the documented tie-break.
inline bool fit_better(double cost, int64_t k, int64_t b, const LineFit& best) {
  if (cost != best.cost) return cost < best.cost;
  int64_t ak = std::llabs(k), abk = std::llabs(best.k);
  if (ak != abk) return ak < abk;
  if (k != best.k) return k < best.k;
  int64_t ab = std::llabs(b), abb = std::llabs(best.b);
  if (ab != abb) return ab < abb;
  return b < best.b;
}

struct CodeBox {
  int64_t kmin, kmax, bmin, bmax;
  double sk, sb;
  CodeBox(Format fk, Format fb)
      : kmin(fk.min_code()), kmax(fk.max_code()), bmin(fb.min_code()), bmax(fb.max_code()),
        sk(std::ldexp(1.0, -fk.frac_bits)), sb(std::ldexp(1.0, -fb.frac_bits)) {}
  int64_t clamp_k(double v) const { return clamp(v, kmin, kmax); }
  int64_t clamp_b(double v) const { return clamp(v, bmin, bmax); }
  static int64_t clamp(double v, int64_t lo, int64_t hi) {
    if (!(v > double(lo))) return lo;  // NaN goes to lo
    if (v > double(hi)) return hi;
    return static_cast<int64_t>(v);
  }
};

constexpr double kSlackFactor = 1e-11;  // >> n * eps for n up to ~10^4 points
constexpr double kTiny = 1e-300;

// Walks K outward from k0; try_k(K) evaluates slope code K (updating the
// best) and returns {LB(K), slack of LB(K)}. Stops a direction once LB is
// provably increasing there and provably above the best cost.
template <class TryK>
void search_k_outward(int64_t k0, const CodeBox& box, const LineFit& best, TryK&& try_k) {
  auto first = try_k(k0);
  for (int dir : {+1, -1}) {
    double prev = first.first, prev_s = first.second;
    for (int64_t k = k0 + dir; k >= box.kmin && k <= box.kmax; k += dir) {
      auto lb = try_k.bound(k);
      if (lb.first - lb.second > best.cost && lb.first > prev + prev_s + lb.second) break;
      try_k(k);
      prev = lb.first;
      prev_s = lb.second;
    }
  }
}

// MSE fit. each(f) must call f(x, y, w) for every point, always in the same
// order. evals (optional) counts direct evaluations.
template <class Each>
LineFit fit_mse(const Moments& m, Each&& each, const CodeBox& box, std::size_t* evals = nullptr) {
  LineFit best;
  best.cost = std::numeric_limits<double>::infinity();
  if (!(m.w > 0)) return LineFit{};
  const double w = m.w;
  double cxx = std::max(0.0, m.sxx - m.sx * m.sx / w);
  double cxy = m.sxy - m.sx * m.sy / w;
  double cyy = m.syy - m.sy * m.sy / w;
  double ustar = cxx > 0 ? cxy / cxx : 0.0;
  double rmin = cxx > 0 ? cyy - cxy * cxy / cxx : cyy;
  auto slack = [&](double u, double vp) {
    return kSlackFactor * (w * vp * vp + 2 * std::fabs(vp) * (std::fabs(u) * m.ax + m.ay) +
                           u * u * m.sxx + 2 * std::fabs(u) * m.axy + m.syy) +
           kTiny;
  };
  auto direct = [&](double u, double v) {
    double s = 0;
    each([&](double x, double y, double wt) {
      double r = u * x + v - y;
      s += wt * r * r;
    });
    if (evals) ++*evals;
    return s;
  };
  struct Try {
    const Moments& m;
    const CodeBox& box;
    double ustar, cxx, rmin;
    decltype(slack)& sl;
    decltype(direct)& dir;
    LineFit& best;
    std::pair<double, double> bound(int64_t k) const {
      double u = double(k) * box.sk;
      double vps = (m.sy - u * m.sx) / m.w;
      double d = u - ustar;
      return {cxx * d * d + rmin, sl(u, vps)};
    }
    std::pair<double, double> operator()(int64_t k) {
      double u = double(k) * box.sk;
      double vps = (m.sy - u * m.sx) / m.w;  // best v' = v + u x0 - y0
      double d = u - ustar;
      double lb = cxx * d * d + rmin;
      double br = (vps - u * m.x0 + m.y0) / box.sb;
      int64_t b1 = box.clamp_b(std::floor(br)), b2 = box.clamp_b(std::ceil(br));
      for (int i = 0; i < (b1 == b2 ? 1 : 2); ++i) {
        int64_t b = i == 0 ? b1 : b2;
        double v = double(b) * box.sb;
        double vp = v + u * m.x0 - m.y0;
        double e = vp - vps;
        double approx = m.w * e * e + lb;
        if (approx - sl(u, vp) > best.cost) continue;
        double c = dir(u, v);
        if (fit_better(c, k, b, best)) best = LineFit{int32_t(k), int32_t(b), c};
      }
      return {lb, sl(u, vps)};
    }
  } t{m, box, ustar, cxx, rmin, slack, direct, best};
  int64_t k0 = box.clamp_k(std::nearbyint(ustar / box.sk));
  search_k_outward(k0, box, best, t);
  return best;
}

// Max-abs fit. k_guess: a starting slope code (e.g. the least-squares one).
// Points with zero weight are ignored.
template <class Each>
LineFit fit_max(Each&& each, int64_t k_guess, const CodeBox& box, std::size_t* evals = nullptr) {
  LineFit best;
  best.cost = std::numeric_limits<double>::infinity();
  bool any = false;
  each([&](double, double, double wt) { any = any || wt > 0; });
  if (!any) return LineFit{};
  struct Try {
    Each& each;
    const CodeBox& box;
    LineFit& best;
    std::size_t* evals;
    void spread(double u, double& lo, double& hi) const {
      lo = std::numeric_limits<double>::infinity();
      hi = -lo;
      each([&](double x, double y, double wt) {
        if (!(wt > 0)) return;
        double r = y - u * x;
        lo = std::min(lo, r);
        hi = std::max(hi, r);
      });
    }
    static double slack(double lo, double hi) {
      return 1e-12 * (std::fabs(lo) + std::fabs(hi)) + kTiny;
    }
    std::pair<double, double> bound(int64_t k) const {
      double lo, hi;
      spread(double(k) * box.sk, lo, hi);
      return {(hi - lo) / 2, slack(lo, hi)};
    }
    std::pair<double, double> operator()(int64_t k) {
      double u = double(k) * box.sk, lo, hi;
      spread(u, lo, hi);
      double mid = (lo + hi) / 2, br = mid / box.sb, s = slack(lo, hi);
      int64_t b1 = box.clamp_b(std::floor(br)), b2 = box.clamp_b(std::ceil(br));
      for (int i = 0; i < (b1 == b2 ? 1 : 2); ++i) {
        int64_t b = i == 0 ? b1 : b2;
        double v = double(b) * box.sb;
        double approx = std::max(v - lo, hi - v);
        if (approx - s > best.cost) continue;
        double c = 0;
        each([&](double x, double y, double wt) {
          if (wt > 0) c = std::max(c, std::fabs(u * x + v - y));
        });
        if (evals) ++*evals;
        if (fit_better(c, k, b, best)) best = LineFit{int32_t(k), int32_t(b), c};
      }
      return {(hi - lo) / 2, s};
    }
  } t{each, box, best, evals};
  search_k_outward(std::clamp(k_guess, box.kmin, box.kmax), box, best, t);
  return best;
}

// The least-squares slope code of the moments (clamped), a start for fit_max.
inline int64_t ls_slope_code(const Moments& m, const CodeBox& box) {
  if (!(m.w > 0)) return 0;
  double cxx = m.sxx - m.sx * m.sx / m.w;
  if (!(cxx > 0)) return std::clamp<int64_t>(0, box.kmin, box.kmax);
  return box.clamp_k(std::nearbyint((m.sxy - m.sx * m.sy / m.w) / cxx / box.sk));
}

// round-half-to-even(c / 2^s), exactly, for integer c.
inline int64_t shift_round_even(int64_t c, int s) {
  if (s == 0) return c;
  int64_t d = int64_t{1} << s;
  int64_t f = c >= 0 ? c / d : -((-c + d - 1) / d);  // floor
  int64_t rem = c - f * d, half = d / 2;
  if (rem > half || (rem == half && (f & 1))) ++f;
  return f;
}

// Segments that hold no scored point take the line of the nearest non-empty
// segment (the one on the left, else the first), so unscored inputs follow a
// neighbour.
inline void fill_empty_segments(std::vector<int32_t>& k, std::vector<int32_t>& b,
                                const std::vector<char>& empty) {
  int K = int(k.size()), first = -1;
  for (int t = 0; t < K && first < 0; ++t)
    if (!empty[t]) first = t;
  if (first < 0) return;
  for (int t = 0; t < K; ++t)
    if (empty[t]) {
      int src = t < first ? first : t - 1;  // t - 1 is filled already
      k[t] = k[src];
      b[t] = b[src];
    }
}

}  // namespace gqalut::detail
