// gqalut eval: the exact error of a table file under a protocol of SPEC section 3.
#include <cmath>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "gqalut/io.hpp"
#include "gqalut/metrics.hpp"
#include "gqalut/report.hpp"
#include "gqalut/text.hpp"

namespace gqalut::cli {
namespace {

struct EvalArgs {
  std::string table;
  FunctionArgs fn;
  std::string protocol = "int";
  std::string scales;
  std::string tie;  // empty: the file's rule (right for files that record none)
  bool json = false;
  bool dump_codes = false;
};

// The function a table is measured against: the one given, else the one the file records.
Function function_for(const TableSet& set, const FunctionArgs& fa, double* lo, double* hi) {
  Function fn = fa.given() ? fa.resolve(lo, hi)
                           : recorded_function(set, "give --func NAME or --expr \"...\" --range LO HI");
  if (!fa.given()) measured_range(set, fn, fa.range, lo, hi);
  return fn;
}

// Every input code of table t with its accumulator and value, and the
// in-range codes with f(x): what the P-int figures are computed from.
nlohmann::ordered_json dump_codes(const Table& t, TieRule rule, const Function& fn, double lo, double hi) {
  nlohmann::ordered_json d;
  d["shift"] = t.shift();
  nlohmann::ordered_json codes = nlohmann::ordered_json::array(), acc = codes, value = codes, in = codes, f = codes;
  for (int32_t q = t.input_min(); q <= t.input_max(); ++q) {
    codes.push_back(q);
    acc.push_back(eval_acc(t, q, rule));
    value.push_back(eval_value(t, q, rule));
  }
  for (int32_t q : codes_in_range(t.n, lo, hi, t.input_bits)) {
    in.push_back(q);
    f.push_back(fn(std::ldexp(double(q), -t.n)));
  }
  d["codes"] = codes;
  d["acc"] = acc;
  d["value"] = value;
  d["range_codes"] = in;
  d["f"] = f;
  return d;
}

void run(const EvalArgs& a) {
  TableSet set = read_json_file(a.table);
  double lo = 0, hi = 0;
  Function fn = function_for(set, a.fn, &lo, &hi);
  Protocol protocol = parse_protocol(a.protocol);
  // One meaning per file: a file that records its rule is evaluated with it;
  // --tie chooses the rule only for files that do not (official files).
  const TieRule tie = measured_tie(set, a.tie.empty() ? std::nullopt : std::optional(parse_tie_rule(a.tie)), "--tie",
                                   quote(a.table, 200));
  if (a.dump_codes && protocol != Protocol::p_int)
    throw std::invalid_argument("--dump-codes lists the P-int points: use it with --protocol int");
  const TieRule other = tie == TieRule::right ? TieRule::left : TieRule::right;
  std::vector<int> scales = a.scales.empty() ? set.scales() : parse_scales(a.scales);
  if (a.json || a.dump_codes) {
    nlohmann::ordered_json j = error_report_json(set, fn, lo, hi, protocol, scales, tie);
    if (a.dump_codes)
      for (auto& s : j["scales"]) s["dump"] = dump_codes(set.at(s["n"].get<int>()), tie, fn, lo, hi);
    std::cout << j.dump(2) << '\n';
    return;
  }
  ErrorReport r = evaluate(set, fn.f, lo, hi, protocol, scales, tie);
  // An official file: the trainer fits with the right rule, the official op
  // deploys with the left one; both figures, where they differ.
  ErrorReport r_other;
  if (!set.tie_recorded) r_other = evaluate(set, fn.f, lo, hi, protocol, scales, other);
  const Table& first = set.tables.begin()->second;
  fmt::print("{}: {} on [{}, {}], {} entries, slopes {} intercepts {}{}\n", a.table,
             fn.expression.empty() ? fn.name : fn.expression, lo, hi, set.entries(),
             first.slope_format.name(), first.intercept_format.name(),
             first.is_int8() ? "" : "  (NOT INT8: codes wider than 8 bits)");
  if (set.tie_recorded)
    fmt::print("protocol P-{}, tie rule {} (recorded in the file: x on a breakpoint goes {})\n", to_string(protocol),
               to_string(tie), to_string(tie));
  else
    fmt::print("protocol P-{}, tie rule {}: {}\n(the file records no rule; --tie {} for the other reading)\n",
               to_string(protocol), to_string(tie), tie_meaning(tie), to_string(other));
  if (set.tie_recorded) {
    fmt::print("{:>3} {:>7} {:>12} {:>12} {:>9}\n", "n", "points", "MSE", "max|err|", "acc bits");
    for (const auto& e : r.scales)
      fmt::print("{:>3} {:>7} {:>12} {:>12} {:>9}\n", e.n, e.points, sci(e.mse), sci(e.max_abs_error),
                 set.at(e.n).accumulator_bits());
    fmt::print("paper score (mean MSE over {} scales): {}\n", r.scales.size(), sci(r.paper_score));
    return;
  }
  const char* t1 = tie == TieRule::right ? "trained" : "op";
  const char* t2 = tie == TieRule::right ? "op" : "trained";
  fmt::print("{:>3} {:>7} {:>12} {:>12} {:>9}   {:>12} {:>12}\n", "n", "points", fmt::format("MSE {}", t1),
             fmt::format("max {}", t1), "acc bits", fmt::format("MSE {}", t2), fmt::format("max {}", t2));
  for (size_t i = 0; i < r.scales.size(); ++i) {
    const auto &e = r.scales[i], &o = r_other.scales[i];
    fmt::print("{:>3} {:>7} {:>12} {:>12} {:>9}   {:>12} {:>12}\n", e.n, e.points, sci(e.mse), sci(e.max_abs_error),
               set.at(e.n).accumulator_bits(), sci(o.mse), sci(o.max_abs_error));
  }
  fmt::print("paper score (mean MSE over {} scales): {} {}, {} {}\n", r.scales.size(), sci(r.paper_score),
             tie == TieRule::right ? "as trained" : "in the official op", sci(r_other.paper_score),
             tie == TieRule::right ? "in the official op" : "as trained");
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand("eval", "Measure a table's exact error per input scale (P-int or P-grid)");
  cmd->footer(
      "Protocols (SPEC section 3):\n"
      "  int   every int8 code q with x = q*2^-n in the range, output from the integer datapath (default)\n"
      "  grid  x = lo + 0.01 j < hi, the official trainer's fitness grid\n"
      "The paper score is the mean of the per-scale MSEs.\n"
      "Tie rule: a file gqalut writes records the rule its codes are for and is evaluated with it. An\n"
      "official file records none: it is evaluated as trained (right rule) and, beside it, as the\n"
      "official PyTorch op deploys it (left rule: torch.bucketize sends x on a breakpoint left).\n\n"
      "Examples (gelu8.json: from `gqalut fit --func gelu --entries 8 -o gelu8.json`):\n"
      "  gqalut eval --table ../shared/reference/official/gelu_pwl_7.json\n"
      "  gqalut eval --table gelu8.json --protocol grid --scales 4:6 --json");
  cmd->add_option("--table,table", args->table, "Table file (official GQA-LUT JSON or gqalut's)")->required();
  args->fn.add(*cmd);
  cmd->add_option("--protocol", args->protocol, "int | grid")->capture_default_str();
  cmd->add_option("--scales", args->scales, "Scales to measure, e.g. 0:6 or 5 (default: all in the file)");
  cmd->add_option("--tie", args->tie,
                  "For files that record no tie rule (official files): right (as the official trainer fits,\n"
                  "the default) | left (as the official PyTorch op deploys). Files gqalut writes record theirs");
  cmd->add_flag("--json", args->json, "Print one JSON object instead of a table");
  cmd->add_flag("--dump-codes", args->dump_codes,
                "JSON with, per scale, every input code's acc and value and the in-range codes' f(x)");
  cmd->callback([args] { run(*args); });
}

}  // namespace gqalut::cli
