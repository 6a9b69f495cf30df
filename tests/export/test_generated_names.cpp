// User text that reaches generated code (issue 18, class 1): table metadata (the function name,
// the provenance in the C header's comment) and the --name of the export. A name must be a legal
// C and Verilog identifier that is not a keyword of either; text in comments cannot close the
// comment, start a line of code or break the -Wall -Werror compile. The property: for any
// function name and metadata, the generated code with its comments removed is the code generated
// for a plain name (no definition, module or line more), and it compiles (cc -fsyntax-only -Wall
// -Werror, iverilog).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "gqalut/export.hpp"
#include "gqalut/io.hpp"
#include "gqalut/text.hpp"
#include "gqalut/verilog.hpp"
#include "support/generated_code.hpp"

using namespace gqalut;
using gqalut_test::code_of;
using gqalut_test::generate_outputs;
using gqalut_test::strip_comments;
using Output = gqalut_test::GeneratedOutputs;
namespace fs = std::filesystem;

namespace {

TableSet official_gelu() {
  return read_json_file(std::string(GQALUT_SHARED_DIR) + "/reference/official/gelu_pwl_7.json");
}

fs::path scratch() {
  static const fs::path d = [] {
    fs::path p = fs::temp_directory_path() / fmt::format("gqalut_names_{}", ::getpid());
    fs::create_directories(p);
    return p;
  }();
  return d;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  if (from.empty()) return s;
  for (size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size())
    s.replace(p, from.size(), to);
  return s;
}

std::string upper(std::string s) {
  for (auto& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

// The code `base` (generated under the name `from`) as it must read under the name `to`.
std::string renamed(const std::string& base, const std::string& from, const std::string& to) {
  return replace_all(replace_all(base, from, to), upper(from), upper(to));
}

// The official GELU set under a plain function name that derives `derived` ("gqalut_...").
TableSet plain_named(const std::string& derived) {
  TableSet set = official_gelu();
  set.function = derived.substr(std::string("gqalut_").size());
  return set;
}

int shell(const std::string& cmd) {
  const int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// cc -fsyntax-only -Wall -Werror (C99, so trigraphs count) on a file that includes the header;
// iverilog parses and elaborates the unit with its testbench, and the programmable unit.
void expect_compiles(const Output& o, const std::string& tag) {
  SCOPED_TRACE(tag);
  const fs::path d = scratch();
  {
    std::ofstream(d / "gen.h") << o.c;
    std::ofstream(d / "use.c") << "#include \"gen.h\"\nint use(void) { return (int)" << o.name
                               << "_apply(1); }\n";
  }
  EXPECT_EQ(shell(fmt::format("cc -std=c99 -fsyntax-only -Wall -Wextra -Werror -pedantic {} 2>{}",
                              (d / "use.c").string(), (d / "cc.log").string())),
            0)
      << o.c.substr(0, 2000);
#ifdef GQALUT_IVERILOG
  std::ofstream(d / "unit.v") << o.v;
  std::ofstream(d / "unit_tb.v") << o.tb;
  std::ofstream(d / "prog.v") << o.prog;
  EXPECT_EQ(shell(fmt::format("{} -g2005 -o /dev/null {} {} 2>{}", GQALUT_IVERILOG, (d / "unit.v").string(),
                              (d / "unit_tb.v").string(), (d / "iv.log").string())),
            0)
      << o.v.substr(0, 2000);
  EXPECT_EQ(shell(fmt::format("{} -g2005 -o /dev/null {} 2>{}", GQALUT_IVERILOG, (d / "prog.v").string(),
                              (d / "iv.log").string())),
            0)
      << o.prog.substr(0, 2000);
#endif
}

// Hostile text: pieces that end or open comments, start lines, directives and definitions.
std::string hostile_text(std::mt19937_64& rng) {
  static const char* kPieces[] = {"*/",
                                  "/*",
                                  "//",
                                  "\n",
                                  "\r",
                                  "\r\n",
                                  "\\",
                                  "\\\n",
                                  "`",
                                  "`define X 1\n",
                                  "?\?/",
                                  "?\?=",
                                  "\"",
                                  "'",
                                  ";",
                                  "{",
                                  "}",
                                  "#define Y 2\n",
                                  "int gqalut_injected = 42;",
                                  "module evil; endmodule",
                                  "endmodule",
                                  "module",
                                  "gelu",
                                  " ",
                                  "\t",
                                  "\v",
                                  "\f",
                                  "<NUL>",
                                  "\x7f",
                                  "\xff",
                                  "\xe2\x80\xa8",
                                  "\xc3\xa9",
                                  "__",
                                  "_",
                                  "9",
                                  "$display(\"x\");",
                                  "*",
                                  "/",
                                  "?",
                                  "#",
                                  "@",
                                  "-",
                                  "."};
  std::string s;
  const int pieces = static_cast<int>(rng() % 12);
  for (int i = 0; i < pieces; ++i) {
    const std::string piece = kPieces[rng() % std::size(kPieces)];
    s += piece == "<NUL>" ? std::string(1, '\0') : piece;
  }
  return s;
}

}  // namespace

TEST(GeneratedNames, TheIssueExamplesAddNoCode) {
  const TableSet plain = official_gelu();
  const std::string base = code_of(generate_outputs(plain, ""));  // named gqalut_gelu
  for (const std::string& fn : std::vector<std::string>{"gelu */ int gqalut_injected = 42; /* ",
                                                        "gelu\nmodule injected; endmodule\n//",
                                                        "gelu /* nested", "gelu\\", "gelu ?\?/"}) {
    SCOPED_TRACE(escape_controls(fn));
    TableSet set = plain;
    set.function = fn;
    set.meta["method"] = fn;  // the C header's provenance comment
    const Output o = generate_outputs(set, "");
    EXPECT_EQ(code_of(o), code_of(generate_outputs(plain_named(o.name), "")));  // the same name from plain text
    EXPECT_EQ(code_of(o), renamed(base, "gqalut_gelu", o.name));
    EXPECT_EQ(strip_comments(o.c).find("gqalut_injected ="), std::string::npos);
    EXPECT_EQ(strip_comments(o.v).find("module injected"), std::string::npos);
    expect_compiles(o, escape_controls(fn));
  }
}

TEST(GeneratedNames, KeywordsAndIllegalNamesAreRefused) {
  const TableSet set = official_gelu();
  for (const std::string& bad : std::vector<std::string>{"module",
                                                         "int",
                                                         "static",
                                                         "endmodule",
                                                         "logic",
                                                         "class",
                                                         "wire",
                                                         "reg",
                                                         "input",
                                                         "_x",
                                                         "x_",
                                                         "a__b",
                                                         "9lut",
                                                         "a-b",
                                                         "a b",
                                                         "",
                                                         "lut\n",
                                                         "a$b",
                                                         "\xc3\xa9t\xc3\xa9",
                                                         std::string(41, 'a')}) {
    SCOPED_TRACE(escape_controls(bad));
    if (bad.empty()) continue;  // an empty --name means the default
    ExportOptions o;
    o.name = bad;
    std::ostringstream out;
    for (int k = 0; k < 3; ++k) {
      try {
        if (k == 0) write_c_header(out, set, o);
        if (k == 1) write_verilog(out, set, o);
        if (k == 2) write_verilog_testbench(out, set, o);
        ADD_FAILURE() << "accepted";
      } catch (const std::invalid_argument& e) {
        const std::string m = e.what();
        EXPECT_EQ(m.rfind("export name (--name) must be a name for C and Verilog", 0), 0u) << m;
        EXPECT_EQ(m.find('\n'), std::string::npos) << m;
      }
    }
  }
  // The longest legal name and names next to keywords are accepted.
  for (const std::string& good : {std::string(40, 'a'), std::string("module1"), std::string("Module"),
                                  std::string("int8"), std::string("a_b_c")}) {
    SCOPED_TRACE(good);
    expect_compiles(generate_outputs(set, good), good);
  }
}

TEST(GeneratedNames, EveryKeywordIsRefused) {
  // A sample of each language's reserved words (the full list lives in text.cpp).
  for (const char* k :
       {"auto",      "restrict",  "_Bool",  "bool",       "nullptr", "typeof", "template", "co_await",
        "always_ff", "endmodule", "genvar", "localparam", "supply0", "uwire",  "logic",    "bit",
        "interface", "unique0",   "do",     "break",      "struct",  "return"}) {
    SCOPED_TRACE(k);
    EXPECT_THROW(check_code_name(k, "--name"), std::invalid_argument);
  }
}

TEST(GeneratedNames, DerivedNamesAreLegal) {
  std::mt19937_64 rng(18);
  for (int i = 0; i < 5000; ++i) {
    const std::string fn = hostile_text(rng);
    const std::string n = code_name_from("gqalut_", fn, "table");
    EXPECT_NO_THROW(check_code_name(n, "derived")) << escape_controls(fn) << " -> " << n;
  }
  EXPECT_EQ(code_name_from("gqalut_", "sqrt_reci", "table"), "gqalut_sqrt_reci");
  EXPECT_EQ(code_name_from("gqalut_", "random-3", "table"), "gqalut_random_3");
  EXPECT_EQ(code_name_from("gqalut_", "*/", "table"), "gqalut_table");
  EXPECT_EQ(code_name_from("gqalut_", std::string(100, 'x'), "table").size(), kMaxCodeNameChars);
}

TEST(GeneratedNames, CommentTextIsOnePrintableLineThatCannotCloseAComment) {
  std::mt19937_64 rng(1818);
  for (int i = 0; i < 20000; ++i) {
    const std::string s = code_comment_text(hostile_text(rng));
    for (const char c : s) ASSERT_TRUE(c >= 0x20 && c < 0x7f && c != '`') << escape_controls(s);
    EXPECT_EQ(s.find("*/"), std::string::npos) << s;
    EXPECT_EQ(s.find("/*"), std::string::npos) << s;
    EXPECT_EQ(s.find("??"), std::string::npos) << s;
    EXPECT_TRUE(s.empty() || s.back() != '\\') << s;
  }
  EXPECT_EQ(code_comment_text("a */ b /* c ?\?/ \\ `x`\n"), "a * / b / * c ? ?/ \\x5c \\x60x\\x60\\x0a");
  EXPECT_EQ(code_comment_text(std::string(300, 'a')), std::string(200, 'a') + "...");
}

// The property: random hostile function names and metadata never change the code (with its
// comments removed) and always compile; random --names are refused or used as they are.
TEST(GeneratedNames, HostileMetadataNeverAddsCode) {
  const TableSet plain = official_gelu();
  std::mt19937_64 rng(0x18c1a55);
  for (int i = 0; i < 400; ++i) {
    TableSet set = plain;
    set.function = hostile_text(rng);
    set.meta["method"] = hostile_text(rng);
    set.meta["objective"] = hostile_text(rng);
    set.meta[hostile_text(rng)] = hostile_text(rng);  // not copied, but must not matter either
    const Output o = generate_outputs(set, "");
    ASSERT_EQ(code_of(o), code_of(generate_outputs(plain_named(o.name), ""))) << escape_controls(set.function);
    if (i < 40) expect_compiles(o, escape_controls(set.function));
  }
}

TEST(GeneratedNames, RandomNamesAreRefusedOrUsedAsGiven) {
  const TableSet set = official_gelu();
  const std::string base = code_of(generate_outputs(set, "plain"));
  std::mt19937_64 rng(0x18a3e);
  const std::string alphabet = "abcxyzAZ0189____ -$.\\`/*\n";
  int accepted = 0;
  for (int i = 0; i < 600; ++i) {
    std::string name;
    const int len = 1 + static_cast<int>(rng() % 12);
    for (int j = 0; j < len; ++j) name += alphabet[rng() % alphabet.size()];
    if (rng() % 4 == 0) name = std::string(i % 2 ? "module" : "int");
    Output o;
    try {
      o = generate_outputs(set, name);
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
      continue;
    }
    ++accepted;
    EXPECT_EQ(o.name, name);
    EXPECT_NO_THROW(check_code_name(name, "name"));
    ASSERT_EQ(code_of(o), renamed(base, "plain", name)) << name;
    if (accepted <= 20) expect_compiles(o, name);
  }
  EXPECT_GT(accepted, 20);
}
