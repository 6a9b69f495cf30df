// gqalut: Verilog-2005 export of the INT8 LUT unit (SPEC section 2) and its self-checking
// testbench. The generic entry points (write_verilog, write_verilog_testbench) are declared in
// export.hpp; the generator itself is the hardware layer's (gqalut/hw/pwl_unit.hpp), whose
// programmable geometry and register image this header makes available under gqalut:: too.
#pragma once

#include <iosfwd>
#include <vector>

#include "gqalut/export.hpp"
#include "gqalut/hw/pwl_unit.hpp"
#include "gqalut/table.hpp"

namespace gqalut {

using hw::program_image;
using hw::programmable_geometry;
using hw::ProgrammableGeometry;
using hw::RegisterWrite;
using hw::verilog_module_name;
using hw::verilog_scale;

// A testbench for one programmable unit (geometry from the first set; all sets
// must have the same entry count) that loads every scale of every set in turn
// and sweeps the 256 input codes after each load. Prints "PASS: <n> checks"
// or "FAIL: <e> of <n> checks" and calls $finish (FAIL also calls $fatal).
void write_verilog_testbench(std::ostream& out, const std::vector<TableSet>& sets,
                             const ExportOptions& opt);

}  // namespace gqalut
