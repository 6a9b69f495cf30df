// Every example that `gqalut --help` and `gqalut <command> --help` show must run as printed
// (issue 18): the examples are read from the help texts (lines "  gqalut ..." of the footers, a
// trailing "# comment" removed) and run in a scratch folder beside a link ../shared to the
// shared reference files, in the order a reader meets them: the main help first (it writes
// gelu8.json, which later examples read), then each command in the order the main help lists
// them. The only file given is the user's own data that no gqalut command writes
// (activations.npy for `ops --rows`). Each example must exit 0 with no error line.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "run_tool.hpp"
#include "support/npy.hpp"

namespace fs = std::filesystem;
using cli_test::Outcome;

#if defined(__SANITIZE_ADDRESS__)
#define GQALUT_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GQALUT_TEST_SANITIZED 1
#endif
#endif

namespace {

// The examples of one help text: "  gqalut ..." lines, comments removed.
std::vector<std::string> examples_of(const std::string& help) {
  std::vector<std::string> out;
  std::istringstream lines(help);
  static const std::regex example(R"(^  gqalut (.*?)(\s+#\s.*)?$)");
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_match(line, m, example)) out.push_back(m[1].str());
  }
  return out;
}

// The command names of the main help ("Subcommands:" section).
std::vector<std::string> commands_of(const std::string& help) {
  std::vector<std::string> out;
  std::istringstream lines(help);
  bool in = false;
  static const std::regex command(R"(^  ([a-z][a-z0-9-]*)\s+\S.*$)");
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("Subcommands:", 0) == 0) {
      in = true;
      continue;
    }
    std::smatch m;
    if (in && std::regex_match(line, m, command)) out.push_back(m[1].str());
  }
  return out;
}

// activations.npy: 4 rows of 64 float32 values N(0, 1.5), as numpy.save writes them.
void write_activations(const fs::path& p) {
  std::string data;
  std::mt19937_64 rng(18);
  std::normal_distribution<float> d(0.0f, 1.5f);
  for (int i = 0; i < 4 * 64; ++i) {
    const float v = d(rng);
    data.append(reinterpret_cast<const char*>(&v), 4);
  }
  std::ofstream(p, std::ios::binary) << gqalut_test::npy("<f4", "4, 64", data);
}

}  // namespace

TEST(HelpExamples, EveryExampleRunsAsPrinted) {
#ifdef GQALUT_TEST_SANITIZED
  // The examples include a whole paper comparison and syntheses: minutes each under ASan, past
  // the per-command timeout. The release stage of scripts/test.sh runs them.
  GTEST_SKIP() << "runs in the release build (the examples take minutes under the sanitizers)";
#endif
  const fs::path root = cli_test::tmpdir() / "help_examples", work = root / "work";
  fs::create_directories(work);
  fs::remove(root / "shared");
  fs::create_directory_symlink(fs::absolute(GQALUT_SHARED_DIR), root / "shared");
  write_activations(work / "activations.npy");

  const Outcome main_help = cli_test::run("--help");
  ASSERT_EQ(main_help.code, 0);
  std::vector<std::pair<std::string, std::string>> all;  // (help it came from, example)
  for (const auto& e : examples_of(main_help.out)) all.push_back({"gqalut --help", e});
  const std::vector<std::string> commands = commands_of(main_help.out);
  EXPECT_GE(commands.size(), 8u);
  for (const auto& c : commands) {
    const Outcome help = cli_test::run(c + " --help");
    ASSERT_EQ(help.code, 0) << c;
    const auto ex = examples_of(help.out);
    EXPECT_FALSE(ex.empty()) << "gqalut " << c << " --help shows no example";
    for (const auto& e : ex) all.push_back({"gqalut " + c + " --help", e});
  }
  EXPECT_GE(all.size(), 25u);
  for (const auto& [where, example] : all) {
    SCOPED_TRACE(where + ": gqalut " + example);
    const Outcome r = cli_test::run_command(cli_test::tool(), example, "cd '" + work.string() + "' &&");
    EXPECT_EQ(r.code, 0) << r.err.substr(0, 400);
    EXPECT_EQ(r.err.find("error"), std::string::npos) << r.err.substr(0, 400);
  }
}
