// gqalut eval: the exact error of a table file under a protocol of SPEC section 3.
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "gqalut/io.hpp"
#include "gqalut/metrics.hpp"

namespace gqalut::cli {
namespace {

struct EvalArgs {
  std::string table;
  FunctionArgs fn;
  std::string protocol = "int";
  std::string scales;
  std::string tie = "right";
  bool json = false;
};

// The function a table is measured against: the one given, else the one the file records.
Function function_for(const TableSet& set, const FunctionArgs& fa, double* lo, double* hi) {
  if (fa.given()) return fa.resolve(lo, hi);
  Function fn;
  if (!set.expression.empty()) {
    fn = parse_expression(set.expression, set.lo, set.hi);
  } else {
    try {
      fn = find_function(set.function);
    } catch (const std::invalid_argument&) {
      throw std::invalid_argument(fmt::format(
          "table function '{}' is not built in; give --func NAME or --expr \"...\" --range LO HI", set.function));
    }
  }
  bool has_range = set.lo < set.hi;
  *lo = !fa.range.empty() ? fa.range[0] : has_range ? set.lo : fn.lo;
  *hi = !fa.range.empty() ? fa.range[1] : has_range ? set.hi : fn.hi;
  check_finite_on(fn, *lo, *hi);
  return fn;
}

void run(const EvalArgs& a) {
  TableSet set = read_json_file(a.table);
  double lo = 0, hi = 0;
  Function fn = function_for(set, a.fn, &lo, &hi);
  Protocol protocol = parse_protocol(a.protocol);
  TieRule tie = parse_tie_rule(a.tie);
  std::vector<int> scales = a.scales.empty() ? set.scales() : parse_scales(a.scales);
  ErrorReport r = evaluate(set, fn.f, lo, hi, protocol, scales, tie);
  const Table& first = set.tables.begin()->second;
  if (a.json) {
    nlohmann::ordered_json j;  // keys in the documented order
    j["function"] = fn.expression.empty() ? fn.name : fn.expression;
    j["entries"] = set.entries();
    j["protocol"] = to_string(protocol);
    j["scales"] = nlohmann::ordered_json::array();
    for (const auto& e : r.scales) {
      nlohmann::ordered_json s;
      s["n"] = e.n;
      s["points"] = e.points;
      s["mse"] = e.mse;
      s["max_abs_error"] = e.max_abs_error;
      j["scales"].push_back(s);
    }
    j["paper_score"] = r.paper_score;
    j["tie_rule"] = to_string(tie);
    j["range"] = {lo, hi};
    j["int8"] = first.is_int8();
    j["slope_format"] = first.slope_format.name();
    j["intercept_format"] = first.intercept_format.name();
    std::cout << j.dump(2) << '\n';
    return;
  }
  fmt::print("{}: {} on [{}, {}], {} entries, slopes {} intercepts {}{}\n", a.table,
             fn.expression.empty() ? fn.name : fn.expression, lo, hi, set.entries(),
             first.slope_format.name(), first.intercept_format.name(),
             first.is_int8() ? "" : "  (NOT INT8: codes wider than 8 bits)");
  fmt::print("protocol P-{} (tie rule: x on a breakpoint goes {})\n", to_string(protocol), to_string(tie));
  fmt::print("{:>3} {:>7} {:>12} {:>12} {:>9}\n", "n", "points", "MSE", "max|err|", "acc bits");
  for (const auto& e : r.scales)
    fmt::print("{:>3} {:>7} {:>12} {:>12} {:>9}\n", e.n, e.points, sci(e.mse), sci(e.max_abs_error),
               set.at(e.n).accumulator_bits());
  fmt::print("paper score (mean MSE over {} scales): {}\n", r.scales.size(), sci(r.paper_score));
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand("eval", "Measure a table's exact error per input scale (P-int or P-grid)");
  cmd->footer(
      "Protocols (SPEC section 3):\n"
      "  int   every int8 code q with x = q*2^-n in the range, output from the integer datapath (default)\n"
      "  grid  x = lo + 0.01 j < hi, the official trainer's fitness grid\n"
      "The paper score is the mean of the per-scale MSEs.\n\n"
      "Example:\n"
      "  gqalut eval --table ../shared/reference/official/gelu_pwl_7.json\n"
      "  gqalut eval --table t.json --protocol grid --scales 4:6 --json");
  cmd->add_option("--table,table", args->table, "Table file (official GQA-LUT JSON or gqalut's)")->required();
  args->fn.add(*cmd);
  cmd->add_option("--protocol", args->protocol, "int | grid")->capture_default_str();
  cmd->add_option("--scales", args->scales, "Scales to measure, e.g. 0:6 or 5 (default: all in the file)");
  cmd->add_option("--tie", args->tie, "right (gqalut) | left (official PyTorch op)")->capture_default_str();
  cmd->add_flag("--json", args->json, "Print one JSON object instead of a table");
  cmd->callback([args] { run(*args); });
}

}  // namespace gqalut::cli
