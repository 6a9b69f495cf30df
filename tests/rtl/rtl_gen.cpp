// gqalut_rtl_gen: writes the INT8 Verilog unit or its testbench for a JSON
// table file (used by scripts/hw_report.sh; the gqalut CLI's `export` does
// the same through the exporter registry).
//   gqalut_rtl_gen TABLE.json [--scale N] [--programmable] [--outreg] [--tb] [--name NAME]
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>

#include "gqalut/export.hpp"
#include "gqalut/io.hpp"

int main(int argc, char** argv) {
  try {
    if (argc < 2) throw std::invalid_argument("usage: gqalut_rtl_gen TABLE.json [--scale N] [--programmable] [--outreg] [--tb] [--name NAME]");
    gqalut::ExportOptions o;
    for (int i = 2; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--programmable") o.programmable = true;
      else if (a == "--outreg") o.output_register = true;
      else if (a == "--tb") o.testbench = true;
      else if (a == "--scale" && i + 1 < argc) o.scale = std::stoi(argv[++i]);
      else if (a == "--name" && i + 1 < argc) o.name = argv[++i];
      else throw std::invalid_argument("unknown option '" + a + "'");
    }
    gqalut::write_verilog(std::cout, gqalut::read_json_file(argv[1]), o);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "gqalut_rtl_gen: " << e.what() << "\n";
    return 2;
  }
}
