// gqalut: the INT8 piecewise-linear table and its bit-exact integer evaluator
// (SPEC sections 1 and 2). The evaluator is the oracle for every other part.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gqalut/format.hpp"

namespace gqalut {

// Which segment an input exactly on a breakpoint belongs to: the segment rule
// of the datapath a table is made for (SPEC section 1). Every table records
// its rule and every evaluator, search, kernel and exporter honours it.
// right: comparators q >= P (SPEC's default): seg(q) = #{i : P_i <= q}.
// left:  comparators q >  P (torch.bucketize(right=False), the official
//        PyTorch op; hardware comparing with >): seg(q) = #{i : P_i < q}.
// A right-rule table with codes P computes on every integer code exactly
// what the left-rule table with codes P - 1 computes (with_tie converts).
enum class TieRule { right, left };
const char* to_string(TieRule rule);
TieRule parse_tie_rule(const std::string& text);  // "right" | "left"

// One table at one input scale S = 2^-n: K entries, K-1 breakpoints.
struct Table {
  int n = 0;                          // input x = q * 2^-n
  std::vector<int32_t> breakpoints;   // codes P_i = p_i * 2^n, sorted, K-1 of them
  std::vector<int32_t> slopes;        // codes K_i, slope k_i = K_i * 2^-Fk
  std::vector<int32_t> intercepts;    // codes B_i, intercept b_i = B_i * 2^-Fb
  Format slope_format = kQ1_6;
  Format intercept_format = kQ1_6;
  // b_in: the input code width; q in [-2^(b_in-1), 2^(b_in-1)-1] (SPEC section
  // 2: 2..8, or 16). P-int errors are measured over these codes.
  int input_bits = 8;
  TieRule tie = TieRule::right;       // the segment rule the codes are meant for

  static constexpr int kMaxScale = 12;
  static constexpr int kMinInputBits = 2;
  static constexpr int kMaxInputBits = 16;
  static constexpr int kMaxEntries = 64;

  int entries() const { return static_cast<int>(slopes.size()); }
  int32_t input_min() const { return -(int32_t{1} << (input_bits - 1)); }
  int32_t input_max() const { return (int32_t{1} << (input_bits - 1)) - 1; }
  // L = max(n + Fk, Fb): the output is acc * 2^-L.
  int shift() const;
  double breakpoint_value(int i) const;
  // The first input code of the segment right of breakpoint i: P_i (right
  // rule) or P_i + 1 (left rule).
  int64_t first_code_right_of(int i) const;
  double slope_value(int i) const;
  double intercept_value(int i) const;
  // True when both code formats fit 8 bits (exportable to INT8 hardware).
  bool is_int8() const { return slope_format.is_int8() && intercept_format.is_int8(); }
  // Smallest signed accumulator width (bits) that holds acc for every input
  // code of `input_bits` bits (0: the table's own input_bits).
  int accumulator_bits(int input_bits = 0) const;
  // Throws std::invalid_argument naming the rule and value: entries in
  // [1, 64], sizes consistent, breakpoints sorted, codes inside their formats,
  // n in [0, 12], input_bits in [2, 16].
  void validate() const;
};

// The same function under `rule`: breakpoint codes moved by one (P -> P - 1
// from right to left, P -> P + 1 from left to right), identical output on
// every integer input code. Returns a copy when the rule is already `rule`.
Table with_tie(const Table& t, TieRule rule);

// Segment index of input code q (0..K-1) under the table's own rule, or under
// `rule` (a what-if: the same codes read with another comparator).
int segment_of(const Table& t, int32_t q);
int segment_of(const Table& t, int32_t q, TieRule rule);
// The integer datapath of SPEC section 2: acc = (K*q) << (L-n-Fk) + (B << (L-Fb)).
int64_t eval_acc(const Table& t, int32_t q);
int64_t eval_acc(const Table& t, int32_t q, TieRule rule);
// acc * 2^-L as a double (exact).
double eval_value(const Table& t, int32_t q);
double eval_value(const Table& t, int32_t q, TieRule rule);

// A family of tables for one function, one per input scale: what a JSON file
// holds. `meta` keeps gqalut's metadata (method, seed, settings, errors).
struct TableSet {
  std::string function;     // registry name, or a user name
  std::string expression;   // muparser expression for user functions
  double lo = 0, hi = 0;    // the range errors are measured on (0, 0: unknown)
  std::map<int, Table> tables;  // by scale n
  nlohmann::json meta = nlohmann::json::object();
  // False for a file that does not say which rule it is made for (an official
  // file without gqalut metadata): its tables are read with the right rule,
  // the official trainer's, and reports show the left rule (the official op's)
  // beside it.
  bool tie_recorded = true;

  int entries() const { return tables.empty() ? 0 : tables.begin()->second.entries(); }
  // The rule of its tables; throws if they differ (one rule per file).
  TieRule tie() const;
  // Reads every table's codes with `rule` (relabels; the codes stay).
  void set_tie(TieRule rule);
  // Converts every table to `rule` keeping the function (with_tie).
  void convert_tie(TieRule rule);
  std::vector<int> scales() const;
  const Table& at(int n) const;  // throws "table has no scale n = 3 (has 0..6)"
};

}  // namespace gqalut
