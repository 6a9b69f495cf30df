// gqalut ViT experiment: tables from gqalut's searches (see tables.hpp).
#include "tables.hpp"

#include <stdexcept>

namespace gqalut::vit {

const std::vector<TableSpec>& table_specs() {
  static const std::vector<TableSpec> specs{
      {"gelu", -4, 4, {0, 1, 2, 3, 4, 5, 6}, false},
      {"exp", -8, 0, {0, 1, 2, 3, 4, 5, 6}, false},
      {"reci", 1, 2, {6}, true},
      {"rsqrt", 1, 4, {5}, true},
      {"hswish", -4, 4, {0, 1, 2, 3, 4, 5, 6}, false},
  };
  return specs;
}

const TableSpec& table_spec(const std::string& function) {
  for (const auto& s : table_specs()) {
    if (s.function == function) return s;
  }
  throw std::invalid_argument("no ViT table spec for function '" + function + "'");
}

Problem make_problem(const TableSpec& spec, int entries) {
  Problem p = Problem::make(find_function(spec.function), entries);
  p.lo = spec.lo;
  p.hi = spec.hi;
  p.scales = spec.scales;
  if (spec.reduced) {
    // Slopes of 1/x on [1, 2] and 1/sqrt(x) on [1, 4] lie in [-1, 0): q0.7;
    // intercepts below 2: q1.6. (Fixed rather than "auto": auto may pick
    // 8 fractional bits, whose format name "q-1.8" io cannot read back.)
    p.slope_format = FormatChoice{Format{7, 8}};
    p.intercept_format = FormatChoice{kQ1_6};
  }
  p.validate();
  return p;
}

Result search_table(const std::string& method, const TableSpec& spec, int entries, uint64_t seed) {
  const Problem p = make_problem(spec, entries);
  if (method == "optimal") return Optimal().run(p);
  if (method == "ga") {
    GaSettings s;
    s.improved = false;
    s.seed = seed;
    if (spec.reduced) {  // the official trainer's chords span the range ends
      s.breakpoint_range = std::make_pair(spec.lo, spec.hi);
      s.outer_points = std::make_pair(spec.lo, spec.hi);
    }
    return GeneticAlgorithm(s).run(p);
  }
  if (method == "nnlut") {
    NnLutSettings s;
    s.seed = seed;
    return NnLut(s).run(p);
  }
  throw std::invalid_argument("method must be optimal, ga or nnlut, got '" + method + "'");
}

std::string table_path(const std::string& dir, const std::string& method, int entries, const std::string& function) {
  return dir + "/" + method + "_" + std::to_string(entries) + "_" + function + ".json";
}

}  // namespace gqalut::vit
