#include "gqalut/table.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace gqalut {

const char* to_string(TieRule rule) { return rule == TieRule::right ? "right" : "left"; }

TieRule parse_tie_rule(const std::string& text) {
  if (text == "right") return TieRule::right;
  if (text == "left") return TieRule::left;
  throw std::invalid_argument(fmt::format("tie rule must be right or left, got '{}'", text));
}

int Table::shift() const {
  return std::max(n + slope_format.frac_bits, intercept_format.frac_bits);
}

double Table::breakpoint_value(int i) const { return std::ldexp(double(breakpoints.at(i)), -n); }
int64_t Table::first_code_right_of(int i) const {
  return int64_t{breakpoints.at(i)} + (tie == TieRule::left ? 1 : 0);
}

Table with_tie(const Table& t, TieRule rule) {
  Table out = t;
  if (t.tie == rule) return out;
  const int32_t step = rule == TieRule::left ? -1 : 1;
  for (auto& p : out.breakpoints) {
    if ((step < 0 && p == INT32_MIN) || (step > 0 && p == INT32_MAX))
      throw std::invalid_argument(fmt::format("breakpoint code {} cannot move to the {} rule", p, to_string(rule)));
    p += step;
  }
  out.tie = rule;
  return out;
}

double Table::slope_value(int i) const { return slope_format.decode(slopes.at(i)); }
double Table::intercept_value(int i) const { return intercept_format.decode(intercepts.at(i)); }

void Table::validate() const {
  if (n < 0 || n > kMaxScale)
    throw std::invalid_argument(fmt::format("scale n must be in [0, {}], got {}", kMaxScale, n));
  slope_format.validate();
  intercept_format.validate();
  if (input_bits < kMinInputBits || input_bits > kMaxInputBits)
    throw std::invalid_argument(fmt::format("input code width must be in [{}, {}] bits, got {}", kMinInputBits,
                                            kMaxInputBits, input_bits));
  int k = entries();
  if (k < 1 || k > kMaxEntries)
    throw std::invalid_argument(fmt::format("entries must be in [1, {}], got {}", kMaxEntries, k));
  if (intercepts.size() != slopes.size())
    throw std::invalid_argument(fmt::format("a table needs as many intercepts as slopes, got {} and {}",
                                            intercepts.size(), slopes.size()));
  if (breakpoints.size() + 1 != slopes.size())
    throw std::invalid_argument(fmt::format(
        "a table of {} entries needs {} breakpoints, got {}", k, k - 1, breakpoints.size()));
  for (size_t i = 1; i < breakpoints.size(); ++i)
    if (breakpoints[i] < breakpoints[i - 1])
      throw std::invalid_argument(fmt::format("breakpoints must be sorted, got {} after {} (scale {})",
                                              breakpoint_value(i), breakpoint_value(i - 1), n));
  auto check = [](const std::vector<int32_t>& codes, const Format& f, const char* what) {
    for (auto c : codes)
      if (c < f.min_code() || c > f.max_code())
        throw std::invalid_argument(fmt::format("{} code {} does not fit {} (codes [{}, {}])", what, c,
                                                f.name(), f.min_code(), f.max_code()));
  };
  check(slopes, slope_format, "slope");
  check(intercepts, intercept_format, "intercept");
}

int segment_of(const Table& t, int32_t q) { return segment_of(t, q, t.tie); }
int64_t eval_acc(const Table& t, int32_t q) { return eval_acc(t, q, t.tie); }
double eval_value(const Table& t, int32_t q) { return eval_value(t, q, t.tie); }

int segment_of(const Table& t, int32_t q, TieRule rule) {
  const auto& p = t.breakpoints;
  auto it = rule == TieRule::right ? std::upper_bound(p.begin(), p.end(), q)
                                   : std::lower_bound(p.begin(), p.end(), q);
  return static_cast<int>(it - p.begin());
}

int64_t eval_acc(const Table& t, int32_t q, TieRule rule) {
  int s = segment_of(t, q, rule);
  int L = t.shift();
  int64_t kq = int64_t{t.slopes[s]} * q;
  int64_t b = int64_t{t.intercepts[s]};
  // Left shifts of negative values via multiplication keep this well defined.
  return kq * (int64_t{1} << (L - t.n - t.slope_format.frac_bits)) +
         b * (int64_t{1} << (L - t.intercept_format.frac_bits));
}

double eval_value(const Table& t, int32_t q, TieRule rule) {
  return std::ldexp(static_cast<double>(eval_acc(t, q, rule)), -t.shift());
}

int Table::accumulator_bits(int bits_in) const {
  const int b = bits_in > 0 ? bits_in : input_bits;
  int64_t qmin = -(int64_t{1} << (b - 1)), qmax = (int64_t{1} << (b - 1)) - 1;
  int L = shift();
  int64_t lo = 0, hi = 0;
  for (int s = 0; s < entries(); ++s) {
    // Inputs that reach segment s under the table's rule: [first code right
    // of breakpoint s-1, first code right of breakpoint s minus one].
    int64_t a = s == 0 ? qmin : std::max<int64_t>(qmin, first_code_right_of(s - 1));
    int64_t c = s + 1 == entries() ? qmax : std::min<int64_t>(qmax, first_code_right_of(s) - 1);
    if (a > c) continue;
    for (int64_t q : {a, c}) {
      int64_t acc = int64_t{slopes[s]} * q * (int64_t{1} << (L - n - slope_format.frac_bits)) +
                    int64_t{intercepts[s]} * (int64_t{1} << (L - intercept_format.frac_bits));
      lo = std::min(lo, acc);
      hi = std::max(hi, acc);
    }
  }
  int bits = 1;
  while (lo < -(int64_t{1} << (bits - 1)) || hi > (int64_t{1} << (bits - 1)) - 1) ++bits;
  return bits;
}

std::vector<int> TableSet::scales() const {
  std::vector<int> s;
  for (const auto& kv : tables) s.push_back(kv.first);
  return s;
}

TieRule TableSet::tie() const {
  if (tables.empty()) return TieRule::right;
  TieRule r = tables.begin()->second.tie;
  for (const auto& [n, t] : tables)
    if (t.tie != r)
      throw std::invalid_argument(fmt::format("every scale of a table set must use one tie rule, got {} at scale {} and {} at scale {}",
                                              to_string(r), tables.begin()->first, to_string(t.tie), n));
  return r;
}

void TableSet::set_tie(TieRule rule) {
  for (auto& kv : tables) kv.second.tie = rule;
}

void TableSet::convert_tie(TieRule rule) {
  for (auto& kv : tables) kv.second = with_tie(kv.second, rule);
}

const Table& TableSet::at(int n) const {
  auto it = tables.find(n);
  if (it == tables.end()) {
    std::string have;
    for (int s : scales()) have += (have.empty() ? "" : ",") + std::to_string(s);
    throw std::invalid_argument(fmt::format("table has no scale n = {} (has {})", n, have));
  }
  return it->second;
}

}  // namespace gqalut
