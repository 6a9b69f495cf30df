// libFuzzer target: user text that reaches generated C and Verilog (issue 18, class 1).
//
// Input: byte 0 (bit 0: give an export name), bytes 1 and 2: the lengths of the function name
// and of the "method" metadata, then those two texts, then the export name (--name). A fixed
// 4-entry table gets them, and the C header, the baked Verilog unit, its testbench and the
// programmable unit are generated. Contract checked (docs/fuzzing.md): a given name is either
// refused with one std::invalid_argument line or used exactly as given (check_code_name
// accepts it); no text ever changes the code: with comments removed, every output equals the
// output for the plain table exported under the name that was used. Anything else is a finding.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>

#include "gqalut/export.hpp"
#include "gqalut/io.hpp"
#include "gqalut/text.hpp"
#include "gqalut/verilog.hpp"
#include "support/generated_code.hpp"  // tests/support

namespace {

[[noreturn]] void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_export_names: %s: %s\n", what, gqalut::escape_controls(detail).c_str());
  std::abort();
}

const gqalut::TableSet& plain_set() {
  static const gqalut::TableSet set = [] {
    std::istringstream in(R"({"gelu": {"4": {"breakpoints": [-1.0, 0.0, 1.0], "slopes": [0.0, 0.25, 0.75, 1.0],)"
                          R"( "intercepts": [0.0, 0.0, 0.0, 0.0]}}})");
    return gqalut::read_json(in, "plain");
  }();
  return set;
}

// The code of every output for `set` under export name `name` ("" = derived), and the name used.
std::pair<std::string, std::string> code_of(const gqalut::TableSet& set, const std::string& name) {
  const gqalut_test::GeneratedOutputs o = gqalut_test::generate_outputs(set, name);
  bool unterminated = false;
  std::string code = gqalut_test::code_of(o, &unterminated);
  if (unterminated) finding("a comment that never ends", o.c + o.v + o.tb + o.prog);
  return {code, o.name};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  size_t at = 3;
  auto take = [&](size_t n) {
    n = std::min(n, size - at);
    std::string s(reinterpret_cast<const char*>(data) + at, n);
    at += n;
    return s;
  };
  gqalut::TableSet set = plain_set();
  set.function = take(data[1]);
  set.meta["method"] = take(data[2]);
  const std::string name = (data[0] & 1) ? take(size) : std::string();
  const bool given = !name.empty();  // an empty --name means the derived one
  std::pair<std::string, std::string> out;
  try {
    out = code_of(set, name);
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    if (!given) finding("a derived name was refused", msg);
    if (msg.find('\n') != std::string::npos) finding("error is not one line", msg);
    return 0;
  } catch (const std::exception& e) {
    finding("exception other than std::invalid_argument", e.what());
  }
  const std::string& used = out.second;
  try {
    gqalut::check_code_name(used, "name");
  } catch (const std::invalid_argument&) {
    finding("generated code under an illegal name", used);
  }
  if (given && used != name) finding("the given name was changed", name + " -> " + used);
  // The same table with a plain function name and no metadata, under the name that was used
  // (given, or derived: then from a function name that derives it): the user's text may change
  // comments only.
  // A derived name ("gqalut_" + the function made legal) comes back from the same plain text.
  gqalut::TableSet plain = plain_set();
  if (!given) plain.function = used.substr(7);
  const std::string want = code_of(plain, given ? used : "").first;
  if (out.first != want) finding("text from the user changed the code", set.function + " | " + name);
  return 0;
}
