// Every bad input gets a clear error naming the rule and the value.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "gqalut/function.hpp"
#include "gqalut/io.hpp"
#include "gqalut/metrics.hpp"
#include "gqalut/search.hpp"
#include "gqalut/text.hpp"

using namespace gqalut;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "<no error>";
}

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
  EXPECT_EQ(error_of([] { read_json_file("/nonexistent/t.json"); }), "cannot open table file '/nonexistent/t.json'");
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
