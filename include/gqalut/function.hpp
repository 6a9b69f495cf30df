// gqalut: the registry of functions that tables approximate (SPEC section 4).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace gqalut {

// A real function with the range it is approximated on and the settings the
// official GQA-LUT trainer uses for it.
struct Function {
  std::string name;                  // canonical name, e.g. "gelu"
  std::vector<std::string> aliases;  // other accepted names, e.g. "div" for reci
  std::function<double(double)> f;   // double-precision reference
  double lo = 0, hi = 0;             // default range [lo, hi], both ends included
  // Outer points of the official trainer's chords (SPEC section 5).
  double outer_lo = 0, outer_hi = 0;
  bool rounding_mutation = true;     // the paper uses RM for this op
  int official_json_scales_lo = 0;   // scales the official trainer exports
  int official_json_scales_hi = 6;
  std::string official_name;         // top-level key in official JSON files
  std::string expression;            // user functions: the muparser expression
  // Accuracy contract: the paper score (SPEC section 3) that the default
  // 8-entry optimum table must stay below. 0 = no contract (user functions).
  double contract_paper_score_8 = 0;

  double operator()(double x) const { return f(x); }
  bool is_builtin() const { return expression.empty() && !official_name.empty(); }
};

// All built-in functions, in a stable order.
const std::vector<Function>& builtin_functions();

// Looks a function up by name or alias (case-sensitive).
// Throws std::invalid_argument "unknown function 'foo' (known: gelu, ...)".
const Function& find_function(std::string_view name);

// Wraps a C++ callable as a function on [lo, hi]; outer points default to the
// range ends. Throws if the range is empty, inverted or not finite, or if f is
// not finite on the range.
Function make_function(std::string name, std::function<double(double)> f, double lo, double hi);

// Parses an expression of x (muparser syntax: sin, exp, erf, sqrt, tanh, ...)
// and makes a function on [lo, hi]. Throws std::invalid_argument on a syntax
// error, with the parser's message.
Function parse_expression(const std::string& expr, double lo, double hi);

// Throws std::invalid_argument if [lo, hi] is empty/inverted/non-finite.
void check_range(double lo, double hi);

// Throws std::invalid_argument "NAME is not finite on [lo, hi] (f(x) = ...)"
// unless f is finite at every point a protocol or search evaluates: both ends,
// every input code of up to 16 bits at every scale n <= 12 (x = q * 2^-n),
// every P-grid point (lo + 0.01 j), the chord points of automatic formats, and
// the finest dyadic grid 2^-k (k <= 12) of the range with at most 2^22 points.
inline constexpr int kMaxCheckedScale = 12;
void check_finite_on(const Function& fn, double lo, double hi);

// A search's range (and breakpoint range) must lie within +-kMaxSearchMagnitude:
// no 16-bit input code lies beyond, and breakpoint codes x * 2^n (n <= 12)
// must fit in 32 bits. Throws std::invalid_argument naming `what` and the range.
inline constexpr double kMaxSearchMagnitude = 65536;
void check_search_range(double lo, double hi, const char* what = "range");

}  // namespace gqalut
