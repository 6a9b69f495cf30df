#include "gqalut/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "gqalut/text.hpp"

namespace gqalut {

const char* to_string(Protocol p) { return p == Protocol::p_int ? "int" : "grid"; }

Protocol parse_protocol(const std::string& text) {
  if (text == "int" || text == "p-int") return Protocol::p_int;
  if (text == "grid" || text == "p-grid") return Protocol::p_grid;
  throw std::invalid_argument(fmt::format("protocol must be int or grid, got {}", quote(text)));
}

std::vector<int32_t> codes_in_range(int n, double lo, double hi, int bits) {
  std::vector<int32_t> q;
  int32_t qmin = -(1 << (bits - 1)), qmax = (1 << (bits - 1)) - 1;
  for (int32_t c = qmin; c <= qmax; ++c) {
    double x = std::ldexp(double(c), -n);
    if (x >= lo && x <= hi) q.push_back(c);
  }
  return q;
}

namespace {
// f at a point a protocol evaluates; never a non-finite error ("mse": null in a file).
double finite_at(const RealFn& f, double x, const char* protocol, int n) {
  double y = f(x);
  if (!std::isfinite(y))
    throw std::invalid_argument(
        fmt::format("function is not finite at x = {} (f(x) = {}), a point of the {} protocol at scale {}", x, y,
                    protocol, n));
  return y;
}

struct Acc {
  double sse = 0, max_abs = 0;
  int count = 0;
  void add(double e) {
    sse += e * e;
    max_abs = std::max(max_abs, std::fabs(e));
    ++count;
  }
  ScaleError done(int n) const { return ScaleError{n, count, count ? sse / count : 0.0, max_abs}; }
};
}  // namespace

ScaleError p_int_error(const Table& t, const RealFn& f, double lo, double hi,
                       std::optional<TieRule> rule_opt) {
  const TieRule rule = rule_opt.value_or(t.tie);
  Acc a;
  for (int32_t q : codes_in_range(t.n, lo, hi, t.input_bits)) {
    double x = std::ldexp(double(q), -t.n);
    a.add(eval_value(t, q, rule) - finite_at(f, x, "P-int", t.n));
  }
  return a.done(t.n);
}

std::vector<double> arange(double lo, double hi, double step) {
  // numpy: length = ceil((stop - start) / step); values start + i * delta with
  // delta = (start + step) - start (numpy's fill), first value exactly start.
  if (!std::isfinite(lo) || !std::isfinite(hi) || !std::isfinite(step) || !(step > 0))
    throw std::invalid_argument(
        fmt::format("grid needs a finite range and a finite step > 0, got [{}, {}) step {}", lo, hi, step));
  double len_d = std::ceil((hi - lo) / step);
  if (!(len_d > 0)) return {};
  // Bounded before the conversion (2e19 does not fit size_t) and the allocation.
  if (len_d > double(kMaxGridPoints))
    throw std::invalid_argument(fmt::format(
        "grid on [{}, {}) at step {} has {:.3g} points; at most {} (a range at most {} wide)", lo, hi, step,
        len_d, kMaxGridPoints, double(kMaxGridPoints) * step));
  auto len = static_cast<size_t>(len_d);
  std::vector<double> x(len);
  x[0] = lo;
  if (len > 1) x[1] = lo + step;
  double delta = x.size() > 1 ? x[1] - x[0] : step;
  for (size_t i = 2; i < len; ++i) x[i] = lo + static_cast<double>(i) * delta;
  return x;
}

ScaleError p_grid_error(const Table& t, const RealFn& f, double lo, double hi,
                        std::optional<TieRule> rule_opt) {
  const TieRule rule = rule_opt.value_or(t.tie);
  std::vector<double> bp(t.breakpoints.size());
  for (size_t i = 0; i < bp.size(); ++i) bp[i] = t.breakpoint_value(int(i));
  Acc a;
  for (double x : arange(lo, hi)) {
    auto it = rule == TieRule::right ? std::upper_bound(bp.begin(), bp.end(), x)
                                     : std::lower_bound(bp.begin(), bp.end(), x);
    int s = int(it - bp.begin());
    a.add(t.slope_value(s) * x + t.intercept_value(s) - finite_at(f, x, "P-grid", t.n));
  }
  return a.done(t.n);
}

double paper_score(const std::vector<ScaleError>& errors) {
  double sum = 0;
  int count = 0;
  for (const auto& e : errors)
    if (e.points > 0) {
      sum += e.mse;
      ++count;
    }
  return count ? sum / count : 0.0;
}

ErrorReport evaluate(const TableSet& set, const RealFn& f, double lo, double hi, Protocol protocol,
                     const std::vector<int>& scales, std::optional<TieRule> rule) {
  ErrorReport r;
  r.protocol = protocol;
  std::vector<int> want = scales.empty() ? set.scales() : scales;
  for (int n : want) {
    const Table& t = set.at(n);
    r.scales.push_back(protocol == Protocol::p_int ? p_int_error(t, f, lo, hi, rule)
                                                   : p_grid_error(t, f, lo, hi, rule));
  }
  r.paper_score = paper_score(r.scales);
  return r;
}

std::vector<int> parse_scales(const std::string& text) {
  auto bad = [&] {
    return std::invalid_argument(fmt::format(
        "scales must look like 0:6, 3 or 0,2,4 with values in [0, {}], got {}", Table::kMaxScale, quote(text)));
  };
  auto num = [&](const std::string& s) {
    if (s.empty() || s.size() > 2 || s.find_first_not_of("0123456789") != std::string::npos) throw bad();
    int v = std::stoi(s);
    if (v > Table::kMaxScale) throw bad();
    return v;
  };
  std::vector<int> out;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    auto colon = part.find(':');
    if (colon == std::string::npos) {
      out.push_back(num(part));
    } else {
      int a = num(part.substr(0, colon)), b = num(part.substr(colon + 1));
      if (a > b) throw bad();
      for (int v = a; v <= b; ++v) out.push_back(v);
    }
  }
  if (out.empty()) throw bad();
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace gqalut
