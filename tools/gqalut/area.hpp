// The area flow of `gqalut sweep` (the flow of scripts/hw_report.sh and
// docs/hardware.md): yosys synthesis onto the OSU 0.18 um standard cells,
// results cached by design hash.
//
//   read_verilog; [chparam]; synth -top T -flatten; dfflibmap -liberty LIB;
//   abc -liberty LIB (yosys' default mapping script plus "topo; stime -p");
//   opt_clean; stat -liberty LIB; opt_clean -purge; write_verilog NETLIST
//   sta: read_liberty; read_verilog NETLIST; link_design T;
//        create_clock clk (a virtual clock when T has no clk port);
//        input/output delays 0; report_checks -path_delay max
//
// Area, cell and flip-flop counts come from `stat`. The critical path is
// OpenSTA's (timing "opensta"): the data arrival time of the worst setup path,
// as scripts/hw_report.sh reads it (clock-to-q of a launching register
// included, setup of the capturing one not). Without OpenSTA it is ABC's
// `stime` delay of the mapped logic (timing "abc-estimate": the longest
// combinational path between registers/ports, no clock-to-q, no setup), and
// the result says so. ABC's estimate is recorded in both cases.
#pragma once

#include <string>
#include <vector>

namespace gqalut::cli {

struct SynthResult {
  double area_um2 = 0;
  int cells = 0;
  int flip_flops = 0;
  double critical_path_ns = 0;  // measured by `timing`
  std::string timing;            // "opensta" or "abc-estimate"
  double abc_estimate_ns = 0;    // ABC's stime delay, whatever `timing` is
  bool cached = false;           // read from the cache, not synthesised now
};

// Where the critical path comes from: OpenSTA when it is found (auto), always
// (opensta: find() leaves the flow unavailable without it), or never (abc).
enum class TimingChoice { automatic, opensta, abc };

// One design: Verilog sources (text, in order), the top module and optional
// yosys chparam arguments (e.g. "-set K 8 -set OUTREG 1").
struct Design {
  std::vector<std::string> sources;
  std::string top;
  std::string chparam;
};

class AreaFlow {
 public:
  // Finds yosys (PATH) and the Liberty file: `liberty` if given, else
  // $GQALUT_LIBERTY, else CACHE/osu018 (fetched there from Debian's
  // qflow-tech-osu018 with apt-get download + dpkg-deb -x when `fetch`).
  // OpenSTA is $GQALUT_STA if set (a path or a name looked up in PATH, e.g.
  // GQALUT_STA=/nonexistent to measure without it), else `sta` in PATH.
  // Never throws for a missing tool: available() is false and why() says what
  // to install; a missing OpenSTA under `automatic` only sets timing_note().
  static AreaFlow find(const std::string& cache_dir, const std::string& liberty, bool fetch,
                       TimingChoice timing = TimingChoice::automatic);

  bool available() const { return why_.empty(); }
  const std::string& why() const { return why_; }
  const std::string& liberty() const { return liberty_; }
  const std::string& cache_dir() const { return cache_; }
  // "opensta" or "abc-estimate": the `timing` of every result of this flow.
  const std::string& timing() const { return timing_; }
  // e.g. "OpenSTA 2.0.17 (/usr/bin/sta)" or "ABC stime (yosys 0.23)".
  const std::string& timing_tool() const { return timing_tool_; }
  // Why the critical path is ABC's estimate when OpenSTA was wanted (empty otherwise).
  const std::string& timing_note() const { return timing_note_; }

  // Synthesises `d` (or reads the cached result). Cache entries are written
  // to a temporary file and renamed into place, so an interrupted run leaves
  // only complete entries. Throws std::runtime_error if yosys fails.
  SynthResult synth(const Design& d) const;
  // The cache key of a design (hex): flow version, Liberty content, timing
  // source and tool version, sources, top, chparam. So an entry measured by
  // ABC is never served as OpenSTA's (or by another OpenSTA version).
  std::string key(const Design& d) const;

 private:
  std::string yosys_, yosys_version_, sta_, sta_version_, liberty_, liberty_hash_, cache_, why_;
  std::string timing_ = "abc-estimate", timing_tool_, timing_note_;
};

// The default cache folder: $GQALUT_CACHE_DIR, else $XDG_CACHE_HOME/gqalut,
// else $HOME/.cache/gqalut.
std::string default_cache_dir();

// 64-bit FNV-1a of `text`, as 16 hex digits.
std::string hash_hex(const std::string& text);

// Writes `text` to `path` through a temporary file in the same folder and a
// rename (atomic on POSIX). Throws std::runtime_error on failure.
void write_file_atomic(const std::string& path, const std::string& text);

}  // namespace gqalut::cli
