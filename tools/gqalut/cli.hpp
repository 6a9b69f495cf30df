// Shared pieces of the gqalut subcommands.
#pragma once

#include <chrono>
#include <string>

#include <CLI/CLI.hpp>

#include "gqalut/function.hpp"
#include "gqalut/search.hpp"
#include "gqalut/table.hpp"

namespace gqalut::cli {

#define GQALUT_COMMAND(name) void add_##name##_command(CLI::App& app);
#include "commands.def"
#undef GQALUT_COMMAND

// The function a command works on: --func NAME, or --expr "..." with --range.
struct FunctionArgs {
  std::string func;
  std::string expr;
  std::vector<double> range;  // empty = the function's default
  void add(CLI::App& cmd, bool func_required_text = true);
  bool given() const { return !func.empty() || !expr.empty(); }
  // Resolves the function and its range; throws std::invalid_argument.
  Function resolve(double* lo, double* hi) const;
};

// A progress line on stderr, only when stderr is a terminal and the run has
// lasted about a second; cleared by finish().
class Progress {
 public:
  explicit Progress(std::string label);
  ProgressFn callback();
  void finish();

 private:
  std::string label_;
  bool tty_;
  bool shown_ = false;
  double last_ = -1;
  std::chrono::steady_clock::time_point start_;
};

// Formats a double for tables: 3 significant digits in scientific notation.
std::string sci(double v);

// Strict integer options: plain decimal digits (no "8x", " 8", "0x8", "1e3"), within [lo, hi];
// the seed: an unsigned 64-bit decimal ("-1" is refused, not read as 2^64 - 1).
CLI::Validator int_in(long long lo, long long hi);
CLI::Validator seed_value();
// Parses TEXT as such an integer; throws std::invalid_argument "WHAT must be an integer in [lo, hi], got 'TEXT'".
long long parse_int(const std::string& text, long long lo, long long hi, const std::string& what);

// Every output named on the command line is checked before the work starts
// (gqalut/atomic_file.hpp: a folder that is missing or read-only, a directory, a read-only file);
// "-" or "" (stdout) passes.
void check_output(const std::string& path, const std::string& what);

}  // namespace gqalut::cli
