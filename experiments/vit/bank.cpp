// gqalut ViT experiment: LUT banks (see bank.hpp).
#include "bank.hpp"

#include <filesystem>
#include <stdexcept>

#include "gqalut/intops_measure.hpp"
#include "gqalut/io.hpp"

namespace gqalut::vit {

std::vector<std::string> model_functions(const std::string& model) {
  if (model == "vit") return {"gelu", "exp2m1", "reci", "rsqrt"};
  if (model == "effvit") return {"hswish", "reci", "rsqrt"};
  throw std::invalid_argument("model must be vit or effvit, got '" + model + "'");
}

void choose_reduction_scales(LutBank& bank) {
  int best = -1;
  for (int n : bank.reci.scales()) {
    if (n <= 6) best = n;  // scales() is ascending
  }
  if (best < 0) throw std::invalid_argument("reci table needs a scale <= 6, has none");
  bank.reci_n = best;
}

TableSet& bank_set(LutBank& bank, const std::string& fn) {
  if (fn == "gelu") return bank.gelu;
  if (fn == "exp2m1") return bank.exp;
  if (fn == "hswish") return bank.hswish;
  if (fn == "reci") return bank.reci;
  if (fn == "rsqrt") return bank.rsqrt;
  throw std::invalid_argument("table function must be gelu, exp2m1, hswish, reci or rsqrt, got '" + fn + "'");
}

LutBank load_bank(const std::string& dir, const std::string& method, int entries,
                  const std::vector<std::string>& functions) {
  LutBank bank;
  bank.name = method + "-" + std::to_string(entries);
  for (const auto& fn : functions) {
    bank_set(bank, fn) = read_json_file(dir + "/" + method + "_" + std::to_string(entries) + "_" + fn + ".json");
  }
  choose_reduction_scales(bank);
  return bank;
}

LutBank load_official_bank(const std::string& dir, int entries) {
  LutBank bank;
  bank.name = "official-" + std::to_string(entries);
  auto path = [&](const char* fn) { return dir + "/" + fn + "_pwl_" + std::to_string(entries - 1) + ".json"; };
  bank.gelu = read_json_file(path("gelu"));
  bank.exp = fit_recipe(table_recipe("exp2m1"), entries);  // the recipe (gqalut/recipes.hpp)
  bank.reci = read_json_file(path("reci"));
  bank.rsqrt = read_json_file(path("sqrt_reci"));
  if (std::filesystem::exists(path("hswish"))) bank.hswish = read_json_file(path("hswish"));
  choose_reduction_scales(bank);
  return bank;
}

}  // namespace gqalut::vit
