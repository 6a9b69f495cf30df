// libFuzzer target: gqalut's JSON reader on arbitrary bytes.
//
// Contract checked (docs/fuzzing.md): read_json either throws
// std::invalid_argument (a one-line message naming the rule) or returns tables
// that validate, evaluate on all 256 int8 codes without overflow or UB (the
// sanitizers watch), measure under both protocols against their function with
// finite errors (or a one-line std::invalid_argument), and survive a write/read
// round trip unchanged. Any other exception (std::bad_alloc, nlohmann's
// type_error, ...), a sanitizer report, a stack overflow (deep nesting), a
// timeout or a changed round trip is a finding.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <string>

#include "gqalut/function.hpp"
#include "gqalut/io.hpp"
#include "gqalut/metrics.hpp"
#include "gqalut/table.hpp"

namespace {

[[noreturn]] void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_read_json: %s: %s\n", what, detail.c_str());
  std::abort();
}

bool same_table(const gqalut::Table& a, const gqalut::Table& b) {
  return a.n == b.n && a.breakpoints == b.breakpoints && a.slopes == b.slopes &&
         a.intercepts == b.intercepts && a.slope_format == b.slope_format &&
         a.intercept_format == b.intercept_format;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  gqalut::TableSet set;
  try {
    std::istringstream in(text);
    set = gqalut::read_json(in, "fuzz");
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    if (msg.empty() || msg.find('\n') != std::string::npos) finding("error is not one line", msg);
    return 0;
  } catch (const std::exception& e) {
    finding("exception other than std::invalid_argument", e.what());
  }
  for (const auto& [n, t] : set.tables) {
    try {
      t.validate();
    } catch (const std::exception& e) {
      finding("read_json returned an invalid table", e.what());
    }
    int64_t sink = 0;
    for (int q = -128; q < 128; ++q) sink ^= gqalut::eval_acc(t, q);
    (void)sink;
  }
  // What eval does with an accepted file: its function on its range, both protocols. The
  // only allowed failure is std::invalid_argument with one line (a range the function is not
  // finite on, a grid too large); a foreign exception or a non-finite error is a finding.
  try {
    const gqalut::Function& fn = gqalut::find_function(set.function);
    const double lo = set.lo < set.hi ? set.lo : fn.lo, hi = set.lo < set.hi ? set.hi : fn.hi;
    if (hi - lo <= 64) {  // bounded work per input (the grid's own bound is tested in test_errors)
      gqalut::check_finite_on(fn, lo, hi);
      for (auto protocol : {gqalut::Protocol::p_int, gqalut::Protocol::p_grid}) {
        const gqalut::ErrorReport r = gqalut::evaluate(set, fn.f, lo, hi, protocol);
        for (const auto& e : r.scales)
          if (!std::isfinite(e.mse) || !std::isfinite(e.max_abs_error))
            finding("evaluate returned a non-finite error on a checked range", text);
      }
    }
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    if (msg.empty() || msg.find('\n') != std::string::npos) finding("error is not one line", msg);
  } catch (const std::exception& e) {
    finding("evaluate: exception other than std::invalid_argument", e.what());
  }
  std::ostringstream out;
  try {
    gqalut::write_json(out, set);
  } catch (const std::exception& e) {
    finding("write_json threw on a table read_json accepted", e.what());
  }
  gqalut::TableSet back;
  try {
    std::istringstream in2(out.str());
    back = gqalut::read_json(in2, "round trip");
  } catch (const std::exception& e) {
    finding("our own output does not read back", std::string(e.what()) + "\n" + out.str());
  }
  if (back.tables.size() != set.tables.size()) finding("round trip changed the scales", out.str());
  for (const auto& [n, t] : set.tables) {
    auto it = back.tables.find(n);
    if (it == back.tables.end() || !same_table(t, it->second)) {
      finding("round trip changed a table", out.str());
    }
  }
  return 0;
}
