#include "cli.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include <fmt/format.h>

namespace gqalut::cli {

void FunctionArgs::add(CLI::App& cmd, bool) {
  cmd.add_option("--func", func, "Built-in function: gelu, hswish, silu, sigmoid, tanh, exp, reci (div), rsqrt (sqrt_reci)");
  cmd.add_option("--expr", expr, "A function of x in muparser syntax, e.g. \"x*tanh(log(1+exp(x)))\" (needs --range)");
  cmd.add_option("--range", range, "Range LO HI (both ends included); default: the function's")->expected(2);
}

Function FunctionArgs::resolve(double* lo, double* hi) const {
  if (!func.empty() && !expr.empty())
    throw std::invalid_argument("give either --func or --expr, not both");
  if (func.empty() && expr.empty())
    throw std::invalid_argument("give the function: --func NAME (e.g. gelu) or --expr \"...\" --range LO HI");
  if (!expr.empty() && range.empty())
    throw std::invalid_argument("--expr needs --range LO HI");
  if (!range.empty()) check_range(range[0], range[1]);
  Function fn = !expr.empty() ? parse_expression(expr, range[0], range[1]) : find_function(func);
  *lo = range.empty() ? fn.lo : range[0];
  *hi = range.empty() ? fn.hi : range[1];
  if (!range.empty() && expr.empty()) check_finite_on(fn, *lo, *hi);
  return fn;
}

Progress::Progress(std::string label)
    : label_(std::move(label)), tty_(isatty(STDERR_FILENO) != 0), start_(std::chrono::steady_clock::now()) {}

ProgressFn Progress::callback() {
  if (!tty_) return {};
  return [this](double fraction, const std::string& note) {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (s < 1.0 && fraction < 1.0) return;
    if (s - last_ < 0.1 && fraction < 1.0) return;  // at most ten redraws a second
    last_ = s;
    fmt::print(stderr, "\r\033[K{} {:5.1f}% {:6.1f}s {}", label_, 100 * fraction, s, note);
    std::fflush(stderr);
    shown_ = true;
  };
}

void Progress::finish() {
  if (shown_) {
    fmt::print(stderr, "\r\033[K");
    std::fflush(stderr);
  }
  shown_ = false;
}

std::string sci(double v) { return fmt::format("{:.3e}", v); }

}  // namespace gqalut::cli
