// Hostile input, as a new user or a script would give it (issue 12): every case ends with
// exit 2 and one line naming the rule and the value (and the file and field), nothing on
// stdout; never a signal, a hang, unbounded memory, or exit 0 with a wrong or absent result.
// Outputs are replaced atomically: a failed run leaves the old file as it was.
#include <gtest/gtest.h>

#include "run_tool.hpp"
#include "support/npy.hpp"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <tuple>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace {

using namespace cli_test;  // run_tool.hpp: run, Outcome, official, slurp, tmpdir, expect_refused

// Exit 2, nothing on stdout, exactly one line on stderr starting with the message.
void expect_error(const std::string& args, const std::string& message_start, const std::string& env = "") {
  SCOPED_TRACE(args);
  expect_refused(run(args, env), message_start);
}

fs::path write(const std::string& name, const std::string& text) {
  fs::path p = tmpdir() / name;
  std::ofstream(p) << text;
  return p;
}

std::string nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// Files in `dir` whose name marks them as a temporary of an atomic write.
int temporaries(const fs::path& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) ++n;
  return n;
}

const char* kTable = R"({"gelu": {"6": {"breakpoints": [], "slopes": [0], "intercepts": [0]}}, "gqalut": )";

}  // namespace

TEST(Hostile, DeepNestingEndsWithOneLine) {
  // Were SIGSEGV: the reader, the error formatter (e.dump()) and the metadata copy recursed.
  fs::path bp = write("deep_bp.json", R"({"gelu": {"6": {"breakpoints": )" + nested(100000) +
                                          R"(, "slopes": [0], "intercepts": [0]}}})");
  fs::path meta = write("deep_meta.json", kTable + std::string(R"({"x": )") + nested(200000) + "}}");
  for (const fs::path& f : {bp, meta}) {
    const std::string rule = f.string() + ": JSON must nest at most 64 levels deep, got more at byte ";
    expect_error("eval --table " + f.string(), rule);
    expect_error("show " + f.string(), rule);
    expect_error("export --format json " + f.string(), rule);
  }
}

TEST(Hostile, HugeGridRangesAreRefusedWithTheBound) {
  // -1e17..1e17: 2e19 converted to size_t (UB), then an empty vector indexed; -1e7..1e7: 15 GB.
  const std::string t = official("gelu_pwl_7.json");
  expect_error("eval --table " + t + " --protocol grid --range -1e17 1e17",
               "grid on [-1e+17, 1e+17) at step 0.01 has 2e+19 points; at most 10000000 (a range at most 100000 wide)");
  expect_error("eval --table " + t + " --protocol grid --range -1e7 1e7",
               "grid on [-10000000, 10000000) at step 0.01 has 2e+09 points; at most 10000000");
}

TEST(Hostile, HugeSearchRangesAreRefused) {
  // uniform wrote breakpoint -2147483648 (UB in uniform.cpp) that gqalut refused to read back;
  // the faithful GA crashed.
  const std::string rule = "range must lie within [-65536, 65536] for a search";
  for (const char* m : {"uniform", "ga --faithful", "ga", "optimal", "nnlut"})
    expect_error(std::string("fit --func gelu --range -1e308 1e308 -q -o ") + (tmpdir() / "wide.json").string() +
                     " -m " + m,
                 rule);
  expect_error("fit --func gelu --faithful --breakpoint-range -1e308 1e308 -q", "breakpoint range must lie within");
  EXPECT_FALSE(fs::exists(tmpdir() / "wide.json"));
}

TEST(Hostile, PoleInsideTheRangeIsFound) {
  // The check sampled a grid without x = 1; the fit exited 0 and wrote "mse": null.
  fs::path out = tmpdir() / "pole.json";
  expect_error("fit --expr '1/(x-1)' --range -300 300 -m uniform -q -o " + out.string(),
               "expr is not finite on [-300, 300] (f(1) = inf)");
  EXPECT_FALSE(fs::exists(out));
  // eval against such a function, and a pole between the 2^-k grid points (a 16-bit code at scale 12).
  expect_error("eval --table " + official("gelu_pwl_7.json") + " --expr '1/(x-1)' --range -300 300",
               "expr is not finite on [-300, 300] (f(1) = inf)");
  expect_error("fit --expr '1/(x-3.013916015625)' --range -3000 3000 -m uniform -q",
               "expr is not finite on [-3000, 3000] (f(3.013916015625) = inf)");
  // A finite function on a wide range still works, and its file has no null.
  Outcome ok = run("fit --expr 'x/(1+x*x)' --range -300 300 -m uniform --entries 4 -q -o " + out.string());
  ASSERT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(slurp(out).find("null"), std::string::npos);
}

TEST(Hostile, UnwritableOutputsFailWithExitTwo) {
  // compare --csv into a directory or a read-only path exited 0 and wrote nothing.
  const std::string quick = "compare --funcs gelu --entries 4 --generations 2 ";
  fs::path dir = tmpdir() / "a_dir";
  fs::create_directories(dir);
  expect_error(quick + "--csv " + dir.string(), "cannot write CSV file '" + dir.string() + "': is a directory");
  expect_error(quick + "--json " + dir.string(), "cannot write JSON file '" + dir.string() + "': is a directory");
  expect_error(quick + "--csv /proc/gqalut.csv", "cannot write CSV file '/proc/gqalut.csv': cannot create a file in '/proc'");
  expect_error(quick + "--csv " + (tmpdir() / "no/such/x.csv").string(), "cannot write CSV file");
  fs::path file = write("plain_file", "x");
  expect_error(quick + "--plots " + file.string(), "cannot create the plot folder '" + file.string() + "'");
  expect_error(quick + "--tables " + file.string(), "cannot create the table folder '" + file.string() + "'");
  expect_error("fit --func gelu --generations 2 -q -o " + dir.string(),
               "cannot write table file '" + dir.string() + "': is a directory");
  expect_error("fit --func gelu --generations 2 -q -o /proc/t.json", "cannot write table file '/proc/t.json'");
  expect_error("export --format c " + official("gelu_pwl_7.json") + " -o " + dir.string(),
               "cannot write export file '" + dir.string() + "': is a directory");
  expect_error("export --format verilog --scale 6 " + official("gelu_pwl_7.json") + " -o /proc/u.v",
               "cannot write export file '/proc/u.v'");
  if (::geteuid() != 0) {  // root writes through permissions
    fs::path ro = write("ro.csv", "keep");
    fs::permissions(ro, fs::perms::owner_read);
    expect_error(quick + "--csv " + ro.string(), "cannot write CSV file '" + ro.string() + "': is read-only");
  }
}

TEST(Hostile, IntegerOptionsAreStrict) {
  // --entries 8x was read as 8; --seed -1 became 2^64 - 1.
  expect_error("compare --funcs gelu --entries 8x", "--entries: every entry count must be an integer in [2, 64], got '8x'");
  expect_error("compare --funcs gelu --entries ,", "--entries must list entry counts, got ','");
  expect_error("compare --funcs gelu --entries 99", "--entries: every entry count must be an integer in [2, 64], got '99'");
  expect_error("fit --func gelu --entries 8x", "--entries: must be an integer in [2, 64], got '8x'");
  expect_error("fit --func gelu --entries 0x8", "--entries: must be an integer in [2, 64], got '0x8'");
  expect_error("fit --func gelu --entries ' 8'", "--entries: must be an integer in [2, 64], got ' 8'");
  expect_error("fit --func gelu --seed -1", "--seed: must be an integer in [0, 2^64 - 1], got '-1'");
  expect_error("fit --func gelu --seed 18446744073709551616", "--seed: must be an integer in [0, 2^64 - 1]");
  expect_error("compare --funcs gelu --seed -1", "--seed: must be an integer in [0, 2^64 - 1], got '-1'");
  expect_error("fit --func gelu --generations 1e3", "--generations: must be an integer in [0, 1000000], got '1e3'");
  expect_error("export --format c --scale 6x " + official("gelu_pwl_7.json"), "--scale: must be an integer in [0, 12]");
  // The largest seed is a seed.
  Outcome r = run("fit --func gelu --seed 18446744073709551615 --generations 1 --scales 4 -q");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("18446744073709551615"), std::string::npos);
}

TEST(Hostile, WorkIsBounded) {
  expect_error("fit --func gelu --generations 10000000", "--generations: must be an integer in [0, 1000000]");
  expect_error("compare --funcs gelu --generations 10000000", "--generations: must be an integer in [0, 1000000]");
  expect_error("fit --func gelu --population 1000000", "--population: must be an integer in [2, 100000]");
  expect_error("fit --func gelu --generations 100000 --population 10000 -q",
               "GA work population x generations must be <= 100000000, got 10000 x 100000");
  expect_error("compare --funcs gelu --generations 100000 --population 10000",
               "GA work population x generations must be <= 100000000, got 10000 x 100000");
  // --population 2 was refused with an elite-count message although --help allowed it.
  Outcome help = run("fit --help");
  EXPECT_NE(help.out.find("GA population, in [2, 100000]"), std::string::npos);
  for (const char* mode : {"", " --faithful"}) {
    Outcome r = run(std::string("fit --func gelu --population 2 --generations 2 --scales 4 -q") + mode);
    EXPECT_EQ(r.code, 0) << mode << r.err;
  }
}

TEST(Hostile, MessagesNameFileAndField) {
  // Was "[json.exception.type_error.302] type must be string, but is number".
  fs::path f = write("typed.json", kTable + std::string(R"({"slope_format": 3}})"));
  expect_error("eval --table " + f.string(), f.string() + ": gqalut.slope_format must be a string, got 3");
  fs::path g = write("typed2.json", kTable + std::string(R"({"function": ["gelu"]}})"));
  expect_error("show " + g.string(), g.string() + ": gqalut.function must be a string, got [\"gelu\"]");
  // Was "basic_filebuf::underflow error reading the file: Is a directory".
  expect_error("eval --table " + tmpdir().string(), "cannot open table file '" + tmpdir().string() + "': is a directory");
  expect_error("export --format json " + tmpdir().string(), "cannot open table file");
  // Metadata we only display may have any type: show prints it (was a type_error).
  fs::path h = write("method_number.json", kTable + std::string(R"({"method": 7, "seed": "s"}})"));
  Outcome r = run("show " + h.string());
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find(", method 7, seed s"), std::string::npos) << r.out;
}

TEST(Hostile, NoPartialStdoutBeforeAnError) {
  // show printed its header, compare its table head, before the error line.
  expect_error("show " + official("gelu_pwl_7.json") + " --scales 9", "table has no scale n = 9");
  fs::path off = tmpdir() / "official_bad";
  fs::create_directories(off);
  write("official_bad/gelu_pwl_7.json", "{\"gelu\": {\"0\": ");
  expect_error("compare --funcs gelu --entries 8 --generations 2 --official-dir " + off.string(),
               (off / "gelu_pwl_7.json").string() + ": malformed JSON");
  expect_error("compare --funcs gelu --entries 4 --generations 2 --scales 0:99", "scales must look like");
}

TEST(Hostile, FailedPlotsLeaveTheOldPngs) {
  // Killing compare --plots left 0-byte PNGs: gnuplot wrote straight into the target. A
  // gnuplot that writes half a file and fails stands in for the kill, deterministically.
  fs::path bin = tmpdir() / "fakebin";
  fs::create_directories(bin);
  write("fakebin/gnuplot",
        "#!/bin/sh\nout=$(sed -n \"s/^set output '\\(.*\\)'$/\\1/p\" | head -1)\nprintf half > \"$out\"\nexit 1\n");
  fs::permissions(bin / "gnuplot", fs::perms::owner_all);
  fs::path plots = tmpdir() / "plots";
  fs::create_directories(plots);
  write("plots/gelu_4_n3.png", "old png");
  expect_error("compare --funcs gelu --entries 4 --generations 2 --plots " + plots.string(),
               "gnuplot failed drawing '" + (plots / "gelu_4_n3.png").string() + "'",
               "PATH=" + bin.string() + ":$PATH");
  EXPECT_EQ(slurp(plots / "gelu_4_n3.png"), "old png");
  EXPECT_EQ(temporaries(plots), 0);
}

TEST(Hostile, SuccessfulWritesReplaceWholeFilesAndLeaveNoTemporaries) {
  fs::path d = tmpdir() / "outs";
  fs::create_directories(d);
  fs::path t = d / "t.json", h = d / "t.h", csv = d / "c.csv", js = d / "c.json";
  for (const fs::path& p : {t, h, csv, js}) std::ofstream(p) << std::string(100000, 'o');  // longer than the new
  ASSERT_EQ(run("fit --func gelu --entries 4 --scales 4 --method optimal -q -o " + t.string()).code, 0);
  ASSERT_EQ(run("export --format c " + t.string() + " -o " + h.string()).code, 0);
  ASSERT_EQ(run("compare --funcs gelu --entries 4 --generations 2 --csv " + csv.string() + " --json " + js.string() +
                " --tables " + d.string())
                .code,
            0);
  EXPECT_EQ(nlohmann::json::parse(slurp(t))["gqalut"]["entries"], 4);
  EXPECT_EQ(slurp(h).find('o' + std::string(50, 'o')), std::string::npos);  // no tail of the old content
  EXPECT_EQ(slurp(csv).rfind("function,entries,method", 0), 0u);
  EXPECT_TRUE(nlohmann::json::parse(slurp(js)).is_array());  // one row object per function x size (throws if not JSON)
  EXPECT_EQ(temporaries(d), 0);
  // A failed run leaves the previous file as it was.
  std::string before = slurp(t);
  expect_error("fit --func gelu --range -1e308 1e308 -q -o " + t.string(), "range must lie within");
  EXPECT_EQ(slurp(t), before);
  EXPECT_EQ(temporaries(d), 0);
}

// ------------------------------------------------------------------- issue 18
// A second campaign on the surfaces added since issue 12; one test per class (docs/fuzzing.md).

namespace {

// The official GELU table under another function key.
fs::path gelu_named(const std::string& file, const std::string& function) {
  nlohmann::json doc = nlohmann::json::parse(slurp(official("gelu_pwl_7.json")));
  nlohmann::json body = doc.begin().value();
  nlohmann::json out = nlohmann::json::object();
  out[function] = body;
  return write(file, out.dump());
}

int shell(const std::string& cmd) {
  const int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

}  // namespace

TEST(Hostile18, MetadataNeverBecomesGeneratedCode) {
  // Class 1: a function name with "*/" exported (exit 0) a header defining gqalut_injected; a
  // newline in it put a module line into the Verilog; --name module gave RTL that did not parse.
  fs::path c_in = gelu_named("inject_c.json", "gelu */ int gqalut_injected = 42; /* ");
  fs::path h = tmpdir() / "inject.h", use = tmpdir() / "inject_use.c";
  Outcome r = run("export --format c " + c_in.string() + " -o " + h.string());
  ASSERT_EQ(r.code, 0) << r.err;
  // The user's own definition must not clash with one from the header; -Wall -Werror passes.
  std::ofstream(use) << "#include \"" << h.string() << "\"\nint gqalut_injected = 1;\n";
  EXPECT_EQ(shell("cc -std=c99 -Wall -Werror -fsyntax-only " + use.string()), 0) << slurp(h).substr(0, 800);
  fs::path v_in = gelu_named("inject_v.json", "gelu\nmodule injected; endmodule\n//");
  fs::path v = tmpdir() / "inject.v";
  r = run("export --format verilog --scale 6 " + v_in.string() + " -o " + v.string());
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string rtl = slurp(v);
  EXPECT_EQ(rtl.find("\nmodule injected"), std::string::npos) << rtl.substr(0, 600);
  EXPECT_EQ(shell("iverilog -g2005 -o /dev/null " + v.string() + " 2>/dev/null"), 0);
  // Names: legal, not keywords of C, C++ or Verilog.
  const std::string rule = "export name (--name) must be a name for C and Verilog";
  for (const char* bad : {"module", "int", "logic", "9x", "a-b", "_x", "'a;b'"}) {
    expect_error(std::string("export --format verilog --scale 6 --name ") + bad + " " + official("gelu_pwl_7.json"),
                 rule);
    expect_error(std::string("export --format c --name ") + bad + " " + official("gelu_pwl_7.json"), rule);
  }
  r = run("export --format verilog --scale 6 --name Module " + official("gelu_pwl_7.json"));
  EXPECT_EQ(r.code, 0) << r.err;
}

namespace {

// Runs the tool with stdout and stderr to files and returns (exit code, peak resident memory in
// MiB) of that one process. ASan's quarantine is turned off so a sanitized build measures its
// live memory too.
std::pair<int, double> run_rss(const std::string& args) {
  const std::string env = std::string("ASAN_OPTIONS=") +
                          (std::getenv("ASAN_OPTIONS") ? std::string(std::getenv("ASAN_OPTIONS")) + ":" : "") +
                          "quarantine_size_mb=0";
  const std::string cmd = "exec /usr/bin/env '" + env + "' /usr/bin/timeout -s KILL 120 " + cli_test::tool() + " " +
                          args + " >" + (tmpdir() / "rss_out").string() + " 2>" + (tmpdir() / "rss_err").string() +
                          " </dev/null";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  struct rusage ru {};
  ::wait4(pid, &status, 0, &ru);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ru.ru_maxrss / 1024.0};
}

// A .npy file with the given header fields and data.
fs::path write_npy(const std::string& name, const std::string& descr, const std::string& shape,
                   const std::string& data) {
  fs::path p = tmpdir() / name;
  std::ofstream(p, std::ios::binary) << gqalut_test::npy(descr, shape, data);
  return p;
}

}  // namespace

TEST(Hostile18, RowsMemoryIsBoundedAndProportional) {
  // Class 2: a 128-byte .npy claiming shape (2^36, 2^28) wrapped rows x columns to 0 past the
  // size check and allocated 2-4 GB; 8 MiB of int8 codes took 200+ MB; a 64 MiB CSV line 268 MB.
  fs::path huge = write_npy("huge.npy", "|i1", "68719476736, 268435456", "");
  expect_error("ops gelu --rows " + huge.string(),
               "'" + huge.string() + "': rows files hold at most 16777216 values, got shape (68719476736, 268435456)");
  // The tool's own footprint on a 3-value file (a sanitized build's is larger): the bounds
  // below are above it.
  fs::path tiny = write("tiny.csv", "0.5, -1, 2\n");
  auto [code, base] = run_rss("ops softmax --rows " + tiny.string());
  ASSERT_EQ(code, 0) << slurp(tmpdir() / "rss_err");
  double mib = 0;
  std::tie(code, mib) = run_rss("ops gelu --rows " + huge.string());
  EXPECT_EQ(code, 2);
  EXPECT_LT(mib, base + 16) << "MiB (the tool alone: " << base << " MiB)";
  // 8 Mi int8 codes, 1024 rows of 8192: the values as doubles (64 MiB) and little more.
  std::string codes(size_t(8) << 20, '\0');
  std::mt19937_64 rng(18);
  for (char& c : codes) c = static_cast<char>(rng() % 64 - 32);
  fs::path big = write_npy("codes8m.npy", "|i1", "1024, 8192", codes);
  std::tie(code, mib) = run_rss("ops softmax --json --rows " + big.string());
  EXPECT_EQ(code, 0) << slurp(tmpdir() / "rss_err");
  EXPECT_LT(mib, base + 12.0 * 8) << "MiB for 8 Mi values (at most 12 bytes per value above the tool's "
                                    << base << " MiB)";
  // A 64 MiB CSV line of digits: refused after 65 characters, never held whole.
  fs::path line = tmpdir() / "line.csv";
  {
    std::ofstream out(line);
    const std::string chunk(1 << 20, '1');
    for (int i = 0; i < 64; ++i) out << chunk;
    out << '\n';
  }
  expect_error("ops softmax --rows " + line.string(),
               "'" + line.string() + "': line 1: a number must have at most 64 characters");
  std::tie(code, mib) = run_rss("ops softmax --rows " + line.string());
  EXPECT_EQ(code, 2);
  EXPECT_LT(mib, base + 16) << "MiB (the tool alone: " << base << " MiB)";
  fs::remove(big);
  fs::remove(line);
}

TEST(Hostile18, FifosAndDevicesAreRefusedNotReadForever) {
  // Class 6: eval --table FIFO and ops --rows FIFO blocked forever (no writer ever comes).
  fs::path fifo = tmpdir() / "fifo";
  fs::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string f = fifo.string();
  const std::string table = "cannot open table file '" + f + "': not a regular file (a FIFO)";
  expect_error("eval --table " + f, table);
  expect_error("show " + f, table);
  expect_error("export --format c " + f, table);
  expect_error("ops layernorm --tables " + f, table);
  expect_error("kernels --table " + f, table);
  expect_error("ops gelu --rows " + f, "cannot open rows file '" + f + "': not a regular file (a FIFO)");
  expect_error("ops gelu --rows " + f + ".npy", "cannot open rows file '" + f + ".npy': No such file or directory");
  expect_error("eval --table /dev/zero", "cannot open table file '/dev/zero': not a regular file (a device)");
  expect_error("ops softmax --rows /dev/urandom", "cannot open rows file '/dev/urandom': not a regular file (a device)");
  fs::path off = tmpdir() / "official_fifo";
  fs::create_directories(off);
  fs::remove(off / "gelu_pwl_7.json");
  ASSERT_EQ(::mkfifo((off / "gelu_pwl_7.json").c_str(), 0600), 0);
  expect_error("compare --funcs gelu --entries 8 --generations 2 --official-dir " + off.string(),
               "cannot open table file '" + (off / "gelu_pwl_7.json").string() + "': not a regular file (a FIFO)");
}

TEST(Hostile18, ContradictoryMetadataIsRefused) {
  // Class 3: exit 0 with a wrong or missing result.
  fs::path wide = write("bits_wrap.json", kTable + std::string(R"({"input_bits": 4294967300}})"));
  expect_error("eval --table " + wide.string(),
               wide.string() + ": gqalut.input_bits must be an integer in [2, 16], got 4294967300");
  fs::path twice = write("scale_twice.json", R"({"gelu": {"06": {"breakpoints": [], "slopes": [0], "intercepts": [0]},)"
                                             R"( "6": {"breakpoints": [], "slopes": [1], "intercepts": [0]}}})");
  expect_error("show " + twice.string(),
               twice.string() + ": scale keys '06' and '6' of \"gelu\" are both scale 6: one table per scale");
  // A reciprocal table measured as GELU (132 LSB, exit 0); softmax and LayerNorm refused theirs.
  const std::string reci = official("reci_pwl_7.json");
  expect_error("ops gelu --tables " + reci,
               "ops gelu needs a table of gelu, got a table of reci ('" + reci +
                   "'); fit one with `gqalut fit --func gelu`");
  expect_error("ops silu --tables " + official("gelu_pwl_7.json"), "ops silu needs a table of silu, got a table of gelu");
  Outcome ok = run("ops gelu --in-frac 6 --tables " + official("gelu_pwl_7.json"));
  EXPECT_EQ(ok.code, 0) << ok.err;
}

TEST(Hostile18, MessagesAreOneClearLine) {
  // Class 5. Every integer option of every command: 2^64 - 1 (2^64 for unsigned ones) is
  // reported as typed, not as -1 or "Could not convert".
  int options = 0;
  for (const char* sub : {"fit", "eval", "show", "compare", "export", "sweep", "kernels", "ops"}) {
    Outcome help = run(std::string(sub) + " --help");
    ASSERT_EQ(help.code, 0) << sub;
    std::istringstream lines(help.out);
    for (std::string line; std::getline(lines, line);) {
      // "  -k,--entries INT:INT in [2, 64]=8" / "  --seed UINT:UINT64=1"
      const size_t dash = line.find("--");
      if (line.rfind("  ", 0) != 0 || dash == std::string::npos || dash > 8) continue;
      const size_t sp = line.find(' ', dash);
      if (sp == std::string::npos) continue;
      const std::string opt = line.substr(dash, sp - dash), type = line.substr(sp + 1, 4);
      const bool is_uint = type == "UINT", is_int = type.rfind("INT", 0) == 0;
      if (!is_int && !is_uint) continue;
      const std::string big = is_uint ? "18446744073709551616" : "18446744073709551615";
      SCOPED_TRACE(std::string(sub) + " " + opt);
      Outcome r = run(std::string(sub) + " " + opt + " " + big);
      EXPECT_EQ(r.code, 2);
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
      EXPECT_NE(r.err.find("got '" + big + "'"), std::string::npos) << r.err;
      ++options;
    }
  }
  EXPECT_GE(options, 15);
  // A range is named as typed (was "got 65").
  expect_error("sweep --func gelu --entries 4:100 --no-area",
               "--entries: entries must be in [2, 64], got 65 (in the range '4:100')");
  // Unknown subcommands (were "A subcommand is required", and the main help with exit 0).
  for (const char* args : {"nosuch", "nosuch --help", "--isa scalar nosuch", "fitt --func gelu"})
    expect_error(args, "unknown subcommand '");
  expect_error("nosuch --help", "unknown subcommand 'nosuch' (known: fit, eval, show, compare, export,");
  // A 100,000-character --isa is cut; GQALUT_ISA names itself.
  const std::string isa(100000, 'x');
  Outcome r = run("--isa " + isa + " kernels");
  EXPECT_EQ(r.code, 2);
  EXPECT_LT(r.err.size(), 200u);
  EXPECT_NE(r.err.find("ISA must be scalar, avx2, avx512 or auto, got 'xxxx"), std::string::npos) << r.err.substr(0, 200);
  expect_error("ops gelu", "GQALUT_ISA (environment): ISA must be scalar, avx2, avx512 or auto, got 'bogus'",
               "GQALUT_ISA=bogus");
  // .npy errors name the file.
  fs::path npy = write_npy("bad_dtype.npy", "<c8", "2,", std::string(16, '\0'));
  expect_error("ops gelu --rows " + npy.string(), "'" + npy.string() + "': dtype '<c8' is not supported");
  fs::path dims = write_npy("bad_dims.npy", "|i1", "2, x", "");
  expect_error("ops gelu --rows " + dims.string(), "'" + dims.string() + "': .npy shape must list non-negative integers");
}

TEST(Hostile18, OutputsAreCheckedBeforeTheWork) {
  // Class 4: compare --plots without gnuplot ran the whole comparison first.
  fs::path tables = tmpdir() / "tables_nognuplot";
  expect_error("compare --funcs gelu --entries 4 --generations 2 --tables " + tables.string() + " --plots " +
                   (tmpdir() / "plots_nognuplot").string(),
               "--plots needs gnuplot on the PATH", "PATH=/nonexistent");
  EXPECT_TRUE(!fs::exists(tables) || fs::is_empty(tables));
}
