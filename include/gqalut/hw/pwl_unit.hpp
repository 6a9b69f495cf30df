// gqalut hardware layer: the PWL unit generator (issue 16) — the INT8 LUT unit of SPEC section
// 2, baked for one scale or programmable through a register write port, and its self-checking
// testbench whose expected values come from gqalut::eval_acc. The Verilog exporter
// (gqalut/verilog.hpp, `gqalut export --format verilog`) is a client of this generator.
//
// Datapath (both flavours):
//   c_i   = (q >= P_i), or (q > P_i) for a left-rule table       K-1 comparators (thermometer code)
//   seg   = highest i with c_i, plus one                          priority chain of 2:1 muxes
//   acc   = ((K_seg * q) << sk) + (B_seg << sb)                   one 8x8 signed multiplier, one adder
// with sk = L-n-Fk and sb = L-Fb (constants when baked, registers when programmable).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "gqalut/export.hpp"
#include "gqalut/hw/unit.hpp"
#include "gqalut/table.hpp"

namespace gqalut::hw {

// Geometry of the programmable INT8 unit. Shift amounts are run-time
// registers: the slope term is shifted by sk = L-n-Fk in [0, max_slope_shift],
// the intercept term by sb = L-Fb in [0, max_intercept_shift]. The
// accumulator width is the smallest that is exact for every loadable table.
struct ProgrammableGeometry {
  int entries = 8;               // K; the unit holds K-1 breakpoints, K slopes, K intercepts
  int max_slope_shift = 3;       // sk range [0, 3] (2-bit register)
  int max_intercept_shift = 7;   // sb range [0, 7] (3-bit register): n = 0..7 at Fk = Fb
  int input_bits = 8;            // q and breakpoint registers (b_in)
  int slope_bits = 8;            // slope code registers
  int intercept_bits = 8;        // intercept code registers
  // Comparators c_i = (q >= P_i) (right) or (q > P_i) (left); program_image
  // converts a table of the other rule (codes moved by one, same function).
  TieRule tie = TieRule::right;

  int slope_shift_bits() const;      // register width of sk (>= 1)
  int intercept_shift_bits() const;  // register width of sb (>= 1)
  int index_bits() const;            // ceil(log2(K)), at least 1
  int address_bits() const;          // 2 + index_bits(): {bank[1:0], index}
  int accumulator_bits() const;      // exact acc width for any loadable table
  int data_bits() const;             // wdata width: the widest register (8 for INT8 codes)
};

// The geometry write_verilog uses for `set` when opt.programmable is set: the
// set's entry count, code widths and the default shift ranges, widened if a
// table of the set needs more.
ProgrammableGeometry programmable_geometry(const TableSet& set);

// One register write of the programmable unit's port (addr/data/we).
struct RegisterWrite {
  uint32_t addr = 0;
  uint32_t data = 0;  // 8-bit two's-complement code or shift amount
};

// Address map (bank in the two high address bits):
//   bank 0, index i < K-1: breakpoint code P_i (int8)
//   bank 1, index i < K  : slope code K_i (int8)
//   bank 2, index i < K  : intercept code B_i (int8)
//   bank 3, index 0      : sk (slope shift); index 1: sb (intercept shift)
// The image of table `t` for a unit of geometry `g`: breakpoint codes below
// -128 are clamped to -128 and codes above 127 are set to 127 with every
// segment to their right given the coefficients of the last reachable
// segment (SPEC section 2: unreachable segments may be merged), so every
// int8 input gives eval_acc(t, q). A table with fewer entries than the unit is
// padded the same way. Throws std::invalid_argument if the table is not INT8,
// has more entries than the unit, or needs shifts outside the unit's ranges.
std::vector<RegisterWrite> program_image(const Table& t, const ProgrammableGeometry& g);

// The module name write_verilog uses: opt.name, or "gqalut_<function>" for a
// baked unit and "gqalut_lut<K>" for a programmable one.
std::string verilog_module_name(const TableSet& set, const ExportOptions& opt);

// The scale a baked unit is built for: opt.scale if set (must exist), else the
// largest scale of the set.
int verilog_scale(const TableSet& set, const ExportOptions& opt);

// The unit for `set` (opt.programmable, opt.output_register, opt.scale, opt.name; opt.testbench
// is ignored): one file <module>.v. Throws std::invalid_argument (one line) for a table the unit
// cannot hold (not INT8, a bad name, a missing scale).
VerilogUnit pwl_unit(const TableSet& set, const ExportOptions& opt);
// Its self-checking testbench (top <module>_tb): every input code against eval_acc at the baked
// scale, or, programmable, every scale loaded through the write port in turn. Prints
// "PASS: <n> checks" or "FAIL: <e> of <n> checks" and calls $finish (FAIL also calls $fatal).
VerilogUnit pwl_testbench(const TableSet& set, const ExportOptions& opt);
// A testbench for one programmable unit (geometry from the first set; all sets must have the
// same entry count) that loads every scale of every set in turn and sweeps the input codes.
VerilogUnit pwl_testbench(const std::vector<TableSet>& sets, const ExportOptions& opt);

// The same as text (the exporter's entry points).
void write_pwl_unit(std::ostream& out, const TableSet& set, const ExportOptions& opt);
void write_pwl_testbench(std::ostream& out, const TableSet& set, const ExportOptions& opt);
void write_pwl_testbench(std::ostream& out, const std::vector<TableSet>& sets, const ExportOptions& opt);

}  // namespace gqalut::hw
