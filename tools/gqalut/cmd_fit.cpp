// gqalut fit: search a table for a function, entry count and input scales.
#include <algorithm>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "cli.hpp"
#include "gqalut/io.hpp"
#include "gqalut/methods.hpp"

namespace gqalut::cli {
namespace {

struct FitArgs {
  FunctionArgs fn;
  int entries = 8;
  int input_bits = 8;
  std::string scales = "0:6";
  std::string method = "ga";
  bool faithful = false;
  bool improved = false;
  bool no_rm = false;
  uint64_t seed = 1;
  std::string engine = "std::mt19937_64";
  int generations = 500;
  int population = 50;
  std::string format = "q1.6";
  std::string slope_format, intercept_format;
  std::string objective = "mse";
  bool shared = false;
  std::string tie = "right";
  std::vector<double> bp_range;
  std::string output;
  bool quiet = false;
  // Options given on the command line (not defaulted), to refuse those the method ignores.
  std::vector<std::string> given;
  bool has(const std::string& name) const { return std::find(given.begin(), given.end(), name) != given.end(); }
};

// The registry method the command line names: --method NAME, where ga means the
// improved GA unless --faithful is given.
const Method& chosen_method(const FitArgs& a) {
  if (a.faithful && a.improved) throw std::invalid_argument("give --faithful or --improved, not both");
  const Method& m = find_method(a.method);
  bool ga = m.name == "ga-improved" || m.name == "ga-faithful";
  if (!ga && (a.faithful || a.improved))
    throw std::invalid_argument(fmt::format("{} applies to --method ga, not to --method {}",
                                            a.faithful ? "--faithful" : "--improved", a.method));
  if (m.name == "ga-faithful" && a.improved)
    throw std::invalid_argument(fmt::format("--improved contradicts --method {}", a.method));
  if (m.name == "ga-improved" && a.faithful) return find_method("ga-faithful");
  return m;
}

// How the command line names a registry method ("ga --improved" for ga-improved).
std::string cli_name(const Method& m) {
  if (m.name == "ga-improved") return "ga --improved";
  if (m.name == "ga-faithful") return "ga --faithful";
  return m.name;
}

// "--X applies to --method A, B and C": the methods that take `takes`, with both
// GA modes written as plain "ga" when both take it.
std::string applies_to(const std::function<bool(const Method&)>& takes) {
  std::vector<std::string> names;
  bool both_ga = takes(find_method("ga-improved")) && takes(find_method("ga-faithful"));
  for (const Method& m : methods()) {
    if (!takes(m)) continue;
    bool ga = m.name == "ga-improved" || m.name == "ga-faithful";
    if (ga && both_ga) {
      if (m.name == "ga-improved") names.push_back("ga");
    } else {
      names.push_back(cli_name(m));
    }
  }
  std::string out;
  for (size_t i = 0; i < names.size(); ++i)
    out += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
  return out;
}

// The chosen method's settings from the options given; an option the method would
// silently ignore is an error, not a no-op (the registry says which method takes what).
nlohmann::json method_settings(const FitArgs& a, const Method& m) {
  nlohmann::json s = nlohmann::json::object();
  auto refuse = [&](const char* option, const std::function<bool(const Method&)>& takes) {
    if (a.has(option) && !takes(m))
      throw std::invalid_argument(fmt::format("{} applies to --method {}, not to --method {}", option,
                                              applies_to(takes), m.name == "ga-faithful" ? "ga --faithful" : a.method));
  };
  auto setting = [&](const char* option, const char* key, const nlohmann::json& value) {
    refuse(option, [key](const Method& x) { return x.has_setting(key); });
    if (a.has(option)) s[key] = value;
  };
  setting("--seed", "seed", a.seed);
  setting("--engine", "engine", a.engine);
  setting("--generations", "generations", a.generations);
  setting("--population", "population", a.population);
  setting("--no-rm", "rounding_mutation", false);
  if (!a.bp_range.empty()) setting("--breakpoint-range", "breakpoint_range", a.bp_range);
  else refuse("--breakpoint-range", [](const Method& x) { return x.has_setting("breakpoint_range"); });
  for (const char* o : {"--objective", "--shared"})
    refuse(o, [](const Method& x) { return x.uses_objective; });
  check_settings(m, s);
  return s;
}

void run(const FitArgs& a) {
  const Method& method = chosen_method(a);
  const nlohmann::json settings = method_settings(a, method);
  Problem p;
  p.function = a.fn.resolve(&p.lo, &p.hi);
  p.entries = a.entries;
  p.input_bits = a.input_bits;
  p.scales = parse_scales(a.scales);
  p.slope_format = FormatChoice::parse(a.slope_format.empty() ? a.format : a.slope_format);
  p.intercept_format = FormatChoice::parse(a.intercept_format.empty() ? a.format : a.intercept_format);
  p.objective = parse_objective(a.objective);
  p.shared = a.shared;
  p.tie = parse_tie_rule(a.tie);
  if (!a.bp_range.empty()) check_range(a.bp_range[0], a.bp_range[1]);
  p.validate();
  check_output(a.output, "table");  // before the search, not after it

  Progress progress(fmt::format("fit {} {}-entry {}", p.function.name, p.entries, a.method));
  Result r = method.run(p, settings, progress.callback());
  progress.finish();

  std::ostream* out = &std::cout;
  std::ofstream file;
  if (!a.output.empty() && a.output != "-") {
    write_json_file(a.output, r.tables);
  } else {
    write_json(std::cout, r.tables);
    out = &std::cerr;
  }
  if (a.quiet) return;
  const Table& t = r.tables.tables.begin()->second;
  *out << fmt::format("{} {} entries on [{}, {}], method {}{}, slopes {} intercepts {}{}, tie rule {}\n",
                      p.function.expression.empty() ? p.function.name : p.function.expression, p.entries, p.lo,
                      p.hi, r.tables.meta.value("method", a.method),
                      r.settings.contains("seed") ? fmt::format(" (seed {})", r.settings["seed"].dump()) : "",
                      t.slope_format.name(), t.intercept_format.name(), t.is_int8() ? "" : " (NOT INT8)",
                      to_string(p.tie));
  *out << fmt::format("{:>3} {:>7} {:>12} {:>12}\n", "n", "points", "P-int MSE", "max|err|");
  for (const auto& e : r.errors.scales)
    *out << fmt::format("{:>3} {:>7} {:>12} {:>12}\n", e.n, e.points, sci(e.mse), sci(e.max_abs_error));
  *out << fmt::format("paper score {}  ({:.3f} s, {} evaluations){}\n", sci(r.errors.paper_score), r.seconds,
                      r.evaluations, a.output.empty() || a.output == "-" ? "" : ", wrote " + a.output);
}

}  // namespace

void add_fit_command(CLI::App& app) {
  auto a = std::make_shared<FitArgs>();
  auto* cmd = app.add_subcommand("fit", "Search a quantization-aware table (GA, exact optimum, baselines)");
  cmd->footer(
      "Methods (--method NAME; ga is ga-improved, or ga-faithful with --faithful; the settings are\n"
      "the registry's, the options --seed --engine --generations --population --no-rm --breakpoint-range\n"
      "set them):\n" +
      methods_help() +
      "\nExamples:\n"
      "  gqalut fit --func gelu --entries 8 -o gelu8.json\n"
      "  gqalut fit --func exp --method optimal --entries 16 --scales 0:6 -o exp16.json\n"
      "  gqalut fit --func gelu --faithful --seed 3 -o gelu8_faithful.json\n"
      "  gqalut fit --func gelu --faithful --engine numpy-deap --seed 42 -o gelu8_official.json\n"
      "  gqalut fit --expr \"x*tanh(log(1+exp(x)))\" --range -4 4 --method optimal -o mish.json");
  a->fn.add(*cmd);
  cmd->add_option("--entries,-k", a->entries, "Entries K (segments), in [2, 64]")
      ->check(int_in(2, Table::kMaxEntries))
      ->capture_default_str();
  cmd->add_option("--scales", a->scales, "Input scales n (x = q*2^-n): 0:6, 5, 0,2,4")->capture_default_str();
  cmd->add_option("--input-bits", a->input_bits, "Input code width b_in: 2..8 or 16 (codes -2^(b_in-1)..2^(b_in-1)-1)")
      ->check(int_in(2, 16))
      ->capture_default_str();
  cmd->add_option("--method,-m", a->method, "ga | ga-faithful | optimal | uniform | nnlut (see below)")->capture_default_str();
  cmd->add_flag("--faithful", a->faithful, "GA as the official trainer runs it");
  cmd->add_flag("--improved", a->improved, "GA with gqalut's fixes (the default)");
  cmd->add_flag("--no-rm", a->no_rm, "GA without the rounding mutation (default: the paper's choice per function)");
  cmd->add_option("--seed", a->seed, "Seed of every random draw")->check(seed_value())->capture_default_str();
  cmd->add_option("--engine", a->engine,
                  "Faithful GA random source: std::mt19937_64, or numpy-deap (replays the official trainer's\n"
                  "numpy + Python random streams: --seed 42 reproduces the official tables bit for bit)")
      ->capture_default_str();
  cmd->add_option("--generations", a->generations, "GA generations, in [0, 1000000]")
      ->check(int_in(0, 1'000'000))
      ->capture_default_str();
  cmd->add_option("--population", a->population, "GA population, in [2, 100000]")
      ->check(int_in(2, 100'000))
      ->capture_default_str();
  cmd->add_option("--format", a->format, "Slope and intercept code format: q1.6 | q2.5 | qI.F | auto | auto:W (W-bit codes)")
      ->capture_default_str();
  cmd->add_option("--slope-format", a->slope_format, "Slope format (overrides --format)");
  cmd->add_option("--intercept-format", a->intercept_format, "Intercept format (overrides --format)");
  cmd->add_option("--objective", a->objective, "mse | max (max |error|; optimal, uniform and improved GA)")
      ->capture_default_str();
  cmd->add_flag("--shared", a->shared, "One coefficient set shared by all scales (official JSON semantics)");
  cmd->add_option("--tie", a->tie,
                  "Segment rule of the target datapath: right (q >= P goes right, SPEC) | left (q > P goes\n"
                  "right: torch.bucketize(right=False), comparators with >). The file records it; either way\n"
                  "the official PyTorch op computes exactly the fitted function from it")
      ->capture_default_str();
  cmd->add_option("--breakpoint-range", a->bp_range, "GA breakpoint range LO HI (default: the range)")->expected(2);
  cmd->add_option("-o,--output", a->output, "Output JSON file (default: stdout, summary on stderr)");
  cmd->add_flag("-q,--quiet", a->quiet, "No summary");
  cmd->callback([a, cmd] {
    for (const CLI::Option* o : cmd->get_options())
      if (o->count() > 0) a->given.push_back(o->get_name());
    run(*a);
  });
}

}  // namespace gqalut::cli
