// gqalut ViT experiment: the tables of one LUT variant (a "bank") and where
// they come from. No LibTorch here.
#pragma once

#include <string>
#include <vector>

#include "gqalut/table.hpp"

namespace gqalut::vit {

// One TableSet per function. The ViT uses gelu, exp2m1, reci, rsqrt; the
// EfficientViT-style model hswish, reci, rsqrt. A function a model does not
// use stays an empty TableSet.
struct LutBank {
  std::string name;     // e.g. "optimal-8"
  TableSet gelu;        // GELU per input scale (gqalut::activation)
  TableSet exp;         // 2^x - 1 on [-1/2, 1/2) at scale 8: the softmax's EXP stage (prepare_softmax)
  TableSet hswish;      // HSWISH per input scale (gqalut::activation)
  TableSet reci;        // 1/x: the softmax's DIV stage and the linear attention's division
  TableSet rsqrt;       // 1/sqrt(x): LayerNorm's stage (gqalut::prepare_layernorm)
  int reci_n = 6;       // input scale of the linear attention's reciprocal lookup
};

// The functions each model's tables cover: "vit" -> gelu, exp2m1, reci, rsqrt;
// "effvit" -> hswish, reci, rsqrt. Throws std::invalid_argument otherwise.
std::vector<std::string> model_functions(const std::string& model);

// Chooses reci_n: the largest scale <= 6 of the reciprocal table; throws
// std::invalid_argument if it has none.
void choose_reduction_scales(LutBank& bank);

// Loads "<dir>/<method>_<entries>_<fn>.json" for each fn in `functions`.
LutBank load_bank(const std::string& dir, const std::string& method, int entries,
                  const std::vector<std::string>& functions);
// The official GQA-LUT tables (<dir>/<fn>_pwl_<entries-1>.json); hswish too
// when its file exists. The official release has no 2^x - 1 table for the
// range-reduced softmax (its EXP table is e^x on [-8, 0], which the library's
// softmax no longer takes), so the bank's exp2m1 table is gqalut's optimum with
// the same entry count (the recipe "exp2m1": gqalut::fit_recipe(table_recipe("exp2m1"), entries)).
LutBank load_official_bank(const std::string& dir, int entries);

// The table set of a function name in the bank ("gelu", "exp2m1", "hswish",
// "reci", "rsqrt"); throws std::invalid_argument for another name.
TableSet& bank_set(LutBank& bank, const std::string& function);

}  // namespace gqalut::vit
