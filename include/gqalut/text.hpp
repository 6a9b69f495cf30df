// gqalut: user text inside one-line error messages.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace gqalut {

// `text` with every control character (bytes 0x00-0x1f and 0x7f) written as
// \n, \r, \t or \xNN, so a message that echoes user input stays one line and
// cannot drive the terminal. Other bytes (UTF-8 included) are kept.
std::string escape_controls(std::string_view text);

// escape_controls(text) in single quotes, cut to `max_chars` characters of
// input with "..." after it when longer: for echoing a user's value.
std::string quote(std::string_view text, std::size_t max_chars = 80);

}  // namespace gqalut

// ---- Text that reaches generated code (C headers, Verilog, testbenches) ----
namespace gqalut {

// The longest name a user may give generated code (the generators append
// suffixes such as "_s12_intercepts"; C99 keeps 63 significant characters).
inline constexpr std::size_t kMaxCodeNameChars = 40;

// True when `word` is a keyword of C (C89-C23), C++ (through C++20), Verilog
// (2005) or SystemVerilog (2017): a name that none of these may use as-is.
bool is_code_keyword(std::string_view word);

// Checks a user-given name for generated code: a letter, then letters, digits
// and single underscores, not ending in '_' (no "__", reserved in C++), at
// most kMaxCodeNameChars characters, not a keyword (is_code_keyword). Throws
// std::invalid_argument naming `what` and the value otherwise, e.g.
// "--name must be an identifier for C and Verilog (...), got 'module' (a keyword)".
void check_code_name(std::string_view name, std::string_view what);

// `prefix` followed by `text` made into a legal name: every run of bytes
// other than ASCII letters and digits becomes one '_', no leading or trailing
// '_', cut to fit kMaxCodeNameChars; `fallback` when nothing is left. The
// result passes check_code_name when `prefix` is a non-keyword name ending in
// '_' (e.g. "gqalut_"). For names derived from table metadata.
std::string code_name_from(std::string_view prefix, std::string_view text, std::string_view fallback);

// `text` made safe inside a comment of generated code (a C block comment or a
// Verilog line comment): printable ASCII only, one line; every other byte,
// the backslash and the backtick are written \xNN; a space is put inside
// "/*", "*/" and "??" (C trigraphs) so no comment opens, closes or turns into
// code. Cut to `max_chars` characters of input with "..." after it when longer.
std::string code_comment_text(std::string_view text, std::size_t max_chars = 200);

}  // namespace gqalut
