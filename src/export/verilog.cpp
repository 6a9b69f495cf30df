// Verilog-2005 exporter: a thin client of the hardware layer's PWL unit generator
// (gqalut/hw/pwl_unit.hpp, src/hw/pwl_unit.cpp): table -> text.
#include <ostream>

#include "gqalut/export.hpp"
#include "gqalut/hw/pwl_unit.hpp"
#include "gqalut/verilog.hpp"

namespace gqalut {

void write_verilog(std::ostream& out, const TableSet& set, const ExportOptions& opt) {
  hw::write_pwl_unit(out, set, opt);
}

void write_verilog_testbench(std::ostream& out, const TableSet& set, const ExportOptions& opt) {
  hw::write_pwl_testbench(out, set, opt);
}

void write_verilog_testbench(std::ostream& out, const std::vector<TableSet>& sets, const ExportOptions& opt) {
  hw::write_pwl_testbench(out, sets, opt);
}

}  // namespace gqalut
