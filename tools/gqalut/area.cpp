#include "area.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "gqalut/atomic_file.hpp"

extern char** environ;

namespace gqalut::cli {
namespace {

namespace fs = std::filesystem;

// Bump when the flow or the parsing changes: old cache entries then miss.
// 2: the netlist is timed with OpenSTA (timing source and tool versions in the key).
constexpr const char* kFlowVersion = "gqalut-area-2";
// The clock period of the timing run (ns). It only sets the slack; the
// arrival time reported does not depend on it.
constexpr double kClockNs = 10;

std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string find_in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (!path) return {};
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) continue;
    fs::path p = fs::path(dir) / name;
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return {};
}

std::string find_liberty_in(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return {};
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->path().filename() == "osu018_stdcells.lib") return it->path().string();
  return {};
}

// Runs argv with stdout and stderr into `log`; returns the wait status.
int spawn(const std::vector<std::string>& args, const std::string& log) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return status;
}

bool exited_ok(int status) { return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0; }

// The first line `args` print (e.g. "2.0.17" for sta -version), trimmed; empty if it fails.
std::string first_line_of(const std::vector<std::string>& args, const fs::path& scratch) {
  std::error_code ec;
  fs::create_directories(scratch.parent_path(), ec);
  int st = spawn(args, scratch.string());
  std::string out = read_text(scratch);
  fs::remove(scratch, ec);
  if (!exited_ok(st)) return {};
  std::string line = out.substr(0, out.find('\n'));
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
  return line;
}

bool has_clk_port(const std::string& netlist) {
  std::istringstream ss(netlist);
  std::string line;
  while (std::getline(ss, line)) {
    size_t a = line.find_first_not_of(" \t");
    if (a != std::string::npos && line.compare(a, 10, "input clk;") == 0) return true;
  }
  return false;
}

// The OpenSTA script of hw_report.sh for one netlist. A unit without a clk
// port (purely combinational) is timed against a virtual clock: inputs
// arrive at its edge, outputs are required at the next.
std::string sta_script(const std::string& lib, const std::string& netlist_path, const std::string& top, bool clk) {
  std::string s = fmt::format("read_liberty {{{}}}\nread_verilog {{{}}}\nlink_design {}\n", lib, netlist_path, top);
  if (clk)
    s += fmt::format(
        "create_clock -name clk -period {p} [get_ports clk]\n"
        "set_input_delay 0 -clock clk [delete_from_list [all_inputs] [get_ports clk]]\n",
        fmt::arg("p", kClockNs));
  else
    s += fmt::format("create_clock -name vclk -period {}\nset_input_delay 0 -clock vclk [all_inputs]\n", kClockNs);
  s += fmt::format("set_output_delay 0 -clock {} [all_outputs]\nreport_checks -path_delay max -digits 3\n",
                   clk ? "clk" : "vclk");
  return s;
}

// The data arrival time (ns) of the report's path; throws if OpenSTA
// reported an error (a netlist it could not read must not pass as timed).
double sta_arrival(const std::string& log, const std::string& what) {
  for (const char* bad : {"Error:", "error:"}) {
    size_t pos = log.find(bad);
    if (pos != std::string::npos) {
      std::string msg = log.substr(pos, log.find('\n', pos) - pos);
      throw std::runtime_error(fmt::format("OpenSTA failed on {}: {}", what, msg));
    }
  }
  size_t pos = log.find("data arrival time");
  if (pos == std::string::npos) {
    if (log.find("No paths found") != std::string::npos) return 0;  // constant unit: nothing to time
    throw std::runtime_error(fmt::format("OpenSTA reported no path for {}", what));
  }
  size_t line = log.rfind('\n', pos);
  return std::strtod(log.c_str() + (line == std::string::npos ? 0 : line + 1), nullptr);
}

// Fetches qflow-tech-osu018 into dir (as scripts/hw_report.sh does).
std::string fetch_liberty(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir / "deb", ec);
  if (ec) return {};
  std::string log = (dir / "fetch.log").string();
  std::string deb_dir = (dir / "deb").string();
  int st = spawn({"sh", "-c", "cd '" + deb_dir + "' && apt-get download qflow-tech-osu018"}, log);
  if (!exited_ok(st)) return {};
  for (const auto& e : fs::directory_iterator(dir / "deb", ec))
    if (e.path().extension() == ".deb") {
      st = spawn({"dpkg-deb", "-x", e.path().string(), dir.string()}, log);
      if (!exited_ok(st)) return {};
    }
  return find_liberty_in(dir);
}

double number_after(const std::string& text, const std::string& tag, bool last = true) {
  size_t pos = last ? text.rfind(tag) : text.find(tag);
  if (pos == std::string::npos) return -1;
  return std::strtod(text.c_str() + pos + tag.size(), nullptr);
}

}  // namespace

std::string hash_hex(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("{:016x}", h);
}

std::string default_cache_dir() {
  if (const char* d = std::getenv("GQALUT_CACHE_DIR"); d && *d) return d;
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d) return std::string(d) + "/gqalut";
  if (const char* d = std::getenv("HOME"); d && *d) return std::string(d) + "/.cache/gqalut";
  return ".gqalut-cache";
}

void write_file_atomic(const std::string& path, const std::string& text) {
  // The one atomic writer of every gqalut output (gqalut/atomic_file.hpp: temporary beside the
  // target, fsync, rename; unique temporaries, so concurrent --jobs writers are safe).
  gqalut::write_file_atomic(path, text, "output");
}

// Removes the scratch folders (work/<key>.<pid>.<n>) of runs that were
// interrupted: their process no longer exists. Cache entries are never partial.
static void remove_stale_work(const fs::path& work) {
  std::error_code ec;
  if (!fs::is_directory(work, ec)) return;
  std::vector<fs::path> stale;
  for (const auto& e : fs::directory_iterator(work, ec)) {
    std::string name = e.path().filename().string();
    size_t a = name.find('.'), b = name.rfind('.');
    if (a == std::string::npos || b == a) continue;
    long pid = std::strtol(name.c_str() + a + 1, nullptr, 10);
    if (pid > 0 && ::kill(pid_t(pid), 0) != 0 && errno == ESRCH) stale.push_back(e.path());
  }
  for (const auto& d : stale) fs::remove_all(d, ec);
}

AreaFlow AreaFlow::find(const std::string& cache_dir, const std::string& liberty, bool fetch, TimingChoice timing) {
  AreaFlow f;
  f.cache_ = cache_dir;
  remove_stale_work(fs::path(cache_dir) / "work");
  f.yosys_ = find_in_path("yosys");
  if (f.yosys_.empty()) {
    f.why_ = "yosys not found (Debian: apt-get install yosys)";
    return f;
  }
  if (!liberty.empty()) {
    f.liberty_ = liberty;
  } else if (const char* env = std::getenv("GQALUT_LIBERTY"); env && *env) {
    f.liberty_ = env;
  } else {
    fs::path dir = fs::path(cache_dir) / "osu018";
    f.liberty_ = find_liberty_in(dir);
    if (f.liberty_.empty() && fetch) f.liberty_ = fetch_liberty(dir);
    if (f.liberty_.empty()) {
      f.why_ = fmt::format(
          "the OSU 0.18 um Liberty file was not found in {} (gqalut fetches it with 'apt-get download "
          "qflow-tech-osu018'; or pass --liberty FILE)",
          dir.string());
      return f;
    }
  }
  std::error_code ec;
  if (!fs::is_regular_file(f.liberty_, ec)) {
    f.why_ = fmt::format("Liberty file {} not found", f.liberty_);
    return f;
  }
  f.liberty_hash_ = hash_hex(read_text(f.liberty_));
  const fs::path scratch = fs::path(cache_dir) / "work" / fmt::format("version.{}.txt", ::getpid());
  f.yosys_version_ = first_line_of({f.yosys_, "-V"}, scratch);
  f.timing_tool_ = fmt::format("ABC stime ({})", f.yosys_version_.empty() ? "yosys" : f.yosys_version_);
  if (timing == TimingChoice::abc) return f;
  // OpenSTA: $GQALUT_STA (a path, or a name in PATH), else sta in PATH.
  const char* env = std::getenv("GQALUT_STA");
  const std::string want = env ? env : "sta";
  const bool is_path = want.find('/') != std::string::npos;
  std::string sta = is_path ? (::access(want.c_str(), X_OK) == 0 ? want : "") : find_in_path(want);
  std::string version = sta.empty() ? "" : first_line_of({sta, "-version"}, scratch);
  if (version.empty()) {
    std::string what = env ? fmt::format("GQALUT_STA={}", want) : "OpenSTA (sta)";
    std::string why = !sta.empty() ? "does not run ('-version' failed)"
                      : is_path    ? "is not an executable"
                                   : "is not in PATH";
    f.timing_note_ = fmt::format("{} {} (Debian: apt-get install opensta; or set GQALUT_STA to the binary)", what, why);
    if (timing == TimingChoice::opensta) f.why_ = f.timing_note_;
    return f;
  }
  f.sta_ = sta;
  f.sta_version_ = version;
  f.timing_ = "opensta";
  f.timing_tool_ = fmt::format("OpenSTA {} ({})", version, sta);
  return f;
}

std::string AreaFlow::key(const Design& d) const {
  // The tools' versions matter, not their paths.
  std::string all = fmt::format("{}\n{}\n{}\n{}\n{}\n{}\n{}\n", kFlowVersion, liberty_hash_, yosys_version_, timing_,
                                sta_version_, d.top, d.chparam);
  for (const auto& s : d.sources) all += fmt::format("{}\n{}", s.size(), s);
  return hash_hex(all);
}

SynthResult AreaFlow::synth(const Design& d) const {
  using json = nlohmann::json;
  if (!available()) throw std::runtime_error(why_);
  const std::string k = key(d);
  fs::path entry = fs::path(cache_) / "syn" / (k + ".json");
  std::error_code ec;
  if (fs::is_regular_file(entry, ec)) {
    try {
      json j = json::parse(read_text(entry));
      SynthResult r;
      r.area_um2 = j.at("area_um2").get<double>();
      r.cells = j.at("cells").get<int>();
      r.flip_flops = j.at("flip_flops").get<int>();
      r.critical_path_ns = j.at("critical_path_ns").get<double>();
      r.timing = j.at("timing").get<std::string>();
      r.abc_estimate_ns = j.at("abc_estimate_ns").get<double>();
      r.cached = true;
      // The key holds the timing source and the tools' versions; an entry that
      // says otherwise was not written by this flow: measure again, replace it.
      if (r.timing == timing_) return r;
    } catch (const std::exception&) {
      // unreadable entry (not ours): synthesise again and replace it
    }
  }
  fs::create_directories(entry.parent_path());
  static std::atomic<unsigned> counter{0};
  fs::path work = fs::path(cache_) / "work" / fmt::format("{}.{}.{}", k, ::getpid(), counter++);
  fs::create_directories(work);
  std::string read = "read_verilog";
  for (size_t i = 0; i < d.sources.size(); ++i) {
    fs::path src = work / fmt::format("src{}.v", i);
    std::ofstream(src) << d.sources[i];
    read += " " + src.string();
  }
  const std::string lib = liberty_;
  std::string script = read + "\n";
  if (!d.chparam.empty()) script += fmt::format("chparam {} {}\n", d.chparam, d.top);
  script += fmt::format(
      "synth -top {top} -flatten\n"
      "dfflibmap -liberty {lib}\n"
      // yosys' default ABC script for -liberty, plus the timing report.
      "abc -liberty {lib} -script +strash;&get,-n;&fraig,-x;&put;scorr;dc2;dretime;strash;&get,-n;&dch,-f;&nf;&put;"
      "topo;stime,-p\n"
      "opt_clean\n"
      "tee -q -o {stat} stat -liberty {lib}\n",
      fmt::arg("top", d.top), fmt::arg("lib", lib), fmt::arg("stat", (work / "stat.txt").string()));
  // For OpenSTA 2.0, whose reader rejects assignments to concatenations: -purge
  // drops the internal aliases, -simple-lhs writes the rest one wire at a time.
  const fs::path netlist = work / "netlist.v";
  if (!sta_.empty())
    script += fmt::format("opt_clean -purge\nwrite_verilog -noattr -noexpr -nohex -nodec -simple-lhs {}\n", netlist.string());
  std::ofstream(work / "flow.ys") << script;
  std::string log = (work / "yosys.log").string();
  int st = spawn({yosys_, "-q", "-l", log, "-s", (work / "flow.ys").string()}, (work / "yosys.out").string());
  if (!exited_ok(st)) {
    std::string out = read_text(work / "yosys.out");
    auto pos = out.find("ERROR");
    std::string msg = pos == std::string::npos ? out.substr(0, 300) : out.substr(pos, 300);
    for (char& c : msg)
      if (c == '\n') c = ' ';
    throw std::runtime_error(fmt::format("yosys failed on {} (work folder {}): {}", d.top, work.string(), msg));
  }
  std::string stat = read_text(work / "stat.txt"), ylog = read_text(log);
  SynthResult r;
  r.area_um2 = -1;
  {
    size_t pos = stat.rfind("Chip area for module");
    if (pos != std::string::npos) {
      size_t colon = stat.find(':', pos);
      r.area_um2 = colon == std::string::npos ? -1 : std::strtod(stat.c_str() + colon + 1, nullptr);
    }
  }
  r.cells = int(number_after(stat, "Number of cells:"));
  {
    std::istringstream ss(stat);
    std::string line;
    while (std::getline(ss, line)) {
      std::istringstream ls(line);
      std::string cell;
      long count = 0;
      if (ls >> cell >> count && cell.find("DFF") != std::string::npos) r.flip_flops += int(count);
    }
  }
  double ps = number_after(ylog, "Delay =");
  r.abc_estimate_ns = ps < 0 ? -1 : ps / 1000;
  if (r.area_um2 < 0 || r.cells < 0)
    throw std::runtime_error(fmt::format("could not read yosys' stat report for {} in {}", d.top, work.string()));
  r.timing = timing_;
  r.critical_path_ns = r.abc_estimate_ns;
  if (!sta_.empty()) {
    const fs::path tcl = work / "sta.tcl", sta_log = work / "sta.log";
    std::ofstream(tcl) << sta_script(lib, netlist.string(), d.top, has_clk_port(read_text(netlist)));
    int sst = spawn({sta_, "-no_init", "-exit", tcl.string()}, sta_log.string());
    std::string what = fmt::format("{} (work folder {})", d.top, work.string());
    if (!exited_ok(sst)) throw std::runtime_error(fmt::format("OpenSTA ({}) failed on {}", sta_, what));
    r.critical_path_ns = sta_arrival(read_text(sta_log), what);
  }
  json j = {{"top", d.top},
            {"area_um2", r.area_um2},
            {"cells", r.cells},
            {"flip_flops", r.flip_flops},
            {"critical_path_ns", r.critical_path_ns},
            {"timing", r.timing},
            {"timing_tool", timing_tool_},
            {"abc_estimate_ns", r.abc_estimate_ns}};
  write_file_atomic(entry.string(), j.dump() + "\n");
  fs::remove_all(work, ec);
  return r;
}

}  // namespace gqalut::cli
