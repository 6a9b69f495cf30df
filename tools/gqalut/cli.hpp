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

}  // namespace gqalut::cli
