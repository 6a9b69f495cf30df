// gqalut ViT experiment: the tables of the LUT variants, made with gqalut's
// own searches (the exact optimum, the faithful GA, NN-LUT). No LibTorch here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gqalut/search.hpp"

namespace gqalut::vit {

// What the models need of each function: its range and the scales to provide.
// gelu [-4, 4] and exp [-8, 0] at scales 0..6 (the paper's); reci on [1, 2] at
// scale 6 and rsqrt on [1, 4] at scale 5, the ranges their power-of-two range
// reduction maps into (int8 codes 64..127 and 32..127), slopes q0.7 there;
// hswish [-4, 4] at scales 0..6 (the EfficientViT-style model).
struct TableSpec {
  std::string function;
  double lo = 0, hi = 0;
  std::vector<int> scales;
  bool reduced = false;  // a range-reduction table: fixed formats, GA chords on the range ends
};
const std::vector<TableSpec>& table_specs();
// The spec of one function; throws std::invalid_argument for an unknown one.
const TableSpec& table_spec(const std::string& function);

// The search problem of one spec.
Problem make_problem(const TableSpec& spec, int entries);

// Runs `method` ("optimal", "ga" = the faithful GA, "nnlut") on the spec.
// Throws std::invalid_argument for another method.
Result search_table(const std::string& method, const TableSpec& spec, int entries, uint64_t seed);

// The file load_bank reads: <dir>/<method>_<entries>_<function>.json.
std::string table_path(const std::string& dir, const std::string& method, int entries, const std::string& function);

}  // namespace gqalut::vit
