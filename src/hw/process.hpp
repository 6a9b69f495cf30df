// gqalut hardware layer, internal: running the external tools (iverilog, vvp, verilator, yosys,
// OpenSTA) with their output captured in a log file, in a given folder, under a time limit.
#pragma once

#include <string>
#include <vector>

namespace gqalut::hw::detail {

struct ProcessResult {
  int exit_code = -1;      // the exit status; -1 if it was killed by a signal or could not start
  bool timed_out = false;  // killed (with its whole process group) after the time limit
  bool started = false;    // false if the program could not be executed
  std::string log;         // stdout and stderr together
};

// Runs `args` (args[0] looked up in PATH) in folder `cwd` (empty: this process's), stdin from
// /dev/null, stdout and stderr into `log_path`, killed after `timeout_s` seconds (<= 0: no limit).
ProcessResult run_process(const std::vector<std::string>& args, const std::string& cwd, const std::string& log_path,
                          double timeout_s);

// An executable: `want` if it holds a '/', else the first `want` in PATH; empty if none.
std::string which(const std::string& want);

// The whole file (binary); empty if it cannot be read.
std::string read_text(const std::string& path);

// Writes `text` to `path` (plain write, for scratch files); throws std::runtime_error naming the path.
void write_text(const std::string& path, const std::string& text);

// A fresh folder under $TMPDIR (or /tmp) named gqalut-<tag>-XXXXXX; throws std::runtime_error.
std::string make_temp_dir(const std::string& tag);

}  // namespace gqalut::hw::detail
