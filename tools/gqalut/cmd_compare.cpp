// gqalut compare: the paper's operator-level comparison (Table 2 of GQA-LUT), reproduced
// with every method side by side, all in the paper score (mean P-int MSE over the scales).
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "gqalut/atomic_file.hpp"
#include "gqalut/io.hpp"
#include "gqalut/methods.hpp"
#include "gqalut/metrics.hpp"
#include "gqalut/text.hpp"

namespace gqalut::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// SPEC section 6: the paper's operator MSE at 8 entries.
struct PaperFigures {
  double gqa_lut, nn_lut;
};
const std::map<std::string, PaperFigures> kPaper = {
    {"gelu", {9.4e-5, 1.3e-3}}, {"hswish", {2.9e-4, 1.2e-3}}, {"exp", {1.2e-4, 6.4e-4}},
    {"reci", {8.3e-4, 2.7e-3}}, {"rsqrt", {1.7e-3, 1.1e-2}}};

// "official": the official tables as trained (right rule, the trainer's);
// "official-op": the same files as deployed in the official PyTorch op (its
// torch.bucketize sends a code on a breakpoint left).
const char* kMethods[] = {"official", "official-op", "nnlut", "uniform", "ga-faithful-norm", "ga-faithful-rm", "ga-improved",
                          "optimal"};
const char* kHeaders[] = {"official", "off. op", "NN-LUT", "uniform", "GA -RM", "GA +RM", "GA impr.", "optimum"};

// The registry method behind each searched column; the faithful GA columns run the
// official recipe (its breakpoint range) without (-RM) and with (+RM) the rounding mutation.
struct ColumnMethod {
  const char* column;
  const char* method;
  int rounding_mutation;  // -1: the method's default
};
const ColumnMethod kColumnMethods[] = {{"nnlut", "nnlut", -1},
                                       {"uniform", "uniform", -1},
                                       {"ga-faithful-norm", "ga-faithful", 0},
                                       {"ga-faithful-rm", "ga-faithful", 1},
                                       {"ga-improved", "ga-improved", -1},
                                       {"optimal", "optimal", -1}};

struct Cell {
  bool available = false;
  std::string note;
  TableSet set;
  ErrorReport errors;
  double seconds = 0;
};

struct CompareArgs {
  std::string funcs = "gelu,hswish,exp,reci,rsqrt,silu";
  std::string entries = "8,16";
  std::string scales;  // default: the scales the official tables provide
  std::string format = "q1.6";
  uint64_t seed = 1;
  int generations = 500;
  int population = 50;
  std::string official_dir;
  std::string csv, json_out, plots, tables_dir;
  std::string plot_scales = "3,6";
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t a = 0;
  while (a <= s.size()) {
    size_t b = s.find(',', a);
    if (b == std::string::npos) b = s.size();
    if (b > a) out.push_back(s.substr(a, b - a));
    a = b + 1;
  }
  return out;
}

std::string find_official_dir(const std::string& given) {
  if (!given.empty()) {
    if (!fs::is_directory(given)) throw std::invalid_argument(fmt::format("--official-dir '{}' is not a directory", given));
    return given;
  }
  std::vector<fs::path> tries = {"../shared/reference/official", "shared/reference/official"};
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) tries.push_back(exe.parent_path() / "../../../shared/reference/official");
  for (const auto& p : tries)
    if (fs::is_directory(p)) return p.string();
  return "";
}

Cell run_method(const std::string& m, const Problem& p, const CompareArgs& a, const std::string& official_dir) {
  Cell c;
  auto t0 = std::chrono::steady_clock::now();
  if (m == "official" || m == "official-op") {
    std::string path =
        fmt::format("{}/{}_pwl_{}.json", official_dir, p.function.official_name, p.entries - 1);
    if (official_dir.empty() || !fs::exists(path)) {
      c.note = "no official table";
      return c;
    }
    c.set = read_json_file(path);
    if (m == "official-op") c.set.set_tie(TieRule::left);  // the file records no rule: the op's reading
    std::vector<int> scales;
    for (int n : p.scales)
      if (c.set.tables.count(n)) scales.push_back(n);
    c.errors = evaluate(c.set, p.function.f, p.lo, p.hi, Protocol::p_int, scales);
    if (!c.set.tables.begin()->second.is_int8()) c.note = "codes wider than 8 bits";
    c.available = true;
    return c;
  }
  const ColumnMethod* col = nullptr;
  for (const ColumnMethod& x : kColumnMethods)
    if (m == x.column) col = &x;
  if (!col) throw std::logic_error("compare: no method for column " + m);
  const Method& method = find_method(col->method);
  json settings = json::object();
  if (method.has_setting("seed")) settings["seed"] = a.seed;
  if (method.has_setting("generations")) settings["generations"] = a.generations;
  if (method.has_setting("population")) settings["population"] = a.population;
  if (col->rounding_mutation >= 0) {
    const OfficialRecipe recipe = official_recipe(p.function, p.entries);
    settings["rounding_mutation"] = col->rounding_mutation == 1;
    settings["breakpoint_range"] = {recipe.bp_lo, recipe.bp_hi};
  }
  check_settings(method, settings);
  Result r = method.run(p, settings, {});
  c.set = std::move(r.tables);
  c.errors = r.errors;
  c.available = true;
  if (!c.set.tables.begin()->second.is_int8()) c.note = "codes wider than 8 bits";
  c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return c;
}

// A fixed colour per method, the same in every plot.
std::string colour(const std::string& m) {
  static const std::map<std::string, std::string> c = {
      {"official", "#e69f00"}, {"official-op", "#f0e442"}, {"nnlut", "#56b4e9"}, {"uniform", "#999999"}, {"ga-faithful-norm", "#cc79a7"},
      {"ga-faithful-rm", "#009e73"}, {"ga-improved", "#d55e00"}, {"optimal", "#0072b2"}};
  auto it = c.find(m);
  return it == c.end() ? "#000000" : it->second;
}

// True when an executable `program` lies in a folder of $PATH.
bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "";
  for (size_t start = 0; start <= dirs.size();) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    const std::string dir = end > start ? dirs.substr(start, end - start) : ".";
    if (::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

// Runs a gnuplot script that draws one PNG, atomically: gnuplot writes a temporary file
// beside the target, renamed over it only when gnuplot succeeds.
void render(const std::string& script, const std::string& png) {
  AtomicFile f(png, "plot");
  f.close();
  std::string quoted;  // a gnuplot single-quoted string doubles its quotes
  for (char ch : f.temp_path()) quoted += ch == '\'' ? std::string("''") : std::string(1, ch);
  std::string gp = "set output '" + quoted + "'\n" + script;
  FILE* g = popen("gnuplot", "w");
  if (!g) throw std::invalid_argument("--plots needs gnuplot (apt-get install gnuplot-nox)");
  std::fwrite(gp.data(), 1, gp.size(), g);
  if (pclose(g) != 0) throw std::invalid_argument(fmt::format("gnuplot failed drawing {}: is gnuplot-nox installed?", quote(png, 200)));
  f.commit();
}

// One PNG per function and entry count: the function and its approximations at a scale,
// and their errors against x; one PNG per function: MSE against scale for every method.
void write_plots(const std::string& dir, const Problem& p, const std::map<std::string, Cell>& cells,
                 const std::vector<int>& plot_scales) {
  std::string base = fmt::format("{}/{}_{}", dir, p.function.name, p.entries);
  for (int n : plot_scales) {
    if (codes_in_range(n, p.lo, p.hi).empty()) continue;
    std::string gp;
    gp += "set terminal pngcairo size 1200,500 font ',10'\n";
    gp += fmt::format("set multiplot layout 1,2\nset grid\nset key left top\nset xrange [{}:{}]\n", p.lo, p.hi);
    gp += fmt::format("set title '{}, {} entries, scale 2^-{}: function and tables'\nset xlabel 'x'\n",
                      p.function.name, p.entries, n);
    std::string data, plot1 = "plot '-' with lines lw 3 lc rgb '#000000' title 'exact'", plot2;
    std::string exact;
    for (double x = p.lo; x <= p.hi + 1e-12; x += (p.hi - p.lo) / 400) exact += fmt::format("{} {}\n", x, p.function(x));
    data += exact + "e\n";
    std::string errdata;
    int shown = 0;
    for (const auto& [m, c] : cells) {
      if (!c.available || !c.set.tables.count(n) || m == "uniform" || m == "ga-faithful-norm") continue;
      const Table& t = c.set.at(n);
      std::string pts, errs;
      for (int32_t q : codes_in_range(n, p.lo, p.hi)) {
        double x = std::ldexp(double(q), -n), y = eval_value(t, q);
        pts += fmt::format("{} {}\n", x, y);
        errs += fmt::format("{} {}\n", x, y - p.function(x));
      }
      plot1 += fmt::format(", '-' with lines lc rgb '{}' title '{}'", colour(m), m);
      plot2 += fmt::format("{}'-' with linespoints pt 7 ps 0.3 lc rgb '{}' title '{}'", shown ? ", " : "plot ",
                           colour(m), m);
      data += pts + "e\n";
      errdata += errs + "e\n";
      ++shown;
    }
    gp += plot1 + "\n" + data;
    gp += fmt::format("set title 'error (table - exact) at scale 2^-{}'\nset key left bottom\n", n);
    if (shown) gp += plot2 + "\n" + errdata;
    gp += "unset multiplot\n";
    render(gp, fmt::format("{}_n{}.png", base, n));
  }
  // Error against scale.
  std::string gp = fmt::format(
      "set terminal pngcairo size 800,500 font ',10'\nset grid\nset logscale y\n"
      "set format y '%.0e'\nset xlabel 'input scale n (x = q 2^-n)'\nset ylabel 'P-int MSE'\n"
      "set key outside right\nset title '{}, {} entries: error against scale'\n",
      p.function.name, p.entries);
  gp += fmt::format("set xrange [{}:{}]\nset xtics 1\n", p.scales.front() - 0.5, p.scales.back() + 0.5);
  std::string plot, data;
  for (const auto& [m, c] : cells) {
    if (!c.available) continue;
    plot += fmt::format("{}'-' with linespoints lw 2 lc rgb '{}' title '{}'", plot.empty() ? "plot " : ", ",
                        colour(m), m);
    for (const auto& e : c.errors.scales) data += fmt::format("{} {}\n", e.n, std::max(e.mse, 1e-12));
    data += "e\n";
  }
  gp += plot + "\n" + data;
  render(gp, base + "_scales.png");
}

void run(const CompareArgs& a) {
  std::string official_dir = find_official_dir(a.official_dir);
  std::vector<int> entries;
  for (const auto& e : split(a.entries)) {
    entries.push_back(int(parse_int(e, 2, Table::kMaxEntries, "--entries: every entry count")));
  }
  if (entries.empty()) throw std::invalid_argument(fmt::format("--entries must list entry counts, got {}", quote(a.entries)));
  std::vector<Function> funcs;
  for (const auto& f : split(a.funcs)) funcs.push_back(find_function(f));
  std::vector<int> plot_scales = a.plots.empty() ? std::vector<int>{} : parse_scales(a.plot_scales);
  // Every output is checked before the work: a bad path fails now, with nothing printed.
  if (!a.plots.empty() && !on_path("gnuplot"))  // found missing after the whole comparison before
    throw std::invalid_argument("--plots needs gnuplot on the PATH (apt-get install gnuplot-nox)");
  check_output(a.csv, "CSV");
  check_output(a.json_out, "JSON");
  for (const auto& [dir, what] : {std::pair{a.tables_dir, "table"}, std::pair{a.plots, "plot"}}) {
    if (dir.empty()) continue;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec || !fs::is_directory(dir))
      throw std::invalid_argument(fmt::format("cannot create the {} folder {}: {}", what, quote(dir, 200),
                                              ec ? ec.message() : "not a directory"));
    check_output(dir + "/gqalut-probe", what);
  }
  {
    GaSettings s;  // the GA options, refused now rather than after the first rows
    s.generations = a.generations;
    s.population = a.population;
    s.seed = a.seed;
    GeneticAlgorithm check(s);
  }
  std::string report;  // printed only when everything succeeded: no partial output before an error
  auto out = std::back_inserter(report);

  json rows = json::array();
  std::string csv = "function,entries,method,n,points,mse,max_abs_error,paper_score,int8\n";
  fmt::format_to(out, "Operator-level comparison: paper score = mean over input scales of the P-int MSE\n"
             "(every int8 code in the range, bit-exact integer datapath), coefficient format {}.\n"
             "Paper columns: figures reported in GQA-LUT (DAC 2024), 8 entries only.\n\n", a.format);
  std::string head = fmt::format("{:<7}{:>3} {:>7} {:>9} {:>9}", "func", "K", "scales", "paper GQA", "paper NN");
  for (const char* h : kHeaders) head += fmt::format(" {:>9}", h);
  fmt::format_to(out, "{}\n{}\n", head, std::string(head.size(), '-'));
  int total = int(funcs.size() * entries.size()), done = 0;
  Progress progress("compare");
  auto tick = progress.callback();
  std::vector<std::string> notes;
  for (const auto& fn : funcs)
    for (int k : entries) {
      Problem p = Problem::make(fn, k);
      p.scales = !a.scales.empty() ? parse_scales(a.scales) : fn.is_builtin() ? [&] {
        std::vector<int> s;
        for (int n = fn.official_json_scales_lo; n <= fn.official_json_scales_hi; ++n) s.push_back(n);
        return s;
      }() : std::vector<int>{0, 1, 2, 3, 4, 5, 6};
      p.slope_format = p.intercept_format = FormatChoice::parse(a.format);
      p.validate();
      std::map<std::string, Cell> cells;
      for (const char* m : kMethods) {
        if (tick) tick(double(done) / total, fmt::format("{} {} {}", fn.name, k, m));
        cells[m] = run_method(m, p, a, official_dir);
        const Cell& c = cells[m];
        if (!c.note.empty() && c.available) notes.push_back(fmt::format("{} {} {}: {}", fn.name, k, m, c.note));
        if (!c.available) continue;
        for (const auto& e : c.errors.scales)
          csv += fmt::format("{},{},{},{},{},{:.9e},{:.9e},{:.9e},{}\n", fn.name, k, m, e.n, e.points, e.mse,
                             e.max_abs_error, c.errors.paper_score, c.set.tables.begin()->second.is_int8());
        json sc = json::array();
        for (const auto& e : c.errors.scales)
          sc.push_back({{"n", e.n}, {"points", e.points}, {"mse", e.mse}, {"max_abs_error", e.max_abs_error}});
        rows.push_back({{"function", fn.name}, {"entries", k}, {"method", m}, {"paper_score", c.errors.paper_score},
                       {"int8", c.set.tables.begin()->second.is_int8()}, {"scales", sc}, {"seconds", c.seconds}});
        if (!a.tables_dir.empty() && m != std::string("official") && m != std::string("official-op"))
          write_json_file(fmt::format("{}/{}_{}_{}.json", a.tables_dir, fn.name, k, m), c.set);
      }
      ++done;
      auto paper = kPaper.find(fn.name);
      bool has_paper = paper != kPaper.end() && k == 8;
      std::string scales_text = fmt::format("{}..{}", p.scales.front(), p.scales.back());
      std::string row = fmt::format("{:<7}{:>3} {:>7} {:>9} {:>9}", fn.name, k, scales_text,
                                    has_paper ? sci(paper->second.gqa_lut) : "-",
                                    has_paper ? sci(paper->second.nn_lut) : "-");
      for (const char* m : kMethods) {
        const Cell& c = cells[m];
        std::string v = c.available ? sci(c.errors.paper_score) : "-";
        if (c.available && !c.set.tables.begin()->second.is_int8()) v += "*";
        row += fmt::format(" {:>9}", v);
      }
      if (tick) progress.finish();
      fmt::format_to(out, "{}\n", row);
          if (!a.plots.empty()) write_plots(a.plots, p, cells, plot_scales);
    }
  progress.finish();
  fmt::format_to(out, "\n* codes wider than 8 bits (not INT8; measured exactly as stored)\n");
  fmt::format_to(out, "GA columns: seed {}, population {}, {} generations. -RM/+RM: faithful GA without/with the\n"
             "rounding mutation; impr.: gqalut's improved GA (per-scale tables); optimum: exact per-scale optimum.\n",
             a.seed, a.population, a.generations);
  fmt::format_to(out, "official: the official tables as trained (the trainer's tie rule: x on a breakpoint goes right);\n"
                      "off. op: the same files as deployed in the official PyTorch op (torch.bucketize: it goes left).\n"
                      "Every other column is a gqalut table, which computes the same function in the op.\n");
  if (!official_dir.empty()) fmt::format_to(out, "official tables from {}\n", official_dir);
  if (!a.csv.empty()) {
    write_file_atomic(a.csv, csv, "CSV");
    fmt::format_to(out, "per-scale detail: {}\n", a.csv);
  }
  if (!a.json_out.empty()) {
    write_file_atomic(a.json_out, rows.dump(2) + "\n", "JSON");
    fmt::format_to(out, "json: {}\n", a.json_out);
  }
  if (!a.plots.empty()) fmt::format_to(out, "plots: {}/\n", a.plots);
  std::fwrite(report.data(), 1, report.size(), stdout);
  std::fflush(stdout);
}

}  // namespace

void add_compare_command(CLI::App& app) {
  auto a = std::make_shared<CompareArgs>();
  auto* cmd = app.add_subcommand(
      "compare", "Reproduce the paper's operator comparison: every method beside the paper and official tables");
  cmd->footer(
      "Columns: the paper's reported figures (8 entries), the official GQA-LUT tables, NN-LUT, uniform\n"
      "breakpoints, the faithful GA without and with rounding mutation, the improved GA, the exact optimum.\n"
      "All are paper scores (mean P-int MSE over the scales; default: the scales the official tables provide).\n\n"
      "Examples:\n"
      "  gqalut compare\n"
      "  gqalut compare --funcs gelu --entries 8 --plots plots --csv compare.csv");
  cmd->add_option("--funcs", a->funcs, "Comma-separated functions")->capture_default_str();
  cmd->add_option("--entries", a->entries, "Comma-separated entry counts, each in [2, 64]")->capture_default_str();
  cmd->add_option("--scales", a->scales, "Scales for every function (default: the official tables')");
  cmd->add_option("--format", a->format, "Coefficient format q1.6 | q2.5 | qI.F | auto")->capture_default_str();
  cmd->add_option("--seed", a->seed, "Seed of the GA and NN-LUT runs")->check(seed_value())->capture_default_str();
  cmd->add_option("--generations", a->generations, "GA generations, in [0, 1000000]")
      ->check(int_in(0, 1'000'000))
      ->capture_default_str();
  cmd->add_option("--population", a->population, "GA population, in [2, 100000]")
      ->check(int_in(2, 100'000))
      ->capture_default_str();
  cmd->add_option("--official-dir", a->official_dir, "Folder of official tables (default: ../shared/reference/official)");
  cmd->add_option("--csv", a->csv, "Write per-scale detail as CSV");
  cmd->add_option("--json", a->json_out, "Write per-scale detail as JSON");
  cmd->add_option("--tables", a->tables_dir, "Write every table found into this folder");
  cmd->add_option("--plots", a->plots, "Write PNG plots (gnuplot) into this folder");
  cmd->add_option("--plot-scales", a->plot_scales, "Scales of the function/error plots")->capture_default_str();
  cmd->callback([a] { run(*a); });
}

}  // namespace gqalut::cli
