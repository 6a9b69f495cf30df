#include "gqalut/report.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace gqalut {
namespace {

nlohmann::ordered_json scales_json(const ErrorReport& r) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& e : r.scales) {
    nlohmann::ordered_json s;
    s["n"] = e.n;
    s["points"] = e.points;
    s["mse"] = e.mse;
    s["max_abs_error"] = e.max_abs_error;
    out.push_back(s);
  }
  return out;
}

}  // namespace

Function recorded_function(const TableSet& set, const std::string& hint) {
  if (!set.expression.empty()) return parse_expression(set.expression, set.lo, set.hi);
  try {
    return find_function(set.function);
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument(fmt::format("table function '{}' is not built in; {}", set.function, hint));
  }
}

void measured_range(const TableSet& set, const Function& fn, const std::vector<double>& range, double* lo,
                    double* hi) {
  if (!range.empty() && range.size() != 2)
    throw std::invalid_argument(fmt::format("range must be (lo, hi), got {} numbers", range.size()));
  const bool has_range = set.lo < set.hi;
  *lo = !range.empty() ? range[0] : has_range ? set.lo : fn.lo;
  *hi = !range.empty() ? range[1] : has_range ? set.hi : fn.hi;
  check_finite_on(fn, *lo, *hi);
}

TieRule measured_tie(const TableSet& set, std::optional<TieRule> asked, const std::string& option,
                     const std::string& what) {
  const TieRule recorded = set.tie();
  if (!asked) return recorded;
  if (set.tie_recorded && *asked != recorded)
    throw std::invalid_argument(
        fmt::format("{} applies to files that do not record a tie rule (official files); {} records tie rule {}",
                    option, what, to_string(recorded)));
  return *asked;
}

const char* tie_meaning(TieRule rule) {
  return rule == TieRule::right ? "as trained (the official trainer's rule, x on a breakpoint goes right)"
                                : "as deployed in the official PyTorch op (bucketize, x on a breakpoint goes left)";
}

nlohmann::ordered_json error_report_json(const TableSet& set, const Function& fn, double lo, double hi,
                                         Protocol protocol, const std::vector<int>& scales_in, TieRule tie) {
  const std::vector<int> scales = scales_in.empty() ? set.scales() : scales_in;
  for (int n : scales) set.at(n);  // "table has no scale n = 9 (has 0..6)"
  const ErrorReport r = evaluate(set, fn.f, lo, hi, protocol, scales, tie);
  const Table& first = set.tables.begin()->second;
  nlohmann::ordered_json j;
  j["function"] = fn.expression.empty() ? fn.name : fn.expression;
  j["entries"] = set.entries();
  j["protocol"] = to_string(protocol);
  j["scales"] = scales_json(r);
  j["paper_score"] = r.paper_score;
  j["tie_rule"] = to_string(tie);
  j["tie_recorded"] = set.tie_recorded;
  if (!set.tie_recorded) {
    // An official file: the trainer fits with the right rule, the official op
    // deploys with the left one; both figures.
    const TieRule other = tie == TieRule::right ? TieRule::left : TieRule::right;
    const ErrorReport r_other = evaluate(set, fn.f, lo, hi, protocol, scales, other);
    nlohmann::ordered_json o;
    o["tie_rule"] = to_string(other);
    o["meaning"] = tie_meaning(other);
    o["scales"] = scales_json(r_other);
    o["paper_score"] = r_other.paper_score;
    j["other_tie_rule"] = o;
  }
  j["range"] = {lo, hi};
  j["int8"] = first.is_int8();
  j["slope_format"] = first.slope_format.name();
  j["intercept_format"] = first.intercept_format.name();
  return j;
}

}  // namespace gqalut
