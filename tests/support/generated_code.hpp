// Test helper: everything gqalut generates from a table set under an export name (the C
// header, the baked Verilog unit, its testbench, the programmable unit), and its code as a
// compiler sees it (comments removed). One copy for the export tests and the export-names
// fuzzer: user text in a table may change comments only, never this code.
#pragma once

#include <sstream>
#include <string>

#include "gqalut/export.hpp"
#include "gqalut/verilog.hpp"

namespace gqalut_test {

struct GeneratedOutputs {
  std::string c, v, tb, prog;  // C header, baked unit, its testbench, programmable unit
  std::string name;            // the C identifier prefix / module name used
};

// The four outputs for `set` under export name `name` ("" = derived from the function).
// Throws what the exporters throw (std::invalid_argument for a refused name).
inline GeneratedOutputs generate_outputs(const gqalut::TableSet& set, const std::string& name) {
  gqalut::ExportOptions o;
  o.name = name;
  std::ostringstream c, v, tb, prog;
  gqalut::write_c_header(c, set, o);
  gqalut::write_verilog(v, set, o);
  gqalut::write_verilog_testbench(tb, set, o);
  gqalut::ExportOptions p = o;
  p.programmable = true;
  gqalut::write_verilog(prog, set, p);
  return {c.str(), v.str(), tb.str(), prog.str(), gqalut::verilog_module_name(set, o)};
}

// C or Verilog text without its comments (a block comment becomes one space, a line comment
// goes up to its newline; string literals kept whole). A block comment that never ends drops
// the rest of the text and sets *unterminated (when given).
inline std::string strip_comments(const std::string& s, bool* unterminated = nullptr) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (s.compare(i, 2, "/*") == 0) {
      const size_t e = s.find("*/", i + 2);
      if (e == std::string::npos && unterminated) *unterminated = true;
      i = e == std::string::npos ? s.size() : e + 2;
      out += ' ';
    } else if (s.compare(i, 2, "//") == 0) {
      i = s.find('\n', i);
      if (i == std::string::npos) i = s.size();
    } else if (s[i] == '"') {
      const size_t e = s.find('"', i + 1);
      const size_t end = e == std::string::npos ? s.size() : e + 1;
      out.append(s, i, end - i);
      i = end;
    } else {
      out += s[i++];
    }
  }
  return out;
}

// The code of the four outputs in one text (comments removed, the outputs apart).
inline std::string code_of(const GeneratedOutputs& o, bool* unterminated = nullptr) {
  return strip_comments(o.c, unterminated) + "\n@@\n" + strip_comments(o.v, unterminated) + "\n@@\n" +
         strip_comments(o.tb, unterminated) + "\n@@\n" + strip_comments(o.prog, unterminated);
}

}  // namespace gqalut_test
