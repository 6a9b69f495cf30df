// libFuzzer target: the rows readers of `gqalut ops --rows` (gqalut/rows.hpp) on arbitrary bytes.
//
// The first byte picks the reader: 0 .npy with the input's size as the file size (as
// read_rows_file passes it), 1 .npy as a stream of unknown size, 2 CSV; the rest is the file.
// Contract checked (docs/fuzzing.md): the reader throws std::invalid_argument with one line that
// starts with the quoted source, or returns at most kMaxRows rows and kMaxRowValues values, all
// finite, every .npy row of the same non-zero length, every CSV row non-empty. Any other
// exception (std::bad_alloc, std::length_error, ...), a sanitizer report, a timeout or more than
// the -rss_limit_mb is a finding: memory must stay proportional to the input.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>

#include "gqalut/rows.hpp"

namespace {

[[noreturn]] void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_rows: %s: %s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int mode = data[0] % 3;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string source = mode == 2 ? "fuzz.csv" : "fuzz.npy";
  gqalut::RowsData rows;
  try {
    std::istringstream in(text);
    rows = mode == 2 ? gqalut::read_rows_csv(in, source)
                     : gqalut::read_rows_npy(in, source, mode == 0 ? text.size() : 0);
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    if (msg.find('\n') != std::string::npos) finding("error is not one line", msg);
    if (msg.rfind("'" + source + "': ", 0) != 0) finding("error does not start with the quoted source", msg);
    return 0;
  } catch (const std::exception& e) {
    finding("exception other than std::invalid_argument", e.what());
  }
  if (rows.rows.empty()) finding("accepted a file without rows", text.substr(0, 200));
  if (rows.rows.size() > gqalut::kMaxRows) finding("more rows than kMaxRows", std::to_string(rows.rows.size()));
  size_t values = 0;
  for (const auto& row : rows.rows) {
    if (row.empty()) finding("accepted an empty row", text.substr(0, 200));
    if (mode != 2 && row.size() != rows.rows[0].size()) finding(".npy rows of different lengths", "");
    for (double v : row)
      if (!std::isfinite(v)) finding("accepted a non-finite value", std::to_string(v));
    values += row.size();
  }
  if (values > gqalut::kMaxRowValues) finding("more values than kMaxRowValues", std::to_string(values));
  if (mode != 2 && !rows.codes && rows.wide_codes) finding("wide codes in a float file", "");
  return 0;
}
