// The scaffolding the streaming row units share (row_unit.hpp).
#include "row_unit.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "gqalut/text.hpp"

namespace gqalut::hw::detail {

// ---------------------------------------------------------------------------- the stream
RowShape row_shape(const std::string& kind, const std::string& name, int lanes, int max_n, int max_n_hi) {
  check_code_name(name, kind + " unit name");
  require(name.size() <= 32, fmt::format("{} unit name must be at most 32 characters, got {}", kind, name.size()));
  if (lanes < 1 || lanes > 16)
    throw std::invalid_argument(fmt::format("{} unit lanes must be in [1, 16], got {}", kind, lanes));
  if (max_n < 2 || max_n > max_n_hi)
    throw std::invalid_argument(fmt::format("{} unit max_n must be in [2, {}], got {}", kind, max_n_hi, max_n));
  if (max_n % lanes != 0 || max_n / lanes < 2)
    throw std::invalid_argument(fmt::format(
        "{} unit max_n must be a multiple of lanes with at least 2 beats, got max_n {} and lanes {}", kind, max_n,
        lanes));
  RowShape s;
  s.P = name;
  s.L = lanes;
  s.N = max_n;
  s.NB = s.N / s.L;
  s.ABW = ubits(static_cast<uint64_t>(s.NB - 1));
  s.CW = ubits(static_cast<uint64_t>(s.NB));
  s.KB = ubits(static_cast<uint64_t>(s.L));
  return s;
}

Vars row_vars(const RowShape& s) {
  return {{"P", s.P},           {"L", S(s.L)},          {"N", S(s.N)},     {"NB", S(s.NB)},
          {"NB1", S(s.NB - 1)}, {"ABW1", S(s.ABW - 1)}, {"CW", S(s.CW)},   {"CW1", S(s.CW - 1)},
          {"KB", S(s.KB)},      {"KB1", S(s.KB - 1)},   {"QW1", S(8 * s.L - 1)}};
}

std::string zext(const std::string& v, int from, int to) {
  if (to == from) return v;
  return fmt::format("{{{}'d0, {}}}", to - from, v);
}

std::string sext(const std::string& v, int from, int to) {
  if (to == from) return v;
  return fmt::format("{{{{{}{{{}[{}]}}}}, {}}}", to - from, v, from - 1, v);
}

std::string lane_mask(const std::string& last, const std::string& keep, int KB, int j) {
  return j == 0 ? "1'b1" : fmt::format("(!{} || {} > {}'d{})", last, keep, KB, j);
}

std::string lane_outputs(const RowShape& s, int stage, const std::string& wire) {
  std::string out;
  for (int j = 0; j < s.L; ++j)
    out = fmt::format("({} ? {}{} : 8'd0)", lane_mask("l" + S(stage), "keep_last", s.KB, j), wire, j) +
          (out.empty() ? "" : ", ") + out;
  return s.L > 1 ? "{" + out + "}" : wire + "0";
}

void add_stream_vars(Vars& v, const RowShape& s, int out_stage, bool programmable) {
  const int L = s.L;
  v["PROGC"] = programmable ? "    .we(we), .waddr(waddr), .wdata(wdata),\n" : "";
  v["KEEPIN"] = L > 1 ? fmt::format("  input  wire [{}:0]    in_keep,  // last beat: lanes 0..in_keep-1 hold elements (1..{})\n",
                                    s.KB - 1, L)
                      : "";
  v["KEEPOUT_END"] =
      L > 1 ? fmt::format(",\n  output reg  [{}:0]    out_keep  // last beat: lanes 0..out_keep-1 hold outputs\n", s.KB - 1)
            : "\n";
  v["KEEPSET"] = L > 1 ? fmt::format("            keep_last <= in_last ? in_keep : {}'d{};\n", s.KB, L) : "";
  v["KEEPO"] = L > 1 ? fmt::format("      out_keep <= l{} ? keep_last : {}'d{};\n", out_stage, s.KB, L) : "";
  v["ROWEND"] = fmt::format("(in_last || wp == {}'d{})", s.CW, s.NB - 1);
  v["RA"] = s.CW > s.ABW ? fmt::format("rp[{}:0]", s.ABW - 1) : "rp";
  v["WA_"] = s.CW > s.ABW ? fmt::format("wp[{}:0]", s.ABW - 1) : "wp";
}

std::string marker_pipeline(int stages, const std::string& read, const std::string& last_gate) {
  auto reg = [](char c, int i) { return i == 0 ? std::string(1, c) + "r" : std::string(1, c) + S(i); };
  std::string decl, clear, valid, marks;
  for (int i = 0; i <= stages; ++i) {
    const std::string sep = i ? " " : "";
    decl += (i ? ", " : "") + reg('v', i) + ", " + reg('l', i) + ", " + reg('f', i);
    clear += sep + reg('v', i) + " <= 1'b0;";
    valid += sep + reg('v', i) + " <= " + (i ? reg('v', i - 1) : "issue") + (i == stages ? last_gate : "") + ";";
    if (i > 0)
      marks += (i > 1 ? " " : "") + reg('l', i) + " <= " + reg('l', i - 1) + "; " + reg('f', i) + " <= " +
               reg('f', i - 1) + ";";
  }
  return fmt::format(R"(  reg {};
  always @(posedge clk) begin
    if (rst) begin
      {}
    end else if (adv) begin
      {}
    end
    if (adv) begin
{}      lr <= (rp == nb - ${{CW}}'d1); fr <= (rp == ${{CW}}'d0);
      {}
    end
  end
)",
                     decl, clear, valid, read, marks);
}

std::string stream_ports(const std::string& more_inputs, const std::string& out_port, const std::string& before_keep) {
  return R"(module ${P} (
  input  wire          clk,
  input  wire          rst,      // synchronous, active high
${PROG}  input  wire          in_valid,
  output wire          in_ready,
  input  wire [${QW1}:0]   in_q,
)" + more_inputs + R"(  input  wire          in_last,
${KEEPIN}  output reg           out_valid,
  input  wire          out_ready,
  output reg  [${QW1}:0]   )" + out_port + R"(,
  output reg           out_first,
  output reg           out_last)" + before_keep + "${KEEPOUT_END});\n";
}

const char* const kRowFsmHead = R"(  always @(posedge clk) begin
    if (rst) begin
      ph <= LOAD;
      wp <= ${CW}'d0;
      rp <= ${CW}'d0;
    end else begin
      case (ph)
        LOAD: if (take) begin
)";

std::string row_fsm_tail(const std::string& pass_state) {
  return "        " + pass_state + R"(: begin
          if (issue && adv) rp <= rp + ${CW}'d1;
          if (out_valid && out_ready && out_last) begin wp <= ${CW}'d0; ph <= LOAD; end
        end
        default: ph <= LOAD;
      endcase
    end
  end
)";
}

const char* const kSeqFsmHead = R"(  assign done = fin;
  always @(posedge clk) begin
    if (rst) begin
      st <= IDLE;
      fin <= 1'b0;
    end else begin
      fin <= 1'b0;
      case (st)
)";

std::string floor_log2(const std::string& src, int bits, int w) {
  return fmt::format(R"(  reg [{w1}:0] lg;
  integer i;
  always @* begin
    lg = {w}'d0;
    for (i = 0; i < {bits}; i = i + 1)
      if ({src}[i]) lg = i[{w1}:0];
  end
)",
                     fmt::arg("w1", w - 1), fmt::arg("w", w), fmt::arg("bits", bits), fmt::arg("src", src));
}

std::string pwl_seed(const std::string& what, const std::string& acc, const std::string& acc_wide, int acc_bits, int ds) {
  const int sdw = std::max(acc_bits + 1, 35);
  const std::string seed = ds > 0 ? fmt::format("({} + {}'d{}) >> {}", acc_wide, sdw, uint64_t{1} << (ds - 1), ds)
                                  : fmt::format("{} << {}", acc_wide, -ds);
  return fmt::format(R"(  // the {} table and its seed in Q28
  /* verilator lint_off UNUSEDSIGNAL */
  wire [{}:0] {};
  wire [{}:0] {} = {};
  wire [{}:0] seed = {};
  /* verilator lint_on UNUSEDSIGNAL */
)",
                     what, acc_bits - 1, acc, sdw - 1, acc_wide, zext(acc, acc_bits, sdw), sdw - 1, seed);
}

std::string output_register(const std::string& port, const std::string& value, int stage) {
  return fmt::format(R"(  always @(posedge clk) begin
    if (rst) out_valid <= 1'b0;
    else if (adv) out_valid <= v{s};
    if (adv) begin
      {port} <= {value};
      out_first <= f{s};
      out_last <= l{s};
${{KEEPO}}    end
  end
)",
                     fmt::arg("s", stage), fmt::arg("port", port), fmt::arg("value", value));
}

// ---------------------------------------------------------------------------- table write port
std::string prog_ports(const ProgPort& p, const std::string& what) {
  if (!p.on) return "";
  return fmt::format(
      "  input  wire          we,       // {}\n"
      "  input  wire [{}:0]    waddr,\n  input  wire [{}:0]    wdata,\n",
      what, p.aw - 1, p.dw - 1);
}

// ---------------------------------------------------------------------------- testbenches
const char* const kTimescale = "`timescale 1ns / 1ps\n";

std::string tb_head(const std::string& suffix) {
  return "module tb_${P}_" + suffix + R"(;
  reg clk = 1'b0;
  always #5 clk = ~clk;
  reg rst = 1'b1;
)";
}

const char* const kStageTbHead = R"(module tb_${P}_stages;
  reg clk = 1'b0;
  always #5 clk = ~clk;
  reg rst = 1'b1;
  integer errors = 0, checks = 0, i;
${PROGDECL})";

const char* const kTbStartAndWait = R"(      start = 1'b1;
      @(negedge clk);
      start = 1'b0;
      while (!done) @(negedge clk);
      @(negedge clk);
      checks = checks + 1;
)";

const char* const kTbReset = R"(    repeat (2) @(negedge clk);
    rst = 1'b0;
${LOAD})";

namespace {

// The testbench's table writes: registers of the write port, the program image and the task
// that writes it.
std::string tb_program(const ProgPort& p, size_t nwrites) {
  if (!p.on) return "";
  return subst(R"(  reg we = 1'b0;
  reg [${AW1}:0] waddr = 0;
  reg [${DW1}:0] wdata = 0;
  reg [${PW1}:0] prog [0:${NP1}];
  integer pi;
  task load_tables;
  begin
    for (pi = 0; pi < ${NP}; pi = pi + 1) begin
      @(negedge clk); we = 1'b1; {waddr, wdata} = prog[pi];
    end
    @(negedge clk); we = 1'b0;
  end
  endtask
)",
               {{"AW1", S(p.aw - 1)},
                {"DW1", S(p.dw - 1)},
                {"PW1", S(p.aw + p.dw - 1)},
                {"NP", S(static_cast<long long>(nwrites))},
                {"NP1", S(static_cast<long long>(nwrites) - 1)}});
}

// The table writes as a $readmemh file: {addr, data} per line.
std::string program_file(const ProgPort& p, const std::vector<UnitRegisterWrite>& w) {
  std::string s;
  for (const auto& x : w) s += HexWord().add(x.addr, p.aw).add(x.data, p.dw).str() + "\n";
  return s;
}

const char* const kTbVerdict = R"(    if (errors == 0) $display("PASS: %0d checks", checks);
    else begin
      $display("FAIL: %0d of %0d checks", errors, checks);
      $fatal(1, "testbench failed");
    end
    $finish;
  end
endmodule
)";

}  // namespace

void add_tb_program_vars(Vars& v, const ProgPort& p, size_t nwrites, bool own_line) {
  v["PROGDECL"] = tb_program(p, nwrites);
  v["LOAD"] = p.on ? "    $readmemh(\"prog.hex\", prog);\n    load_tables;\n" : "";
  v["PROGC"] = !p.on ? "" : own_line ? "    .we(we), .waddr(waddr), .wdata(wdata),\n" : ".we(we), .waddr(waddr), .wdata(wdata), ";
}

void add_stage_tb_vars(Vars& v, const ProgPort& p, size_t nwrites, long long nout) {
  v["NO"] = S(nout);
  v["NO1"] = S(nout - 1);
  add_tb_program_vars(v, p, nwrites, false);
}

void add_row_tb_vars(Vars& v, const RowShape& s, const ProgPort& p, size_t nwrites, const UnitTestOptions& to,
                     long long beats, long long row_cycles, size_t rows, long long elems) {
  const int L = s.L;
  v["NI"] = S(beats);
  v["NI1"] = S(beats - 1);
  v["NO"] = S(beats);
  v["NO1"] = S(beats - 1);
  v["OW1"] = S(2 + s.KB + 8 * L - 1);
  add_tb_program_vars(v, p, nwrites, true);
  v["KEEPC"] = L > 1 ? ".in_keep(ikeep), " : "";
  v["OKEEPC"] = L > 1 ? ", .out_keep(okeep)" : "";
  v["OKEEPD"] = L > 1 ? fmt::format("  wire [{}:0] okeep;\n", s.KB - 1) : fmt::format("  wire [{}:0] okeep = 1'b1;\n", s.KB - 1);
  v["STALL"] = to.stall ? "1" : "0";
  v["SEED"] = S(static_cast<long long>(to.seed % 1000000007));
  v["LIMIT"] = S(row_cycles * static_cast<long long>(rows) * 4 + elems * 8 / L + 10000);
}

std::string row_tb_driver(const std::string& unpack, const std::string& hold_comment) {
  return R"(  always @(posedge clk) begin
    if (!rst && started) begin
      cycles <= cycles + 1;
      if (in_valid && in_ready) ii = ii + 1;
      if (in_valid && !in_ready) begin
        in_valid <= 1'b1;)" +
         hold_comment + R"(
      end else if (ii < ${NI} && (${STALL} == 0 || ($random(seed) & 3) != 0)) begin
        in_valid <= 1'b1;
        )" + unpack +
         R"( <= inb[ii];
      end else begin
        in_valid <= 1'b0;
      end
      out_ready <= (${STALL} == 0) || (($random(seed) & 3) != 0);
    end
  end
)";
}

std::string row_tb_checker(const std::string& out_port, const std::string& lane_fail) {
  return R"(  always @(posedge clk) begin
    if (!rst && out_valid && out_ready) begin
      {ef, el, ek, ep} = outb[oi];
      if (out_first !== ef || out_last !== el || okeep !== ek) begin
        errors = errors + 1;
        if (errors <= 20) $display("FAIL: beat %0d markers first=%0d last=%0d keep=%0d, expected %0d %0d %0d",
                                   oi, out_first, out_last, okeep, ef, el, ek);
      end
      for (j = 0; j < ${L}; j = j + 1)
        if (j < ek || ${L} == 1) begin
          checks = checks + 1;
          if ()" +
         out_port + R"([8*j +: 8] !== ep[8*j +: 8]) begin
            errors = errors + 1;
            if (errors <= 20) )" +
         lane_fail + R"(
          end
        end
      oi = oi + 1;
    end
  end
)";
}

std::string row_tb_run() {
  return std::string(R"(  initial begin
    $readmemh("in.hex", inb);
    $readmemh("expected.hex", outb);
)") + kTbReset +
         R"(    @(negedge clk);
    started = 1'b1;
    while (oi < ${NO} && cycles < ${LIMIT}) @(negedge clk);
    if (oi < ${NO}) begin
      errors = errors + 1;
      $display("FAIL: timed out after %0d cycles with %0d of %0d output beats", cycles, oi, ${NO});
    end
    $display("CYCLES: %0d", cycles);
)";
}

void set_testbench(UnitTestbench& tb, const std::string& P, const std::string& which, const std::string& expected,
                   const std::string& text) {
  tb.tb.top = "tb_" + P + "_" + which + "s";
  tb.tb.files.emplace_back(tb.tb.top + ".v", "// Generated by gqalut: " + which + " testbench of " + P +
                                                 ". Expected values: " + expected + ".\n" + kTimescale + text +
                                                 kTbVerdict);
}

void set_data_files(UnitTestbench& tb, std::vector<std::pair<std::string, std::string>> files, const ProgPort& p,
                    const std::vector<UnitRegisterWrite>& prog) {
  tb.data_files = std::move(files);
  if (p.on) tb.data_files.emplace_back("prog.hex", program_file(p, prog));
}

VerilogUnit unit_with_tables(const std::string& P, const std::vector<const Pwl*>& tables) {
  VerilogUnit u;
  u.top = P;
  for (const Pwl* t : tables) u.files.emplace_back(t->module + ".v", t->text);
  return u;
}

UnitTiming row_timing(const std::string& kind, const RowShape& s, long long n, int pipeline_depth) {
  if (n < 1 || n > s.N) throw std::invalid_argument(fmt::format("{} row length must be in [1, {}], got {}", kind, s.N, n));
  UnitTiming t;
  t.beats = (n + s.L - 1) / s.L;
  t.pipeline_depth = pipeline_depth;
  return t;
}

// ---------------------------------------------------------------------------- rows
std::vector<int> edge_lengths(int L, int N) {
  std::vector<int> out;
  for (int n : {2, 3, L, L + 1, 2 * L - 1, N - 1})
    if (n >= 1 && n <= N) out.push_back(n);
  return out;
}

std::vector<int8_t> last_high(size_t n) {
  std::vector<int8_t> q(n, -128);
  q[n - 1] = 127;
  return q;
}

std::vector<int8_t> alternating(size_t n) {
  std::vector<int8_t> q(n);
  for (size_t i = 0; i < n; ++i) q[i] = i % 2 ? 127 : -128;
  return q;
}

size_t random_row_length(std::mt19937_64& rng, const UnitTestOptions& to, long long i, int N,
                         const std::string& kind) {
  const size_t n = to.lengths.empty()
                       ? std::uniform_int_distribution<size_t>(1, static_cast<size_t>(N))(rng)
                       : static_cast<size_t>(to.lengths[static_cast<size_t>(i) % to.lengths.size()]);
  if (n < 1 || n > static_cast<size_t>(N))
    throw std::invalid_argument(fmt::format("{} testbench row length must be in [1, {}], got {}", kind, N, n));
  return n;
}

void add_lanes(HexWord& w, const RowShape& s, size_t lo, size_t n, int width, const std::function<uint64_t(size_t)>& code) {
  for (int j = s.L - 1; j >= 0; --j) {
    const size_t i = lo + static_cast<size_t>(j);
    w.add(i < n ? code(i) : 0, width);
  }
}

void add_row_beats(RowBeats& b, const RowShape& s, size_t n, const std::function<void(HexWord&, size_t lo)>& in_lanes,
                   const std::function<uint64_t(size_t)>& out_code) {
  const size_t L = static_cast<size_t>(s.L), keeps = static_cast<size_t>(1 << s.KB);
  for (size_t beat = 0; beat * L < n; ++beat) {
    const size_t lo = beat * L, keep = std::min(L, n - lo);
    const bool last = lo + keep == n;
    HexWord wi, wo;
    wi.add(last, 1).add(keep % keeps, s.KB);
    in_lanes(wi, lo);
    wo.add(beat == 0, 1).add(last, 1).add(keep % keeps, s.KB);
    add_lanes(wo, s, lo, n, 8, out_code);
    b.in += wi.str() + "\n";
    b.out += wo.str() + "\n";
    ++b.beats;
  }
}

// ---------------------------------------------------------------------------- verification
UnitVerification verify_row_unit(const VerilogUnit& unit, const std::function<UnitTestbench()>& stages,
                                 const std::function<UnitTestbench()>& rows, const SimOptions& sim,
                                 const LintOptions& lint) {
  UnitVerification v;
  LintOptions lo = lint;
  if (!lo.work_dir.empty()) lo.work_dir += "/lint";
  v.lint = hw::lint(unit, lo);
  auto run = [&](const UnitTestbench& t, const std::string& sub) {
    SimOptions so = sim;
    if (!so.work_dir.empty()) so.work_dir += "/" + sub;
    so.data_files.insert(so.data_files.end(), t.data_files.begin(), t.data_files.end());
    return simulate(unit, t.tb, so);
  };
  v.stages = run(stages(), "stages");
  v.rows = run(rows(), "rows");
  return v;
}

}  // namespace gqalut::hw::detail
