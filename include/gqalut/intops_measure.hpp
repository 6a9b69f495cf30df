// gqalut: the error of the integer operations (intops.hpp) against double
// precision, on the standard row sets of docs/intops.md or on a user's rows.
// One implementation for the tests, the benchmarks and `gqalut ops`.
// Errors are in output steps (LSB = 2^-out_frac) against the double-precision
// operation on the same quantized inputs, the reference clamped to the
// output code range (what the output format can hold).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "gqalut/function.hpp"
#include "gqalut/intops.hpp"
#include "gqalut/methods.hpp"
#include "gqalut/recipes.hpp"
#include "gqalut/search.hpp"

namespace gqalut {

// The optimum `entries`-entry table of a registered function at the given
// scales with automatic INT8 code formats: the tables the operations use when
// none are given (softmax: fit_int8_optimum("exp2m1", K, {8}) and ("reci", K,
// {5}); LayerNorm: ("rsqrt", K, {5})). Header-only: callers link gqalut::search.
inline TableSet fit_int8_optimum(const std::string& function, int entries, std::vector<int> scales) {
  Problem p = Problem::make(find_function(function), entries);
  p.scales = std::move(scales);
  p.slope_format = FormatChoice::parse("auto");
  p.intercept_format = FormatChoice::parse("auto");
  return Optimal().run(p).tables;
}

// A recipe's table set (include/gqalut/recipes.hpp): its function, range, scales and
// formats, fitted with `method` (gqalut's registry, find_method) and `entries`.
// Header-only: callers link gqalut::search.
inline TableSet fit_recipe(const TableRecipe& r, int entries, const std::string& method = "optimal") {
  Problem p = Problem::make(find_function(r.function), entries);
  p.lo = r.lo;
  p.hi = r.hi;
  p.scales = r.scales;
  p.slope_format = FormatChoice::parse(r.slope_format);
  p.intercept_format = FormatChoice::parse(r.intercept_format);
  p.validate();
  return run_method(method, p).tables;
}

struct OpErrorStats {
  size_t n = 0;          // row length (0: element-wise)
  size_t rows = 0;       // rows measured
  size_t points = 0;     // outputs compared
  double max_err_lsb = 0, mean_err_lsb = 0;
  // The floor: the same statistics for the exact result rounded to the output
  // grid (what a perfect operation with this output format gives).
  double floor_max_err_lsb = 0, floor_mean_err_lsb = 0;
};

// Rows of real values.
using Rows = std::vector<std::vector<double>>;

// Attention-like logits: N(0, sd) with sd = 0.5, 1, 1.5, 2 in turn, one row each.
Rows normal_logit_rows(size_t n, size_t rows, uint64_t seed);
// Peaked rows: N(0, sd) as above plus one logit 6..8 (uniform) above the rest's
// maximum, the row shifted down so that it fits an int8 code at 2^-4.
Rows peaked_logit_rows(size_t n, size_t rows, uint64_t seed);
// LayerNorm inputs: N(0.3, sd), sd = 0.5..2 in turn, every 97th channel (from 5) an outlier at 6.0.
Rows layernorm_rows(size_t n, size_t rows, uint64_t seed);

// Quantizes each row at plan.in_frac (round half away from zero, saturate to
// the code type), runs softmax_row, and compares the uint8 probabilities
// (2^-out_frac) with the double softmax of the quantized logits.
OpErrorStats measure_softmax(const SoftmaxPlan& plan, const Rows& rows, bool int32_logits, Isa isa = Isa::automatic);

// gamma N(1, 0.2) at 2^-gamma_frac and beta N(0, 0.2) at 2^-out_frac, drawn
// from `seed`, per row; int8 output at 2^-out_frac.
OpErrorStats measure_layernorm(const LayerNormPlan& plan, const Rows& rows, uint64_t seed, Isa isa = Isa::automatic);

// The same protocol for any implementation of an operation (the table plans above
// are wrapped in these; I-BERT's operations, include/gqalut/ibert.hpp, are measured
// through them in `gqalut ops --method ibert`): the row functions and the formats.
struct SoftmaxRowOp {
  int in_frac = 0, out_frac = 8;
  std::function<void(const int8_t*, uint8_t*, size_t)> s8;    // int8 logits
  std::function<void(const int32_t*, uint8_t*, size_t)> s32;  // int32 logits
};
OpErrorStats measure_softmax(const SoftmaxRowOp& op, const Rows& rows, bool int32_logits);
struct LayerNormRowOp {
  int in_frac = 0, out_frac = 4, gamma_frac = 6;
  double eps = 1e-5;
  std::function<void(const int8_t* x, const int8_t* gamma, const int32_t* beta, int8_t* out, size_t n)> row;
};
OpErrorStats measure_layernorm(const LayerNormRowOp& op, const Rows& rows, uint64_t seed);
struct Int8Op {
  int in_frac = 0, out_frac = 0;
  std::function<void(const int8_t*, int8_t*, size_t)> run;
};
OpErrorStats measure_activation(const Int8Op& op, const Function& fn);
OpErrorStats measure_activation(const Int8Op& op, const Function& fn, const Rows& rows);

// Every int8 code q with x = q 2^-in_frac in [fn.lo, fn.hi].
OpErrorStats measure_activation(const ActivationPlan& plan, const Function& fn, int in_frac,
                                Isa isa = Isa::automatic);
// A user's values, quantized to int8 at 2^-in_frac (reference: fn at the quantized x).
OpErrorStats measure_activation(const ActivationPlan& plan, const Function& fn, int in_frac, const Rows& rows,
                                Isa isa = Isa::automatic);

}  // namespace gqalut
