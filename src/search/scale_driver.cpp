#include "scale_driver.hpp"

#include <algorithm>
#include <cmath>

#include "segment_fit.hpp"

namespace gqalut::detail {

int64_t ScaleView::code_at(int64_t code, std::size_t s) const {
  return shift_round_even(code, m - scales[s]->n);
}

int32_t ScaleView::left_of(int64_t code, std::size_t s) const {
  const std::vector<int32_t>& q = scales[s]->q;
  const int64_t c = code_at(code, s);
  auto it = tie == TieRule::right ? std::lower_bound(q.begin(), q.end(), c) : std::upper_bound(q.begin(), q.end(), c);
  return int32_t(it - q.begin());
}

void put_table(TableSet& set, int n, CodeFormats formats, const std::vector<int64_t>& breakpoints,
               std::vector<int32_t> slopes, std::vector<int32_t> intercepts) {
  Table t;
  t.n = n;
  t.slope_format = formats.slope;
  t.intercept_format = formats.intercept;
  for (int64_t c : breakpoints) t.breakpoints.push_back(int32_t(c));  // codes fit 32 bits (issue 12)
  t.slopes = std::move(slopes);
  t.intercepts = std::move(intercepts);
  t.validate();
  set.tables[n] = std::move(t);
}

std::vector<int64_t> codes_on_grid(const std::vector<double>& breakpoints, int n) {
  std::vector<int64_t> c;
  c.reserve(breakpoints.size());
  for (double b : breakpoints) c.push_back(static_cast<int64_t>(std::nearbyint(std::ldexp(b, n))));
  return c;
}

std::vector<int64_t> round_codes(const std::vector<int64_t>& codes, int m, int n) {
  std::vector<int64_t> c;
  c.reserve(codes.size());
  for (int64_t v : codes) c.push_back(shift_round_even(v, m - n));
  return c;
}

TableSet search_scales(const Problem& p, CodeFormats formats, const ViewSearch& search) {
  const std::vector<ScalePoints> pts = p.points();
  TableSet set;
  if (!p.shared) {
    for (std::size_t i = 0; i < pts.size(); ++i) {
      const ScalePoints& sp = pts[i];
      ScaleView v;
      v.m = sp.n;
      v.tie = p.tie;
      if (!sp.q.empty()) {
        v.scales = {&sp};
        v.weight = {1.0};
        v.norm = double(sp.q.size());
      }
      v.index = int(i);
      v.count = int(pts.size());
      ViewTable t = search(v);
      put_table(set, sp.n, formats, t.breakpoints, std::move(t.slopes), std::move(t.intercepts));
    }
    return set;
  }
  ScaleView v;
  v.shared = true;
  v.m = *std::max_element(p.scales.begin(), p.scales.end());
  v.tie = p.tie;
  for (const ScalePoints& sp : pts)
    if (!sp.q.empty()) {
      v.scales.push_back(&sp);
      v.weight.push_back(1.0 / double(sp.q.size()));
    }
  v.norm = double(v.scales.size());
  ViewTable t = search(v);
  for (const ScalePoints& sp : pts)
    put_table(set, sp.n, formats, round_codes(t.breakpoints, v.m, sp.n), t.slopes, t.intercepts);
  return set;
}

}  // namespace gqalut::detail
