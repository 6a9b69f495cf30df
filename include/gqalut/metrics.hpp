// gqalut: the error protocols of SPEC section 3, all in double precision
// against the exact function.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "gqalut/table.hpp"

namespace gqalut {

enum class Protocol { p_int, p_grid };
const char* to_string(Protocol p);  // "int" | "grid"
Protocol parse_protocol(const std::string& text);

struct ScaleError {
  int n = 0;
  int points = 0;
  double mse = 0;
  double max_abs_error = 0;
};

struct ErrorReport {
  Protocol protocol = Protocol::p_int;
  std::vector<ScaleError> scales;
  double paper_score = 0;  // mean over the scales of the MSE
};

using RealFn = std::function<double(double)>;

// Input codes q in [-2^(bits-1), 2^(bits-1)-1] with q * 2^-n in [lo, hi].
std::vector<int32_t> codes_in_range(int n, double lo, double hi, int bits = 8);

// Every protocol evaluates a table with its own tie rule (Table::tie) unless
// `rule` is given (a what-if: the same codes read with the other comparator,
// e.g. an official file as the official op deploys it).
// P-int: every input code (t.input_bits wide, int8 by default) whose x lies in
// [lo, hi]; output is the integer datapath.
ScaleError p_int_error(const Table& t, const RealFn& f, double lo, double hi,
                       std::optional<TieRule> rule = std::nullopt);
// P-grid: x_j = lo + 0.01 j, j = 0.. while x_j < hi (numpy.arange semantics);
// the table's breakpoints (already on the grid 2^-n) and coefficients as stored.
// x on a breakpoint p goes right under the right rule, left under the left one.
ScaleError p_grid_error(const Table& t, const RealFn& f, double lo, double hi,
                        std::optional<TieRule> rule = std::nullopt);
// The official trainer's grid, reproducing numpy.arange(lo, hi, step) bit for bit.
// Throws std::invalid_argument when it would hold more than kMaxGridPoints points.
inline constexpr size_t kMaxGridPoints = 10'000'000;
std::vector<double> arange(double lo, double hi, double step = 0.01);

// Mean of the per-scale MSEs (scales with no points are skipped).
double paper_score(const std::vector<ScaleError>& errors);

// Errors of every table of `set` whose scale is in `scales` (all when empty).
ErrorReport evaluate(const TableSet& set, const RealFn& f, double lo, double hi,
                     Protocol protocol = Protocol::p_int, const std::vector<int>& scales = {},
                     std::optional<TieRule> rule = std::nullopt);

// Parses "0:6", "3", "0,2,4" into a sorted list of scales in [0, 12].
std::vector<int> parse_scales(const std::string& text);

}  // namespace gqalut
