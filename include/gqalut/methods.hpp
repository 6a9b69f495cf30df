// gqalut: the registry of search methods (name -> algorithm, its settings and
// help text), shared by the command line (fit, compare), the Python package and
// the ViT experiment, and the official trainer's per-function recipe as data.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "gqalut/function.hpp"
#include "gqalut/search.hpp"

namespace gqalut {

// ---- The official GQA-LUT trainer's recipe ------------------------------
// What the official trainer (gqa_lut_trainer.py and its Makefile) uses for one
// function at one entry count. The per-function facts (x range, outer points,
// rounding mutation on/off, exported scales) live in the function registry
// (function.cpp); the per-(function, entries) facts (breakpoint range,
// rounding-mutation offset) live in one table in methods.cpp. This is the one
// accessor that puts them together; the faithful GA and `compare` read it.
struct OfficialRecipe {
  std::string function;            // registry name
  double lo = 0, hi = 0;           // x_range
  double bp_lo = 0, bp_hi = 0;     // range the breakpoints are drawn in
  double outer_lo = 0, outer_hi = 0;  // outer points of the chords
  bool rounding_mutation = true;   // RM on (the paper's choice for this op)
  int rm_lo = 0, rm_hi = 6;        // decimal bits the rounding mutation rounds to
  int rm_offset = 0;               // first decimal bit = rm_lo + rm_offset
  int scales_lo = 0, scales_hi = 6;  // scales the trainer exports
  std::string official_name;       // top-level JSON key
};
// The recipe of `fn` at `entries`; a user function gets its range as the
// breakpoint range and outer points, RM on, offset 0, scales 0..6.
OfficialRecipe official_recipe(const Function& fn, int entries);

// ---- Search methods -------------------------------------------------------
enum class SettingType { integer, real, boolean, text, pair };
const char* to_string(SettingType t);  // "an integer", "a number", ...

struct MethodSetting {
  std::string name;             // snake_case key, e.g. "generations"
  SettingType type = SettingType::integer;
  nlohmann::json default_value; // null: resolved from the problem (help says how)
  std::string help;
};

struct Method {
  std::string name;                  // canonical, e.g. "ga-improved"
  std::vector<std::string> aliases;  // e.g. "ga"
  std::string help;                  // one paragraph
  std::vector<MethodSetting> settings;
  bool uses_objective = false;       // honours Problem::objective and Problem::shared
  // Runs the algorithm; `settings` has been checked by check_settings.
  std::function<Result(const Problem&, const nlohmann::json& settings, const ProgressFn& progress)> run;

  const MethodSetting* setting(std::string_view key) const;  // nullptr if it has none
  bool has_setting(std::string_view key) const { return setting(key) != nullptr; }
};

// Every method, in a stable order: optimal, uniform, ga-improved, ga-faithful, nnlut.
const std::vector<Method>& methods();
// By name or alias. Throws std::invalid_argument
// "unknown method 'x' (known: optimal, uniform, ga-improved|ga|improved, ...)".
const Method& find_method(std::string_view name);
// `settings` must be a JSON object whose keys are settings of `m` with values of
// their type. Throws std::invalid_argument naming the method, key and value.
void check_settings(const Method& m, const nlohmann::json& settings);
// find_method + check_settings + Method::run.
Result run_method(std::string_view name, const Problem& p, const nlohmann::json& settings = nlohmann::json::object(),
                  const ProgressFn& progress = {});
// Help text: one block per method with its aliases, help and settings.
std::string methods_help();

}  // namespace gqalut
