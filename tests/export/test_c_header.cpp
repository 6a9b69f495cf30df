// The C header exporter: headers for the official tables and seeded random
// ones are compiled with the system C compiler together with a generated main
// that prints all 256 outputs per scale; every output must equal eval_acc.
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
