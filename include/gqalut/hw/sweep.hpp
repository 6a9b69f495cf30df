// gqalut hardware layer: the design-space sweep (issue 16, point 5; `gqalut sweep` is the command
// over it). For every point of entries x input bits x coefficient bits: the exact optimum (paper
// score, max |error|), the generated PWL units (baked for one scale, and programmable) synthesised
// with SynthFlow (area, cells, flip-flops, critical path; cached by design hash), the INT32/FP32
// reference units, the Pareto front of error against area, and with a budget the cheapest point
// that meets it. docs/sweep.md.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "gqalut/function.hpp"
#include "gqalut/search.hpp"

namespace gqalut::hw {

// The parsed and checked settings of one sweep (the command checks the lists, names and outputs;
// run_sweep checks what needs the function: codes per scale, the scales of each width).
struct SweepSettings {
  Function fn;
  double lo = 0, hi = 0;
  std::vector<int> entries, input_bits, coef_bits;
  std::vector<int> ref_entries;  // INT32/FP32 reference units (empty: none)
  std::vector<int> int8_scales;  // the scales n of --scales
  std::string scales;            // --scales as typed (for messages and the report)
  Objective objective = Objective::mse;
  std::string split = "best";    // best | fit
  int split_window = 2;
  std::string scale_mode = "span";  // span | code
  std::string judge = "own";        // own | int8
  std::optional<double> budget;
  std::string csv, json_out, plot;  // outputs ("" = none), checked by the caller before the work
  int jobs = 1;
  std::string cache_dir;  // "" = default_cache_dir()
  std::string liberty, rtl_dir;
  std::string timing = "auto";  // auto | opensta | abc
  int baked_scale = -1;
  bool no_area = false, no_fetch = false;
};

// Runs the sweep: prints the report on stdout and writes the CSV/JSON/plot named in `s`.
// `tick(fraction, note)` reports progress; `progress_done()` is called before the report.
// Throws std::invalid_argument (one line) for a setting that cannot be met (a budget no point
// meets: before anything is printed or written).
void run_sweep(const SweepSettings& s, const ProgressFn& tick = {}, const std::function<void()>& progress_done = {});

// A sweep over a row unit kind of the registry (softmax, layernorm): every entries x lanes point,
// baked and programmable, built, synthesised and measured (max/mean error in output LSB on the
// rows of `gqalut ops`); the Pareto front of max error against area, and with a budget (LSB) the
// smallest unit that meets it.
struct UnitSweepSettings {
  std::string unit;  // a registry kind with an error measurement, e.g. "softmax", "layernorm"
  std::vector<int> entries, lanes;
  int max_n = 0;  // 0: the kind's default
  bool restream = false;  // every unit re-streamed (no row buffer; the source sends each row once per pass)
  std::optional<double> budget;
  std::string csv, json_out, plot;  // checked by the caller before the work
  int jobs = 1;
  std::string cache_dir, liberty, rtl_dir;
  std::string timing = "auto";
  bool no_fetch = false;
};

// Prints the table on stdout and writes the outputs; throws std::invalid_argument (one line) when
// the kind is unknown or has no error measurement, when synthesis is not available (this sweep is
// about area), or when no unit meets the budget (before anything is printed or written).
void run_unit_sweep(const UnitSweepSettings& s, const ProgressFn& tick = {},
                    const std::function<void()>& progress_done = {});

}  // namespace gqalut::hw
