// The C header exporter: headers for the official tables and seeded random
// ones are compiled with the system C compiler together with a generated main
// that prints all 256 outputs per scale; every output must equal eval_acc.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gqalut/export.hpp"
#include "random_tables.hpp"

using namespace gqalut;
namespace fs = std::filesystem;

namespace {

struct Named {
  std::string name;
  TableSet set;
};

std::vector<Named> header_sets() {
  std::vector<Named> out;
  int i = 0;
  for (auto& [file, set] : gqalut_test::official_sets()) out.push_back({fmt::format("official_{}", i++), set});
  const uint64_t seed = gqalut_test::test_seed();
  std::printf("random tables: seed %llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed ^ 0xc0ffee);
  for (int r = 0; r < 8; ++r) {
    TableSet set;
    set.function = fmt::format("random-{}", r);
    set.lo = -1;
    set.hi = 1;
    set.meta = {{"seed", seed}, {"note", "a */ inside metadata must not end the comment"}};
    for (int n = 0; n <= 7; ++n) {
      if (rng() % 3 == 0) continue;
      Table t;
      do {
        t = gqalut_test::random_table(rng, n, 8);
      } while (!gqalut_test::acc_fits_int32(t, 8));
      // One set shares its entry count (as a real family does).
      if (!set.tables.empty()) {
        while (t.entries() != set.entries()) {
          do {
            t = gqalut_test::random_table(rng, n, 8);
          } while (!gqalut_test::acc_fits_int32(t, 8));
        }
      }
      t.tie = r % 2 ? TieRule::left : TieRule::right;  // every other set: comparators q > P
      set.tables[n] = t;
    }
    if (set.tables.empty()) continue;
    out.push_back({fmt::format("random_{}", r), set});
  }
  return out;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(CHeader, CompilesAndMatchesEvalAccExhaustively) {
  const auto sets = header_sets();
  fs::path dir = fs::temp_directory_path() / fmt::format("gqalut_c_header_{}", ::getpid());
  fs::create_directories(dir);
  std::string main_c = "#include <stdio.h>\n";
  for (const auto& s : sets) {
    ExportOptions opt;
    opt.name = s.name;
    std::ofstream h(dir / (s.name + ".h"));
    find_exporter("c").write(h, s.set, opt);
    main_c += fmt::format("#include \"{}.h\"\n", s.name);
  }
  // Including a header twice must be harmless (include guard).
  main_c += fmt::format("#include \"{}.h\"\n", sets.front().name);
  main_c += "int main(void) {\n  int q;\n";
  for (const auto& s : sets)
    for (const auto& kv : s.set.tables)
      main_c += fmt::format(
          "  for (q = -128; q < 128; ++q) printf(\"{0} {1} %d %ld %ld\\n\", q, (long){0}_apply_at({1}, (int8_t)q), "
          "(long){0}_s{1}_apply((int8_t)q));\n",
          s.name, kv.first);
  main_c += "  return 0;\n}\n";
  std::ofstream(dir / "main.c") << main_c;
  const std::string exe = (dir / "prog").string(), output = (dir / "out.txt").string();
  const std::string compile = fmt::format("\"{}\" -std=c99 -pedantic -Wall -Wextra -Werror -O1 -o \"{}\" \"{}\"",
                                          GQALUT_C_COMPILER, exe, (dir / "main.c").string());
  ASSERT_EQ(std::system(compile.c_str()), 0) << compile;
  ASSERT_EQ(std::system(fmt::format("\"{}\" > \"{}\"", exe, output).c_str()), 0);

  std::istringstream lines(read_file(output));
  std::map<std::string, const TableSet*> by_name;
  for (const auto& s : sets) by_name[s.name] = &s.set;
  size_t checked = 0;
  std::string name;
  int n, q;
  long acc, acc_direct;
  while (lines >> name >> n >> q >> acc >> acc_direct) {
    const Table& t = by_name.at(name)->at(n);
    ASSERT_EQ(acc, eval_acc(t, q)) << name << " n=" << n << " q=" << q;
    ASSERT_EQ(acc_direct, acc);
    ++checked;
  }
  size_t expected = 0;
  for (const auto& s : sets) expected += 256 * s.set.tables.size();
  EXPECT_EQ(checked, expected);
  EXPECT_GT(checked, 60u * 256u);
  fs::remove_all(dir);
}

// Compiles dir/main.c (strict C99) and returns what the program prints.
std::string compile_and_run(const fs::path& dir) {
  const std::string exe = (dir / "prog").string(), output = (dir / "out.txt").string();
  const std::string compile = fmt::format("\"{}\" -std=c99 -pedantic -Wall -Wextra -Werror -O1 -o \"{}\" \"{}\"",
                                          GQALUT_C_COMPILER, exe, (dir / "main.c").string());
  EXPECT_EQ(std::system(compile.c_str()), 0) << compile;
  EXPECT_EQ(std::system(fmt::format("\"{}\" > \"{}\"", exe, output).c_str()), 0);
  return read_file(output);
}

// A set of random tables of `bits`-bit inputs at `scales`, one entry count, accumulators in int32.
TableSet random_set(std::mt19937_64& rng, int bits, const std::vector<int>& scales) {
  TableSet set;
  set.function = fmt::format("random-b{}", bits);
  set.lo = -1;
  set.hi = 1;
  for (int n : scales) {
    Table t;
    do {
      t = gqalut_test::random_table(rng, n, bits);
      t.input_bits = bits;
    } while ((!set.tables.empty() && t.entries() != set.entries()) || !gqalut_test::acc_fits_int32(t, bits));
    set.tables[n] = t;
  }
  return set;
}

// The header records the table's input width (macros and comment), takes the
// narrowest C type that holds its codes, and saturates a narrower width's
// other values as a b_in-bit datapath would see them: a 4-bit table is
// compiled and run on every int8 value, each equal to eval_acc of the code
// (saturated to [-8, 7]); a 16-bit table on every int16 code.
TEST(CHeader, RecordsTheInputWidthAndRunsNarrowAndWideTables) {
  const uint64_t seed = gqalut_test::test_seed();
  std::printf("random tables: seed %llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed ^ 0x4b17);
  const TableSet t4 = random_set(rng, 4, {0, 1, 2, 3}), t8 = random_set(rng, 8, {5, 6}), t16 = random_set(rng, 16, {9});
  struct Case {
    const char* name;
    const TableSet* set;
    int bits, qmin, qmax;
    const char* type;
  };
  const std::vector<Case> cases = {{"w4", &t4, 4, -8, 7, "int8_t"},
                                   {"w8", &t8, 8, -128, 127, "int8_t"},
                                   {"w16", &t16, 16, -32768, 32767, "int16_t"}};
  fs::path dir = fs::temp_directory_path() / fmt::format("gqalut_c_header_widths_{}", ::getpid());
  fs::create_directories(dir);
  std::string main_c = "#include <stdio.h>\n";
  for (const auto& c : cases) {
    ExportOptions opt;
    opt.name = c.name;
    std::ostringstream h;
    write_c_header(h, *c.set, opt);
    const std::string text = h.str(), N = c.name == std::string("w4") ? "W4" : c.name == std::string("w8") ? "W8" : "W16";
    SCOPED_TRACE(c.name);
    EXPECT_NE(text.find(fmt::format("#define {}_INPUT_BITS {}\n", N, c.bits)), std::string::npos) << text;
    EXPECT_NE(text.find(fmt::format("#define {}_INPUT_MIN ({})\n", N, c.qmin)), std::string::npos);
    EXPECT_NE(text.find(fmt::format("#define {}_INPUT_MAX {}\n", N, c.qmax)), std::string::npos);
    EXPECT_NE(text.find(fmt::format("for a {}-bit input code q\n * in [{}, {}]", c.bits, c.qmin, c.qmax)),
              std::string::npos);
    EXPECT_NE(text.find(fmt::format("static inline int32_t {}_apply({} q)", c.name, c.type)), std::string::npos);
    EXPECT_EQ(text.find("saturate") != std::string::npos, c.bits == 4);  // int8_t and int16_t hold every 8/16-bit code
    std::ofstream(dir / (std::string(c.name) + ".h")) << text;
    main_c += fmt::format("#include \"{}.h\"\n", c.name);
  }
  main_c += "int main(void) {\n  long q;\n";
  main_c += "  printf(\"bits %d %d %d %d %d %d %d %d %d\\n\", W4_INPUT_BITS, W4_INPUT_MIN, W4_INPUT_MAX, W8_INPUT_BITS, "
            "W8_INPUT_MIN, W8_INPUT_MAX, W16_INPUT_BITS, W16_INPUT_MIN, W16_INPUT_MAX);\n";
  for (const auto& c : cases) {
    // The 4-bit table on every int8 value (most of them saturate); the others on every code of their type.
    const long lo = c.bits == 16 ? -32768 : -128, hi = c.bits == 16 ? 32767 : 127;
    for (const auto& kv : c.set->tables)
      main_c += fmt::format(
          "  for (q = {2}; q <= {3}; ++q) printf(\"{0} {1} %ld %ld %ld\\n\", q, (long){0}_apply_at({1}, ({4})q), "
          "(long){0}_s{1}_apply(({4})q));\n",
          c.name, kv.first, lo, hi, c.type);
  }
  main_c += "  return 0;\n}\n";
  std::ofstream(dir / "main.c") << main_c;
  std::istringstream lines(compile_and_run(dir));
  std::string word;
  int v[9];
  ASSERT_TRUE(lines >> word >> v[0] >> v[1] >> v[2] >> v[3] >> v[4] >> v[5] >> v[6] >> v[7] >> v[8]);
  EXPECT_EQ(std::vector<int>(v, v + 9), (std::vector<int>{4, -8, 7, 8, -128, 127, 16, -32768, 32767}));
  std::map<std::string, const Case*> by_name;
  for (const auto& c : cases) by_name[c.name] = &c;
  std::map<std::string, size_t> checked;
  std::string name;
  int n;
  long q, acc, acc_direct;
  while (lines >> name >> n >> q >> acc >> acc_direct) {
    const Case& c = *by_name.at(name);
    const Table& t = c.set->at(n);
    const long code = std::clamp<long>(q, c.qmin, c.qmax);
    ASSERT_EQ(acc, eval_acc(t, int32_t(code))) << name << " n=" << n << " q=" << q;
    ASSERT_EQ(acc_direct, acc);
    ++checked[name];
  }
  EXPECT_EQ(checked["w4"], 4u * 256u);
  EXPECT_EQ(checked["w8"], 2u * 256u);
  EXPECT_EQ(checked["w16"], 65536u);
  fs::remove_all(dir);
}

TEST(CHeader, MixedInputWidthsAreRefused) {
  std::mt19937_64 rng(7);
  TableSet set = random_set(rng, 4, {0, 1});
  set.tables[1].input_bits = 5;
  std::ostringstream out;
  try {
    write_c_header(out, set, ExportOptions{});
    FAIL() << "mixed widths were accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("one input width for every scale, got 4 bits (scale 0) and 5 bits (scale 1)"),
              std::string::npos)
        << e.what();
  }
}

TEST(CHeader, OneScaleAndDefaultScaleAndErrors) {
  TableSet gelu = read_json_file(gqalut_test::official_dir() + "/gelu_pwl_7.json");
  ExportOptions opt;
  opt.scale = 4;
  std::ostringstream h;
  write_c_header(h, gelu, opt);
  const std::string text = h.str();
  EXPECT_NE(text.find("gqalut_gelu_s4_apply"), std::string::npos);
  EXPECT_EQ(text.find("gqalut_gelu_s3_apply"), std::string::npos);
  EXPECT_NE(text.find("#define GQALUT_GELU_DEFAULT_SCALE 4"), std::string::npos);
  opt.scale = 9;
  std::ostringstream bad;
  EXPECT_THROW(write_c_header(bad, gelu, opt), std::invalid_argument);
  // A table whose accumulator overflows int32 is refused.
  TableSet big;
  big.function = "big";
  Table t;
  t.n = 0;  // L = 15: acc = K * q * 2^15 reaches 2^37
  t.slope_format = Format{0, 16};
  t.intercept_format = Format{15, 16};
  t.slopes = {32767};
  t.intercepts = {0};
  big.tables[0] = t;
  std::ostringstream out;
  EXPECT_THROW(write_c_header(out, big, ExportOptions{}), std::invalid_argument);
  EXPECT_EQ(find_exporter("c").write, &write_c_header);
}

}  // namespace
