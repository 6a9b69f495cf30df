// Helpers for the RTL tests: scratch directories; simulation and lint through the hardware layer.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gqalut/hw/sim.hpp"

namespace gqalut::rtl_test {

namespace hw = gqalut::hw;

namespace fs = std::filesystem;

// A fresh scratch directory under the build tree, named after the test.
inline fs::path scratch(const std::string& name) {
  fs::path d = fs::path(GQALUT_RTL_WORK_DIR) / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

inline void write_file(const fs::path& p, const std::string& text) {
  std::ofstream f(p);
  f << text;
}

inline std::string read_file(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

struct RunResult {
  int status = -1;
  std::string log;
};

// The hardware layer's simulator and linter (gqalut/hw/sim.hpp) on files already written in `dir`
// (names relative to it), with this build's iverilog/vvp/verilator.
inline hw::VerilogUnit unit_of(const fs::path& dir, const std::vector<std::string>& sources, const std::string& top) {
  std::vector<std::string> paths;
  for (const auto& s : sources) paths.push_back((dir / s).string());
  return hw::read_unit(top, paths);
}

// Compiles `sources` with iverilog -g2005 -Wall and runs the simulation.
inline RunResult simulate(const fs::path& dir, const std::vector<std::string>& sources) {
  hw::SimOptions o;
  o.work_dir = dir.string();
  o.iverilog = GQALUT_IVERILOG;
  o.vvp = GQALUT_VVP;
  hw::SimResult r = hw::simulate(unit_of(dir, sources, ""), hw::VerilogUnit{}, o);
  return {r.compiled ? r.exit_code : (r.exit_code == 0 ? 1 : r.exit_code), r.compile_log + r.log};
}

// verilator --lint-only -Wall on `sources` (top module `top`).
inline RunResult lint(const fs::path& dir, const std::vector<std::string>& sources, const std::string& top) {
  hw::LintOptions o;
  o.work_dir = dir.string();
  o.verilator = GQALUT_VERILATOR;
  hw::LintResult r = hw::lint(unit_of(dir, sources, top), o);
  return {r.clean() ? 0 : (r.exit_code == 0 ? 1 : r.exit_code), r.log};
}

inline bool passed(const RunResult& r) {
  return r.status == 0 && r.log.find("PASS: ") != std::string::npos && r.log.find("FAIL") == std::string::npos;
}

}  // namespace gqalut::rtl_test
