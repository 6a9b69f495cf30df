// Every bad input gets a clear error naming the rule and the value.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "gqalut/function.hpp"
#include "gqalut/io.hpp"
#include "gqalut/metrics.hpp"
#include "gqalut/search.hpp"
#include "gqalut/text.hpp"
#include "support/error_of.hpp"

using namespace gqalut;
using gqalut_test::error_of;

namespace {

std::string read_error(const std::string& text) {
  return error_of([&] {
    std::istringstream in(text);
    read_json(in, "t.json");
  });
}

const char* kGood = R"({"gelu": {"6": {"breakpoints": [0.5], "slopes": [0.0, 1.0], "intercepts": [0.0, -0.5]}}})";

}  // namespace

TEST(Errors, UnknownFunction) {
  EXPECT_EQ(error_of([] { find_function("gleu"); }).rfind("unknown function 'gleu' (known: gelu, ", 0), 0u);
  EXPECT_NO_THROW(find_function("div"));
  EXPECT_EQ(find_function("sqrt_reci").name, "rsqrt");
  EXPECT_EQ(find_function("swish").name, "silu");
}

TEST(Errors, EmptyInvertedAndNonFiniteRanges) {
  EXPECT_EQ(error_of([] { check_range(1, 1); }), "range must satisfy lo < hi, got [1, 1] (empty)");
  EXPECT_EQ(error_of([] { check_range(2, -2); }), "range must satisfy lo < hi, got [2, -2] (inverted)");
  EXPECT_EQ(error_of([] { check_range(NAN, 1); }), "range must be finite, got [nan, 1]");
  EXPECT_EQ(error_of([] { check_range(0, INFINITY); }), "range must be finite, got [0, inf]");
}

TEST(Errors, FunctionNotFiniteOnItsRange) {
  const Function& rsqrt = find_function("rsqrt");
  EXPECT_EQ(error_of([&] { check_finite_on(rsqrt, -4, 4); }).rfind("rsqrt is not finite on [-4, 4]", 0), 0u);
  EXPECT_EQ(error_of([] { parse_expression("1/x", -1, 1); }).rfind("expr is not finite on [-1, 1]", 0), 0u);
  EXPECT_EQ(error_of([] { parse_expression("log(x)", 0, 1); }).rfind("expr is not finite on [0, 1]", 0), 0u);
}

TEST(Errors, BadExpressions) {
  EXPECT_EQ(error_of([] { parse_expression("x +* 2", -1, 1); }).rfind("expression 'x +* 2' is invalid: ", 0), 0u);
  EXPECT_EQ(error_of([] { parse_expression("y", -1, 1); }).rfind("expression 'y' is invalid: ", 0), 0u);
  EXPECT_EQ(error_of([] { parse_expression("  ", -1, 1); }), "expression must not be empty");
  Function f = parse_expression("0.5*x*(1+erf(x/sqrt(2)))", -4, 4);
  EXPECT_NEAR(f(1.0), find_function("gelu")(1.0), 1e-15);
  EXPECT_EQ(f.expression, "0.5*x*(1+erf(x/sqrt(2)))");
}

TEST(Errors, ImpossibleEntryCounts) {
  Problem p = Problem::make(find_function("gelu"), 1);
  EXPECT_EQ(error_of([&] { p.validate(); }), "entries must be in [2, 64], got 1");
  p.entries = 300;
  EXPECT_EQ(error_of([&] { p.validate(); }), "entries must be in [2, 64], got 300");
  p.entries = 8;
  EXPECT_NO_THROW(p.validate());
  p.scales = {13};
  EXPECT_EQ(error_of([&] { p.validate(); }), "scale n must be in [0, 12], got 13");
  p.scales = {0};
  p.lo = 0.1;
  p.hi = 0.2;  // no int8 code at scale 0 lies in [0.1, 0.2]
  EXPECT_EQ(error_of([&] { p.validate(); }), "no int8 input code lies in [0.1, 0.2] at any requested scale");
}

TEST(Errors, MalformedAndTruncatedJson) {
  EXPECT_NO_THROW(read_error(kGood));
  EXPECT_EQ(read_error(kGood), "<no error>");
  std::string truncated(kGood, std::strlen(kGood) - 7);
  EXPECT_EQ(read_error(truncated).rfind("t.json: malformed JSON: parse error", 0), 0u);
  EXPECT_EQ(read_error("").rfind("t.json: malformed JSON: ", 0), 0u);
  EXPECT_EQ(read_error("[1, 2]"), "t.json: top level must be a JSON object {function: {scale: table}}");
  EXPECT_EQ(read_error("{}"), "t.json: no function key at the top level");
  EXPECT_EQ(read_error(R"({"gelu": {}})"), "t.json: \"gelu\" must be a non-empty object of scales");
  EXPECT_EQ(read_error(R"({"gelu": {"x": {}}})"), "t.json: scale key must be an integer in [0, 12], got 'x'");
  EXPECT_EQ(read_error(R"({"gelu": {"6": {"slopes": [0], "intercepts": [0]}}})"),
            "t.json: gelu.6 has no \"breakpoints\" array");
  EXPECT_EQ(read_error(R"({"gelu": {"6": {"breakpoints": "a", "slopes": [0], "intercepts": [0]}}})"),
            "t.json: gelu.6.breakpoints must be an array of numbers");
  EXPECT_EQ(read_error(R"({"gelu": {"6": {"breakpoints": [null], "slopes": [0, 0], "intercepts": [0, 0]}}})"),
            "t.json: gelu.6.breakpoints must hold numbers only, got null");
  EXPECT_EQ(read_error(R"({"gelu": {"6": {"breakpoints": [], "slopes": [0, 0], "intercepts": [0]}}})"),
            "t.json: gelu.6: a table needs as many intercepts as slopes, got 1 and 2");
  EXPECT_EQ(read_error(R"({"gelu": {"6": {"breakpoints": [1, 0], "slopes": [0, 0, 0], "intercepts": [0, 0, 0]}}})"),
            "t.json: gelu.6: breakpoints must be sorted, got 0 after 1 (scale 6)");
  EXPECT_EQ(read_error(R"({"a": {"0": {}}, "b": {"0": {}}})"),
            "t.json: expected one function key at the top level, got 'a' and 'b'");
  EXPECT_EQ(read_error(R"({"gelu": {"1": {"breakpoints": [0.3], "slopes": [0, 0], "intercepts": [0, 0]}}})"),
            "t.json: gelu.1: breakpoint 0.3 is not on the input grid 2^-1 of its scale");
  EXPECT_EQ(read_error(R"({"gelu": {"0": {"breakpoints": [], "slopes": [0], "intercepts": [0]},
                                   "1": {"breakpoints": [0], "slopes": [0, 0], "intercepts": [0, 0]}}})"),
            "t.json: gelu.1: every scale needs the same entry count, got 2 and 1");
}

TEST(Errors, ValuesOverflowingADeclaredFormat) {
  // The metadata declares q1.6; a slope of 2.5 does not fit: refused, never wrapped.
  const char* doc = R"({"gelu": {"6": {"breakpoints": [0.5], "slopes": [0.0, 2.5], "intercepts": [0.0, 0.0]}},
                        "gqalut": {"slope_format": "q1.6", "intercept_format": "q1.6"}})";
  EXPECT_EQ(read_error(doc), "t.json: gelu.6: slope 2.5 does not fit q1.6 (range [-2, 1.984375])");
  const char* offgrid = R"({"gelu": {"6": {"breakpoints": [0.5], "slopes": [0.0, 0.01], "intercepts": [0.0, 0.0]}},
                           "gqalut": {"slope_format": "q1.6"}})";
  EXPECT_EQ(read_error(offgrid), "t.json: gelu.6: slope 0.01 is not on the q1.6 grid 2^-6");
  // Without metadata, wide codes are measured exactly (width grows) up to 16 bits.
  const char* huge = R"({"gelu": {"6": {"breakpoints": [0.5], "slopes": [0.0, 1000.0], "intercepts": [0.0, 0.0]}}})";
  EXPECT_EQ(read_error(huge), "t.json: slopes value 1000 needs more than 16 bits at 6 fractional bits");
  EXPECT_EQ(read_error(R"({"gelu": {"6": {"breakpoints": [0.5], "slopes": [0, 1e400], "intercepts": [0, 0]}}})")
                .rfind("t.json: malformed JSON", 0),
            0u);
}

TEST(Errors, MissingFile) {
  EXPECT_EQ(error_of([] { read_json_file("/nonexistent/t.json"); }), "cannot open table file '/nonexistent/t.json': No such file or directory");
}

TEST(Errors, UserTextWithControlCharactersStaysOneLine) {
  // Values echoed in messages have their control characters escaped (a newline
  // or an ESC from a script must not split the message or drive the terminal),
  // and long garbage is cut. Found by fuzz/fuzz_parsers.
  const std::vector<std::string> messages = {
      error_of([] { Format::parse("q1\n.6"); }),
      error_of([] { find_function("ge\x1b[31mlu"); }),
      error_of([] { parse_scales("0:\n6"); }),
      error_of([] { parse_protocol("int\r"); }),
      error_of([] { parse_expression("x +\n", -1, 1); }),
      read_error("{\"ge\\nlu\": 1}"),
      read_error("{\"gelu\": {\"6\\t\": {}}}"),
  };
  for (const auto& m : messages) {
    EXPECT_EQ(m.find_first_of("\n\r\x1b"), std::string::npos) << m;
    EXPECT_NE(m, "<no error>");
  }
  EXPECT_NE(messages[0].find("got 'q1\\n.6'"), std::string::npos) << messages[0];
  EXPECT_NE(messages[1].find("'ge\\x1b[31mlu'"), std::string::npos) << messages[1];
  EXPECT_EQ(quote(std::string(200, 'z'), 10), "'zzzzzzzzzz...'");
  EXPECT_EQ(escape_controls("a\tb\x7f"), "a\\tb\\x7f");
  EXPECT_EQ(escape_controls("gélu"), "gélu");  // UTF-8 is kept
}

// Issue 12: hostile inputs end with one clear line, never a crash, a hang or a wrong result.

TEST(Errors, DeepNestingIsRefusedBeforeAnyRecursion) {
  // 100k levels overflowed the stack in the parser, in e.dump() of the bad element and
  // in the metadata copy; now the reader refuses any nesting deeper than kMaxJsonDepth.
  auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  std::string in_bp = R"({"gelu": {"6": {"breakpoints": )" + nested(100000) + R"(, "slopes": [0], "intercepts": [0]}}})";
  std::string in_meta = std::string(R"({"gelu": {"6": {"breakpoints": [], "slopes": [0], "intercepts": [0]}},)") +
                        R"( "gqalut": {"x": )" + nested(200000) + "}}";
  for (const std::string& doc : {in_bp, in_meta})
    EXPECT_EQ(read_error(doc).rfind("t.json: JSON must nest at most 64 levels deep, got more at byte ", 0), 0u)
        << read_error(doc).substr(0, 200);
  // Brackets inside strings do not count; 64 levels are still read.
  std::string ok = std::string(R"({"gelu": {"6": {"breakpoints": [], "slopes": [0], "intercepts": [0]}},)") +
                   R"( "gqalut": {"note": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"[", "x": )" +
                   nested(62) + "}}";
  EXPECT_EQ(read_error(ok), "<no error>");
  std::istringstream in(ok);
  EXPECT_EQ(read_json(in, "t.json").meta["x"].dump().size(), 124u);  // the metadata is kept as it was
}

TEST(Errors, MetadataOfTheWrongTypeNamesFileAndField) {
  // Was "[json.exception.type_error.302] type must be string, but is number": no file, no field.
  const std::string tables = R"({"gelu": {"6": {"breakpoints": [], "slopes": [0], "intercepts": [0]}}, "gqalut": )";
  EXPECT_EQ(read_error(tables + R"({"slope_format": 3}})"), "t.json: gqalut.slope_format must be a string, got 3");
  EXPECT_EQ(read_error(tables + R"({"slope_format": "q1.6", "intercept_format": [1]}})"),
            "t.json: gqalut.intercept_format must be a string, got [1]");
  EXPECT_EQ(read_error(tables + R"({"function": {"a": 1}}})"), "t.json: gqalut.function must be a string, got {\"a\":1}");
  EXPECT_EQ(read_error(tables + R"({"expression": false}})"), "t.json: gqalut.expression must be a string, got false");
  EXPECT_EQ(read_error(tables + R"({"slope_format": "q9.9"}})").rfind("t.json: gqalut.slope_format/intercept_format: ", 0),
            0u);
}

TEST(Errors, ADirectoryIsNotATableFile) {
  // Was "basic_filebuf::underflow error reading the file: Is a directory".
  std::string dir = ::testing::TempDir();
  EXPECT_EQ(error_of([&] { read_json_file(dir); }), "cannot open table file " + quote(dir, 200) + ": is a directory");
}

TEST(Errors, GridProtocolIsBounded) {
  // 2e19 points were converted to size_t (UB) and 2e9 points grew to 15 GB.
  EXPECT_EQ(error_of([] { arange(-1e17, 1e17); }),
            "grid on [-1e+17, 1e+17) at step 0.01 has 2e+19 points; at most 10000000 (a range at most 100000 wide)");
  EXPECT_EQ(error_of([] { arange(-1e7, 1e7); }).rfind("grid on [-10000000, 10000000) at step 0.01 has 2e+09 points", 0),
            0u);
  EXPECT_EQ(error_of([] { arange(0, 1, 0); }), "grid needs a finite range and a finite step > 0, got [0, 1) step 0");
  EXPECT_EQ(arange(-50000, 50000).size(), 10'000'000u);  // the bound itself is allowed
}

TEST(Errors, SearchRangesAreBounded) {
  // uniform on [-1e308, 1e308] wrote breakpoint -2147483648 (UB); the faithful GA crashed.
  Problem p = Problem::make(find_function("gelu"), 8);
  p.lo = -1e308;
  p.hi = 1e308;
  const std::string rule =
      "range must lie within [-65536, 65536] for a search (no 16-bit input code lies beyond, and breakpoint "
      "codes x*2^n, n <= 12, must fit in 32 bits), got [-1e+308, 1e+308]";
  EXPECT_EQ(error_of([&] { Uniform().run(p); }), rule);
  GaSettings faithful;
  faithful.improved = false;
  faithful.generations = 1;
  EXPECT_EQ(error_of([&] { GeneticAlgorithm(faithful).run(p); }), rule);
  EXPECT_EQ(error_of([&] { Optimal().run(p); }), rule);
  faithful.breakpoint_range = std::make_pair(-1e300, 1.0);
  EXPECT_EQ(error_of([&] { GeneticAlgorithm{faithful}; }).rfind("breakpoint range must lie within [-65536, 65536]", 0), 0u);
  p.lo = -65536;
  p.hi = 65536;
  p.scales = {0};
  EXPECT_NO_THROW(p.validate());
}

TEST(Errors, GaWorkIsBounded) {
  GaSettings s;
  s.generations = 2'000'000;
  EXPECT_EQ(error_of([&] { GeneticAlgorithm{s}; }), "generations must be <= 1000000, got 2000000");
  s.generations = 100'000;
  s.population = 10'000;
  EXPECT_EQ(error_of([&] { GeneticAlgorithm{s}; }),
            "GA work population x generations must be <= 100000000, got 10000 x 100000");
  s = {};
  s.population = 2;  // the improved GA keeps min(elites, population - 1) elites: 2 is allowed, as --help says
  s.generations = 2;
  Problem p = Problem::make(find_function("gelu"), 4);
  p.scales = {4};
  EXPECT_NO_THROW(GeneticAlgorithm(s).run(p));
}

TEST(Errors, PoleOnAnEvaluatedPointIsFound) {
  // 1/(x-1) on [-300, 300]: the old check sampled a 600/2^20 grid that missed x = 1, a P-int
  // point (q = 1 at scale 0), and the file got "mse": null.
  EXPECT_EQ(error_of([] { parse_expression("1/(x-1)", -300, 300); }), "expr is not finite on [-300, 300] (f(1) = inf)");
  // A pole on the P-grid only (x = -1 + 0.01 * 37, not a dyadic point).
  double pole = arange(-1, 1)[37];
  EXPECT_EQ(error_of([&] { make_function("g", [pole](double x) { return x == pole ? NAN : x; }, -1, 1); })
                .rfind("g is not finite on [-1, 1]", 0),
            0u);
  // A pole at a 16-bit input code at scale 12 beyond the 2^22-point grid of a wide range.
  double code = std::ldexp(12345.0, -12);
  EXPECT_EQ(error_of([&] { make_function("h", [code](double x) { return x == code ? INFINITY : x; }, -3000, 3000); })
                .rfind("h is not finite on [-3000, 3000]", 0),
            0u);
  // The protocols refuse a non-finite value themselves, whoever skipped the check.
  Table t;
  t.n = 0;
  t.slopes = {0};
  t.intercepts = {0};
  auto pole_at_1 = [](double x) { return 1 / (x - 1); };
  EXPECT_EQ(error_of([&] { p_int_error(t, pole_at_1, -4, 4); }),
            "function is not finite at x = 1 (f(x) = inf), a point of the P-int protocol at scale 0");
  EXPECT_EQ(error_of([&] { p_grid_error(t, [](double x) { return x > 0.5 ? NAN : x; }, 0, 1); })
                .rfind("function is not finite at x = 0.51 (f(x) = nan), a point of the P-grid protocol", 0),
            0u);
}

TEST(Errors, NnLutWorkIsBounded) {
  NnLutSettings s;
  s.epochs = 2'000'000;
  EXPECT_EQ(error_of([&] { NnLut{s}; }), "epochs must be <= 1000000, got 2000000");
  s.epochs = 100'000;
  s.samples = 100'000;
  EXPECT_EQ(error_of([&] { NnLut{s}; }), "NN-LUT work samples x epochs must be <= 2000000000, got 100000 x 100000");
  EXPECT_NO_THROW(NnLut{NnLutSettings{}});
}

// A range far narrower than 1e-12 (found by fuzz_parsers as a timeout): the finiteness check
// and the automatic formats count their chords instead of stepping until they pass hi + 1e-12,
// which took ~1e12 steps on [-1e-23, 0]. Both must end at once and cover the range ends.
TEST(Errors, TinyRangesEndPromptly) {
  const Function& gelu = find_function("gelu");
  EXPECT_NO_THROW(check_finite_on(gelu, -1e-23, 0));
  EXPECT_NO_THROW(check_finite_on(gelu, 1000, std::nextafter(1000.0, 2000.0)));
  Problem p = Problem::make(gelu, 4);
  p.lo = -1e-23;
  p.hi = 0;
  p.slope_format = FormatChoice::parse("auto");
  p.intercept_format = FormatChoice::parse("auto");
  EXPECT_NO_THROW(p.resolve_formats());
  // The pole at 0 inside such a range is still found.
  EXPECT_THROW(make_function("inv", [](double x) { return 1 / x; }, -1e-23, 2e-23), std::invalid_argument);
}

// Issue 18, class 3: metadata that contradicts the data, read as something else with exit 0.
TEST(Errors, InputBitsAreRangeCheckedBeforeNarrowing) {
  // 4294967300 = 2^32 + 4 was read as a 4-bit table.
  const std::string head = R"({"gelu": {"6": {"breakpoints": [], "slopes": [0], "intercepts": [0]}}, "gqalut": )";
  for (const char* v : {"4294967300", "18446744073709551615", "-4294967292", "17", "1", "-1", "4.0", "\"4\""}) {
    SCOPED_TRACE(v);
    EXPECT_EQ(read_error(head + R"({"input_bits": )" + v + "}}"),
              std::string("t.json: gqalut.input_bits must be an integer in [2, 16], got ") + v);
  }
  std::istringstream ok(head + R"({"input_bits": 4}})");
  EXPECT_EQ(read_json(ok, "t.json").at(6).input_bits, 4);
}

TEST(Errors, RepeatedKeysAndScalesAreRefused) {
  // "06" and "6" were one scale: one of the two tables was dropped silently; so was the first
  // of two equal keys anywhere in the file (JSON parsers keep the last).
  const std::string t0 = R"({"breakpoints": [], "slopes": [0], "intercepts": [0]})";
  const std::string t1 = R"({"breakpoints": [], "slopes": [1], "intercepts": [0]})";
  EXPECT_EQ(read_error(R"({"gelu": {"06": )" + t0 + R"(, "6": )" + t1 + "}}"),
            "t.json: scale keys '06' and '6' of \"gelu\" are both scale 6: one table per scale");
  EXPECT_EQ(read_error(R"({"gelu": {"6": )" + t0 + R"(, "6": )" + t1 + "}}"),
            "t.json: key '6' appears twice in one object (JSON keys must be unique)");
  EXPECT_EQ(read_error(R"({"gelu": {"6": )" + t0 + R"(}, "gelu": {"5": )" + t1 + "}}"),
            "t.json: key 'gelu' appears twice in one object (JSON keys must be unique)");
  EXPECT_EQ(read_error(R"({"gelu": {"6": {"breakpoints": [], "slopes": [0], "slopes": [1], "intercepts": [0]}}})"),
            "t.json: key 'slopes' appears twice in one object (JSON keys must be unique)");
  EXPECT_EQ(read_error(R"({"gelu": {"6": )" + t0 + R"(}, "gqalut": {"tie": "left", "tie": "right"}})"),
            "t.json: key 'tie' appears twice in one object (JSON keys must be unique)");
  // Equal keys in different objects are fine.
  std::istringstream ok(R"({"gelu": {"5": )" + t0 + R"(, "6": )" + t1 + R"(}, "gqalut": {"x": {"6": 1}}})");
  EXPECT_EQ(read_json(ok, "t.json").tables.size(), 2u);
}
