// The search-method registry and the official trainer's recipe (methods.hpp).
#include "gqalut/methods.hpp"

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "gqalut/text.hpp"

namespace gqalut {
namespace {

using json = nlohmann::json;

// The official trainer's per-(function, entries) facts: its Makefile's
// breakpoint ranges where they differ from x_range, and gqa_lut_trainer.py's
// rounding-mutation offsets. entries 0 = every entry count; NaN = x_range.
struct RecipeRow {
  const char* function;
  int entries;
  double bp_lo, bp_hi;
  int rm_offset;
};
constexpr double kRange = std::numeric_limits<double>::quiet_NaN();
const RecipeRow kOfficialRows[] = {
    {"gelu", 8, kRange, kRange, 2},
    {"hswish", 16, kRange, kRange, 2},
    {"exp", 16, -6.5, 0.0, 0},
    {"reci", 0, 0.625, 3.875, 0},
    {"rsqrt", 0, 0.25, 3.875, 0},
};

}  // namespace

OfficialRecipe official_recipe(const Function& fn, int entries) {
  OfficialRecipe r;
  r.function = fn.name;
  r.lo = r.bp_lo = fn.lo;
  r.hi = r.bp_hi = fn.hi;
  r.outer_lo = fn.outer_lo;
  r.outer_hi = fn.outer_hi;
  r.rounding_mutation = fn.rounding_mutation;
  GaSettings defaults;
  r.rm_lo = defaults.rm_lo;
  r.rm_hi = defaults.rm_hi;
  r.scales_lo = fn.official_json_scales_lo;
  r.scales_hi = fn.official_json_scales_hi;
  r.official_name = fn.official_name;
  if (!fn.is_builtin()) return r;
  for (const RecipeRow& row : kOfficialRows) {
    if (fn.name != row.function || (row.entries != 0 && row.entries != entries)) continue;
    if (!std::isnan(row.bp_lo)) {
      r.bp_lo = row.bp_lo;
      r.bp_hi = row.bp_hi;
    }
    r.rm_offset = row.rm_offset;
  }
  return r;
}

const char* to_string(SettingType t) {
  switch (t) {
    case SettingType::integer: return "an integer";
    case SettingType::real: return "a number";
    case SettingType::boolean: return "true or false";
    case SettingType::text: return "a string";
    case SettingType::pair: return "two numbers [lo, hi]";
  }
  return "?";
}

const MethodSetting* Method::setting(std::string_view key) const {
  for (const MethodSetting& s : settings)
    if (s.name == key) return &s;
  return nullptr;
}

namespace {

bool has_type(const json& v, SettingType t) {
  switch (t) {
    case SettingType::integer: return v.is_number_integer();
    case SettingType::real: return v.is_number();
    case SettingType::boolean: return v.is_boolean();
    case SettingType::text: return v.is_string();
    case SettingType::pair: return v.is_array() && v.size() == 2 && v[0].is_number() && v[1].is_number();
  }
  return false;
}

template <class T>
void take(const json& s, const char* key, T& out) {
  if (s.contains(key)) out = s.at(key).get<T>();
}

void take_pair(const json& s, const char* key, std::optional<std::pair<double, double>>& out) {
  if (s.contains(key)) out = std::make_pair(s.at(key)[0].get<double>(), s.at(key)[1].get<double>());
}

uint64_t take_seed(const json& s) {
  if (!s.contains("seed")) return 1;
  const json& v = s.at("seed");
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  int64_t i = v.get<int64_t>();
  if (i < 0) throw std::invalid_argument(fmt::format("seed must be >= 0, got {}", i));
  return uint64_t(i);
}

std::vector<MethodSetting> ga_settings(bool improved) {
  GaSettings d;
  std::vector<MethodSetting> s = {
      {"seed", SettingType::integer, d.seed, "seed of every random draw"},
      {"generations", SettingType::integer, d.generations, "generations"},
      {"population", SettingType::integer, d.population, "population size"},
      {"crossover_prob", SettingType::real, d.crossover_prob, "crossover probability"},
      {"mutation_prob", SettingType::real, d.mutation_prob, "mutation probability"},
      {"sigma", SettingType::real, d.sigma, "Gaussian mutation step"},
      {"rounding_mutation", SettingType::boolean, nullptr,
       "rounding mutation on/off (default: the paper's choice for the function)"},
      {"rm_lo", SettingType::integer, d.rm_lo, "lowest decimal bit of the rounding mutation"},
      {"rm_hi", SettingType::integer, d.rm_hi, "highest decimal bit of the rounding mutation"},
      {"rm_offset", SettingType::integer, nullptr, "rounding-mutation offset (default: the official recipe's)"},
      {"breakpoint_range", SettingType::pair, nullptr,
       improved ? "range breakpoints are drawn in (default: the problem's range)"
                : "range breakpoints are drawn in (default: the official recipe's)"},
      {"outer_points", SettingType::pair, nullptr, "outer points of the chords (default: the function's)"},
  };
  if (improved)
    s.push_back({"elites", SettingType::integer, d.elites, "individuals kept unchanged each generation"});
  else
    s.push_back({"engine", SettingType::text, d.engine,
                 "random source: std::mt19937_64, or numpy-deap (replays the official trainer's streams)"});
  return s;
}

Result run_ga(bool improved, const Problem& p, const json& s, const ProgressFn& progress) {
  GaSettings g;
  g.improved = improved;
  g.seed = take_seed(s);
  take(s, "generations", g.generations);
  take(s, "population", g.population);
  take(s, "crossover_prob", g.crossover_prob);
  take(s, "mutation_prob", g.mutation_prob);
  take(s, "sigma", g.sigma);
  if (s.contains("rounding_mutation")) g.rounding_mutation = s.at("rounding_mutation").get<bool>();
  take(s, "rm_lo", g.rm_lo);
  take(s, "rm_hi", g.rm_hi);
  if (s.contains("rm_offset")) g.rm_offset = s.at("rm_offset").get<int>();
  take_pair(s, "breakpoint_range", g.breakpoint_range);
  take_pair(s, "outer_points", g.outer_points);
  take(s, "elites", g.elites);
  take(s, "engine", g.engine);
  g.progress = progress;
  return GeneticAlgorithm(g).run(p);
}

std::vector<Method> make_methods() {
  std::vector<Method> m;
  {
    Method x;
    x.name = "optimal";
    x.aliases = {"optimum"};
    x.help = "the exact optimum of the quantized problem (dynamic programming over breakpoint positions, "
             "jointly optimal integer coefficients); per scale, or one set for all scales with shared";
    x.uses_objective = true;
    x.run = [](const Problem& p, const json&, const ProgressFn& progress) {
      return Optimal(OptimalSettings{progress}).run(p);
    };
    m.push_back(std::move(x));
  }
  {
    Method x;
    x.name = "uniform";
    x.help = "uniform breakpoints with the best integer coefficients (baseline)";
    x.uses_objective = true;
    x.run = [](const Problem& p, const json&, const ProgressFn&) { return Uniform().run(p); };
    m.push_back(std::move(x));
  }
  {
    Method x;
    x.name = "ga-improved";
    x.aliases = {"ga", "improved"};
    x.help = "the paper's genetic algorithm with gqalut's fixes: elitism, integer coefficients refitted to "
             "the rounded breakpoints, P-int fitness, one table per scale";
    x.settings = ga_settings(true);
    x.uses_objective = true;
    x.run = [](const Problem& p, const json& s, const ProgressFn& progress) { return run_ga(true, p, s, progress); };
    m.push_back(std::move(x));
  }
  {
    Method x;
    x.name = "ga-faithful";
    x.aliases = {"faithful"};
    x.help = "the paper's genetic algorithm as the official trainer runs it (P-grid fitness, rounded chords, "
             "one breakpoint set, the official recipe's breakpoint range and rounding mutation)";
    x.settings = ga_settings(false);
    x.run = [](const Problem& p, const json& s, const ProgressFn& progress) { return run_ga(false, p, s, progress); };
    m.push_back(std::move(x));
  }
  {
    Method x;
    x.name = "nnlut";
    x.aliases = {"nn-lut"};
    x.help = "NN-LUT baseline: a one-hidden-layer ReLU network trained on the function, converted to a table";
    NnLutSettings d;
    x.settings = {{"seed", SettingType::integer, d.seed, "seed of the samples and the initial weights"},
                  {"samples", SettingType::integer, d.samples, "training samples"},
                  {"epochs", SettingType::integer, d.epochs, "training epochs"},
                  {"batch", SettingType::integer, d.batch, "batch size"},
                  {"learning_rate", SettingType::real, d.learning_rate, "Adam learning rate"}};
    x.run = [](const Problem& p, const json& s, const ProgressFn& progress) {
      NnLutSettings n;
      n.seed = take_seed(s);
      take(s, "samples", n.samples);
      take(s, "epochs", n.epochs);
      take(s, "batch", n.batch);
      take(s, "learning_rate", n.learning_rate);
      n.progress = progress;
      return NnLut(n).run(p);
    };
    m.push_back(std::move(x));
  }
  return m;
}

std::string known_methods() {
  std::string s;
  for (const Method& m : methods()) {
    if (!s.empty()) s += ", ";
    s += m.name;
    for (const auto& a : m.aliases) s += "|" + a;
  }
  return s;
}

}  // namespace

const std::vector<Method>& methods() {
  static const std::vector<Method> registry = make_methods();
  return registry;
}

const Method& find_method(std::string_view name) {
  for (const Method& m : methods()) {
    if (m.name == name) return m;
    for (const auto& a : m.aliases)
      if (a == name) return m;
  }
  throw std::invalid_argument(fmt::format("unknown method {} (known: {})", quote(name), known_methods()));
}

void check_settings(const Method& m, const json& settings) {
  if (settings.is_null()) return;
  if (!settings.is_object())
    throw std::invalid_argument(fmt::format("settings of method '{}' must be an object, got {}", m.name,
                                            quote(settings.dump())));
  for (const auto& [key, value] : settings.items()) {
    const MethodSetting* s = m.setting(key);
    if (!s) {
      std::string names;
      for (const auto& x : m.settings) names += (names.empty() ? "" : ", ") + x.name;
      throw std::invalid_argument(fmt::format("method '{}' has no setting {} ({})", m.name, quote(key),
                                              names.empty() ? "it takes none" : "its settings: " + names));
    }
    if (!has_type(value, s->type))
      throw std::invalid_argument(fmt::format("setting '{}' of method '{}' must be {}, got {}", key, m.name,
                                              to_string(s->type), quote(value.dump())));
  }
}

Result run_method(std::string_view name, const Problem& p, const json& settings, const ProgressFn& progress) {
  const Method& m = find_method(name);
  check_settings(m, settings);
  return m.run(p, settings.is_null() ? json::object() : settings, progress);
}

std::string methods_help() {
  // Words of `text` in lines of at most 96 characters: the first starts with `first`,
  // the others with `indent`.
  auto wrap = [](const std::string& text, const std::string& first, const std::string& indent) {
    std::string out, line = first;
    size_t start = first.size();
    std::istringstream words(text);
    for (std::string w; words >> w;) {
      if (line.size() > start && line.size() + 1 + w.size() > 96) {
        out += line + "\n";
        line = indent;
        start = indent.size();
      }
      line += (line.size() > start ? " " : "") + w;
    }
    return out + line + "\n";
  };
  std::string out;
  for (const Method& m : methods()) {
    out += "  " + m.name;
    if (!m.aliases.empty()) {
      out += " (also";
      for (const auto& a : m.aliases) out += " " + a;
      out += ")";
    }
    out += "\n" + wrap(m.help, "      ", "      ");
    for (const MethodSetting& s : m.settings)
      out += wrap(s.help + (s.default_value.is_null() ? "" : fmt::format(" [{}]", s.default_value.dump())),
                  fmt::format("        {:<18} ", s.name), std::string(27, ' '));
  }
  return out;
}

}  // namespace gqalut
