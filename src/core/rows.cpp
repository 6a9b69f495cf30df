// A user's rows for `gqalut ops --rows`: .npy and CSV readers with checked
// sizes and memory proportional to the data (include/gqalut/rows.hpp).
#include "gqalut/rows.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <stdexcept>

#include <fmt/format.h>

#include "gqalut/io.hpp"
#include "gqalut/text.hpp"

namespace gqalut {
namespace {

[[noreturn]] void fail(const std::string& source, const std::string& msg) {
  throw std::invalid_argument(fmt::format("{}: {}", quote(source, 200), msg));
}

// The value of `key` in a .npy header dict: a quoted string, a tuple's inside, or a bare word.
std::string npy_field(const std::string& header, const std::string& key, const std::string& source) {
  const size_t k = header.find("'" + key + "'");
  if (k == std::string::npos) fail(source, fmt::format(".npy header has no '{}'", key));
  size_t v = header.find(':', k);
  if (v == std::string::npos) fail(source, "malformed .npy header");
  ++v;
  while (v < header.size() && header[v] == ' ') ++v;
  if (v < header.size() && (header[v] == '\'' || header[v] == '(')) {
    const char close = header[v] == '\'' ? '\'' : ')';
    const size_t end = header.find(close, v + 1);
    if (end == std::string::npos) fail(source, "malformed .npy header");
    return header.substr(v + 1, end - v - 1);
  }
  size_t end = v;
  while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
  return header.substr(v, end - v);
}

// Header text in a message: one line, at most 60 characters of it.
std::string shown(const std::string& text) {
  return escape_controls(text.substr(0, 60)) + (text.size() > 60 ? "..." : "");
}

// One dimension of a .npy shape: plain decimal digits, at most kMaxRowValues.
uint64_t npy_dimension(const std::string& tok, const std::string& shape_text, const std::string& source) {
  const bool digits = !tok.empty() && tok.find_first_not_of("0123456789") == std::string::npos;
  const uint64_t v = digits && tok.size() <= 9 ? std::strtoull(tok.c_str(), nullptr, 10) : kMaxRowValues + 1;
  if (!digits)
    fail(source, fmt::format(".npy shape must list non-negative integers, got ({})", shown(shape_text)));
  if (v > kMaxRowValues)
    fail(source, fmt::format("rows files hold at most {} values, got shape ({})", kMaxRowValues,
                             shown(shape_text)));
  return v;
}

void check_counts(uint64_t rows, uint64_t values, const std::string& source) {
  if (values > kMaxRowValues) fail(source, fmt::format("rows files hold at most {} values, got more", kMaxRowValues));
  if (rows > kMaxRows) fail(source, fmt::format("rows files hold at most {} rows, got more", kMaxRows));
}

}  // namespace

RowsData read_rows_npy(std::istream& in, const std::string& source, uint64_t size_hint) {
  char magic[8];
  in.read(magic, 8);
  if (!in || std::memcmp(magic, "\x93NUMPY", 6) != 0) fail(source, "not a .npy file (no \\x93NUMPY magic)");
  const int major = static_cast<unsigned char>(magic[6]);
  if (major < 1 || major > 3) fail(source, fmt::format(".npy version must be 1, 2 or 3, got {}", major));
  unsigned char b[4] = {0, 0, 0, 0};
  const int len_bytes = major == 1 ? 2 : 4;
  in.read(reinterpret_cast<char*>(b), len_bytes);
  if (!in) fail(source, "truncated .npy header");
  const uint64_t hlen = b[0] | (uint64_t(b[1]) << 8) | (uint64_t(b[2]) << 16) | (uint64_t(b[3]) << 24);
  if (hlen > kMaxNpyHeaderBytes)
    fail(source, fmt::format(".npy header must be at most {} bytes, got {}", kMaxNpyHeaderBytes, hlen));
  std::string header(hlen, '\0');
  in.read(header.data(), std::streamsize(hlen));
  if (!in) fail(source, "truncated .npy header");
  const std::string descr = npy_field(header, "descr", source);
  const std::string fortran = npy_field(header, "fortran_order", source);
  const std::string shape_text = npy_field(header, "shape", source);
  if (fortran != "False") fail(source, "Fortran-order .npy arrays are not supported (save with C order)");

  std::vector<uint64_t> shape;
  std::string tok;
  for (size_t i = 0; i <= shape_text.size(); ++i) {
    const char c = i < shape_text.size() ? shape_text[i] : ',';
    if (c == ' ') continue;
    if (c != ',') {
      tok += c;
      continue;
    }
    if (tok.empty() && i < shape_text.size()) fail(source, fmt::format(".npy shape ({}) has an empty dimension",
                                                                        shown(shape_text)));
    if (!tok.empty()) shape.push_back(npy_dimension(tok, shape_text, source));
    tok.clear();
    if (shape.size() > 2) break;
  }
  if (shape.empty() || shape.size() > 2)
    fail(source, fmt::format("rows must be a 1-D or 2-D array, got shape ({})", shown(shape_text)));
  const uint64_t nrows = shape.size() == 2 ? shape[0] : 1, ncols = shape.back();
  if (nrows == 0 || ncols == 0) fail(source, "the array is empty");
  // Both are at most kMaxRowValues (2^24): the product cannot overflow.
  check_counts(nrows, nrows * ncols, source);

  RowsData u;
  size_t width = 0;
  if (descr == "<f4" || descr == "<f8") {
    width = descr == "<f4" ? 4 : 8;
  } else if (descr == "|i1" || descr == "<i2" || descr == "<i4") {
    width = descr == "|i1" ? 1 : (descr == "<i2" ? 2 : 4);
    u.codes = true;
    u.wide_codes = width > 1;
  } else {
    fail(source, fmt::format("dtype {} is not supported (float32, float64: real values; int8, int16, int32: codes)",
                             quote(descr, 20)));
  }
  const uint64_t data_bytes = nrows * ncols * width;
  const uint64_t header_bytes = 8 + len_bytes + hlen;
  if (size_hint && size_hint != header_bytes + data_bytes)
    fail(source, fmt::format("shape ({} x {} values of {} bytes) needs {} bytes of data, the file has {}", nrows, ncols,
                             width, data_bytes, size_hint > header_bytes ? size_hint - header_bytes : 0));

  u.rows.reserve(nrows);
  char buf[1 << 16];
  for (uint64_t r = 0; r < nrows; ++r) {
    std::vector<double> row;
    // The file size was checked: the whole row is there. Otherwise grow as data arrives.
    row.reserve(size_hint ? ncols : std::min<uint64_t>(ncols, sizeof buf));
    for (uint64_t c = 0; c < ncols;) {
      const uint64_t n = std::min<uint64_t>(ncols - c, sizeof buf / width);
      in.read(buf, std::streamsize(n * width));
      if (!in)
        fail(source, fmt::format("truncated data ({} x {} values of {} bytes expected)", nrows, ncols, width));
      for (uint64_t i = 0; i < n; ++i, ++c) {
        const char* p = buf + i * width;
        double v = 0;
        if (descr == "<f4") {
          float f;
          std::memcpy(&f, p, 4);
          v = f;
        } else if (descr == "<f8") {
          std::memcpy(&v, p, 8);
        } else if (width == 1) {
          v = static_cast<int8_t>(*p);
        } else if (width == 2) {
          int16_t i16;
          std::memcpy(&i16, p, 2);
          v = i16;
        } else {
          int32_t i32;
          std::memcpy(&i32, p, 4);
          v = i32;
        }
        if (!std::isfinite(v)) fail(source, fmt::format("value [{}][{}] is not finite", r, c));
        row.push_back(v);
      }
    }
    u.rows.push_back(std::move(row));
  }
  if (in.peek() != std::char_traits<char>::eof())
    fail(source, fmt::format("more data than the shape ({} x {} values of {} bytes) holds", nrows, ncols, width));
  return u;
}

RowsData read_rows_csv(std::istream& in, const std::string& source) {
  RowsData u;
  std::vector<double> row;
  std::string num;  // the current field, at most kMaxCsvNumberChars characters
  uint64_t lineno = 1, values = 0;
  bool line_started = false;  // a field has begun on this line (not blank, not a comment)
  bool comment = false, field_has_text = false, after_text_space = false;
  auto end_field = [&] {
    char* end = nullptr;
    const double v = num.empty() ? 0.0 : std::strtod(num.c_str(), &end);
    if (num.empty() || end != num.c_str() + num.size() || !std::isfinite(v))
      fail(source, fmt::format("line {}: {} is not a finite number", lineno, quote(num, 40)));
    if (++values > kMaxRowValues) check_counts(0, values, source);
    row.push_back(v);
    num.clear();
    field_has_text = after_text_space = false;
  };
  auto end_line = [&] {
    if (line_started) {
      end_field();
      if (u.rows.size() >= kMaxRows) check_counts(u.rows.size() + 1, values, source);
      u.rows.push_back(std::move(row));
      row = {};
    }
    line_started = comment = false;
    ++lineno;
  };
  char buf[1 << 16];
  while (in) {
    in.read(buf, sizeof buf);
    const std::streamsize got = in.gcount();
    for (std::streamsize i = 0; i < got; ++i) {
      const char c = buf[i];
      if (c == '\n') {
        end_line();
        continue;
      }
      if (comment) continue;
      const bool space = c == ' ' || c == '\t' || c == '\r';
      if (!line_started) {
        if (space) continue;
        if (c == '#') {
          comment = true;
          continue;
        }
        line_started = true;
      }
      if (c == ',') {
        end_field();
      } else if (space) {
        after_text_space = field_has_text;
      } else {
        if (after_text_space)  // "1 2": one field with a space inside
          fail(source, fmt::format("line {}: a field holds two numbers (use commas between numbers)", lineno));
        if (num.size() >= kMaxCsvNumberChars)
          fail(source,
               fmt::format("line {}: a number must have at most {} characters, got {}", lineno,
                           kMaxCsvNumberChars, quote(num, 20)));
        num += c;
        field_has_text = true;
      }
    }
  }
  if (in.bad()) fail(source, "cannot read the file (an I/O error)");
  end_line();
  if (u.rows.empty()) fail(source, "holds no rows");
  return u;
}

RowsData read_rows_file(const std::string& path) {
  const uint64_t size = check_input_file(path, "rows");  // never a FIFO or a device
  const bool npy = path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument(fmt::format("cannot open rows file {}", quote(path, 200)));
  try {
    return npy ? read_rows_npy(in, path, size) : read_rows_csv(in, path);
  } catch (const std::bad_alloc&) {
    fail(path, "out of memory reading the rows");
  }
}

}  // namespace gqalut
