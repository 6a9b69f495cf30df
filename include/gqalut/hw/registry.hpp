// gqalut hardware layer: the unit registry (issue 16). One list of unit generators (src/hw/units.def):
// each kind builds a VerilogUnit from a UnitRequest, says how many elements it takes per cycle,
// how to verify it (a testbench whose expected values come from the kind's scalar reference,
// simulated under iverilog) and, where it has one, its measured error. `gqalut hw` lists and
// drives them; `gqalut sweep` and the report synthesise them with SynthFlow.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "gqalut/hw/sim.hpp"
#include "gqalut/hw/unit.hpp"

namespace gqalut::hw {

// What a generator is asked for; each kind reads the fields its UnitKind::options names.
struct UnitRequest {
  int entries = 8;              // table entries K
  int lanes = 1;                // elements per cycle (row units)
  bool programmable = false;    // run-time loadable tables (else baked constants)
  bool output_register = true;  // one pipeline stage at the output (PWL)
  int max_n = 0;                // longest row of a row unit; 0: the kind's default
  bool restream = false;        // row units: no row buffer, the source sends each row once per pass
  std::string table;            // PWL: a JSON table file (gqalut fit ... -o FILE)
  int scale = -1;               // PWL baked: the scale n (default: the table's largest)
  std::string name;             // PWL: module name (default gqalut_<function> / gqalut_lut<K>)
  std::string rtl_dir;          // hand-written sources; "" = find_rtl_dir("")
  uint64_t seed = 1;            // random checks of the testbench
  bool full = false;            // every check of the kind (else its reduced set)
};

// Measured error against the double-precision operation, in output LSB.
struct UnitError {
  double max_lsb = 0, mean_lsb = 0;
  std::string on;  // what it was measured on, e.g. "3 row sets of 4096 rows (gqalut ops)"
};

struct BuiltUnit {
  std::string kind;
  std::string description;               // one line: what this unit is
  VerilogUnit unit;
  std::string chparam;                   // yosys chparam for parameterised hand-written units
  std::vector<std::string> lint_flags;   // verilator -G... for the same parameters
  double elements_per_cycle = 1;         // sustained throughput
  // Simulates `unit` (normally this BuiltUnit's; a modified copy gives its own verdict) in the
  // testbench of its scalar reference (PASS/FAIL with a count of checks).
  std::function<SimResult(const VerilogUnit& unit, const SimOptions&)> verify;
  SimResult simulate(const SimOptions& opt) const { return verify(unit, opt); }
  // The measured error, if the kind has one (row units); empty otherwise.
  std::function<UnitError()> error;
};

struct UnitKind {
  const char* name;     // e.g. "pwl", "lut-int32", "softmax"
  const char* summary;  // one line
  const char* options;  // the UnitRequest fields it reads, e.g. "entries, lanes, programmable, max_n"
  BuiltUnit (*build)(const UnitRequest&);
};

// Every registered kind, in the order of units.def.
const std::vector<UnitKind>& unit_kinds();
// Throws std::invalid_argument "unknown unit kind 'x' (known: pwl, ...)".
const UnitKind& find_unit_kind(const std::string& name);
BuiltUnit build_unit(const std::string& kind, const UnitRequest& r);

// The folder of the hand-written units (lut_int32.v, lut_fp32.v and their primitives). `given`
// (--rtl-dir) must hold them (std::invalid_argument otherwise: never a silent fallback); else
// $GQALUT_RTL_DIR, else the installed <prefix>/share/gqalut/rtl beside the running program, else
// the source tree's rtl/ of this build. Throws std::invalid_argument naming where it looked.
std::string find_rtl_dir(const std::string& given);

}  // namespace gqalut::hw
