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
    // Inputs that reach segment s under the right tie rule (either rule gives
    // the same extremes up to one code; take the union to be safe).
    int64_t a = s == 0 ? qmin : std::max<int64_t>(qmin, breakpoints[s - 1] - 1);
    int64_t c = s + 1 == entries() ? qmax : std::min<int64_t>(qmax, breakpoints[s]);
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
