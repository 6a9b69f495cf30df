// gqalut hardware layer: the synthesis flow (issue 16) — yosys onto a Liberty cell library
// (by default the OSU 0.18 um cells), OpenSTA for the critical path and the power, results cached
// by design hash. One flow for `gqalut hw`, `gqalut sweep` and scripts/hw_report.sh.
//
//   read_verilog; [chparam]; synth -top T -flatten; dfflibmap -liberty LIB;
//   abc -liberty LIB (yosys' default mapping script plus "topo; stime -p"; with set_buffering
//       the timing-driven one: &nf -D 10000; buffer -p; upsize; dnsize);
//   opt_clean; stat -liberty LIB; opt_clean -purge; write_verilog NETLIST
//   sta: read_liberty; read_verilog NETLIST; link_design T;
//        create_clock clk 10 ns (a virtual clock when T has no clk port);
//        input/output delays 0; inputs toggle 0.5 per cycle, the table write port
//        (we, waddr*, wdata*: Design::idle_inputs) 0; report_power; report_checks -path_delay max
//
// Area, cell and flip-flop counts come from `stat`. The critical path is OpenSTA's (timing
// "opensta"): the data arrival time of the worst setup path (clock-to-q of a launching register
// included, setup of the capturing one not). Power is OpenSTA's vectorless total at 100 MHz.
// Without OpenSTA the critical path is ABC's `stime` delay of the mapped logic (timing
// "abc-estimate": no clock-to-q, no setup) and there is no power figure; the result says so.
#pragma once

#include <string>
#include <vector>

#include "gqalut/hw/unit.hpp"

namespace gqalut::hw {

struct SynthResult {
  double area_um2 = 0;
  int cells = 0;
  int flip_flops = 0;
  double critical_path_ns = 0;  // measured by `timing`
  std::string timing;            // "opensta" or "abc-estimate"
  double abc_estimate_ns = 0;    // ABC's stime delay, whatever `timing` is
  double power_mw = -1;          // OpenSTA's total power at SynthFlow::kClockNs (mW); -1 without OpenSTA
  bool cached = false;           // read from the cache, not synthesised now
};

// Where the critical path comes from: OpenSTA when it is found (automatic), always (opensta:
// find() leaves the flow unavailable without it), or never (abc).
enum class TimingChoice { automatic, opensta, abc };

// One design: Verilog sources (text, in order), the top module, optional yosys chparam arguments
// (e.g. "-set K 8 -set OUTREG 1") and the input ports (OpenSTA patterns) held idle for power.
struct Design {
  std::vector<std::string> sources;
  std::string top;
  std::string chparam;
  std::vector<std::string> idle_inputs = {"we", "waddr*", "wdata*"};
};

// The design of a generated unit (its files' texts in order, its top).
Design design_of(const VerilogUnit& unit, const std::string& chparam = "");

class SynthFlow {
 public:
  static constexpr double kClockNs = 10;  // 100 MHz: the clock of the timing and power runs

  // Finds yosys (PATH) and the Liberty file: `liberty` if given, else $GQALUT_LIBERTY, else
  // CACHE/osu018 (fetched there from Debian's qflow-tech-osu018 with apt-get download +
  // dpkg-deb -x when `fetch`). OpenSTA is $GQALUT_STA if set (a path or a name in PATH, e.g.
  // GQALUT_STA=/nonexistent to measure without it), else `sta` in PATH.
  // A missing tool or a Liberty file that was looked for but not found (not named) is not an
  // error: available() is false and why() says what to install; a missing OpenSTA under
  // `automatic` only sets timing_note(). Settings that name something wrong are errors: throws
  // std::invalid_argument (one line) for a named Liberty file (argument or $GQALUT_LIBERTY) that
  // is not a readable file, and for a cache folder whose `syn` or `work` folder cannot be made.
  static SynthFlow find(const std::string& cache_dir, const std::string& liberty, bool fetch,
                        TimingChoice timing = TimingChoice::automatic);

  bool available() const { return why_.empty(); }
  const std::string& why() const { return why_; }
  const std::string& liberty() const { return liberty_; }
  const std::string& cache_dir() const { return cache_; }
  // "opensta" or "abc-estimate": the `timing` of every result of this flow.
  const std::string& timing() const { return timing_; }
  // Timing-driven buffering (off by default, so figures stay comparable with earlier runs): ABC
  // maps against the clock (&nf -D), inserts buffer trees on high-fanout nets (`buffer -p`) and
  // resizes gates (`upsize`, `dnsize`), as a physical flow would. Without it a row buffer's read
  // address drives thousands of inputs through one cell, and the critical path and power of
  // buffered units mean nothing. Part of the cache key.
  void set_buffering(bool on) { buffering_ = on; }
  bool buffering() const { return buffering_; }
  // e.g. "OpenSTA 2.0.17 (/usr/bin/sta)" or "ABC stime (yosys 0.23)".
  const std::string& timing_tool() const { return timing_tool_; }
  // Why the critical path is ABC's estimate when OpenSTA was wanted (empty otherwise).
  const std::string& timing_note() const { return timing_note_; }
  // e.g. "Yosys 0.23 (git sha1 7ce5011c24b)".
  const std::string& yosys_version() const { return yosys_version_; }

  // Synthesises `d` (or reads the cached result). Cache entries are written to a temporary file
  // and renamed into place, so an interrupted run leaves only complete entries; an entry is
  // served only if it records this design's key. Throws std::runtime_error if a tool fails.
  SynthResult synth(const Design& d) const;
  // The cache key of a design (hex): flow version, Liberty content, timing source and tool
  // versions, sources, top, chparam, idle inputs.
  std::string key(const Design& d) const;

 private:
  std::string yosys_, yosys_version_, sta_, sta_version_, liberty_, liberty_hash_, cache_, why_;
  std::string timing_ = "abc-estimate", timing_tool_, timing_note_;
  bool buffering_ = false;
};

// The default cache folder: $GQALUT_CACHE_DIR, else $XDG_CACHE_HOME/gqalut, else
// $HOME/.cache/gqalut.
std::string default_cache_dir();

// 64-bit FNV-1a of `text`, as 16 hex digits.
std::string hash_hex(const std::string& text);

}  // namespace gqalut::hw
