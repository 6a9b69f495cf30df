// Helpers for the RTL tests: scratch directories, running iverilog/vvp/verilator.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace gqalut::rtl_test {

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

// Runs `cmd` in `dir` with stdout+stderr captured in dir/<tag>.log.
inline RunResult run_in(const fs::path& dir, const std::string& cmd, const std::string& tag) {
  fs::path log = dir / (tag + ".log");
  std::string full = "cd '" + dir.string() + "' && (" + cmd + ") > '" + log.string() + "' 2>&1";
  RunResult r;
  r.status = std::system(full.c_str());
  r.log = read_file(log);
  return r;
}

// Compiles `sources` with iverilog -g2005 (plus `flags`) and runs the simulation.
inline RunResult simulate(const fs::path& dir, const std::vector<std::string>& sources,
                          const std::string& flags = "") {
  std::string cmd = std::string(GQALUT_IVERILOG) + " -g2005 -Wall -o sim.vvp " + flags;
  for (const auto& s : sources) cmd += " '" + s + "'";
  RunResult c = run_in(dir, cmd, "iverilog");
  if (c.status != 0) return c;
  return run_in(dir, std::string(GQALUT_VVP) + " -n sim.vvp", "vvp");
}

// verilator --lint-only -Wall on `sources` (top module `top`).
inline RunResult lint(const fs::path& dir, const std::vector<std::string>& sources, const std::string& top,
                      const std::string& flags = "") {
  std::string cmd = std::string(GQALUT_VERILATOR) + " --lint-only -Wall --top-module " + top + " " + flags;
  for (const auto& s : sources) cmd += " '" + s + "'";
  return run_in(dir, cmd, "verilator_" + top);
}

inline bool passed(const RunResult& r) {
  return r.status == 0 && r.log.find("PASS: ") != std::string::npos && r.log.find("FAIL") == std::string::npos;
}

}  // namespace gqalut::rtl_test
