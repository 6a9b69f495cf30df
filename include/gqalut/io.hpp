// gqalut: JSON in the official GQA-LUT format, with gqalut's metadata beside it.
//
// Official: {"gelu": {"0": {"breakpoints": [...], "slopes": [...], "intercepts": [...]}, ...}}
// gqalut adds one more top-level key, "gqalut", holding the function, range,
// code formats, method, seed, settings and errors; the official op ignores it.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <string>

#include "gqalut/table.hpp"

namespace gqalut {

inline constexpr const char* kMetaKey = "gqalut";
// Reader bounds (hostile input): a table file is at most this many bytes and
// nests arrays/objects at most this deep (gqalut's own files nest 4 levels).
inline constexpr size_t kMaxTableFileBytes = size_t(64) << 20;
inline constexpr int kMaxJsonDepth = 64;

// Reads a table file. Official files carry no formats: the codes are then
// read with frac_bits 6 (Q1.6, the official trainer's grid) and the width
// grown to the smallest that holds every code (up to 16; such a table is
// reported as not INT8). Breakpoints must lie on the grid 2^-n of their scale.
// Throws std::invalid_argument with the rule and the value on malformed,
// truncated or inconsistent input; `source` names the file in messages.
TableSet read_json(std::istream& in, const std::string& source = "<input>");
TableSet read_json_file(const std::string& path);

// Writes the official layout plus the "gqalut" metadata key.
void write_json(std::ostream& out, const TableSet& set);
void write_json_file(const std::string& path, const TableSet& set);

// The official JSON top-level key of a function name ("rsqrt" -> "sqrt_reci").
std::string official_key(const std::string& function);

}  // namespace gqalut
