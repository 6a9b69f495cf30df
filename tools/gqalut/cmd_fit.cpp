// gqalut fit: search a table for a function, entry count and input scales.
#include <algorithm>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "cli.hpp"
#include "gqalut/io.hpp"

namespace gqalut::cli {
namespace {

struct FitArgs {
  FunctionArgs fn;
  int entries = 8;
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
  std::vector<double> bp_range;
  std::string output;
  bool quiet = false;
  // Options given on the command line (not defaulted), to refuse those the method ignores.
  std::vector<std::string> given;
  bool has(const std::string& name) const { return std::find(given.begin(), given.end(), name) != given.end(); }
};

// An option the chosen method would silently ignore is an error, not a no-op.
void check_applies(const FitArgs& a) {
  auto refuse = [&](const char* option, const char* applies_to) {
    if (a.has(option))
      throw std::invalid_argument(fmt::format("{} applies to {}, not to --method {}{}", option, applies_to,
                                              a.method, a.faithful ? " --faithful" : ""));
  };
  bool ga = a.method == "ga";
  if (!ga) {
    for (const char* o :
         {"--faithful", "--improved", "--no-rm", "--engine", "--generations", "--population", "--breakpoint-range"})
      refuse(o, "--method ga");
  }
  if (a.method == "optimal" || a.method == "uniform") refuse("--seed", "--method ga and nnlut");
  if (a.method == "nnlut" || (ga && a.faithful)) {
    refuse("--objective", "--method optimal, uniform and ga --improved");
    refuse("--shared", "--method optimal, uniform and ga --improved (faithful GA and NN-LUT always share)");
  }
}

Result search(const FitArgs& a, const Problem& p, Progress& progress) {
  if (a.method == "ga") {
    GaSettings s;
    s.improved = !a.faithful;
    if (a.no_rm) s.rounding_mutation = false;
    s.seed = a.seed;
    s.engine = a.engine;
    s.generations = a.generations;
    s.population = a.population;
    if (!a.bp_range.empty()) s.breakpoint_range = std::make_pair(a.bp_range[0], a.bp_range[1]);
    s.progress = progress.callback();
    return GeneticAlgorithm(s).run(p);
  }
  if (a.method == "optimal") return Optimal(OptimalSettings{progress.callback()}).run(p);
  if (a.method == "uniform") return Uniform().run(p);
  if (a.method == "nnlut") {
    NnLutSettings s;
    s.seed = a.seed;
    s.progress = progress.callback();
    return NnLut(s).run(p);
  }
  throw std::invalid_argument(
      fmt::format("method must be ga, optimal, uniform or nnlut, got '{}'", a.method));
}

void run(const FitArgs& a) {
  if (a.faithful && a.improved) throw std::invalid_argument("give --faithful or --improved, not both");
  if (a.method != "ga" && a.method != "optimal" && a.method != "uniform" && a.method != "nnlut")
    throw std::invalid_argument(
        fmt::format("method must be ga, optimal, uniform or nnlut, got '{}'", a.method));
  check_applies(a);
  Problem p;
  p.function = a.fn.resolve(&p.lo, &p.hi);
  p.entries = a.entries;
  p.scales = parse_scales(a.scales);
  p.slope_format = FormatChoice::parse(a.slope_format.empty() ? a.format : a.slope_format);
  p.intercept_format = FormatChoice::parse(a.intercept_format.empty() ? a.format : a.intercept_format);
  p.objective = parse_objective(a.objective);
  p.shared = a.shared;
  if (!a.bp_range.empty()) check_range(a.bp_range[0], a.bp_range[1]);
  p.validate();

  Progress progress(fmt::format("fit {} {}-entry {}", p.function.name, p.entries, a.method));
  Result r = search(a, p, progress);
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
  *out << fmt::format("{} {} entries on [{}, {}], method {}{}, slopes {} intercepts {}{}\n",
                      p.function.expression.empty() ? p.function.name : p.function.expression, p.entries, p.lo,
                      p.hi, r.tables.meta.value("method", a.method),
                      r.settings.contains("seed") ? fmt::format(" (seed {})", r.settings["seed"].dump()) : "",
                      t.slope_format.name(), t.intercept_format.name(), t.is_int8() ? "" : " (NOT INT8)");
  *out << fmt::format("{:>3} {:>7} {:>12} {:>12}\n", "n", "points", "P-int MSE", "max|err|");
  for (const auto& e : r.errors.scales)
    *out << fmt::format("{:>3} {:>7} {:>12} {:>12}\n", e.n, e.points, sci(e.mse), sci(e.max_abs_error));
  check_output(a.output, "table");  // before the search, not after it
  *out << fmt::format("paper score {}  ({:.3f} s, {} evaluations){}\n", sci(r.errors.paper_score), r.seconds,
                      r.evaluations, a.output.empty() || a.output == "-" ? "" : ", wrote " + a.output);
}

}  // namespace

void add_fit_command(CLI::App& app) {
  auto a = std::make_shared<FitArgs>();
  auto* cmd = app.add_subcommand("fit", "Search a quantization-aware table (GA, exact optimum, baselines)");
  cmd->footer(
      "Methods:\n"
      "  ga       the paper's genetic algorithm; --improved (default): elitism, integer coefficients\n"
      "           refitted to the rounded breakpoints, P-int fitness, one table per scale;\n"
      "           --faithful: as the official trainer (P-grid fitness, rounded chords, one breakpoint set)\n"
      "  optimal  the exact optimum of the quantized problem (per scale, or --shared)\n"
      "  uniform  uniform breakpoints, best integer coefficients\n"
      "  nnlut    NN-LUT baseline (one hidden ReLU layer converted to a table)\n\n"
      "Examples:\n"
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
  cmd->add_option("--method,-m", a->method, "ga | optimal | uniform | nnlut")->capture_default_str();
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
  cmd->add_option("--format", a->format, "Slope and intercept code format: q1.6 | q2.5 | qI.F | auto")
      ->capture_default_str();
  cmd->add_option("--slope-format", a->slope_format, "Slope format (overrides --format)");
  cmd->add_option("--intercept-format", a->intercept_format, "Intercept format (overrides --format)");
  cmd->add_option("--objective", a->objective, "mse | max (max |error|; optimal, uniform and improved GA)")
      ->capture_default_str();
  cmd->add_flag("--shared", a->shared, "One coefficient set shared by all scales (official JSON semantics)");
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
