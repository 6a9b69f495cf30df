// gqalut hardware layer, internal: the scaffolding the streaming row units share (softmax_unit.cpp,
// layernorm_unit.cpp): option checks and stream widths, the top module's row-buffer handshake
// pieces, the table write port, the testbenches' common text and vector files, and verification
// of both testbenches. Each unit keeps its own datapath, stage testbench and expected values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "gqalut/hw/sim.hpp"
#include "gqalut/hw/softmax_unit.hpp"
#include "unit_text.hpp"

namespace gqalut::hw::detail {

using Vars = std::map<std::string, std::string>;

// ---------------------------------------------------------------------------- the stream
// The shape every row unit streams: rows of 1..N elements in beats of L lanes.
struct RowShape {
  std::string P;  // module prefix (the unit's name)
  int L = 1;      // lanes (elements per beat)
  int N = 0;      // longest row
  int NB = 0;     // beats of the longest row, N / L (the row buffer's depth)
  int ABW = 1;    // row buffer address bits
  int CW = 1;     // beat counter bits (0..NB)
  int KB = 1;     // keep count bits (1..L)
};

// Checks the options every row unit takes, in this order, naming the unit kind ("softmax",
// "layernorm") and the value: name (a code name of <= 32 characters), lanes in [1, 16], max_n in
// [2, max_n_hi] and a multiple of lanes with >= 2 beats.
RowShape row_shape(const std::string& kind, const std::string& name, int lanes, int max_n, int max_n_hi);

// Template keys of the shape: P, L, N, NB, NB1, ABW1, CW, CW1, KB, KB1, QW1 (the int8 lanes' width - 1).
Vars row_vars(const RowShape& s);

// Zero / sign extension of the Verilog expression v from `from` to `to` bits (v itself when equal).
std::string zext(const std::string& v, int from, int to);
std::string sext(const std::string& v, int from, int to);

// "1'b1" for lane 0, else "(!<last> || <keep> > KB'dj)": lane j holds an element of the beat.
std::string lane_mask(const std::string& last, const std::string& keep, int KB, int j);

// The output word of the lanes: "<wire>0" for one lane, else {lane L-1, ..., lane 0}, each lane's
// wire gated by its mask on the markers of pipeline stage `stage` (l<stage>, keep_last).
std::string lane_outputs(const RowShape& s, int stage, const std::string& wire);

// The top module's stream keys: KEEPIN, KEEPOUT_END, KEEPSET, KEEPO (out_keep from stage
// `out_stage`), ROWEND, RA, WA_ and PROGC (the table write port passed on to the per-row block
// of a programmable unit).
void add_stream_vars(Vars& v, const RowShape& s, int out_stage, bool programmable);

// The element pipeline's markers (valid, last, first) over `stages` stages after the buffer
// read (vr, v1..v<stages>), the buffer read `read` (the statements, each line indented six
// spaces, e.g. "      qr <= mem[${RA}];\n"), and `last_gate` appended to the last valid (e.g.
// " && (ph == PASS3)"). Template text (keys RA, CW).
std::string marker_pipeline(int stages, const std::string& read, const std::string& last_gate);

// The top module's port list: clk, rst, ${PROG}, the input stream (in_q, `more_inputs`,
// in_last, ${KEEPIN}) and the output stream (`out_port`, out_first, out_last, ${KEEPOUT_END});
// `before_keep` goes between out_last and ${KEEPOUT_END} (softmax: a line break).
std::string stream_ports(const std::string& more_inputs, const std::string& out_port, const std::string& before_keep);

// The per-row block's state machine from reset up to the LOAD state's body (template text, key CW),
// and from the streaming pass `pass_state` to the end of the block: the buffer read advances with
// the pipeline; the row ends when its last output beat is taken.
extern const char* const kRowFsmHead;
std::string row_fsm_tail(const std::string& pass_state);

// A once-per-row block's sequencer (st, fin; done = fin) from reset up to its `case (st)`.
extern const char* const kSeqFsmHead;

// floor(log2 v) of the `bits`-bit register `src` in the `w`-bit register lg (0 for v = 0).
std::string floor_log2(const std::string& src, int bits, int w);

// A PWL table's accumulator `acc` (acc_bits wide, unsigned) and its Newton seed in Q28:
// round(acc 2^-ds) (ds > 0) or acc 2^-ds, on max(acc_bits + 1, 35) bits; `what` names the table.
std::string pwl_seed(const std::string& what, const std::string& acc, const std::string& acc_wide, int acc_bits, int ds);

// The output register: out_valid, `port` <= `value`, out_first / out_last (and ${KEEPO}) from
// pipeline stage `stage`. Template text.
std::string output_register(const std::string& port, const std::string& value, int stage);

// ---------------------------------------------------------------------------- table write port
// A programmable unit's write port: waddr aw bits, wdata dw bits.
struct ProgPort {
  bool on = false;
  int aw = 0, dw = 0;
};

// Port declarations of the write port ("" when baked); `what` names the tables in its comment.
std::string prog_ports(const ProgPort& p, const std::string& what);

// ---------------------------------------------------------------------------- testbenches
extern const char* const kTimescale;

// The testbench's clock, reset and error counters up to its first own declaration.
// tb_head: "module tb_${P}_<suffix>;", clk, rst. kStageTbHead: the stage testbench's head,
// integer counters and ${PROGDECL}. kTbReset: the reset sequence and ${LOAD}.
std::string tb_head(const std::string& suffix);
extern const char* const kStageTbHead;
extern const char* const kTbReset;

// The stage testbench's start of a per-row block and its wait for done (one cycle after).
extern const char* const kTbStartAndWait;

// Keys PROGDECL (write-port registers and the load_tables task), LOAD (its call) and PROGC (the
// port connections, inline or on a line of their own) for `nwrites` table writes.
void add_tb_program_vars(Vars& v, const ProgPort& p, size_t nwrites, bool own_line);

// The stage testbench's keys: NO, NO1 (its output-stage vectors), PROGDECL, LOAD, PROGC (inline).
void add_stage_tb_vars(Vars& v, const ProgPort& p, size_t nwrites, long long nout);

// The row testbench's keys: NI, NI1, NO, NO1 (beats in and out), OW1, PROGDECL, LOAD, PROGC,
// KEEPC, OKEEPC, OKEEPD, STALL, SEED and LIMIT (a cycle bound from the row's cycles).
void add_row_tb_vars(Vars& v, const RowShape& s, const ProgPort& p, size_t nwrites, const UnitTestOptions& to,
                     long long beats, long long row_cycles, size_t rows, long long elems);

// The row testbench's driver (beats from inb[ii], `unpack` the fields they go to, `hold_comment`
// after the held in_valid), checker (every lane of `out_port` against ep; `lane_fail` the
// $display of a lane's mismatch) and run (reset, tables, until every output beat or the limit).
std::string row_tb_driver(const std::string& unpack, const std::string& hold_comment);
std::string row_tb_checker(const std::string& out_port, const std::string& lane_fail);
std::string row_tb_run();

// Sets tb's module tb_<P>_<which>s and its file: the generated-by line naming the testbench and
// where its `expected` values come from, the timescale, `text` and the testbench's verdict.
void set_testbench(UnitTestbench& tb, const std::string& P, const std::string& which, const std::string& expected,
                   const std::string& text);

// tb's data files: `files`, then prog.hex (the table writes) when the unit is programmable.
void set_data_files(UnitTestbench& tb, std::vector<std::pair<std::string, std::string>> files, const ProgPort& p,
                    const std::vector<UnitRegisterWrite>& prog);

// A unit of top module P: the PWL tables' files first (their own headers).
VerilogUnit unit_with_tables(const std::string& P, const std::vector<const Pwl*>& tables);

// The timing of an n-element row so far: beats and pipeline depth; throws unless n in [1, N].
UnitTiming row_timing(const std::string& kind, const RowShape& s, long long n, int pipeline_depth);

// ---------------------------------------------------------------------------- rows
// Row lengths at the beat boundaries: 2, 3, L, L + 1, 2L - 1, N - 1 within [1, N].
std::vector<int> edge_lengths(int L, int N);
// n codes -128 but the last, 127; n codes alternating -128, 127.
std::vector<int8_t> last_high(size_t n);
std::vector<int8_t> alternating(size_t n);
// The length of random row i: to.lengths[i % size] or uniform in [1, N]; throws naming the kind.
size_t random_row_length(std::mt19937_64& rng, const UnitTestOptions& to, long long i, int N,
                         const std::string& kind);

// A row's beats as vector lines: in {last, keep, the unit's lane fields}, out {first, last,
// keep, 8-bit output codes by lane}.
struct RowBeats {
  std::string in, out;
  long long beats = 0;
};
// Lane fields of the beat starting at element lo of an n-element row: code(i) on `width` bits,
// lane L-1 first, 0 past the row's end.
void add_lanes(HexWord& w, const RowShape& s, size_t lo, size_t n, int width, const std::function<uint64_t(size_t)>& code);
void add_row_beats(RowBeats& b, const RowShape& s, size_t n, const std::function<void(HexWord&, size_t lo)>& in_lanes,
                   const std::function<uint64_t(size_t)>& out_code);

// ---------------------------------------------------------------------------- verification
// Lints `unit` and simulates the stage and row testbenches (made in that order); sim.work_dir /
// lint.work_dir get the subfolders "stages", "rows" and "lint".
UnitVerification verify_row_unit(const VerilogUnit& unit, const std::function<UnitTestbench()>& stages,
                                 const std::function<UnitTestbench()>& rows, const SimOptions& sim,
                                 const LintOptions& lint);

}  // namespace gqalut::hw::detail
