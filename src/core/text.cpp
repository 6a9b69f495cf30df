#include "gqalut/text.hpp"

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
