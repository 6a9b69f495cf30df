#include "gqalut/function.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>

#include <fmt/format.h>
#include <muParser.h>

#include "gqalut/text.hpp"

namespace gqalut {
namespace {

double gelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }
double hswish(double x) { return x * std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0; }
double silu(double x) { return x / (1.0 + std::exp(-x)); }
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

Function builtin(std::string name, std::vector<std::string> aliases, double (*f)(double), double lo,
                 double hi, double outer_lo, double outer_hi, bool rm, int s_lo, int s_hi,
                 std::string official, double contract) {
  Function fn;
  fn.name = std::move(name);
  fn.aliases = std::move(aliases);
  fn.f = f;
  fn.lo = lo;
  fn.hi = hi;
  fn.outer_lo = outer_lo;
  fn.outer_hi = outer_hi;
  fn.rounding_mutation = rm;
  fn.official_json_scales_lo = s_lo;
  fn.official_json_scales_hi = s_hi;
  fn.official_name = std::move(official);
  fn.contract_paper_score_8 = contract;
  return fn;
}

std::vector<Function> make_registry() {
  // Outer points and exported scales follow the official trainer and its Makefile.
  // Contracts: a quarter of the paper's GQA-LUT figure for the five paper ops
  // (SPEC section 6); a loose bound for the others.
  std::vector<Function> r;
  r.push_back(builtin("gelu", {}, gelu, -4, 4, -10000, 10000, true, 0, 6, "gelu", 9.4e-5 / 4));
  r.push_back(builtin("hswish", {"hardswish"}, hswish, -4, 4, -10000, 10000, true, 0, 6, "hswish",
                      2.9e-4 / 4));
  r.push_back(builtin("silu", {"swish"}, silu, -4, 4, -10000, 10000, true, 0, 6, "silu", 1e-4));
  r.push_back(builtin("sigmoid", {}, sigmoid, -8, 8, -8, 8, true, 0, 6, "sigmoid", 1e-4));
  r.push_back(builtin("tanh", {}, [](double x) { return std::tanh(x); }, -4, 4, -4, 4, true, 0, 6,
                      "tanh", 1e-4));
  r.push_back(builtin("exp", {}, [](double x) { return std::exp(x); }, -8, 0, -16, 0, true, 0, 6,
                      "exp", 1.2e-4 / 4));
  // 2^x - 1 over one octave around 0: the integer softmax's range-reduced exponential
  // (docs/intops.md; the -1 keeps the intercepts small enough for 10 fraction bits).
  r.push_back(builtin("exp2m1", {}, [](double x) { return std::exp2(x) - 1.0; }, -0.5, 0.5, -0.5, 0.5, true,
                      8, 8, "exp2m1", 2.5e-6));
  r.push_back(builtin("reci", {"div", "reciprocal"}, [](double x) { return 1.0 / x; }, 0.5, 4, 0.5,
                      4, false, 5, 5, "reci", 8.3e-4 / 4));
  r.push_back(builtin("rsqrt", {"sqrt_reci"}, [](double x) { return 1.0 / std::sqrt(x); }, 0.25, 4,
                      0.25, 4, false, 0, 5, "sqrt_reci", 1.7e-3 / 4));
  return r;
}

std::string known_names() {
  std::string s;
  for (const auto& f : builtin_functions()) {
    if (!s.empty()) s += ", ";
    s += f.name;
    for (const auto& a : f.aliases) s += "|" + a;
  }
  return s;
}

}  // namespace

const std::vector<Function>& builtin_functions() {
  static const std::vector<Function> registry = make_registry();
  return registry;
}

const Function& find_function(std::string_view name) {
  for (const auto& f : builtin_functions()) {
    if (f.name == name) return f;
    for (const auto& a : f.aliases)
      if (a == name) return f;
  }
  throw std::invalid_argument(
      fmt::format("unknown function {} (known: {}; or use --expr with --range)", quote(name), known_names()));
}

void check_range(double lo, double hi) {
  if (!std::isfinite(lo) || !std::isfinite(hi))
    throw std::invalid_argument(fmt::format("range must be finite, got [{}, {}]", lo, hi));
  if (!(lo < hi))
    throw std::invalid_argument(
        fmt::format("range must satisfy lo < hi, got [{}, {}] ({})", lo, hi,
                    lo == hi ? "empty" : "inverted"));
}

void check_search_range(double lo, double hi, const char* what) {
  check_range(lo, hi);
  if (lo < -kMaxSearchMagnitude || hi > kMaxSearchMagnitude)
    throw std::invalid_argument(fmt::format(
        "{} must lie within [-{}, {}] for a search (no 16-bit input code lies beyond, and breakpoint codes "
        "x*2^n, n <= 12, must fit in 32 bits), got [{}, {}]",
        what, kMaxSearchMagnitude, kMaxSearchMagnitude, lo, hi));
}

void check_finite_on(const Function& fn, double lo, double hi) {
  check_range(lo, hi);
  auto bad = [&](double x) {
    double y = fn.f(x);
    if (!std::isfinite(y))
      throw std::invalid_argument(fmt::format("{} is not finite on [{}, {}] (f({}) = {})", fn.name, lo,
                                              hi, x, y));
  };
  bad(lo);
  bad(hi);
  // Every multiple of 2^-k in the range for the finest k <= 12 with at most 2^22 points:
  // breakpoints of every scale lie on these dyadic grids, and so do the poles people write.
  double half_span = hi / 2 - lo / 2;  // hi - lo may overflow
  int k = 12;
  while (std::ldexp(half_span, k + 1) > double(1 << 22)) --k;
  double step = std::ldexp(1.0, -k);
  for (double x = std::ceil(lo / step) * step; x <= hi; x += step) bad(x);
  // Every input code of up to 16 bits at every scale (x = q * 2^-n, n <= 12) in the range:
  // the P-int protocol and every search's points (all on the grid above when k = 12).
  if (k < kMaxCheckedScale)
    for (int n = 0; n <= kMaxCheckedScale; ++n) {
      double qlo = std::max(-32768.0, std::ceil(std::ldexp(lo, n)));
      double qhi = std::min(32767.0, std::floor(std::ldexp(hi, n)));
      for (double q = qlo; q <= qhi; ++q) bad(std::ldexp(q, -n));
    }
  // Every point of the P-grid protocol (x = lo + 0.01 j < hi), when that grid is not too
  // large to be evaluated at all (arange refuses it then).
  double grid = std::ceil((hi - lo) / 0.01);
  if (grid <= 10'000'000.0) {
    double x1 = lo + 0.01, delta = x1 - lo;  // numpy's arange fill, as metrics.cpp
    for (double j = 1; j < grid; ++j) bad(j == 1 ? x1 : lo + j * delta);
  }
  // The chord points of automatic formats (Problem::resolve_formats).
  // Counted, not stepped until a + h passes hi: on a range much narrower than an absolute
  // tolerance, or narrower than the spacing of doubles at lo, stepping never ends.
  double h = std::min(std::ldexp(1.0, -6), (hi - lo) / 64);
  double chords = std::floor((hi - lo) / h + 1e-9);
  if (chords <= 1 << 24)
    for (double i = 1; i <= chords; ++i) bad(std::min(lo + i * h, hi));
}

Function make_function(std::string name, std::function<double(double)> f, double lo, double hi) {
  if (name.empty()) throw std::invalid_argument("function name must not be empty");
  if (!f) throw std::invalid_argument(fmt::format("function '{}' has no callable", name));
  Function fn;
  fn.name = std::move(name);
  fn.f = std::move(f);
  fn.lo = lo;
  fn.hi = hi;
  fn.outer_lo = lo;
  fn.outer_hi = hi;
  fn.rounding_mutation = true;
  check_finite_on(fn, lo, hi);
  return fn;
}

namespace {
// muparser has no erf; GELU and friends need it.
mu::value_type mu_erf(mu::value_type v) { return std::erf(v); }
mu::value_type mu_erfc(mu::value_type v) { return std::erfc(v); }
mu::value_type mu_relu(mu::value_type v) { return v > 0 ? v : 0; }

struct ExprState {
  mu::Parser parser;
  double x = 0;
};
}  // namespace

Function parse_expression(const std::string& expr, double lo, double hi) {
  if (expr.find_first_not_of(" \t") == std::string::npos)
    throw std::invalid_argument("expression must not be empty");
  auto st = std::make_shared<ExprState>();
  try {
    st->parser.DefineVar("x", &st->x);
    st->parser.DefineFun("erf", mu_erf);
    st->parser.DefineFun("erfc", mu_erfc);
    st->parser.DefineFun("relu", mu_relu);
    st->parser.DefineConst("pi", M_PI);
    st->parser.DefineConst("e", M_E);
    st->parser.SetExpr(expr);
    st->x = lo;
    st->parser.Eval();
  } catch (const mu::Parser::exception_type& e) {
    throw std::invalid_argument(fmt::format("expression {} is invalid: {}", quote(expr), escape_controls(e.GetMsg())));
  }
  // The parser is not re-entrant: one state per Function copy chain, used
  // from one thread at a time.
  auto f = [st](double x) {
    st->x = x;
    return static_cast<double>(st->parser.Eval());
  };
  Function fn = make_function("expr", f, lo, hi);
  fn.expression = expr;
  return fn;
}

}  // namespace gqalut
