// gqalut: search = problem x algorithm (pagmo2 style). A Problem bundles the
// function, range, entry count, formats and scales; each algorithm is a value
// type with run(const Problem&) -> Result and knows nothing of exporters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "gqalut/format.hpp"
#include "gqalut/function.hpp"
#include "gqalut/metrics.hpp"
#include "gqalut/table.hpp"

namespace gqalut {

enum class Objective { mse, max_abs };
const char* to_string(Objective o);
Objective parse_objective(const std::string& text);  // "mse" | "max"

// Called now and then by long runs: fraction done in [0, 1] and a short note.
using ProgressFn = std::function<void(double fraction, const std::string& note)>;

// The points a table at scale n is scored on (P-int): every input code (of
// Problem::input_bits bits) whose x = q 2^-n lies in [lo, hi], with the exact
// function value.
struct ScalePoints {
  int n = 0;
  std::vector<int32_t> q;
  std::vector<double> x;
  std::vector<double> y;
};

// The concrete code formats of a problem (Problem::resolve_formats).
struct CodeFormats {
  Format slope, intercept;
};

struct Problem {
  Function function;
  double lo = 0, hi = 0;           // range; defaults to the function's
  int entries = 8;                 // K, in [2, 64]
  std::vector<int> scales{0, 1, 2, 3, 4, 5, 6};
  FormatChoice slope_format{kQ1_6};
  FormatChoice intercept_format{kQ1_6};
  Objective objective = Objective::mse;
  bool shared = false;             // one coefficient set for all scales (official semantics)
  int input_bits = 8;              // b_in: input codes in [-2^(b_in-1), 2^(b_in-1)-1]; 2..8 or 16
  // The segment rule of the target datapath (SPEC section 1): every method
  // returns tables of this rule. optimal, uniform and ga-improved search for
  // it (their segments are sets of consecutive codes; the optimum under the
  // left rule is the right-rule one with codes moved by one, up to the
  // breakpoint grid of shared tables); ga-faithful and nnlut search as they
  // always do (the faithful fitness has no ties in practice) and their codes
  // are read with this rule, as the official op reads the official tables.
  TieRule tie = TieRule::right;

  // A problem on `fn`'s default range.
  static Problem make(const Function& fn, int entries);

  // Throws std::invalid_argument naming the rule and value.
  void validate() const;
  // Concrete formats: fixed ones as given; auto picks the largest frac_bits at
  // which the function's slopes (max |f'| on the range, plus its chords) and
  // intercepts fit.
  CodeFormats resolve_formats() const;
  std::vector<ScalePoints> points() const;
};

struct Result {
  TableSet tables;          // one table per scale; meta holds method, seed, settings
  ErrorReport errors;       // P-int errors over the problem's scales
  nlohmann::json settings;  // the algorithm's parameters (seed included)
  // Per-iteration record (the GA: best fitness per generation, per scale in
  // per-scale mode). Kept out of table files; doubles as a determinism check.
  nlohmann::json log;
  double seconds = 0;
  std::size_t evaluations = 0;  // fitness evaluations (GA) or segment fits
};

// Fills tables.function/lo/hi/meta and errors from `set` and the problem: the
// common tail of every algorithm.
Result finish_result(const Problem& p, TableSet set, nlohmann::json settings,
                     double seconds, std::size_t evaluations);

// ---- Best integer line of a segment -------------------------------------
// The integer codes (K, B), K in fk, B in fb, minimising sum w_i (K 2^-Fk x_i +
// B 2^-Fb - y_i)^2 (mse) or max |...| (max_abs) over the points. Exact.
struct LineFit {
  int32_t k = 0, b = 0;
  double cost = 0;  // weighted SSE or max abs error; 0 for no points
};
// `evaluations` (optional) counts the direct cost evaluations.
LineFit fit_line_int(const double* x, const double* y, const double* w, std::size_t count,
                     Format fk, Format fb, Objective objective = Objective::mse,
                     std::size_t* evaluations = nullptr);

// ---- Algorithms ----------------------------------------------------------

// The paper's genetic algorithm (SPEC section 5).
struct GaSettings {
  bool improved = false;          // false: faithful to the official trainer
  int population = 50;
  int generations = 500;
  double crossover_prob = 0.7;
  double mutation_prob = 0.2;
  double sigma = 0.2;             // Gaussian mutation step
  std::optional<bool> rounding_mutation;   // default: the function's paper setting
  int rm_lo = 0, rm_hi = 6;       // decimal bits of the rounding mutation
  std::optional<int> rm_offset;   // official: 2 for gelu/8 and hswish/16, else 0
  std::optional<std::pair<double, double>> breakpoint_range;  // default: the range
  std::optional<std::pair<double, double>> outer_points;      // default: the function's
  int elites = 2;                 // improved mode only
  uint64_t seed = 1;
  // Random streams of the faithful mode: "std::mt19937_64" (ours, rng.hpp) or
  // "numpy-deap" (the official trainer's numpy + Python `random` MT19937
  // streams replayed bit for bit, seeds < 2^32; docs/ga.md).
  std::string engine = "std::mt19937_64";
  ProgressFn progress;
};

class GeneticAlgorithm {
 public:
  explicit GeneticAlgorithm(GaSettings s);  // throws on bad settings
  Result run(const Problem& p) const;
  const GaSettings& settings() const { return s_; }

 private:
  GaSettings s_;
};

// The exact optimum of the quantized problem (dynamic programming over
// breakpoint positions, jointly optimal integer coefficients).
struct OptimalSettings {
  ProgressFn progress;
};
class Optimal {
 public:
  explicit Optimal(OptimalSettings s = {}) : s_(std::move(s)) {}
  Result run(const Problem& p) const;

 private:
  OptimalSettings s_;
};

// Uniform breakpoints with the best integer coefficients.
class Uniform {
 public:
  Result run(const Problem& p) const;
};

// NN-LUT (SPEC section 6): a one-hidden-layer ReLU network converted to a table.
struct NnLutSettings {
  int samples = 100000;
  int epochs = 200;
  int batch = 1000;
  double learning_rate = 1e-3;
  uint64_t seed = 1;
  ProgressFn progress;
};
class NnLut {
 public:
  explicit NnLut(NnLutSettings s = {});
  Result run(const Problem& p) const;

 private:
  NnLutSettings s_;
};

}  // namespace gqalut
