// Test helper, one copy for every search test: the paper's problem for a registered function,
// Problem::make at `entries` over the scales the official trainer exports
// (Function::official_json_scales_lo..hi).
#pragma once

#include <string>

#include "gqalut/function.hpp"
#include "gqalut/search.hpp"

namespace gqalut_test {

inline gqalut::Problem paper_problem(const gqalut::Function& f, int entries = 8) {
  gqalut::Problem p = gqalut::Problem::make(f, entries);
  p.scales.clear();
  for (int n = f.official_json_scales_lo; n <= f.official_json_scales_hi; ++n) p.scales.push_back(n);
  return p;
}

inline gqalut::Problem paper_problem(const std::string& name, int entries = 8) {
  return paper_problem(gqalut::find_function(name), entries);
}

}  // namespace gqalut_test
