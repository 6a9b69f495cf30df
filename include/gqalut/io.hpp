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

// Writes the official layout plus the "gqalut" metadata key, with
// "tie": "right" | "left" (the tables' rule) and "breakpoint_encoding":
// "half-code": every stored breakpoint is (F - 1/2) * 2^-n, F the first input
// code of the segment on its right (F = P under the right rule, P + 1 under
// the left). No input code lies on a stored breakpoint, so any reader that
// selects segments by comparing q with breakpoint * 2^n (q >= p or q > p,
// torch.bucketize with right=False or True) computes exactly the table's
// function: the official GQA-LUT PyTorch op loads these files unmodified.
// The reader turns half codes back into the codes of the recorded rule, so
// gqalut's reading of its own files is exact. Files without these keys
// (official files, older gqalut files) hold codes P * 2^-n; an official file
// without any "gqalut" key is read with the right rule (the official
// trainer's) and TableSet::tie_recorded false.
void write_json(std::ostream& out, const TableSet& set);
void write_json_file(const std::string& path, const TableSet& set);

// Checks, before a reader opens it, that `path` names a regular file: a
// directory, a FIFO, a socket or a device (which could block or never end)
// and a missing or unreadable file each get one line, e.g. "cannot open table
// file 'p': not a regular file (a FIFO)". `what` is the kind of file ("table",
// "rows"). Returns the file's size in bytes.
uint64_t check_input_file(const std::string& path, const std::string& what);

// The official JSON top-level key of a function name ("rsqrt" -> "sqrt_reci").
std::string official_key(const std::string& function);

}  // namespace gqalut
