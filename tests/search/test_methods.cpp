// The search-method registry: each name runs the algorithm it names with the settings
// given (byte-identical tables to a direct call), settings are checked by name and type,
// and the official recipe holds the trainer's facts.
#include <sstream>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "gqalut/io.hpp"
#include "gqalut/methods.hpp"

using namespace gqalut;
using json = nlohmann::json;

namespace {

std::string text(const TableSet& s) {
  std::ostringstream out;
  write_json(out, s);
  return out.str();
}

void expect_error(const std::function<void()>& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no error, expected: " << part;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

Problem small(const char* fn) {
  Problem p = Problem::make(find_function(fn), 6);
  p.scales = {3, 5};
  return p;
}

}  // namespace

TEST(Methods, RegistryOrderNamesAndAliases) {
  std::vector<std::string> names;
  for (const Method& m : methods()) names.push_back(m.name);
  EXPECT_EQ(names, (std::vector<std::string>{"optimal", "uniform", "ga-improved", "ga-faithful", "nnlut"}));
  EXPECT_EQ(find_method("ga").name, "ga-improved");
  EXPECT_EQ(find_method("faithful").name, "ga-faithful");
  EXPECT_EQ(find_method("optimum").name, "optimal");
  EXPECT_TRUE(find_method("nnlut").has_setting("epochs"));
  EXPECT_FALSE(find_method("optimal").has_setting("seed"));
  EXPECT_TRUE(find_method("ga-faithful").has_setting("engine"));
  EXPECT_FALSE(find_method("ga-improved").has_setting("engine"));
  EXPECT_TRUE(find_method("uniform").uses_objective);
  EXPECT_FALSE(find_method("nnlut").uses_objective);
  const std::string help = methods_help();
  for (const Method& m : methods()) EXPECT_NE(("\n" + help).find("\n  " + m.name), std::string::npos) << m.name;
  EXPECT_NE(help.find("        engine "), std::string::npos);
  std::istringstream lines(help);
  for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 96u) << line;
}

TEST(Methods, RunsTheAlgorithmItNames) {
  const Problem p = small("gelu");
  EXPECT_EQ(text(run_method("optimal", p).tables), text(Optimal().run(p).tables));
  EXPECT_EQ(text(run_method("uniform", p).tables), text(Uniform().run(p).tables));
  GaSettings g;
  g.improved = true;
  g.seed = 7;
  g.generations = 30;
  g.population = 12;
  EXPECT_EQ(text(run_method("ga", p, {{"seed", 7}, {"generations", 30}, {"population", 12}}).tables),
            text(GeneticAlgorithm(g).run(p).tables));
  g.improved = false;
  g.rounding_mutation = false;
  g.breakpoint_range = std::make_pair(-3.0, 3.0);
  EXPECT_EQ(text(run_method("ga-faithful", p,
                            {{"seed", 7}, {"generations", 30}, {"population", 12}, {"rounding_mutation", false},
                             {"breakpoint_range", {-3.0, 3.0}}})
                     .tables),
            text(GeneticAlgorithm(g).run(p).tables));
  NnLutSettings n;
  n.seed = 3;
  n.epochs = 3;
  n.samples = 2000;
  EXPECT_EQ(text(run_method("nnlut", p, {{"seed", 3}, {"epochs", 3}, {"samples", 2000}}).tables),
            text(NnLut(n).run(p).tables));
}

TEST(Methods, SettingsAreCheckedByNameAndType) {
  const Problem p = small("gelu");
  expect_error([&] { run_method("magic", p); }, "unknown method 'magic' (known: optimal|optimum, uniform");
  expect_error([&] { run_method("optimal", p, {{"seed", 1}}); }, "method 'optimal' has no setting 'seed' (it takes none)");
  expect_error([&] { run_method("nnlut", p, {{"generations", 1}}); },
               "method 'nnlut' has no setting 'generations' (its settings: seed, samples");
  expect_error([&] { run_method("ga", p, {{"generations", "many"}}); },
               "setting 'generations' of method 'ga-improved' must be an integer, got '\"many\"'");
  expect_error([&] { run_method("ga", p, {{"breakpoint_range", {1.0}}}); }, "must be two numbers [lo, hi]");
  expect_error([&] { run_method("ga", p, {{"seed", -1}}); }, "seed must be >= 0, got -1");
  expect_error([&] { run_method("ga", p, json::array()); }, "settings of method 'ga-improved' must be an object");
  // The algorithms' own checks still run behind the registry.
  expect_error([&] { run_method("ga", p, {{"population", 1}}); }, "population");
}

TEST(Methods, OfficialRecipeIsTheTrainersData) {
  OfficialRecipe g8 = official_recipe(find_function("gelu"), 8);
  EXPECT_EQ(g8.rm_offset, 2);
  EXPECT_EQ(g8.bp_lo, -4.0);
  EXPECT_EQ(g8.bp_hi, 4.0);
  EXPECT_EQ(g8.outer_lo, -10000.0);
  EXPECT_TRUE(g8.rounding_mutation);
  EXPECT_EQ(official_recipe(find_function("gelu"), 16).rm_offset, 0);
  EXPECT_EQ(official_recipe(find_function("hswish"), 16).rm_offset, 2);
  EXPECT_EQ(official_recipe(find_function("hswish"), 8).rm_offset, 0);
  OfficialRecipe e16 = official_recipe(find_function("exp"), 16);
  EXPECT_EQ(std::make_pair(e16.bp_lo, e16.bp_hi), std::make_pair(-6.5, 0.0));
  OfficialRecipe e8 = official_recipe(find_function("exp"), 8);
  EXPECT_EQ(std::make_pair(e8.bp_lo, e8.bp_hi), std::make_pair(-8.0, 0.0));
  OfficialRecipe r = official_recipe(find_function("reci"), 8);
  EXPECT_EQ(std::make_pair(r.bp_lo, r.bp_hi), std::make_pair(0.625, 3.875));
  EXPECT_FALSE(r.rounding_mutation);
  EXPECT_EQ(std::make_pair(r.scales_lo, r.scales_hi), std::make_pair(5, 5));
  OfficialRecipe s = official_recipe(find_function("rsqrt"), 16);
  EXPECT_EQ(std::make_pair(s.bp_lo, s.bp_hi), std::make_pair(0.25, 3.875));
  // The faithful GA resolves its defaults from the recipe (recorded in its settings).
  Problem p = Problem::make(find_function("reci"), 8);
  p.scales = {5};
  Result res = run_method("ga-faithful", p, {{"generations", 2}, {"population", 4}});
  EXPECT_EQ(res.settings["breakpoint_range"], json({0.625, 3.875}));
  EXPECT_EQ(res.settings["rounding_mutation"], false);
  // A user function: its range, RM on, no offset.
  Function u = parse_expression("x*x", -1, 2);
  OfficialRecipe ur = official_recipe(u, 8);
  EXPECT_EQ(std::make_pair(ur.bp_lo, ur.bp_hi), std::make_pair(-1.0, 2.0));
  EXPECT_EQ(ur.rm_offset, 0);
}
