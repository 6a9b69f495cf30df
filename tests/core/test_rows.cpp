// The rows readers of `gqalut ops --rows` (issue 18, class 2): sizes in a .npy header are
// checked without overflow before anything is allocated; CSV is read as a stream with bounded
// fields; both hold at most kMaxRowValues values in kMaxRows rows; every error is one line
// starting with the quoted source. Values read back exactly.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <random>
#include <sstream>
#include <streambuf>

#include "gqalut/rows.hpp"
#include "gqalut/text.hpp"
#include "support/error_of.hpp"
#include "support/npy.hpp"

using namespace gqalut;
using gqalut_test::error_of;
using gqalut_test::npy;

namespace {

RowsData read_npy_text(const std::string& file, bool hint = true) {
  std::istringstream in(file);
  return read_rows_npy(in, "r.npy", hint ? file.size() : 0);
}

RowsData read_csv_text(const std::string& text) {
  std::istringstream in(text);
  return read_rows_csv(in, "r.csv");
}

std::string npy_error(const std::string& file, bool hint = true) {
  return error_of([&] { read_npy_text(file, hint); });
}

std::string csv_error(const std::string& text) {
  return error_of([&] { read_csv_text(text); });
}

void expect_one_line(const std::string& m, const std::string& source) {
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  EXPECT_EQ(m.rfind("'" + source + "': ", 0), 0u) << m;
}

// `count` copies of `piece`, produced on demand (a file far larger than memory would hold).
class Repeat : public std::streambuf {
 public:
  Repeat(std::string piece, uint64_t count) : piece_(std::move(piece)), left_(count) {}

 protected:
  int_type underflow() override {
    if (left_ == 0) return traits_type::eof();
    --left_;
    setg(piece_.data(), piece_.data(), piece_.data() + piece_.size());
    return traits_type::to_int_type(piece_[0]);
  }

 private:
  std::string piece_;
  uint64_t left_;
};

}  // namespace

TEST(Rows, NpyValuesReadBackExactly) {
  std::mt19937_64 rng(18);
  std::string i8, i16, i32, f4, f8;
  std::vector<double> want;
  for (int i = 0; i < 6; ++i) {
    const int8_t a = static_cast<int8_t>(rng());
    const int16_t b = static_cast<int16_t>(rng());
    const int32_t c = static_cast<int32_t>(rng());
    const float d = std::ldexp(static_cast<float>(static_cast<int32_t>(rng())), -20);
    const double e = std::ldexp(static_cast<double>(static_cast<int64_t>(rng())), -60);
    i8.append(reinterpret_cast<const char*>(&a), 1);
    i16.append(reinterpret_cast<const char*>(&b), 2);
    i32.append(reinterpret_cast<const char*>(&c), 4);
    f4.append(reinterpret_cast<const char*>(&d), 4);
    f8.append(reinterpret_cast<const char*>(&e), 8);
    want.insert(want.end(), {double(a), double(b), double(c), double(d), e});
  }
  const std::string data[] = {i8, i16, i32, f4, f8};
  const char* descr[] = {"|i1", "<i2", "<i4", "<f4", "<f8"};
  for (int k = 0; k < 5; ++k) {
    for (int major : {1, 2, 3}) {
      for (bool hint : {true, false}) {
        const RowsData r = read_npy_text(npy(descr[k], "2, 3", data[k], major), hint);
        ASSERT_EQ(r.rows.size(), 2u);
        EXPECT_EQ(r.codes, k < 3);
        EXPECT_EQ(r.wide_codes, k == 1 || k == 2);
        for (int i = 0; i < 6; ++i) EXPECT_EQ(r.rows[i / 3][i % 3], want[i * 5 + k]) << descr[k] << " " << i;
      }
    }
    const RowsData one = read_npy_text(npy(descr[k], "6,", data[k]));  // 1-D: one row
    ASSERT_EQ(one.rows.size(), 1u);
    EXPECT_EQ(one.rows[0].size(), 6u);
  }
}

TEST(Rows, NpyShapesAreCheckedBeforeAnyAllocation) {
  // (2^36, 2^28): the old product wrapped to 0 past the size check and allocated gigabytes.
  for (const char* shape : {"68719476736, 268435456", "18446744073709551615,", "18446744073709551616, 1",
                            "16777217,", "4097, 4097", "1, 99999999999999999999999"}) {
    SCOPED_TRACE(shape);
    for (bool hint : {true, false}) {
      const std::string m = npy_error(npy("|i1", shape, "abc"), hint);
      expect_one_line(m, "r.npy");
      EXPECT_NE(m.find("rows files hold at most 16777216 values"), std::string::npos) << m;
    }
  }
  const std::string rows = npy_error(npy("|i1", "1048577, 1", ""), false);
  EXPECT_NE(rows.find("rows files hold at most 1048576 rows, got more"), std::string::npos) << rows;
  // A shape within the bound whose data is not in the file: refused from the size (no allocation).
  const std::string m = npy_error(npy("<f8", "4096, 4096", "12345678"));
  EXPECT_NE(m.find("shape (4096 x 4096 values of 8 bytes) needs 134217728 bytes of data, the file has 8"),
            std::string::npos)
      << m;
  // Without a size (a stream), the same file ends in "truncated" after at most a chunk.
  EXPECT_NE(npy_error(npy("<f8", "4096, 4096", "12345678"), false).find("truncated data"), std::string::npos);
}

TEST(Rows, BadNpyFilesGetOneLineNamingTheFile) {
  const std::string two(2, '\0');
  const std::pair<std::string, std::string> cases[] = {
      {"PK\x03\x04 not numpy", "not a .npy file (no \\x93NUMPY magic)"},
      {std::string("\x93NUMPY\x04\x00", 8) + "xx", ".npy version must be 1, 2 or 3, got 4"},
      {std::string("\x93NUMPY\x02\x00\xff\xff\xff\x7f", 12), ".npy header must be at most 65536 bytes, got 2147483647"},
      {std::string("\x93NUMPY\x01\x00\x50\x00{'descr'", 17), "truncated .npy header"},
      {npy("|u1", "2,", two), "dtype '|u1' is not supported"},
      {npy(">f4", "2,", two), "dtype '>f4' is not supported"},
      {npy("|i1", "2,", two, 1, "True"), "Fortran-order .npy arrays are not supported"},
      {npy("|i1", "", ""), "rows must be a 1-D or 2-D array, got shape ()"},
      {npy("|i1", "1, 1, 2", two), "rows must be a 1-D or 2-D array, got shape (1, 1, 2)"},
      {npy("|i1", "0, 3", ""), "the array is empty"},
      {npy("|i1", "-2,", two), ".npy shape must list non-negative integers, got (-2,)"},
      {npy("|i1", "2,,1", two), ".npy shape (2,,1) has an empty dimension"},
      {npy("|i1", "0x2,", two), ".npy shape must list non-negative integers"},
      {npy("|i1", "2,", two + "x"), "needs 2 bytes of data, the file has 3"},
      {npy("<f4", "1,", std::string("\x00\x00\x80\x7f", 4)), "value [0][0] is not finite"},
  };
  for (const auto& [file, rule] : cases) {
    SCOPED_TRACE(escape_controls(file.substr(0, 40)));
    const std::string m = npy_error(file);
    expect_one_line(m, "r.npy");
    EXPECT_NE(m.find(rule), std::string::npos) << m;
  }
  // Extra data after the array, read as a stream.
  EXPECT_NE(npy_error(npy("|i1", "2,", two + "x"), false).find("more data than the shape"), std::string::npos);
}

TEST(Rows, CsvReadsRowsAndSkipsBlankAndCommentLines) {
  const RowsData r = read_csv_text("# logits\n0.5, -1, 2, 0.25, 0\n\t1,1,1,1,1\r\n\n   \n  # x, y\n3, -2.5, 1e-3\n-0x1p-4");
  ASSERT_EQ(r.rows.size(), 4u);
  EXPECT_EQ(r.rows[0], (std::vector<double>{0.5, -1, 2, 0.25, 0}));
  EXPECT_EQ(r.rows[1], (std::vector<double>{1, 1, 1, 1, 1}));
  EXPECT_EQ(r.rows[2], (std::vector<double>{3, -2.5, 1e-3}));
  EXPECT_EQ(r.rows[3], (std::vector<double>{-0.0625}));
  EXPECT_FALSE(r.codes);
}

TEST(Rows, BadCsvGetsOneLineNamingFileAndLine) {
  const std::pair<std::string, std::string> cases[] = {
      {"1,2\n3,,4\n", "line 2: '' is not a finite number"},
      {"1,2,\n", "line 1: '' is not a finite number"},
      {"1,x\n", "line 1: 'x' is not a finite number"},
      {"1,inf\n", "line 1: 'inf' is not a finite number"},
      {"nan\n", "line 1: 'nan' is not a finite number"},
      {"1e999\n", "line 1: '1e999' is not a finite number"},
      {"1 2\n", "line 1: a field holds two numbers"},
      {"# only a comment\n\n", "holds no rows"},
      {"", "holds no rows"},
      {std::string(65, '1'), "line 1: a number must have at most 64 characters"},
      {"1\n2\n" + std::string(1000, '9') + "\n", "line 3: a number must have at most 64 characters"},
  };
  for (const auto& [text, rule] : cases) {
    SCOPED_TRACE(escape_controls(text.substr(0, 40)));
    const std::string m = csv_error(text);
    expect_one_line(m, "r.csv");
    EXPECT_NE(m.find(rule), std::string::npos) << m;
  }
}

TEST(Rows, CsvIsBoundedInValuesRowsAndLineLength) {
  // A 1 GB line (was 3.2 GB of memory) and 80 MB of CSV (was 5.3 GB): the field bound stops the
  // first after 65 characters; the value and row bounds stop the others at their limit.
  {
    Repeat src(std::string(1 << 20, '7'), 1024);  // a 1 GiB line, never held in memory
    std::istream in(&src);
    EXPECT_NE(error_of([&] { read_rows_csv(in, "big.csv"); }).find("a number must have at most 64 characters"),
              std::string::npos);
  }
  {
    Repeat src("0,", kMaxRowValues + 1);
    std::istream in(&src);
    EXPECT_EQ(error_of([&] { read_rows_csv(in, "wide.csv"); }),
              "'wide.csv': rows files hold at most 16777216 values, got more");
  }
  {
    Repeat src("0\n", kMaxRows + 1);
    std::istream in(&src);
    EXPECT_EQ(error_of([&] { read_rows_csv(in, "tall.csv"); }),
              "'tall.csv': rows files hold at most 1048576 rows, got more");
  }
  {
    Repeat src("0\n", kMaxRows);  // exactly at the bound: read
    std::istream in(&src);
    EXPECT_EQ(read_rows_csv(in, "tall.csv").rows.size(), kMaxRows);
  }
}

TEST(Rows, FilesMustBeRegular) {
  EXPECT_EQ(error_of([] { read_rows_file("/nonexistent/r.csv"); }),
            "cannot open rows file '/nonexistent/r.csv': No such file or directory");
  EXPECT_EQ(error_of([] { read_rows_file("/dev/zero"); }), "cannot open rows file '/dev/zero': not a regular file (a device)");
  EXPECT_EQ(error_of([] { read_rows_file("/tmp"); }), "cannot open rows file '/tmp': is a directory");
}
