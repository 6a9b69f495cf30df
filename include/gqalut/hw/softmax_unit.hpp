// gqalut hardware layer: the integer softmax unit (issue 16, point 3), generated from a plan
// (the tables and constants of prepare_softmax, i.e. ref::SoftmaxRef), with its testbenches
// whose expected values come from the stage functions of include/gqalut/datapath.hpp.
// Interface, pipeline, latency and throughput: docs/hw_units.md.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gqalut/datapath.hpp"
#include "gqalut/hw/sim.hpp"
#include "gqalut/hw/unit.hpp"

namespace gqalut {
class SoftmaxPlan;
}

namespace gqalut::hw {

struct SoftmaxUnitOptions {
  int max_n = 256;           // longest row (the row buffer, unless restream, holds max_n int8 codes); a multiple of lanes
  int lanes = 1;             // elements per beat (per cycle) on both streams, 1..16
  bool programmable = false; // EXP2M1 / DIV coefficients in registers (write port) instead of constants
  bool restream = false;     // no row buffer: the source sends each row three times (max, sum, outputs; docs/hw_units.md)
  bool int8_out = false;     // outputs saturate to 127 (int8 probabilities) instead of 255 (uint8)
  std::string name = "gqalut_softmax";  // top module name and prefix of the sub-modules (checked)
};

// Cycle counts of a unit (docs/hw_units.md), for a row of n elements with no stalls (re-streamed:
// a source that keeps up; the unit then takes `beats` input beats per pass).
struct UnitTiming {
  long long beats = 0;          // ceil(n / lanes)
  long long recip_cycles = 0;   // the once-per-row reciprocal (softmax) / rsqrt (LayerNorm)
  long long row_cycles = 0;     // first input beat accepted -> last output beat accepted, inclusive
  long long interval = 0;       // cycles from one row's first input beat to the next row's (back to back)
  long long pipeline_depth = 0; // element pipeline registers between buffer and output
};

// Throws std::invalid_argument (one line naming the option and value) for bad options, and for a
// plan whose constants break a width the unit assumes (each width is asserted from the plan).
VerilogUnit generate_softmax_unit(const ref::SoftmaxRef& r, const SoftmaxUnitOptions& opt = {});
VerilogUnit generate_softmax_unit(const SoftmaxPlan& plan, const SoftmaxUnitOptions& opt = {});
UnitTiming softmax_unit_timing(const ref::SoftmaxRef& r, const SoftmaxUnitOptions& opt, long long n);

// The register writes that load the plan's two tables into a programmable unit
// (waddr = {table (0 EXP2M1, 1 DIV), PWL unit address}); the unit's other constants are the plan's.
struct UnitRegisterWrite {
  uint32_t addr = 0, data = 0;
};
std::vector<UnitRegisterWrite> softmax_unit_program(const ref::SoftmaxRef& r, const SoftmaxUnitOptions& opt);

// What the testbenches check.
struct UnitTestOptions {
  long long random_rows = 2000;  // random rows (lengths drawn from `lengths`, or 1..max_n)
  std::vector<int> lengths;      // row lengths of the random rows; empty: uniform in [1, max_n]
  uint64_t seed = 1;
  bool stall = true;             // random in_valid gaps and out_ready stalls in the row testbench
  long long stage_random = 20000;  // random vectors of the stage testbenches (besides the exhaustive ones)
};

// A testbench and its data files ($readmemh), ready for simulate().
struct UnitTestbench {
  VerilogUnit tb;
  std::vector<std::pair<std::string, std::string>> data_files;
  long long checks = 0;  // the number of checks it prints on PASS
  std::vector<long long> row_lengths;  // row testbench: the rows in the order they are sent
};
// Stage testbench: every EXP-stage input u in [0, 255] (k, c, the EXP2M1 accumulator, e), every DIV
// code d of the octave at both ends of its interval for several exponents plus the rounding carry and
// random sums (x, d, X, the seed, Y after Newton, R, T), and output-stage vectors (corners + random).
UnitTestbench softmax_stage_testbench(const ref::SoftmaxRef& r, const SoftmaxUnitOptions& opt,
                                      const UnitTestOptions& t);
// Row testbench: the edge rows (length 1, max_n, all equal, one spike, all -128, alternating
// extremes) and t.random_rows random rows through the streaming interface; every output code,
// row marker and keep count compared with ref::softmax_row_ref. A re-streamed unit (opt.restream)
// gets each row's input beats three times (one per pass), the expected values unchanged.
UnitTestbench softmax_row_testbench(const ref::SoftmaxRef& r, const SoftmaxUnitOptions& opt, const UnitTestOptions& t);

struct UnitVerification {
  SimResult stages, rows;
  LintResult lint;
  bool passed() const { return stages.passed() && rows.passed() && lint.clean(); }
  std::string summary() const;  // "stages PASS: n checks; rows PASS: m checks; lint clean"
};
// Generates the unit, lints it (verilator --lint-only -Wall) and simulates both testbenches.
// sim.work_dir / lint.work_dir: subfolders "stages", "rows" and "lint" are used under them.
UnitVerification verify_softmax_unit(const ref::SoftmaxRef& r, const SoftmaxUnitOptions& opt,
                                     const UnitTestOptions& t, const SimOptions& sim = {},
                                     const LintOptions& lint = {});

}  // namespace gqalut::hw
