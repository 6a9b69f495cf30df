// gqalut export: write a table file in another form (C header, Verilog, JSON).
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "cli.hpp"
#include "gqalut/atomic_file.hpp"
#include "gqalut/export.hpp"
#include "gqalut/io.hpp"

namespace gqalut::cli {
namespace {

struct ExportArgs {
  std::string table;
  std::string format;
  std::string output;
  ExportOptions opt;
};

void run(const ExportArgs& a) {
  const Exporter& ex = find_exporter(a.format);
  check_output(a.output, "export");
  TableSet set = read_json_file(a.table);
  if (a.opt.scale >= 0) set.at(a.opt.scale);  // a clear error for a missing scale
  std::ostringstream s;  // nothing is written unless the export succeeds
  ex.write(s, set, a.opt);
  if (a.output.empty() || a.output == "-") {
    std::cout << s.str();
    return;
  }
  write_file_atomic(a.output, s.str(), "export");  // a failed run leaves the old file as it was
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto a = std::make_shared<ExportArgs>();
  auto* cmd = app.add_subcommand("export", "Write a table as a C header, Verilog RTL or JSON");
  std::string formats;
  for (const auto& e : exporters()) formats += fmt::format("  {:<11} {}\n", e.name, e.description);
  cmd->footer("Formats:\n" + formats +
              "\nExamples:\n"
              "  gqalut export --format c gelu8.json -o gelu8.h\n"
              "  gqalut export --format verilog gelu8.json --scale 6 -o gelu8.v");
  cmd->add_option("table", a->table, "Table file")->required();
  cmd->add_option("--format,-f", a->format, "Output format (see below)")->required();
  cmd->add_option("-o,--output", a->output, "Output file (default: stdout)");
  cmd->add_option("--scale", a->opt.scale, "Export only this scale n, in [0, 12]")->check(int_in(0, Table::kMaxScale));
  cmd->add_option("--name", a->opt.name, "Identifier prefix / module name: a letter, then letters, digits and single '_', at most 40 "
                  "characters, not a keyword of C or Verilog (default: gqalut_<function>)");
  cmd->add_flag("--programmable", a->opt.programmable, "Verilog: run-time loadable table registers");
  cmd->add_flag("--output-register", a->opt.output_register, "Verilog: register the output");
  cmd->add_flag("--testbench", a->opt.testbench, "Verilog: write the self-checking testbench");
  cmd->callback([a] { run(*a); });
}

}  // namespace gqalut::cli
