// Runs the gqalut tool (or any command) as a user would, for the CLI tests: stdout and stderr
// captured, stdin empty, a hang killed after two minutes; and what a refused input must look
// like. One copy for every tests/cli program.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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

// A file of the official reference tables (../shared/reference/official).
inline std::string official(const std::string& file) {
  return std::string(GQALUT_SHARED_DIR) + "/reference/official/" + file;
}

// A refused input as the user sees it: exit 2, nothing on stdout, exactly one line on stderr,
// starting "gqalut: error: " + message_start.
inline void expect_refused(const Outcome& r, const std::string& message_start) {
  EXPECT_EQ(r.code, 2) << r.err.substr(0, 300);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err.substr(0, 300);
  EXPECT_EQ(r.err.rfind("gqalut: error: " + message_start, 0), 0u) << r.err.substr(0, 300);
}

}  // namespace cli_test
