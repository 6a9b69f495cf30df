#include "cli.hpp"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "gqalut/atomic_file.hpp"
#include "gqalut/text.hpp"

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

namespace {
// The message for a bad integer, or "" when TEXT is a plain decimal in [lo, hi].
std::string int_error(const std::string& text, long long lo, long long hi) {
  std::string bad = fmt::format("must be an integer in [{}, {}], got {}", lo, hi, quote(text));
  size_t digits = text.size() - (!text.empty() && text[0] == '-' ? 1 : 0);
  if (digits == 0 || digits > 18 || text.find_first_not_of("0123456789", text.size() - digits) != std::string::npos)
    return bad;
  long long v = std::stoll(text);
  return v < lo || v > hi ? bad : "";
}
}  // namespace

CLI::Validator int_in(long long lo, long long hi) {
  return CLI::Validator([lo, hi](std::string& text) { return int_error(text, lo, hi); },
                        fmt::format("INT in [{}, {}]", lo, hi));
}

CLI::Validator seed_value() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        std::string bad = fmt::format("must be an integer in [0, 2^64 - 1], got {}", quote(text));
        if (text.empty() || text.size() > 20 || text.find_first_not_of("0123456789") != std::string::npos) return bad;
        errno = 0;
        (void)std::strtoull(text.c_str(), nullptr, 10);
        return errno == ERANGE ? bad : "";
      },
      "UINT64");
}

long long parse_int(const std::string& text, long long lo, long long hi, const std::string& what) {
  std::string e = int_error(text, lo, hi);
  if (!e.empty()) throw std::invalid_argument(what + " " + e);
  return std::stoll(text);
}

void check_output(const std::string& path, const std::string& what) {
  if (path.empty() || path == "-") return;
  check_writable(path, what);
}

}  // namespace gqalut::cli
