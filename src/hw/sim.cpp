// Simulation and lint of generated units (gqalut/hw/sim.hpp).
#include "gqalut/hw/sim.hpp"

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "process.hpp"

namespace gqalut::hw {

namespace fs = std::filesystem;
using detail::ProcessResult;

std::string find_tool(const std::string& name, const std::string& env_var, const std::string& package) {
  const char* env = env_var.empty() ? nullptr : std::getenv(env_var.c_str());
  if (env && *env) {
    std::string p = detail::which(env);
    if (p.empty())
      throw ToolNotFound(fmt::format("{}={} {} (Debian: apt-get install {}; or unset {})", env_var, env,
                                     std::string(env).find('/') != std::string::npos ? "is not an executable"
                                                                                     : "is not in PATH",
                                     package, env_var));
    return p;
  }
  std::string p = detail::which(name);
  if (p.empty())
    throw ToolNotFound(fmt::format("{} not found in PATH (Debian: apt-get install {}{})", name, package,
                                   env_var.empty() ? "" : fmt::format("; or set {} to the binary", env_var)));
  return p;
}

std::string find_iverilog() { return find_tool("iverilog", "GQALUT_IVERILOG", "iverilog"); }
std::string find_vvp() { return find_tool("vvp", "GQALUT_VVP", "iverilog"); }
std::string find_verilator() { return find_tool("verilator", "GQALUT_VERILATOR", "verilator"); }

VerilogUnit read_unit(const std::string& top, const std::vector<std::string>& paths) {
  VerilogUnit u;
  u.top = top;
  for (const auto& p : paths) {
    std::error_code ec;
    if (!fs::is_regular_file(p, ec))
      throw std::invalid_argument(fmt::format("Verilog source {} not found (module {})", p, top));
    u.files.emplace_back(fs::path(p).filename().string(), detail::read_text(p));
  }
  return u;
}

namespace {

// The scratch folder of one run: the given one (kept) or a temporary one (removed at the end).
class WorkDir {
 public:
  WorkDir(const std::string& given, const std::string& tag) : temporary_(given.empty()) {
    if (temporary_) {
      path_ = detail::make_temp_dir(tag);
    } else {
      path_ = given;
      std::error_code ec;
      fs::create_directories(path_, ec);
      if (!fs::is_directory(path_, ec))
        throw std::runtime_error(fmt::format("work folder {} cannot be created (a file in the way, or no permission)",
                                             path_));
    }
  }
  ~WorkDir() {
    if (temporary_) {
      std::error_code ec;
      fs::remove_all(path_, ec);
    }
  }
  WorkDir(const WorkDir&) = delete;
  WorkDir& operator=(const WorkDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return (fs::path(path_) / name).string(); }
  bool temporary() const { return temporary_; }

 private:
  bool temporary_;
  std::string path_;
};

// Writes the unit's files into the folder; returns their paths in order. A file name must be a
// plain name (no folder), so a unit cannot write outside its work folder.
std::vector<std::string> put_files(const WorkDir& w, const std::vector<std::pair<std::string, std::string>>& files,
                                   const std::string& what) {
  std::vector<std::string> out;
  for (const auto& [name, text] : files) {
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
      throw std::invalid_argument(fmt::format("{} file name must be a plain file name, got '{}'", what, name));
    std::string p = w.file(name);
    detail::write_text(p, text);
    out.push_back(p);
  }
  return out;
}

std::string first_line_with(const std::string& log, const std::vector<std::string>& tags) {
  std::istringstream ss(log);
  std::string line;
  while (std::getline(ss, line))
    for (const auto& t : tags)
      if (line.find(t) != std::string::npos) return line;
  return {};
}

}  // namespace

bool SimResult::passed() const {
  return compiled && !timed_out && exit_code == 0 && log.find("PASS: ") != std::string::npos &&
         log.find("FAIL") == std::string::npos;
}

std::string SimResult::summary() const {
  if (timed_out) return fmt::format("timed out in {}", compiled ? "vvp" : "iverilog");
  if (!compiled) {
    std::string e = first_line_with(compile_log, {"error", "Error", "cannot run", "I give up"});
    return "iverilog failed: " + (e.empty() ? compile_log.substr(0, compile_log.find('\n')) : e);
  }
  std::string f = first_line_with(log, {"FAIL"});
  if (!f.empty()) return f;
  std::string p = first_line_with(log, {"PASS: "});
  if (exit_code != 0) return fmt::format("vvp exited with status {}{}", exit_code, p.empty() ? "" : " after " + p);
  if (p.empty()) return "the testbench printed no PASS line";
  return p.substr(p.find("PASS: "));
}

SimResult simulate(const VerilogUnit& design, const VerilogUnit& testbench, const SimOptions& opt) {
  const std::string iverilog = opt.iverilog.empty() ? find_iverilog() : opt.iverilog;
  const std::string vvp = opt.vvp.empty() ? find_vvp() : opt.vvp;
  WorkDir w(opt.work_dir, "sim");
  std::vector<std::pair<std::string, std::string>> all = design.files;
  all.insert(all.end(), testbench.files.begin(), testbench.files.end());
  std::vector<std::string> sources = put_files(w, all, "Verilog");
  put_files(w, opt.data_files, "testbench data");
  std::vector<std::string> args = {iverilog, "-g2005", "-Wall", "-o", w.file("sim.vvp")};
  if (!testbench.top.empty()) args.insert(args.end(), {"-s", testbench.top});
  args.insert(args.end(), opt.iverilog_flags.begin(), opt.iverilog_flags.end());
  args.insert(args.end(), sources.begin(), sources.end());
  SimResult r;
  r.work_dir = w.temporary() ? std::string() : w.path();
  ProcessResult c = detail::run_process(args, w.path(), w.file("iverilog.log"), opt.timeout_s);
  r.compile_log = c.log;
  r.timed_out = c.timed_out;
  if (c.exit_code != 0) {
    r.exit_code = c.exit_code;
    return r;
  }
  r.compiled = true;
  args = {vvp, "-n", w.file("sim.vvp")};
  args.insert(args.end(), opt.plusargs.begin(), opt.plusargs.end());
  ProcessResult v = detail::run_process(args, w.path(), w.file("vvp.log"), opt.timeout_s);
  r.log = v.log;
  r.timed_out = v.timed_out;
  r.exit_code = v.exit_code;
  size_t pos = r.log.find("PASS: ");
  if (pos != std::string::npos) r.checks = std::strtoll(r.log.c_str() + pos + 6, nullptr, 10);
  return r;
}

bool LintResult::clean() const {
  return !timed_out && exit_code == 0 && log.find("%Warning") == std::string::npos &&
         log.find("%Error") == std::string::npos;
}

std::string LintResult::summary() const {
  if (timed_out) return "verilator timed out";
  std::string e = first_line_with(log, {"%Error", "%Warning", "cannot run"});
  if (!e.empty()) return e;
  return exit_code == 0 ? "clean" : fmt::format("verilator exited with status {}", exit_code);
}

LintResult lint(const VerilogUnit& unit, const LintOptions& opt) {
  const std::string verilator = opt.verilator.empty() ? find_verilator() : opt.verilator;
  WorkDir w(opt.work_dir, "lint");
  std::vector<std::string> sources = put_files(w, unit.files, "Verilog");
  std::vector<std::string> args = {verilator, "--lint-only", "-Wall"};
  if (!unit.top.empty()) args.insert(args.end(), {"--top-module", unit.top});
  args.insert(args.end(), opt.flags.begin(), opt.flags.end());
  args.insert(args.end(), sources.begin(), sources.end());
  ProcessResult p = detail::run_process(args, w.path(), w.file(fmt::format("verilator_{}.log", unit.top)), opt.timeout_s);
  LintResult r;
  r.exit_code = p.exit_code;
  r.timed_out = p.timed_out;
  r.log = p.log;
  return r;
}

}  // namespace gqalut::hw
