// gqalut: exporters. Each writes one TableSet to a std::ostream; the list in
// src/export/exporters.def drives `gqalut export --format NAME`.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "gqalut/table.hpp"

namespace gqalut {

struct ExportOptions {
  int scale = -1;                  // the scale to export; -1: every scale the exporter supports
  std::string name;                // identifier prefix / module name; default from the function
  bool programmable = false;       // verilog: run-time loadable table registers
  bool output_register = false;    // verilog: register the output
  bool testbench = false;          // verilog: write the self-checking testbench instead
};

using ExportFn = void (*)(std::ostream&, const TableSet&, const ExportOptions&);

struct Exporter {
  const char* name;         // --format value
  const char* description;  // one line for --help
  ExportFn write;
};

// Every registered exporter, in the order of exporters.def.
const std::vector<Exporter>& exporters();
// Throws std::invalid_argument "unknown export format 'x' (known: json, c, ...)".
const Exporter& find_exporter(const std::string& name);

// The exporters (declared here, one file each in src/export/).
void write_json_export(std::ostream& out, const TableSet& set, const ExportOptions& opt);
// Verilog-2005 INT8 LUT unit (src/export/verilog.cpp; more API in verilog.hpp).
// Baked for opt.scale (default: the largest scale of the set) unless
// opt.programmable; opt.testbench writes the testbench instead. Throws
// std::invalid_argument for tables that are not INT8.
void write_verilog(std::ostream& out, const TableSet& set, const ExportOptions& opt);
// Self-checking testbench for write_verilog's unit with the same options.
void write_verilog_testbench(std::ostream& out, const TableSet& set, const ExportOptions& opt);
// Self-contained C99 header (src/export/c_header.cpp): the codes of every
// scale (or opt.scale), formats, shifts and static inline apply functions
// doing the integer datapath bit-exactly. Identifier prefix: opt.name or
// gqalut_<function>. Throws if an accumulator does not fit int32.
void write_c_header(std::ostream& out, const TableSet& set, const ExportOptions& opt);

}  // namespace gqalut
