// Every output is replaced atomically (gqalut/atomic_file.hpp): a failed or killed run
// leaves the old file as it was, and no temporary file is left behind by a failed one.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gqalut/atomic_file.hpp"
#include "support/error_of.hpp"

namespace fs = std::filesystem;
using namespace gqalut;
using gqalut_test::error_of;

namespace {

fs::path fresh_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("gqalut_atomic_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int entries(const fs::path& d) {
  int n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(d)) ++n;
  return n;
}

}  // namespace

TEST(AtomicFile, ReplacesTheTargetOnlyOnCommit) {
  fs::path d = fresh_dir("commit");
  fs::path t = d / "t.json";
  std::ofstream(t) << "old content\n";
  {
    AtomicFile f(t.string(), "table");
    f.write("new ");
    EXPECT_EQ(slurp(t), "old content\n");  // mid-write, the target is untouched
    EXPECT_EQ(fs::path(f.temp_path()).parent_path(), d);  // same folder: the rename is atomic
    f.write("content\n");
    f.commit();
  }
  EXPECT_EQ(slurp(t), "new content\n");
  EXPECT_EQ(entries(d), 1);  // no temporary file left
}

TEST(AtomicFile, AFailedRunLeavesTheOldFileAndNoTemporary) {
  fs::path d = fresh_dir("fail");
  fs::path t = d / "t.csv";
  std::ofstream(t) << "a,b\n1,2\n";
  try {
    AtomicFile f(t.string(), "CSV");
    f.write("half a fi");
    throw std::runtime_error("the run fails here");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(slurp(t), "a,b\n1,2\n");
  EXPECT_EQ(entries(d), 1);
}

TEST(AtomicFile, AKilledWriterLeavesTheOldFile) {
  // The writer is killed with SIGKILL after writing half of the new content: the target
  // keeps its old bytes (the temporary file of a killed process may remain; it is hidden).
  fs::path d = fresh_dir("kill");
  fs::path t = d / "big.json";
  std::string old_content(1 << 20, 'o');
  std::ofstream(t) << old_content;
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    AtomicFile f(t.string(), "table");
    f.write(std::string(1 << 19, 'n'));
    char c = 1;
    (void)!::write(ready[1], &c, 1);
    ::pause();  // killed here, before commit
    _exit(0);
  }
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(slurp(t), old_content);
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST(AtomicFile, KeepsTheModeOfAReplacedFile) {
  fs::path d = fresh_dir("mode");
  fs::path t = d / "t.h";
  std::ofstream(t) << "x";
  ASSERT_EQ(::chmod(t.c_str(), 0640), 0);
  write_file_atomic(t.string(), "y", "C header");
  struct stat st {};
  ASSERT_EQ(::stat(t.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(slurp(t), "y");
}

TEST(AtomicFile, UnwritableTargetsGetOneLine) {
  fs::path d = fresh_dir("bad");
  EXPECT_EQ(error_of([&] { write_file_atomic(d.string(), "x", "CSV"); }),
            "cannot write CSV file '" + d.string() + "': is a directory");
  EXPECT_EQ(error_of([&] { write_file_atomic((d / "no" / "t.csv").string(), "x", "CSV"); }),
            "cannot write CSV file '" + (d / "no" / "t.csv").string() + "': folder '" + (d / "no").string() +
                "' does not exist");
  EXPECT_EQ(error_of([&] { check_writable("/proc/gqalut.csv", "CSV"); }).rfind("cannot write CSV file '/proc/gqalut.csv': ", 0),
            0u);
  EXPECT_EQ(error_of([&] { check_writable((d / "ok.csv").string(), "CSV"); }), "<no error>");
  EXPECT_EQ(entries(d), 0);  // the probe leaves nothing
  if (::geteuid() != 0) {  // root writes through permissions
    fs::path ro = d / "ro.json";
    std::ofstream(ro) << "keep";
    ASSERT_EQ(::chmod(ro.c_str(), 0444), 0);
    EXPECT_EQ(error_of([&] { write_file_atomic(ro.string(), "x", "table"); }),
              "cannot write table file '" + ro.string() + "': is read-only");
    EXPECT_EQ(slurp(ro), "keep");
  }
}
