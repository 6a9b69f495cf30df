// The area flow of `gqalut sweep` (the flow of scripts/hw_report.sh and
// docs/hardware.md): yosys synthesis onto the OSU 0.18 um standard cells,
// results cached by design hash.
//
//   read_verilog; [chparam]; synth -top T -flatten; dfflibmap -liberty LIB;
//   abc -liberty LIB (yosys' default mapping script plus "topo; stime -p");
//   opt_clean; stat -liberty LIB
//
// Area, cell and flip-flop counts come from `stat`; the critical path is ABC's
// `stime` delay of the mapped logic (the longest combinational path between
// registers/ports with the Liberty timing, no wire load; clock-to-q and setup
// are not included).
#pragma once

#include <string>
#include <vector>

namespace gqalut::cli {

struct SynthResult {
  double area_um2 = 0;
  int cells = 0;
  int flip_flops = 0;
  double critical_path_ns = 0;
  bool cached = false;  // read from the cache, not synthesised now
};

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
  // Never throws for a missing tool: available() is false and why() says what
  // to install.
  static AreaFlow find(const std::string& cache_dir, const std::string& liberty, bool fetch);

  bool available() const { return why_.empty(); }
  const std::string& why() const { return why_; }
  const std::string& liberty() const { return liberty_; }
  const std::string& cache_dir() const { return cache_; }

  // Synthesises `d` (or reads the cached result). Cache entries are written
  // to a temporary file and renamed into place, so an interrupted run leaves
  // only complete entries. Throws std::runtime_error if yosys fails.
  SynthResult synth(const Design& d) const;
  // The cache key of a design (hex): flow version, Liberty content, sources,
  // top, chparam.
  std::string key(const Design& d) const;

 private:
  std::string yosys_, liberty_, liberty_hash_, cache_, why_;
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
