// gqalut hardware layer: simulation (Icarus Verilog: iverilog + vvp) and lint (verilator
// --lint-only -Wall) of generated units and their testbenches (issue 16).
//
// A testbench prints "PASS: <n> checks" when every check held, "FAIL: ..." otherwise (and calls
// $fatal); simulate() reads the verdict from that text and the exit status, never from one alone.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "gqalut/hw/unit.hpp"

namespace gqalut::hw {

// A simulator, linter or synthesis tool that is not installed. what() is one line naming the
// tool, where it was looked for and the Debian package, e.g.
// "iverilog not found in PATH (Debian: apt-get install iverilog; or set GQALUT_IVERILOG to the binary)".
struct ToolNotFound : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The executable of a tool: $env_var if set and non-empty (a path, or a name looked up in PATH),
// else `name` in PATH. Throws ToolNotFound (naming `package`) if there is none.
std::string find_tool(const std::string& name, const std::string& env_var, const std::string& package);

// The three tools: $GQALUT_IVERILOG / $GQALUT_VVP / $GQALUT_VERILATOR, else iverilog, vvp,
// verilator in PATH. Throw ToolNotFound.
std::string find_iverilog();
std::string find_vvp();
std::string find_verilator();

// Reads hand-written Verilog files (e.g. rtl/lut_fp32.v and its primitives) into a unit.
// Throws std::invalid_argument naming a file that cannot be read.
VerilogUnit read_unit(const std::string& top, const std::vector<std::string>& paths);

struct SimOptions {
  // Scratch folder: created if missing; the sources, sim.vvp and the logs are written there and
  // kept. Empty: a fresh folder under $TMPDIR, removed afterwards.
  std::string work_dir;
  double timeout_s = 600;                  // for iverilog and for vvp, each (<= 0: none)
  std::vector<std::string> iverilog_flags;  // besides -g2005 -Wall -s <testbench top>, e.g. "-Ptb.K=8"
  std::vector<std::string> plusargs;        // passed to vvp after sim.vvp, e.g. "+seed=3"
  // Extra files the testbench reads ($readmemh, $fopen), written beside the sources: (name, text).
  std::vector<std::pair<std::string, std::string>> data_files;
  std::string iverilog, vvp;  // executables; empty: find_iverilog() / find_vvp()
};

struct SimResult {
  bool compiled = false;    // iverilog succeeded
  int exit_code = -1;       // of vvp (or of iverilog when it failed); -1: killed or not started
  bool timed_out = false;   // iverilog or vvp ran past SimOptions::timeout_s
  long long checks = -1;    // n of the testbench's "PASS: <n> checks" line; -1 without one
  std::string compile_log;  // iverilog's output (its warnings)
  std::string log;          // vvp's output
  std::string work_dir;     // where it ran (empty if the folder was temporary and is gone)
  // Compiled, ran to the end with exit status 0, printed "PASS: " and no "FAIL".
  bool passed() const;
  // One line: "PASS: 256 checks", "FAIL: 3 of 256 checks", "iverilog failed: <first error>",
  // "timed out after 600 s in vvp", ...
  std::string summary() const;
};

// Compiles `design` and `testbench` (design files first; testbench.top is the simulation's root)
// with iverilog -g2005 -Wall, runs vvp -n and captures both outputs. A failing testbench is a
// result, not an exception; throws ToolNotFound for a missing tool and std::runtime_error when the
// work folder cannot be written.
SimResult simulate(const VerilogUnit& design, const VerilogUnit& testbench, const SimOptions& opt = {});

struct LintOptions {
  std::string work_dir;            // as SimOptions::work_dir
  double timeout_s = 300;
  std::vector<std::string> flags;  // besides --lint-only -Wall --top-module <top>, e.g. "-GK=8"
  std::string verilator;           // executable; empty: find_verilator()
};

struct LintResult {
  int exit_code = -1;
  bool timed_out = false;
  std::string log;  // verilator's output
  // Exit status 0 and not one %Warning or %Error line.
  bool clean() const;
  // One line: "clean", or the first %Warning/%Error line.
  std::string summary() const;
};

// verilator --lint-only -Wall on the unit's files (top module unit.top). Throws ToolNotFound for a
// missing verilator and std::runtime_error when the work folder cannot be written.
LintResult lint(const VerilogUnit& unit, const LintOptions& opt = {});

}  // namespace gqalut::hw
