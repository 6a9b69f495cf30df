#include "gqalut/text.hpp"

#include <algorithm>
#include <iterator>
#include <stdexcept>

#include <fmt/format.h>

namespace gqalut {

std::string escape_controls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) {
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += fmt::format("\\x{:02x}", u);
    }
  }
  return out;
}

std::string quote(std::string_view text, std::size_t max_chars) {
  const bool cut = text.size() > max_chars;
  return "'" + escape_controls(cut ? text.substr(0, max_chars) : text) + (cut ? "...'" : "'");
}

}  // namespace gqalut

// ---------------------------------------------------------- generated code
namespace gqalut {
namespace {

// The reserved words of the languages gqalut generates or that include its
// output: a name may not be one of them.
constexpr std::string_view kCodeKeywords[] = {
    // C (C89-C23) and C++ (through C++20)
    "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break", "case", "catch",
    "char", "char16_t", "char32_t", "char8_t", "class", "co_await", "co_return", "co_yield", "compl",
    "concept", "const", "const_cast", "consteval", "constexpr", "constinit", "continue", "decltype",
    "default", "delete", "do", "double", "dynamic_cast", "else", "enum", "explicit", "export", "extern",
    "false", "float", "for", "friend", "goto", "if", "inline", "int", "long", "mutable", "namespace", "new",
    "noexcept", "not", "not_eq", "nullptr", "operator", "or", "or_eq", "private", "protected", "public",
    "register", "reinterpret_cast", "requires", "restrict", "return", "short", "signed", "sizeof", "static",
    "static_assert", "static_cast", "struct", "switch", "template", "this", "thread_local", "throw", "true",
    "try", "typedef", "typeid", "typename", "typeof", "typeof_unqual", "union", "unsigned", "using",
    "virtual", "void", "volatile", "wchar_t", "while", "xor", "xor_eq",
    // Verilog-2005
    "always", "assign", "begin", "buf", "bufif0", "bufif1", "casex", "casez", "cell", "cmos", "config",
    "deassign", "defparam", "design", "disable", "edge", "end", "endcase", "endconfig", "endfunction",
    "endgenerate", "endmodule", "endprimitive", "endspecify", "endtable", "endtask", "event", "force",
    "forever", "fork", "function", "generate", "genvar", "highz0", "highz1", "ifnone", "incdir", "include",
    "initial", "inout", "input", "instance", "integer", "join", "large", "liblist", "library", "localparam",
    "macromodule", "medium", "module", "nand", "negedge", "nmos", "nor", "noshowcancelled", "notif0",
    "notif1", "output", "parameter", "pmos", "posedge", "primitive", "pull0", "pull1", "pulldown", "pullup",
    "pulsestyle_ondetect", "pulsestyle_onevent", "rcmos", "real", "realtime", "reg", "release", "repeat",
    "rnmos", "rpmos", "rtran", "rtranif0", "rtranif1", "scalared", "showcancelled", "small", "specify",
    "specparam", "strong0", "strong1", "supply0", "supply1", "table", "task", "time", "tran", "tranif0",
    "tranif1", "tri", "tri0", "tri1", "triand", "trior", "trireg", "use", "uwire", "vectored", "wait", "wand",
    "weak0", "weak1", "wire", "wor", "xnor",
    // SystemVerilog (IEEE 1800-2017) beyond Verilog-2005
    "accept_on", "alias", "always_comb", "always_ff", "always_latch", "assert", "assume", "before", "bind",
    "bins", "binsof", "bit", "byte", "chandle", "checker", "clocking", "constraint", "context", "cover",
    "covergroup", "coverpoint", "cross", "dist", "endchecker", "endclass", "endclocking", "endgroup",
    "endinterface", "endpackage", "endprogram", "endproperty", "endsequence", "eventually", "expect",
    "extends", "final", "first_match", "foreach", "forkjoin", "global", "iff", "ignore_bins", "illegal_bins",
    "implements", "implies", "import", "inside", "interconnect", "interface", "intersect", "join_any",
    "join_none", "let", "local", "logic", "longint", "matches", "modport", "nettype", "nexttime", "null",
    "package", "packed", "priority", "program", "property", "pure", "rand", "randc", "randcase",
    "randsequence", "ref", "reject_on", "s_always", "s_eventually", "s_nexttime", "s_until", "s_until_with",
    "sequence", "shortint", "shortreal", "soft", "solve", "string", "strong", "super", "sync_accept_on",
    "sync_reject_on", "tagged", "throughout", "timeprecision", "timeunit", "type", "unique", "unique0",
    "until", "until_with", "untyped", "var", "wait_order", "weak", "wildcard", "with", "within"};

}  // namespace

bool is_code_keyword(std::string_view word) {
  return std::find(std::begin(kCodeKeywords), std::end(kCodeKeywords), word) != std::end(kCodeKeywords);
}

void check_code_name(std::string_view name, std::string_view what) {
  const auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  std::string why;
  if (name.empty()) {
    why = "empty";
  } else if (name.size() > kMaxCodeNameChars) {
    why = fmt::format("{} characters", name.size());
  } else if (!letter(name[0])) {
    why = "does not start with a letter";
  } else if (!std::all_of(name.begin(), name.end(),
                          [&](char c) { return letter(c) || digit(c) || c == '_'; })) {
    why = "a character other than a letter, a digit or '_'";
  } else if (name.find("__") != std::string_view::npos || name.back() == '_') {
    why = "'__' or a trailing '_'";
  } else if (is_code_keyword(name)) {
    why = "a keyword of C, C++ or Verilog";
  }
  if (!why.empty())
    throw std::invalid_argument(
        fmt::format("{} must be a name for C and Verilog (a letter, then letters, digits and single "
                    "underscores, at most {} "
                    "characters, not a keyword), got {} ({})",
                    what, kMaxCodeNameChars, quote(name, 60), why));
}

std::string code_name_from(std::string_view prefix, std::string_view text, std::string_view fallback) {
  std::string body;
  for (const char c : text) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (alnum)
      body += c;
    else if (!body.empty() && body.back() != '_')
      body += '_';
  }
  const std::size_t room = kMaxCodeNameChars > prefix.size() ? kMaxCodeNameChars - prefix.size() : 0;
  if (body.size() > room) body.resize(room);
  while (!body.empty() && body.back() == '_') body.pop_back();
  return std::string(prefix) + (body.empty() ? std::string(fallback) : body);
}

std::string code_comment_text(std::string_view text, std::size_t max_chars) {
  const bool cut = text.size() > max_chars;
  if (cut) text = text.substr(0, max_chars);
  std::string out;
  out.reserve(text.size() + 3);
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '\\' || c == '`') {
      out += fmt::format("\\x{:02x}", u);
      continue;
    }
    // No "/*", "*/" (C) and no "??" (a C trigraph): a space between.
    const char last = out.empty() ? '\0' : out.back();
    if ((last == '/' && c == '*') || (last == '*' && c == '/') || (last == '?' && c == '?')) out += ' ';
    out += c;
  }
  if (cut) out += "...";
  return out;
}

}  // namespace gqalut
