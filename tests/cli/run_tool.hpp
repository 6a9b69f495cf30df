// Runs the gqalut tool (or any command) as a user would, for the CLI tests: stdout and stderr
// captured, stdin empty, a hang killed after two minutes. One copy for every tests/cli program.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace cli_test {

namespace fs = std::filesystem;

struct Outcome {
  int code;  // exit code; -1: killed by a signal or by the timeout
  std::string out, err;
};

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A fresh scratch folder for this test process.
inline fs::path tmpdir() {
  static fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("gqalut_clitest_" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

// `command args` under /usr/bin/timeout (by path: `env` may empty PATH); `env` prefixes the
// command line (VAR=value ..., or `env PATH=`).
inline Outcome run_command(const std::string& command, const std::string& args, const std::string& env = "") {
  fs::path out = tmpdir() / "stdout", err = tmpdir() / "stderr";
  std::string cmd = env + " /usr/bin/timeout -s KILL 120 " + command + " " + args + " >" + out.string() + " 2>" +
                    err.string() + " </dev/null";
  int status = std::system(cmd.c_str());
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == 128 + 9 || code == 124) code = -1;  // killed by timeout
  return Outcome{code, slurp(out), slurp(err)};
}

// The gqalut tool under test: GQALUT_TEST_TOOL runs the suite against another build (e.g. an old
// one, to see the tests fail), else the one CMake built.
inline std::string tool() {
  const char* other = std::getenv("GQALUT_TEST_TOOL");
  return other ? other : GQALUT_TOOL;
}

inline Outcome run(const std::string& args, const std::string& env = "") { return run_command(tool(), args, env); }

}  // namespace cli_test
