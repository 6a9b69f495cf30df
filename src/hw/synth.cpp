// The synthesis flow of the hardware layer (gqalut/hw/synth.hpp).
#include "gqalut/hw/synth.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "gqalut/atomic_file.hpp"
#include "process.hpp"

namespace gqalut::hw {
namespace {

namespace fs = std::filesystem;
using detail::read_text;

// Bump when the flow or the parsing changes: old cache entries then miss.
// 2: the netlist is timed with OpenSTA (timing source and tool versions in the key).
// 3: OpenSTA also reports power (inputs 0.5, idle write port); entries record their key.
constexpr const char* kFlowVersion = "gqalut-area-3";
constexpr double kToolTimeoutS = 3600;  // one yosys or OpenSTA run

std::string find_liberty_in(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return {};
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->path().filename() == "osu018_stdcells.lib") return it->path().string();
  return {};
}

bool run_ok(const std::vector<std::string>& args, const std::string& cwd, const std::string& log,
            std::string* out = nullptr) {
  detail::ProcessResult r = detail::run_process(args, cwd, log, kToolTimeoutS);
  if (out) *out = r.log;
  return r.exit_code == 0;
}

// The first line `args` print (e.g. "2.0.17" for sta -version), trimmed; empty if it fails.
// Probed in a temporary folder: the cache folder may not be usable yet.
std::string first_line_of(const std::vector<std::string>& args) {
  std::string dir = detail::make_temp_dir("version");
  std::string out;
  bool ok = run_ok(args, dir, dir + "/out.txt", &out);
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (!ok) return {};
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

// The OpenSTA script for one netlist. A unit without a clk port (purely combinational) is timed
// against a virtual clock: inputs arrive at its edge, outputs are required at the next.
std::string sta_script(const std::string& lib, const std::string& netlist_path, const Design& d, bool clk) {
  std::string s = fmt::format("read_liberty {{{}}}\nread_verilog {{{}}}\nlink_design {}\n", lib, netlist_path, d.top);
  if (clk)
    s += fmt::format(
        "create_clock -name clk -period {p} [get_ports clk]\n"
        "set_input_delay 0 -clock clk [delete_from_list [all_inputs] [get_ports clk]]\n",
        fmt::arg("p", SynthFlow::kClockNs));
  else
    s += fmt::format("create_clock -name vclk -period {}\nset_input_delay 0 -clock vclk [all_inputs]\n",
                     SynthFlow::kClockNs);
  s += fmt::format("set_output_delay 0 -clock {} [all_outputs]\n", clk ? "clk" : "vclk");
  s += "set_power_activity -input -activity 0.5\n";
  for (const auto& p : d.idle_inputs)
    s += fmt::format("set_power_activity -input_ports [get_ports -quiet {{{}}}] -activity 0\n", p);
  s += "report_power\nreport_checks -path_delay max -digits 3\n";
  return s;
}

void throw_on_sta_error(const std::string& log, const std::string& what) {
  for (const char* bad : {"Error:", "error:"}) {
    size_t pos = log.find(bad);
    if (pos != std::string::npos) {
      std::string msg = log.substr(pos, log.find('\n', pos) - pos);
      throw std::runtime_error(fmt::format("OpenSTA failed on {}: {}", what, msg));
    }
  }
}

// The data arrival time (ns) of the report's path.
double sta_arrival(const std::string& log, const std::string& what) {
  size_t pos = log.find("data arrival time");
  if (pos == std::string::npos) {
    if (log.find("No paths found") != std::string::npos) return 0;  // constant unit: nothing to time
    throw std::runtime_error(fmt::format("OpenSTA reported no path for {}", what));
  }
  size_t line = log.rfind('\n', pos);
  return std::strtod(log.c_str() + (line == std::string::npos ? 0 : line + 1), nullptr);
}

// The total power (mW) of report_power: the "Total" row's fourth number (W).
double sta_power_mw(const std::string& log, const std::string& what) {
  std::istringstream ss(log);
  std::string line;
  while (std::getline(ss, line)) {
    if (line.rfind("Total", 0) != 0) continue;
    std::istringstream ls(line.substr(5));
    double internal = 0, switching = 0, leakage = 0, total = 0;
    if (ls >> internal >> switching >> leakage >> total) return total * 1000;
  }
  throw std::runtime_error(fmt::format("OpenSTA reported no power for {}", what));
}

// Fetches qflow-tech-osu018 into dir (apt-get download, never installed).
std::string fetch_liberty(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir / "deb", ec);
  if (ec) return {};
  std::string log = (dir / "fetch.log").string();
  if (!run_ok({"apt-get", "download", "qflow-tech-osu018"}, (dir / "deb").string(), log)) return {};
  for (const auto& e : fs::directory_iterator(dir / "deb", ec))
    if (e.path().extension() == ".deb" && !run_ok({"dpkg-deb", "-x", e.path().string(), dir.string()}, "", log))
      return {};
  return find_liberty_in(dir);
}

double number_after(const std::string& text, const std::string& tag) {
  size_t pos = text.rfind(tag);
  if (pos == std::string::npos) return -1;
  return std::strtod(text.c_str() + pos + tag.size(), nullptr);
}

// Removes the scratch folders (work/<key>.<pid>.<n>) of runs that were interrupted: their
// process no longer exists. Cache entries are never partial.
void remove_stale_work(const fs::path& work) {
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

// Makes cache/<sub> a folder; one line naming the folder when it cannot be (a file in the way,
// no permission): the cache is a setting the user named, not an optional extra.
void require_folder(const fs::path& cache, const char* sub) {
  fs::path p = cache / sub;
  std::error_code ec;
  fs::create_directories(p, ec);
  if (fs::is_directory(p, ec)) return;
  std::error_code ec2;
  bool file = fs::exists(p, ec2) && !fs::is_directory(p, ec2);
  throw std::invalid_argument(fmt::format("cache folder {}: {} {}", cache.string(), p.string(),
                                          file ? "is a file, not a folder" : "cannot be created (no permission?)"));
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

Design design_of(const VerilogUnit& unit, const std::string& chparam) {
  Design d;
  d.top = unit.top;
  d.chparam = chparam;
  for (const auto& f : unit.files) d.sources.push_back(f.second);
  return d;
}

SynthFlow SynthFlow::find(const std::string& cache_dir, const std::string& liberty, bool fetch, TimingChoice timing) {
  SynthFlow f;
  f.cache_ = cache_dir;
  // A named Liberty file must be there: dropping the area columns would hide the typo.
  const char* env_lib = std::getenv("GQALUT_LIBERTY");
  const std::string named = !liberty.empty() ? liberty : (env_lib && *env_lib ? env_lib : "");
  if (!named.empty()) {
    std::error_code ec;
    const std::string what = !liberty.empty() ? "--liberty" : "GQALUT_LIBERTY";
    if (!fs::is_regular_file(named, ec))
      throw std::invalid_argument(fmt::format("{} {}: {}", what, named,
                                              fs::exists(named, ec) ? "is not a regular file" : "no such file"));
    if (::access(named.c_str(), R_OK) != 0)
      throw std::invalid_argument(fmt::format("{} {}: cannot be read", what, named));
  }
  require_folder(cache_dir, "syn");
  require_folder(cache_dir, "work");
  remove_stale_work(fs::path(cache_dir) / "work");
  f.yosys_ = detail::which("yosys");
  if (f.yosys_.empty()) {
    f.why_ = "yosys not found (Debian: apt-get install yosys)";
    return f;
  }
  if (!named.empty()) {
    f.liberty_ = named;
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
  f.liberty_hash_ = hash_hex(read_text(f.liberty_));
  f.yosys_version_ = first_line_of({f.yosys_, "-V"});
  f.timing_tool_ = fmt::format("ABC stime ({})", f.yosys_version_.empty() ? "yosys" : f.yosys_version_);
  if (timing == TimingChoice::abc) return f;
  const char* env = std::getenv("GQALUT_STA");
  const std::string want = env ? env : "sta";
  const bool is_path = want.find('/') != std::string::npos;
  std::string sta = detail::which(want);
  std::string version = sta.empty() ? "" : first_line_of({sta, "-version"});
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

std::string SynthFlow::key(const Design& d) const {
  // The tools' versions matter, not their paths.
  std::string all = fmt::format("{}\n{}\n{}\n{}\n{}\n{}\n{}\n", kFlowVersion, liberty_hash_, yosys_version_, timing_,
                                sta_version_, d.top, d.chparam);
  if (buffering_) all += "buffering\n";  // absent when off: the entries of earlier runs stay valid
  for (const auto& p : d.idle_inputs) all += fmt::format("idle {}\n", p);
  for (const auto& s : d.sources) all += fmt::format("{}\n{}", s.size(), s);
  return hash_hex(all);
}

SynthResult SynthFlow::synth(const Design& d) const {
  using json = nlohmann::json;
  if (!available()) throw std::runtime_error(why_);
  const std::string k = key(d);
  fs::path entry = fs::path(cache_) / "syn" / (k + ".json");
  std::error_code ec;
  if (fs::is_regular_file(entry, ec)) {
    try {
      json j = json::parse(read_text(entry.string()));
      SynthResult r;
      r.area_um2 = j.at("area_um2").get<double>();
      r.cells = j.at("cells").get<int>();
      r.flip_flops = j.at("flip_flops").get<int>();
      r.critical_path_ns = j.at("critical_path_ns").get<double>();
      r.timing = j.at("timing").get<std::string>();
      r.abc_estimate_ns = j.at("abc_estimate_ns").get<double>();
      r.power_mw = j.at("power_mw").get<double>();
      r.cached = true;
      // An entry is this design's only if it says so (a file copied or renamed in the cache
      // folder, or written by another flow, is measured again and replaced).
      if (j.at("key").get<std::string>() == k && j.at("top").get<std::string>() == d.top && r.timing == timing_)
        return r;
    } catch (const std::exception&) {
      // unreadable entry (not ours): synthesise again and replace it
    }
  }
  fs::create_directories(entry.parent_path(), ec);
  static std::atomic<unsigned> counter{0};
  fs::path work = fs::path(cache_) / "work" / fmt::format("{}.{}.{}", k, ::getpid(), counter++);
  fs::create_directories(work, ec);
  if (!fs::is_directory(work, ec))
    throw std::runtime_error(fmt::format("cannot create the work folder {}", work.string()));
  std::string read = "read_verilog";
  for (size_t i = 0; i < d.sources.size(); ++i) {
    fs::path src = work / fmt::format("src{}.v", i);
    detail::write_text(src.string(), d.sources[i]);
    read += " " + src.string();
  }
  const std::string lib = liberty_;
  std::string script = read + "\n";
  if (!d.chparam.empty()) script += fmt::format("chparam {} {}\n", d.chparam, d.top);
  script += fmt::format(
      "synth -top {top} -flatten\n"
      "dfflibmap -liberty {lib}\n"
      // yosys' default ABC script for -liberty (or, buffered, the one it uses with a delay
      // target: buffers and gate sizing against the clock), plus the timing report.
      "abc -liberty {lib} -script +strash;&get,-n;&fraig,-x;&put;scorr;dc2;dretime;strash;&get,-n;&dch,-f;{map}"
      "topo;stime,-p\n"
      "opt_clean\n"
      "tee -q -o {stat} stat -liberty {lib}\n",
      fmt::arg("top", d.top), fmt::arg("lib", lib), fmt::arg("stat", (work / "stat.txt").string()),
      fmt::arg("map", buffering_ ? fmt::format("&nf,-D,{0};&put;buffer,-p;upsize,-D,{0};dnsize,-D,{0};",
                                               int(kClockNs * 1000))
                                 : std::string("&nf;&put;")));
  // For OpenSTA 2.0, whose reader rejects assignments to concatenations: -purge drops the
  // internal aliases, -simple-lhs writes the rest one wire at a time.
  const fs::path netlist = work / "netlist.v";
  if (!sta_.empty())
    script += fmt::format("opt_clean -purge\nwrite_verilog -noattr -noexpr -nohex -nodec -simple-lhs {}\n", netlist.string());
  detail::write_text((work / "flow.ys").string(), script);
  std::string log = (work / "yosys.log").string();
  std::string out;
  if (!run_ok({yosys_, "-q", "-l", log, "-s", (work / "flow.ys").string()}, work.string(),
              (work / "yosys.out").string(), &out)) {
    auto pos = out.find("ERROR");
    std::string msg = pos == std::string::npos ? out.substr(0, 300) : out.substr(pos, 300);
    for (char& c : msg)
      if (c == '\n') c = ' ';
    throw std::runtime_error(fmt::format("yosys failed on {} (work folder {}): {}", d.top, work.string(), msg));
  }
  std::string stat = read_text((work / "stat.txt").string()), ylog = read_text(log);
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
    detail::write_text(tcl.string(), sta_script(lib, netlist.string(), d, has_clk_port(read_text(netlist.string()))));
    std::string slog;
    bool ok = run_ok({sta_, "-no_init", "-exit", tcl.string()}, work.string(), sta_log.string(), &slog);
    std::string what = fmt::format("{} (work folder {})", d.top, work.string());
    if (!ok) throw std::runtime_error(fmt::format("OpenSTA ({}) failed on {}", sta_, what));
    throw_on_sta_error(slog, what);
    r.critical_path_ns = sta_arrival(slog, what);
    r.power_mw = sta_power_mw(slog, what);
  }
  json j = {{"key", k},
            {"top", d.top},
            {"area_um2", r.area_um2},
            {"cells", r.cells},
            {"flip_flops", r.flip_flops},
            {"critical_path_ns", r.critical_path_ns},
            {"timing", r.timing},
            {"timing_tool", timing_tool_},
            {"abc_estimate_ns", r.abc_estimate_ns},
            {"power_mw", r.power_mw}};
  gqalut::write_file_atomic(entry.string(), j.dump() + "\n", "synthesis cache entry");
  fs::remove_all(work, ec);
  return r;
}

}  // namespace gqalut::hw
