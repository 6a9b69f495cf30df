// gqalut ViT experiment: tables from gqalut's searches (see tables.hpp).
#include "tables.hpp"

#include <stdexcept>

#include "gqalut/methods.hpp"

namespace gqalut::vit {

const std::vector<TableSpec>& table_specs() {
  static const std::vector<TableSpec> specs{
      {"gelu", -4, 4, {0, 1, 2, 3, 4, 5, 6}, TableSpec::Formats::function},
      {"exp2m1", -0.5, 0.5, {8}, TableSpec::Formats::automatic},
      {"reci", 1, 2, {6}, TableSpec::Formats::reduction},
      {"rsqrt", 1, 4, {5}, TableSpec::Formats::reduction},
      {"hswish", -4, 4, {0, 1, 2, 3, 4, 5, 6}, TableSpec::Formats::function},
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
  if (spec.formats == TableSpec::Formats::reduction) {
    // Slopes of 1/x on [1, 2] and 1/sqrt(x) on [1, 4] lie in [-1, 0): q0.7;
    // intercepts below 2: q1.6. (Fixed rather than "auto": auto may pick
    // 8 fractional bits, whose format name "q-1.8" io cannot read back.)
    p.slope_format = FormatChoice{Format{7, 8}};
    p.intercept_format = FormatChoice{kQ1_6};
  } else if (spec.formats == TableSpec::Formats::automatic) {
    // The INT8 formats the library's default tables use (fit_int8_optimum).
    p.slope_format = FormatChoice::parse("auto");
    p.intercept_format = FormatChoice::parse("auto");
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
