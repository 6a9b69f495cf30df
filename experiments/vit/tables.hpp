// gqalut ViT experiment: the tables of the LUT variants, made with gqalut's
// own searches (the exact optimum, the faithful GA, NN-LUT). No LibTorch here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gqalut/search.hpp"

namespace gqalut::vit {

// What the models need of each function: its range, the scales to provide and
// the code formats (exp2m1, reci and rsqrt: the recipes "exp2m1", "div-octave" and
// "rsqrt-octave" of gqalut/recipes.hpp). gelu [-4, 4] at scales 0..6 (the paper's, the function's
// formats); exp2m1 (2^x - 1) on [-1/2, 1/2) at scale 8, the softmax's EXP stage
// after range reduction (int8 codes -128..127; automatic INT8 formats, as
// gqalut::fit_int8_optimum makes them); reci on [1, 2] at scale 6 and rsqrt on
// [1, 4] at scale 5, the ranges the power-of-two reductions map into (int8
// codes 64..127 and 32..127; slopes q0.7, intercepts q1.6); hswish [-4, 4] at
// scales 0..6 (the EfficientViT-style model).
struct TableSpec {
  enum class Formats { function, automatic, reduction };
  std::string function;
  double lo = 0, hi = 0;
  std::vector<int> scales;
  Formats formats = Formats::function;  // reduction: also the faithful GA's chords on the range ends
  // FormatChoice text of the recipe (gqalut/recipes.hpp) the spec comes from; empty: the function's formats.
  std::string slope_format, intercept_format;
};
const std::vector<TableSpec>& table_specs();
// The spec of one function; throws std::invalid_argument for an unknown one.
const TableSpec& table_spec(const std::string& function);

// The search problem of one spec.
Problem make_problem(const TableSpec& spec, int entries);

// Runs a method of gqalut's registry (gqalut::find_method: "optimal",
// "ga-faithful", "nnlut", ...) on the spec with `seed` where the method takes one.
// Throws std::invalid_argument for an unknown method.
Result search_table(const std::string& method, const TableSpec& spec, int entries, uint64_t seed);

// The file load_bank reads: <dir>/<method>_<entries>_<function>.json.
std::string table_path(const std::string& dir, const std::string& method, int entries, const std::string& function);

}  // namespace gqalut::vit
