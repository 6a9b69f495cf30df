// gqalut ViT experiment: the tables of one LUT variant, made with gqalut's own
// searches (Optimal, the faithful GA, NN-LUT). No LibTorch here.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "gqalut/search.hpp"
#include "int_ops.hpp"

namespace gqalut::vit {

// "a,b,,c" -> {"a", "b", "c"}: the comma lists of the command lines.
inline std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// What the ViT needs of each function: its range and the scales to provide.
// gelu [-4, 4] and exp [-8, 0] at scales 0..6 (the paper's); reci on [1, 2] at
// scale 6 and rsqrt on [1, 4] at scale 5, the ranges their power-of-two range
// reduction maps into (int8 codes 64..127 and 32..127), slopes q0.7 there.
struct TableSpec {
  std::string function;
  double lo = 0, hi = 0;
  std::vector<int> scales;
  bool auto_formats = false;  // true: the reduction tables' formats (see make_problem)
};
// hswish [-4, 4] at scales 0..6 (the EfficientViT-style model) comes last.
const std::vector<TableSpec>& table_specs();
// The spec of one function; throws std::invalid_argument for an unknown one.
const TableSpec& table_spec(const std::string& function);

// The search problem of one spec.
Problem make_problem(const TableSpec& spec, int entries);

// Runs `method` ("optimal", "ga" = faithful GA, "nnlut") on the spec.
Result search_table(const std::string& method, const TableSpec& spec, int entries, uint64_t seed);

// The file name load_bank reads: <dir>/<method>_<entries>_<function>.json.
std::string table_path(const std::string& dir, const std::string& method, int entries,
                       const std::string& function);

}  // namespace gqalut::vit
