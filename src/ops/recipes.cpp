// The integer operations' table recipes and accuracy targets (include/gqalut/recipes.hpp):
// the only place they are written.
#include "gqalut/recipes.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace gqalut {

const std::vector<TableRecipe>& table_recipes() {
  static const std::vector<TableRecipe> r{
      {"exp2m1", "exp2m1", "softmax", "exp2m1", -0.5, 0.5, {8}, "auto", "auto",
       "2^x - 1 on the octave the EXP range reduction leaves, at scale 8: every int8 code is an EXP input "
       "(2^-8 resolution of the exponent); 2^x - 1 (not 2^x) so the intercepts fit 10 fraction bits"},
      {"div", "div", "softmax", "reci", 0.5, 4, {5}, "auto", "auto",
       "1/x on [0.5, 4] at scale 5: the plan picks the octave of int8 codes [2^a, 2^(a+1)) whose seed error is "
       "smallest (codes [32, 64) = [1, 2) for the optimum), and Newton steps take it to 2^-17"},
      {"rsqrt", "rsqrt", "layernorm", "rsqrt", 0.25, 4, {5}, "auto", "auto",
       "1/sqrt(x) on [0.25, 4] at scale 5: the plan picks two octaves [2^a, 2^(a+2)) of int8 codes (an even "
       "exponent for the square root) and Newton steps take the seed to 2^-17"},
      {"div-octave", "div", "softmax", "reci", 1, 2, {6}, "q0.7", "q1.6",
       "only the octave the datapath reads, at the finest scale that keeps it in int8 codes ([64, 128) at "
       "scale 6): the ViT study's tables; slopes of 1/x on [1, 2] lie in [-1, 0) (q0.7)"},
      {"rsqrt-octave", "rsqrt", "layernorm", "rsqrt", 1, 4, {5}, "q0.7", "q1.6",
       "only the two octaves the datapath reads ([32, 128) at scale 5): the ViT study's tables; slopes of "
       "1/sqrt(x) on [1, 4] lie in [-1, 0) (q0.7)"},
  };
  return r;
}

const TableRecipe& table_recipe(std::string_view name) {
  std::string known;
  for (const TableRecipe& r : table_recipes()) {
    if (r.name == name) return r;
    known += (known.empty() ? "" : ", ") + r.name;
  }
  throw std::invalid_argument(fmt::format("unknown table recipe '{}' (known: {})", name, known));
}

const std::vector<AccuracyTarget>& accuracy_targets() {
  static const std::vector<AccuracyTarget> t{
      {"softmax", "standard", 8, 8, 1.5, 0.25, "docs/intops.md: max <= 1.5 LSB with 8-entry tables, mean <= 0.25"},
      {"softmax", "standard", 16, 8, 1.0, 0.25, "docs/intops.md: max <= 1.0 LSB with 16-entry tables, mean <= 0.25"},
      {"layernorm", "standard", 8, -1, 1.0, -1, "docs/intops.md: max <= 1 output step with an 8-entry RSQRT table"},
  };
  return t;
}

const AccuracyTarget* accuracy_target(std::string_view op, int entries, int out_frac) {
  const AccuracyTarget* best = nullptr;
  for (const AccuracyTarget& t : accuracy_targets())
    if (t.op == op && (t.out_frac < 0 || t.out_frac == out_frac) && entries <= t.max_entries &&
        (!best || t.max_entries < best->max_entries))
      best = &t;
  return best;
}

}  // namespace gqalut
