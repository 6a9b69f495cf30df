#include "area.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
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
constexpr const char* kFlowVersion = "gqalut-area-1";

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

AreaFlow AreaFlow::find(const std::string& cache_dir, const std::string& liberty, bool fetch) {
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
  return f;
}

std::string AreaFlow::key(const Design& d) const {
  std::string all = fmt::format("{}\n{}\n{}\n{}\n", kFlowVersion, liberty_hash_, d.top, d.chparam);
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
      r.cached = true;
      return r;
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
  r.critical_path_ns = ps < 0 ? -1 : ps / 1000;
  if (r.area_um2 < 0 || r.cells < 0)
    throw std::runtime_error(fmt::format("could not read yosys' stat report for {} in {}", d.top, work.string()));
  json j = {{"top", d.top},
            {"area_um2", r.area_um2},
            {"cells", r.cells},
            {"flip_flops", r.flip_flops},
            {"critical_path_ns", r.critical_path_ns}};
  write_file_atomic(entry.string(), j.dump() + "\n");
  fs::remove_all(work, ec);
  return r;
}

}  // namespace gqalut::cli
