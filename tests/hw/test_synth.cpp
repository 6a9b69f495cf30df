// gqalut::hw synthesis flow (gqalut/hw/synth.hpp): a small registered design gets its area,
// cells, flip-flops, OpenSTA critical path and power; the second run is served from the cache;
// an entry is served only to the design whose key it records; named settings that are wrong
// (a missing Liberty file, a cache whose work folder is a file) are one-line errors.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "gqalut/hw/synth.hpp"

namespace gqalut::hw {
namespace {

namespace fs = std::filesystem;

std::string liberty() {
  if (const char* e = std::getenv("GQALUT_LIBERTY"); e && *e) return e;
  const char* home = std::getenv("HOME");
  fs::path p = fs::path(home ? home : "/") / ".cache/gqalut/osu018/usr/share/qflow/tech/osu018/osu018_stdcells.lib";
  return fs::exists(p) ? p.string() : std::string();
}

fs::path fresh(const std::string& name) {
  fs::path d = fs::path(GQALUT_RTL_WORK_DIR) / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// A 4-bit registered incrementer and a registered 4-bit adder: 4 flip-flops each.
Design inc() {
  return {{"module inc(input wire clk, input wire [3:0] a, output reg [3:0] y);\n"
           "  always @(posedge clk) y <= a + 4'd1;\nendmodule\n"},
          "inc", "", {"we", "waddr*", "wdata*"}};
}
Design add() {
  return {{"module add(input wire clk, input wire [3:0] a, input wire [3:0] b, output reg [3:0] y);\n"
           "  always @(posedge clk) y <= a + b;\nendmodule\n"},
          "add", "", {"we", "waddr*", "wdata*"}};
}

TEST(Synth, MeasuresAndCaches) {
  const std::string lib = liberty();
  if (lib.empty() || std::system("command -v yosys >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "needs yosys and the OSU 0.18 um Liberty file (GQALUT_LIBERTY or ~/.cache/gqalut/osu018)";
  fs::path cache = fresh("synth_cache");
  SynthFlow f = SynthFlow::find(cache.string(), lib, false);
  ASSERT_TRUE(f.available()) << f.why();
  SynthResult a = f.synth(inc());
  EXPECT_FALSE(a.cached);
  EXPECT_GT(a.area_um2, 0);
  EXPECT_GT(a.cells, 4);
  EXPECT_EQ(a.flip_flops, 4);
  EXPECT_GT(a.abc_estimate_ns, 0);
  if (f.timing() == "opensta") {
    EXPECT_GT(a.critical_path_ns, 0);
    EXPECT_GT(a.power_mw, 0);
    EXPECT_LT(a.power_mw, 10);  // a handful of cells at 100 MHz: well below a milliwatt or so
  } else {
    EXPECT_EQ(a.power_mw, -1);
  }
  SynthResult b = f.synth(inc());
  EXPECT_TRUE(b.cached);
  EXPECT_EQ(b.area_um2, a.area_um2);
  EXPECT_EQ(b.cells, a.cells);
  EXPECT_EQ(b.critical_path_ns, a.critical_path_ns);
  EXPECT_EQ(b.power_mw, a.power_mw);
  // An entry copied over another design's key is not served for it (issue 18, class 3).
  SynthResult c = f.synth(add());
  fs::copy_file(cache / "syn" / (f.key(inc()) + ".json"), cache / "syn" / (f.key(add()) + ".json"),
                fs::copy_options::overwrite_existing);
  SynthResult d = f.synth(add());
  EXPECT_FALSE(d.cached);
  EXPECT_EQ(d.area_um2, c.area_um2);
  EXPECT_NE(d.area_um2, a.area_um2);
}

TEST(Synth, NamedLibertyMustExist) {
  fs::path cache = fresh("synth_missing_lib");
  try {
    SynthFlow::find(cache.string(), "/nonexistent/cells.lib", false);
    ADD_FAILURE() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "--liberty /nonexistent/cells.lib: no such file");
  }
  ::setenv("GQALUT_LIBERTY", cache.c_str(), 1);  // a folder
  try {
    SynthFlow::find(cache.string(), "", false);
    ADD_FAILURE() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "GQALUT_LIBERTY " + cache.string() + ": is not a regular file");
  }
  ::unsetenv("GQALUT_LIBERTY");
}

TEST(Synth, CacheWhoseWorkIsAFile) {
  fs::path cache = fresh("synth_work_file");
  std::ofstream(cache / "work") << "not a folder\n";
  try {
    SynthFlow::find(cache.string(), "", false);
    ADD_FAILURE() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()),
              "cache folder " + cache.string() + ": " + (cache / "work").string() + " is a file, not a folder");
  }
}

}  // namespace
}  // namespace gqalut::hw
