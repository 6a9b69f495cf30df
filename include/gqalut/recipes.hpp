// gqalut: the table recipes of the integer operations and their accuracy
// targets, as data in one place (docs/intops.md "Recipes and targets"). A
// recipe says which function a table of an operation approximates, on which
// range, at which input scales and in which code formats; every place that
// fits an operation's tables (gqalut ops, the Python modules, the ViT study,
// the tests) takes them from here. One table-driven test
// (tests/ops/test_recipes.cpp) fits every recipe and checks every target.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gqalut {

struct TableRecipe {
  std::string name;        // "exp2m1", "div", "rsqrt" (the default per role), or "div-octave", ...
  std::string role;        // the datapath stage: "exp2m1" (softmax EXP), "div" (softmax DIV), "rsqrt" (LayerNorm)
  std::string op;          // "softmax" or "layernorm"
  std::string function;    // the registry function fitted (find_function)
  double lo = 0, hi = 0;   // the range the table is fitted on
  std::vector<int> scales; // the input scales fitted (the plan picks the best octave among them)
  std::string slope_format, intercept_format;  // FormatChoice::parse text, e.g. "auto", "q0.7"
  std::string why;         // one line: why this range / scale / format
};

// Every recipe: the default one per role first ("exp2m1", "div", "rsqrt"), then variants.
const std::vector<TableRecipe>& table_recipes();
// By name; throws std::invalid_argument naming the known ones.
const TableRecipe& table_recipe(std::string_view name);

// An operation's accuracy target on the standard rows of `gqalut ops`
// (intops_measure.hpp), in output steps (LSB) against double precision.
struct AccuracyTarget {
  std::string op;          // "softmax" or "layernorm"
  std::string rows;        // the rows it is stated on (every standard set of `gqalut ops`: --set normal/peaked/int32)
  int max_entries = 0;     // applies to tables of at most this many entries (the smallest such target)
  int out_frac = 0;        // the output format it is stated for (-1: any)
  double max_lsb = 0;      // max |error|
  double mean_lsb = -1;    // mean |error| (< 0: none)
  std::string source;      // where it was set
};

const std::vector<AccuracyTarget>& accuracy_targets();
// The target for tables of `entries` entries (the smallest max_entries >= entries) of op at
// out_frac on the standard rows, or nullptr if none applies.
const AccuracyTarget* accuracy_target(std::string_view op, int entries, int out_frac);

}  // namespace gqalut
