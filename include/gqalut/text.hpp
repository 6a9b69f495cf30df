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
