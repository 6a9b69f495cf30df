#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "gqalut/search.hpp"

namespace gqalut {

const char* to_string(Objective o) { return o == Objective::mse ? "mse" : "max"; }

Objective parse_objective(const std::string& text) {
  if (text == "mse") return Objective::mse;
  if (text == "max" || text == "max_abs") return Objective::max_abs;
  throw std::invalid_argument(fmt::format("objective must be mse or max, got '{}'", text));
}

Problem Problem::make(const Function& fn, int entries) {
  Problem p;
  p.function = fn;
  p.lo = fn.lo;
  p.hi = fn.hi;
  p.entries = entries;
  return p;
}

void Problem::validate() const {
  if (!function.f) throw std::invalid_argument("problem has no function");
  check_search_range(lo, hi);  // bounded: breakpoint codes fit in 32 bits (issue 12)
  if (entries < 2 || entries > Table::kMaxEntries)
    throw std::invalid_argument(
        fmt::format("entries must be in [2, {}], got {}", Table::kMaxEntries, entries));
  if (scales.empty()) throw std::invalid_argument("scales must not be empty");
  for (int n : scales)
    if (n < 0 || n > Table::kMaxScale)
      throw std::invalid_argument(fmt::format("scale n must be in [0, {}], got {}", Table::kMaxScale, n));
  if (!((input_bits >= 2 && input_bits <= 8) || input_bits == 16))
    throw std::invalid_argument(fmt::format("input code width must be 2..8 or 16 bits, got {}", input_bits));
  for (const FormatChoice* c : {&slope_format, &intercept_format})
    if (c->is_auto() && (c->auto_width < 2 || c->auto_width > Format::kMaxWidth))
      throw std::invalid_argument(
          fmt::format("code width must be in [2, {}], got {}", Format::kMaxWidth, c->auto_width));
  if (slope_format.fixed) slope_format.fixed->validate();
  if (intercept_format.fixed) intercept_format.fixed->validate();
  int with_points = 0;
  for (int n : scales)
    if (!codes_in_range(n, lo, hi, input_bits).empty()) ++with_points;
  if (with_points == 0)
    throw std::invalid_argument(fmt::format(
        "no int{} input code lies in [{}, {}] at any requested scale", input_bits, lo, hi));
}

CodeFormats Problem::resolve_formats() const {
  Format fk = slope_format.fixed.value_or(kQ1_6), fb = intercept_format.fixed.value_or(kQ1_6);
  if (slope_format.is_auto() || intercept_format.is_auto()) {
    // Slopes of short chords and intercepts of the matching lines on a fine
    // grid bound what a good table needs.
    double h = std::min(std::ldexp(1.0, -6), (hi - lo) / 64);
    double kmin = 0, kmax = 0, bmin = 0, bmax = 0;
    // Counted chords (stepping a += h until it passes hi never ends on a range narrower than
    // the spacing of doubles at lo; check_finite_on visits the same end points).
    const double chords = std::floor((hi - lo) / h + 1e-9);
    for (double i = 0; i < chords; ++i) {
      double a = lo + i * h, c = std::min(lo + (i + 1) * h, hi);
      if (!(c > a)) continue;
      double k = (function(c) - function(a)) / (c - a);
      double b = function(a) - k * a;
      kmin = std::min(kmin, k);
      kmax = std::max(kmax, k);
      bmin = std::min(bmin, b);
      bmax = std::max(bmax, b);
    }
    if (slope_format.is_auto())
      fk = Format{auto_frac_bits(kmin, kmax, slope_format.auto_width), slope_format.auto_width};
    if (intercept_format.is_auto())
      fb = Format{auto_frac_bits(bmin, bmax, intercept_format.auto_width), intercept_format.auto_width};
  }
  return {fk, fb};
}

std::vector<ScalePoints> Problem::points() const {
  std::vector<ScalePoints> out;
  for (int n : scales) {
    ScalePoints sp;
    sp.n = n;
    sp.q = codes_in_range(n, lo, hi, input_bits);
    for (int32_t q : sp.q) {
      double x = std::ldexp(double(q), -n);
      sp.x.push_back(x);
      sp.y.push_back(function(x));
    }
    out.push_back(std::move(sp));
  }
  return out;
}

Result finish_result(const Problem& p, TableSet set, nlohmann::json settings, double seconds,
                     std::size_t evaluations) {
  Result r;
  set.function = p.function.name;
  set.expression = p.function.expression;
  set.lo = p.lo;
  set.hi = p.hi;
  for (auto& kv : set.tables) kv.second.input_bits = p.input_bits;
  for (auto& kv : set.tables) kv.second.tie = p.tie;  // the codes the method made are for this rule
  r.errors = evaluate(set, p.function.f, p.lo, p.hi, Protocol::p_int, p.scales);
  nlohmann::json errs = nlohmann::json::array();
  for (const auto& e : r.errors.scales)
    errs.push_back({{"n", e.n}, {"points", e.points}, {"mse", e.mse}, {"max_abs_error", e.max_abs_error}});
  settings["tie"] = to_string(p.tie);
  set.meta["settings"] = settings;
  set.meta["method"] = settings.value("method", std::string("unknown"));
  if (settings.contains("seed")) set.meta["seed"] = settings["seed"];
  set.meta["errors"] = {{"protocol", "int"}, {"scales", errs}, {"paper_score", r.errors.paper_score}};
  set.meta["objective"] = to_string(p.objective);
  set.meta["shared_coefficients"] = p.shared;
  r.tables = std::move(set);
  r.settings = std::move(settings);
  r.seconds = seconds;
  r.evaluations = evaluations;
  return r;
}

}  // namespace gqalut
