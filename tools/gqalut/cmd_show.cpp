// gqalut show: a table file per scale, as integer codes and real values.
#include <cstdio>
#include <iterator>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "gqalut/io.hpp"
#include "gqalut/metrics.hpp"
#include "gqalut/text.hpp"

namespace gqalut::cli {
namespace {

void run(const std::string& path, const std::string& scales_text) {
  TableSet set = read_json_file(path);
  std::vector<int> scales = scales_text.empty() ? set.scales() : parse_scales(scales_text);
  for (int n : scales) set.at(n);  // a missing scale fails before anything is printed
  std::string report;
  auto out = std::back_inserter(report);
  fmt::format_to(out, "{}: function {}, {} entries", path, set.function, set.entries());
  // Metadata we do not interpret is shown as it is, whatever its type (never a type_error).
  auto shown = [](const nlohmann::json& v) { return escape_controls(v.is_string() ? v.get<std::string>() : v.dump()); };
  if (set.meta.contains("method")) fmt::format_to(out, ", method {}", shown(set.meta["method"]));
  if (set.meta.contains("seed")) fmt::format_to(out, ", seed {}", shown(set.meta["seed"]));
  fmt::format_to(out, "\n");
  // The rule the codes are read with (one per file): recorded by gqalut; an
  // official file records none and is shown as trained (right rule).
  const TieRule tie = set.tie();
  if (set.tie_recorded)
    fmt::format_to(out, "tie rule {} (recorded): x on a breakpoint goes {}\n", to_string(tie), to_string(tie));
  else
    fmt::format_to(out,
                   "tie rule right (the file records none; shown as the official trainer fits it): x on a breakpoint\n"
                   "goes right. The official PyTorch op (torch.bucketize) sends it left: there segment i starts\n"
                   "one code later, at P + 1 (gqalut eval shows both errors)\n");
  const char* from_head = tie == TieRule::right ? "from q >= P (x)" : "after q > P (x)";
  for (int n : scales) {
    const Table& t = set.at(n);
    fmt::format_to(out, "\nscale n = {} (x = q * 2^-{}), slopes {} intercepts {}, output acc * 2^-{}, acc {} bits{}\n", n, n,
               t.slope_format.name(), t.intercept_format.name(), t.shift(), t.accumulator_bits(),
               t.is_int8() ? "" : ", NOT INT8");
    fmt::format_to(out, "{:>4}  {:>17}  {:>18}  {:>18}\n", "seg", from_head, "slope K (k)", "intercept B (b)");
    for (int i = 0; i < t.entries(); ++i) {
      std::string from = i == 0 ? std::string("-inf")
                                : fmt::format("{} ({})", t.breakpoints[i - 1], t.breakpoint_value(i - 1));
      fmt::format_to(out, "{:>4}  {:>17}  {:>18}  {:>18}\n", i, from,
                 fmt::format("{} ({})", t.slopes[i], t.slope_value(i)),
                 fmt::format("{} ({})", t.intercepts[i], t.intercept_value(i)));
    }
  }
  std::fwrite(report.data(), 1, report.size(), stdout);
}

}  // namespace

void add_show_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto scales = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("show", "Print a table file per scale as integer codes and real values");
  cmd->footer("Example:\n  gqalut show ../shared/reference/official/gelu_pwl_7.json --scales 6");
  cmd->add_option("table", *path, "Table file")->required();
  cmd->add_option("--scales", *scales, "Scales to show, e.g. 0:6 or 5 (default: all)");
  cmd->callback([path, scales] { run(*path, *scales); });
}

}  // namespace gqalut::cli
