// gqalut ViT experiment: tables from gqalut's searches (see tables.hpp).
#include "tables.hpp"

#include <stdexcept>

#include "gqalut/methods.hpp"
#include "gqalut/recipes.hpp"

namespace gqalut::vit {

namespace {
// The softmax / LayerNorm tables come from the operations' recipes (gqalut/recipes.hpp).
TableSpec from_recipe(const char* recipe, TableSpec::Formats formats) {
  const TableRecipe& r = table_recipe(recipe);
  return {r.function, r.lo, r.hi, r.scales, formats, r.slope_format, r.intercept_format};
}
}  // namespace

const std::vector<TableSpec>& table_specs() {
  static const std::vector<TableSpec> specs{
      {"gelu", -4, 4, {0, 1, 2, 3, 4, 5, 6}, TableSpec::Formats::function, "", ""},
      from_recipe("exp2m1", TableSpec::Formats::automatic),
      from_recipe("div-octave", TableSpec::Formats::reduction),
      from_recipe("rsqrt-octave", TableSpec::Formats::reduction),
      {"hswish", -4, 4, {0, 1, 2, 3, 4, 5, 6}, TableSpec::Formats::function, "", ""},
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
  if (!spec.slope_format.empty()) {
    // The recipe's formats: "auto" (the library's INT8 choice) or, for the reduction tables,
    // slopes q0.7 (1/x on [1, 2] and 1/sqrt(x) on [1, 4] lie in [-1, 0)) and intercepts q1.6
    // (fixed rather than auto: auto may pick 8 fractional bits, "q-1.8", which io cannot read back).
    p.slope_format = FormatChoice::parse(spec.slope_format);
    p.intercept_format = FormatChoice::parse(spec.intercept_format);
  }
  p.validate();
  return p;
}

Result search_table(const std::string& method, const TableSpec& spec, int entries, uint64_t seed) {
  const Method& m = find_method(method);
  nlohmann::json settings = nlohmann::json::object();
  if (m.has_setting("seed")) settings["seed"] = seed;
  // The faithful GA on a reduction table: the official trainer's chords span the range ends.
  if (spec.formats == TableSpec::Formats::reduction && m.has_setting("outer_points")) {
    settings["breakpoint_range"] = {spec.lo, spec.hi};
    settings["outer_points"] = {spec.lo, spec.hi};
  }
  return run_method(m.name, make_problem(spec, entries), settings);
}

std::string table_path(const std::string& dir, const std::string& method, int entries, const std::string& function) {
  return dir + "/" + method + "_" + std::to_string(entries) + "_" + function + ".json";
}

}  // namespace gqalut::vit
