// gqalut: a user's rows of values for `gqalut ops --rows` (NumPy .npy or CSV).
//
// Hostile-input contract (docs/fuzzing.md): a rows file holds at most
// kMaxRowValues values in at most kMaxRows rows; every size in a header is
// checked without overflow before anything is allocated, and memory is
// proportional to the values actually read (8 bytes each, plus about 50 bytes
// per row; a growing CSV row briefly holds up to twice its values). Errors are
// std::invalid_argument with one line that starts with the quoted file name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <string>
#include <vector>

namespace gqalut {

// At most 2^24 values (128 MiB as doubles) and 2^20 rows per rows file.
inline constexpr size_t kMaxRowValues = size_t(1) << 24;
inline constexpr size_t kMaxRows = size_t(1) << 20;
// A CSV number has at most this many characters (spaces around it excluded).
inline constexpr size_t kMaxCsvNumberChars = 64;
// A .npy header is at most this many bytes (NumPy writes under 200).
inline constexpr size_t kMaxNpyHeaderBytes = size_t(1) << 16;

struct RowsData {
  std::vector<std::vector<double>> rows;  // finite values, row after row
  bool codes = false;                     // an integer .npy: the values are input codes
  bool wide_codes = false;                // integer codes wider than int8 (int16, int32)
};

// .npy, version 1-3: little-endian float32/float64 (real values) or int8/16/32
// (codes), 1-D (one row) or 2-D (rows x columns), C order, no extra bytes.
// `source` names the input in messages; `size_hint` is the size of the whole
// .npy file when known (0: unknown), so a header that promises other than the
// data the file holds is refused before anything is allocated.
RowsData read_rows_npy(std::istream& in, const std::string& source, uint64_t size_hint = 0);

// CSV: one row per line, finite numbers separated by commas (spaces around
// them allowed), every field a number; blank lines and lines whose first
// non-blank character is '#' are skipped. Real values. Read as a stream: a
// line is never held whole.
RowsData read_rows_csv(std::istream& in, const std::string& source);

// A rows file: .npy when the name ends in ".npy", CSV otherwise. The path must
// name a regular file (check_input_file in io.hpp): never a FIFO or a device.
RowsData read_rows_file(const std::string& path);

}  // namespace gqalut
