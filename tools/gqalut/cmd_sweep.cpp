// gqalut sweep: design-space exploration for accelerator architects, a thin command over the
// hardware layer's sweep engine (gqalut/hw/sweep.hpp, src/hw/sweep.cpp): it parses and checks the
// options (lists, names, outputs, the folder of reference units) before any work.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "gqalut/atomic_file.hpp"
#include "gqalut/hw/registry.hpp"
#include "gqalut/hw/sweep.hpp"
#include "gqalut/io.hpp"
#include "gqalut/metrics.hpp"
#include "gqalut/verilog.hpp"


namespace gqalut::cli {
namespace {

struct SweepArgs {
  FunctionArgs fn;
  std::string entries = "4,8,16,32";
  std::string input_bits = "4,6,8";
  std::string coef_bits = "4,5,6,8";
  std::string scales = "0:6";
  std::string metric = "mse";
  std::string split = "best";
  std::string scale_mode = "span";
  std::string judge = "own";
  std::vector<int> int8_scales;  // the parsed --scales
  int split_window = 2;
  std::optional<double> budget;
  std::string csv, json_out, plot;
  int jobs = 1;
  std::string cache_dir, liberty, rtl_dir;
  std::string ref_entries = "8";
  std::string timing = "auto";
  int baked_scale = -1;
  bool no_area = false;
  bool no_fetch = false;
  std::string unit = "pwl";  // or a row unit kind of the registry: softmax, layernorm
  std::string lanes = "1";
  int max_n = 0;
  bool restream = false;
};


// "4,8,16", "4:8" or a mix; every value checked by `check`.
std::vector<int> parse_list(const std::string& option, const std::string& text,
                            const std::function<void(int)>& check) {
  std::vector<int> out;
  auto num = [&](const std::string& s) {
    if (s.empty() || s.size() > 3 || s.find_first_not_of("0123456789") != std::string::npos)
      throw std::invalid_argument(fmt::format("{} must be a list of integers like 4,8,16 or 4:8, got '{}'", option, text));
    return std::stoi(s);
  };
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    if (part.empty()) continue;
    auto colon = part.find(':');
    if (colon == std::string::npos) {
      out.push_back(num(part));
    } else {
      int a = num(part.substr(0, colon)), b = num(part.substr(colon + 1));
      if (a > b) throw std::invalid_argument(fmt::format("{}: range {} is empty", option, part));
      for (int v = a; v <= b; ++v) {
        try {  // name the range the user wrote, not only the first value of it that fails
          check(v);
        } catch (const std::invalid_argument& e) {
          throw std::invalid_argument(fmt::format("{} (in the range '{}')", e.what(), part));
        }
        out.push_back(v);
      }
    }
  }
  if (out.empty()) throw std::invalid_argument(fmt::format("{} must not be empty, got '{}'", option, text));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  for (int v : out) check(v);
  return out;
}

// Every output, and a named folder of reference units, is checked before the work (both sweeps).
void check_outputs(const SweepArgs& a) {
  check_output(a.csv, "--csv");
  check_output(a.json_out, "--json");
  check_output(a.plot, "--plot");
  if (!a.rtl_dir.empty()) hw::find_rtl_dir(a.rtl_dir);
}

// The settings both sweeps take alike (hw::SweepSettings, hw::UnitSweepSettings): budget,
// outputs, jobs, cache, synthesis inputs.
template <typename Settings>
void copy_common(const SweepArgs& a, Settings& s) {
  s.budget = a.budget;
  s.csv = a.csv;
  s.json_out = a.json_out;
  s.plot = a.plot;
  s.jobs = a.jobs;
  s.cache_dir = a.cache_dir;
  s.liberty = a.liberty;
  s.rtl_dir = a.rtl_dir;
  s.timing = a.timing;
  s.no_fetch = a.no_fetch;
}

// --unit softmax|layernorm: a sweep over the registry's row units (entries x lanes x
// baked/programmable), every option checked before the work.
void run_units(const SweepArgs& a) {
  if (a.fn.given()) throw std::invalid_argument(fmt::format("--unit {} takes no --func/--expr (its tables come from its recipes)", a.unit));
  if (a.no_area) throw std::invalid_argument(fmt::format("--unit {} needs synthesis: --no-area does not apply", a.unit));
  hw::UnitSweepSettings s;
  s.unit = a.unit;
  s.entries = parse_list("--entries", a.entries, [](int v) {
    if (v < 2 || v > 64) throw std::invalid_argument(fmt::format("--entries: entries must be in [2, 64], got {}", v));
  });
  s.lanes = parse_list("--lanes", a.lanes, [](int v) {
    if (v < 1 || v > 16) throw std::invalid_argument(fmt::format("--lanes: lanes must be in [1, 16], got {}", v));
  });
  if (a.budget && !(std::isfinite(*a.budget) && *a.budget > 0))
    throw std::invalid_argument(fmt::format("--budget must be a positive number, got {}", *a.budget));
  if (a.jobs < 1 || a.jobs > 64) throw std::invalid_argument(fmt::format("--jobs must be in [1, 64], got {}", a.jobs));
  check_outputs(a);
  hw::find_unit_kind(a.unit);
  s.max_n = a.max_n;
  s.restream = a.restream;
  copy_common(a, s);
  Progress progress("sweep");
  hw::run_unit_sweep(s, progress.callback(), [&] { progress.finish(); });
}

void run(const SweepArgs& args) {
  if (args.unit != "pwl") return run_units(args);
  // The row units' options mean nothing for the PWL unit: refused rather than ignored.
  if (args.lanes != "1" || args.max_n != 0 || args.restream)
    throw std::invalid_argument(fmt::format("--unit pwl: {} applies to --unit softmax|layernorm only",
                                            args.lanes != "1" ? "--lanes" : args.max_n != 0 ? "--max-n" : "--restream"));
  SweepArgs a = args;
  // ---- arguments
  double lo = 0, hi = 0;
  Function fn = a.fn.resolve(&lo, &hi);
  auto entries = parse_list("--entries", a.entries, [](int v) {
    if (v < 2 || v > Table::kMaxEntries)
      throw std::invalid_argument(fmt::format("--entries: entries must be in [2, {}], got {}", Table::kMaxEntries, v));
  });
  auto input_bits = parse_list("--input-bits", a.input_bits, [](int v) {
    if (!((v >= 2 && v <= 8) || v == 16))
      throw std::invalid_argument(fmt::format("--input-bits: input code width must be 2..8 or 16, got {}", v));
  });
  auto coef_bits = parse_list("--coef-bits", a.coef_bits, [](int v) {
    if (v < 3 || v > 8)
      throw std::invalid_argument(fmt::format("--coef-bits: coefficient code width must be in [3, 8], got {}", v));
  });
  auto ref_entries = a.no_area || a.ref_entries == "none"
                         ? std::vector<int>{}
                         : parse_list("--ref-entries", a.ref_entries, [](int v) {
                             if (v < 2 || v > 64)
                               throw std::invalid_argument(
                                   fmt::format("--ref-entries: entries must be in [2, 64], got {}", v));
                           });
  std::vector<int> scales = parse_scales(a.scales);
  a.int8_scales = scales;
  Objective obj = parse_objective(a.metric);
  if (a.split != "best" && a.split != "fit")
    throw std::invalid_argument(fmt::format("--split must be best or fit, got '{}'", a.split));
  if (a.split_window < 0 || a.split_window > 4)
    throw std::invalid_argument(fmt::format("--split-window must be in [0, 4], got {}", a.split_window));
  if (a.jobs < 1 || a.jobs > 64) throw std::invalid_argument(fmt::format("--jobs must be in [1, 64], got {}", a.jobs));
  if (a.budget && !(std::isfinite(*a.budget) && *a.budget > 0))
    throw std::invalid_argument(fmt::format("--budget must be a positive number, got {}", *a.budget));
  if (a.baked_scale >= 0 && std::find(scales.begin(), scales.end(), a.baked_scale) == scales.end())
    throw std::invalid_argument(fmt::format("--baked-scale {} is not one of --scales {}", a.baked_scale, a.scales));
  check_outputs(a);
  hw::SweepSettings s;
  s.fn = fn;
  s.lo = lo;
  s.hi = hi;
  s.entries = entries;
  s.input_bits = input_bits;
  s.coef_bits = coef_bits;
  s.ref_entries = ref_entries;
  s.int8_scales = a.int8_scales;
  s.scales = a.scales;
  s.objective = obj;
  s.split = a.split;
  s.split_window = a.split_window;
  s.scale_mode = a.scale_mode;
  s.judge = a.judge;
  s.baked_scale = a.baked_scale;
  s.no_area = a.no_area;
  copy_common(a, s);
  Progress progress("sweep");
  hw::run_sweep(s, progress.callback(), [&] { progress.finish(); });
}

}  // namespace

void add_sweep_command(CLI::App& app) {
  auto a = std::make_shared<SweepArgs>();
  auto* cmd = app.add_subcommand(
      "sweep", "Design-space exploration: exact error against synthesised area over entries x input x coefficient bits");
  cmd->footer(
      "For every point (entries K, input code width b_in, coefficient code width c): the exact optimum of the\n"
      "quantized table (per scale; the coefficient fraction split chosen per width), its P-int errors, and the\n"
      "generated units (baked for one scale, and programmable) synthesised with yosys onto the OSU 0.18 um\n"
      "cells (area, cells, flip-flops; critical path timed by OpenSTA, or ABC's estimate without it: the\n"
      "timing column says which), cached by design hash in --cache-dir. Lists: 4,8,16 or 4:8.\n\n"
      "Examples:\n"
      "  gqalut sweep --func gelu --entries 4,8,16 --input-bits 4,8 --coef-bits 4,6,8 --csv s.csv --plot s.png\n"
      "  gqalut sweep --func exp --entries 4:8 --input-bits 4 --coef-bits 6:8 --budget 1e-4 --jobs 2\n"
      "  gqalut sweep --unit softmax --entries 4,8 --lanes 1 --max-n 64 --budget 1.0 --jobs 2");
  a->fn.add(*cmd);
  cmd->add_option("--entries", a->entries, "Entry counts K, in [2, 64]")->capture_default_str();
  cmd->add_option("--input-bits", a->input_bits, "Input code widths b_in: 2..8 or 16")->capture_default_str();
  cmd->add_option("--coef-bits", a->coef_bits, "Slope and intercept code widths, in [3, 8]")->capture_default_str();
  cmd->add_option("--scales", a->scales, "Input scales n (x = q*2^-n)")->capture_default_str();
  cmd->add_option("--metric", a->metric, "mse (objective MSE, error = paper score) | max (max |error|)")
      ->capture_default_str();
  cmd->add_option("--split", a->split,
                  "Coefficient fraction split per width: best (the best within --split-window bits of the\n"
                  "fitting split) | fit (the largest fraction at which the function's values fit)")
      ->capture_default_str();
  cmd->add_option("--scale-mode", a->scale_mode,
                  "span: a b_in-bit input at scale n covers the int8 input's span at n (scale n-(8-b_in));\n"
                  "code: --scales are the b_in-bit codes' own scales")
      ->capture_default_str();
  cmd->add_option("--judge", a->judge,
                  "Error of the Pareto front, plot and --budget: own (the unit's own input codes: paper score /\n"
                  "max |error|) | int8 (int8 data requantized to b_in bits; --scale-mode span)")
      ->capture_default_str();
  cmd->add_option("--split-window", a->split_window, "Fraction bits around the fitting split tried by --split best")
      ->check(int_in(0, 4))
      ->capture_default_str();
  cmd->add_option("--budget", a->budget, "Error budget (of --metric): report the cheapest point that meets it");
  cmd->add_option("--csv", a->csv, "Write one row per point as CSV");
  cmd->add_option("--json", a->json_out, "Write the points, per-scale errors and references as JSON");
  cmd->add_option("--plot", a->plot, "Write the error-against-area plot with the Pareto fronts (PNG, gnuplot)");
  cmd->add_option("-j,--jobs", a->jobs, "Parallel points and syntheses")->check(int_in(1, 64))->capture_default_str();
  cmd->add_option("--cache-dir", a->cache_dir, "Cache of optima and synthesis results (default ~/.cache/gqalut)");
  cmd->add_option("--liberty", a->liberty, "Liberty file (default: OSU 0.18 um, fetched into the cache)");
  cmd->add_option("--rtl-dir", a->rtl_dir, "Folder of the INT32/FP32 reference designs (default: the source tree's rtl/)");
  cmd->add_option("--ref-entries", a->ref_entries, "Entry counts of the INT32/FP32 reference units, or none")
      ->capture_default_str();
  cmd->add_option("--baked-scale", a->baked_scale, "Scale of the baked unit (default: the largest of --scales)")
      ->check(int_in(0, Table::kMaxScale));
  cmd->add_option("--timing", a->timing,
                  "Critical path: auto (OpenSTA if found, else ABC's estimate, with a note) | opensta (required)\n"
                  "| abc (ABC's estimate). OpenSTA is $GQALUT_STA if set, else sta in PATH")
      ->capture_default_str();
  cmd->add_flag("--no-area", a->no_area, "Errors only: no synthesis");
  cmd->add_option("--unit", a->unit,
                  "pwl (the PWL unit of --func over --entries x --input-bits x --coef-bits) | softmax | layernorm\n"
                  "(the registry's row units over --entries x --lanes, baked and programmable; errors in output\n"
                  "LSB on the rows of gqalut ops, --budget in LSB)")
      ->capture_default_str();
  cmd->add_option("--lanes", a->lanes, "--unit softmax|layernorm: elements per beat, e.g. 1,4")->capture_default_str();
  cmd->add_option("--max-n", a->max_n, "--unit softmax|layernorm: longest row (0: the unit's default)")
      ->check(int_in(0, 4096));
  cmd->add_flag("--restream", a->restream,
                "--unit softmax|layernorm: no row buffer, the source sends each row once per pass (softmax 3,\n"
                "LayerNorm 2)");
  cmd->add_flag("--no-fetch", a->no_fetch, "Never run apt-get download for the Liberty file");
  cmd->callback([a] { run(*a); });
}

}  // namespace gqalut::cli
