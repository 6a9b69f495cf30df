// gqalut hardware layer: the integer LayerNorm unit (issue 16, point 3), generated from a plan
// (the RSQRT table and constants of prepare_layernorm, i.e. ref::LayerNormRef), with testbenches
// whose expected values come from the stage functions of include/gqalut/datapath.hpp.
// Interface, pipeline, latency and throughput: docs/hw_units.md. Shares the option, timing,
// testbench and verification types of the softmax unit (gqalut/hw/softmax_unit.hpp).
// Timing (layernorm_unit_timing, checked against simulation): a row of B beats takes
// 2B + 6 + statistics cycles from its first input beat to its last output beat, statistics =
// 1 + 2M + 4 + 3SM + 1 + 2M + 3 with M = ceil(36 / mul_digit_bits) + 2 and S Newton steps (119
// cycles for the defaults); rows back to back every row + 1 cycles (256 elements at 1 lane: 638
// cycles, 0.401 elements/cycle). The element pipeline (5 register stages and a 7-entry output
// queue) never stalls; every logic path fits a 10 ns clock in OSU 0.18 um (nets that reach
// every row-buffer entry need the flow's buffer trees, --buffer-nets; docs/hw_units.md).
// Re-streamed (restream): no row buffer; the source sends each row twice (pass 1: x for the
// statistics, gamma and beta ignored; pass 2: x, gamma, beta into the same pipeline, taken while
// a credit is free); the same cycle counts when the source keeps up, with 2B beats in per row.
// Without buffer trees it misses 10 ns from max_n 64 (10.6-10.8 ns: _stats' rounding shift p_r
// drives both shifters of n R and Sx R); with --buffer-nets it meets it (docs/hw_units.md).
#pragma once

#include <string>
#include <vector>

#include "gqalut/datapath.hpp"
#include "gqalut/hw/softmax_unit.hpp"

namespace gqalut {
class LayerNormPlan;
}

namespace gqalut::hw {

struct LayerNormUnitOptions {
  int max_n = 256;            // longest row (the buffer holds max_n (x, gamma, beta) triples); a multiple of lanes, <= 4096
  int lanes = 1;              // elements per beat, 1..16
  bool programmable = false;  // RSQRT coefficients in registers (write port) instead of constants
  bool restream = false;      // no row buffer: the source sends each row twice (statistics, outputs; docs/hw_units.md)
  int mul_digit_bits = 4;     // the per-row sequential multiplier: multiplier bits per cycle (1..12)
  std::string name = "gqalut_layernorm";
};

// Throws std::invalid_argument (one line) for bad options, and for a plan whose output stage would
// need the reference's 64-bit ("wide") form for some reachable row (the unit implements the 32-bit
// form; the generator proves every reachable (n, V) class stays in it).
VerilogUnit generate_layernorm_unit(const ref::LayerNormRef& r, const LayerNormUnitOptions& opt = {});
VerilogUnit generate_layernorm_unit(const LayerNormPlan& plan, const LayerNormUnitOptions& opt = {});
UnitTiming layernorm_unit_timing(const ref::LayerNormRef& r, const LayerNormUnitOptions& opt, long long n);
// Programmable unit: the writes that load the plan's RSQRT table (waddr = the PWL unit's address).
std::vector<UnitRegisterWrite> layernorm_unit_program(const ref::LayerNormRef& r, const LayerNormUnitOptions& opt);

// Stage testbench: the row statistics and rsqrt (V, E, r, X, seed, Y after Newton, R, and the
// output stage's a, b, s, t) for every RSQRT code at both ends of its rounding interval and
// several exponents, the carry to the next octave, V = 0, and the sums of random rows; the output
// stage on corners and random vectors.
UnitTestbench layernorm_stage_testbench(const ref::LayerNormRef& r, const LayerNormUnitOptions& opt,
                                        const UnitTestOptions& t);
// Row testbench: edge rows (length 1, max_n, all equal, one spike, all -128, extreme gamma and
// beta) and t.random_rows random rows with random stalls, against ref::layernorm_row_ref.
// Re-streamed: each row is sent twice, pass 1 with random gamma and beta.
UnitTestbench layernorm_row_testbench(const ref::LayerNormRef& r, const LayerNormUnitOptions& opt,
                                      const UnitTestOptions& t);
UnitVerification verify_layernorm_unit(const ref::LayerNormRef& r, const LayerNormUnitOptions& opt,
                                       const UnitTestOptions& t, const SimOptions& sim = {},
                                       const LintOptions& lint = {});

}  // namespace gqalut::hw
