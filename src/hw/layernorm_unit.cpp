// The integer LayerNorm unit (issue 16, point 3): synthesizable Verilog-2005 generated from a
// plan's reference (ref::LayerNormRef: the RSQRT table and constants of prepare_layernorm), and
// its testbenches, whose expected values come from the stage functions of gqalut/datapath.hpp.
// docs/hw_units.md describes the interface, the pipeline and the timing.
//
// Structure (one row at a time; phases LOAD, STATS, PASS):
//   LOAD   beats of `lanes` (x, gamma, beta clamped to +-(2^(30 - t_min) + 129), which gives the
//          reference's outputs: see make_geo) into the row buffer (one-hot write select); Sx, Sxx, n
//   STATS  one sequential multiplier: V = n Sxx - Sx^2 + eps(n) (ref::layernorm_variance), the
//          split (layernorm_var_split), the RSQRT PWL seed, Newton steps, R (layernorm_rsqrt_round),
//          then n R, Sx R and the output stage's a, b, s, t (layernorm_row_stage, 32-bit form);
//          the rounding half is folded into bq = b - 2^(s-1) once per row
//   PASS   buffer read (one-hot select register) -> d = q a - bq -> z = clamp(d >> s)
//          -> z gamma -> w = round(z gamma 2^-t) -> sat8(w + beta) (ref::layernorm_out) into a
//          kFifo-entry output queue. The element pipeline has no enables (it never stalls): a beat
//          is issued only while fewer than kFifo beats are in flight or queued, so out_ready
//          reaches the queue and the issue alone (no stall signal fans out to the pipeline).
//          With several lanes each lane shifts by its own copy of s and t (loaded in staggered
//          cycles after the statistics, so synthesis keeps them apart).
// Re-streamed (restream, no row buffer): LOAD is pass 1 (x only); PASS takes the row again from
//          the input (x, gamma, beta clamped by _beta) into the pipeline's first register, a beat
//          per cycle while a credit is free (in_ready); the same counts and pipeline.
// Latency and throughput (layernorm_unit_timing, checked in simulation): statistics
// 1 + 2 M + 4 + 3 S M + 1 + 2 M + 3 cycles (M = CYC + 2, S Newton steps: 119 for the default
// CYC 9, S 2); row = 2 B + 6 + statistics (B beats); interval = row + 1; a row of 256 at 1 lane
// every 638 cycles (0.401 elements/cycle). Every register-to-register path is one of: a product
// of at most 25 x 8 or 8 x 23 bits, one add, one shift, one clamp (10 ns in OSU 0.18 um).
#include "gqalut/hw/layernorm_unit.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

#include <fmt/format.h>

#include "gqalut/intops.hpp"
#include "row_unit.hpp"
#include "unit_text.hpp"

namespace gqalut::hw {

using detail::HexWord;
using detail::require;
using detail::S;
using detail::subst;
using detail::sext;
using detail::ubits;
using detail::zext;

namespace {

constexpr int kMulA = 36;   // the sequential multiplier's a operand (y2 < 2^34, Sxx, R)
constexpr int kXW = ref::kNewtonFrac + 5;  // X < 2^33
constexpr int kYW = 31;     // Y < 1.4 2^30
constexpr int kY2W = 34;    // (Y Y) >> 28 < 2^34
constexpr int kXY2W = 30;   // (X y2) >> 28 < 2^29
constexpr int kRW = 23;     // R = round(Y 2^-8) < 2^23
constexpr int kAW = ref::kLnMulBits + 1;  // a <= 2^22
constexpr int kBW = 31;     // |b| <= 128 a + 1 < 2^30
constexpr int kBQW = 32;    // bq = b - 2^(s-1), s <= 30
constexpr int kDW = 34;     // q a - b + 2^(s-1)
constexpr int kZW = ref::kLnZClampBits + 2;  // z in [-2^23, 2^23]
constexpr int kVW2 = 34;    // z gamma
constexpr int kStages = 4;  // element pipeline registers after the buffer read: d, z, z gamma, w
constexpr int kFifo = kStages + 3;  // output queue entries: every beat in flight at full rate
constexpr int kSCopies = 3;  // copies of s (lanes > 1): loaded 0..2 cycles after done
constexpr int kTCopies = 5;  // copies of t: 0..4 cycles after done

int64_t eps_of(const LayerNormDatapath& dp, int64_t n) { return ref::layernorm_eps_codes(dp, n); }

struct Geo : detail::RowShape {
  const ref::LayerNormRef* r = nullptr;
  LayerNormUnitOptions o;
  int NW = 0, SXW = 0, SXXW = 0, EPSW = 1, VW = 0, A = 0, SR = 0, DS = 0, EW = 0, E_min = 0, LZR = 0, LZX = 0;
  int NS = 0, DB = 4, MB = 0, CYC = 0, NRW = 0, SRW = 0, PW = 0, KW = 0;
  int t_min = ref::kLnOutShiftMax;  // the smallest output shift t of a row with V > 0
  int64_t WMAX = 0, BCLAMP = 0;     // |w| <= WMAX; beta clamped to +-BCLAMP
  int WW = 0, BCW = 0, SUW = 0;     // widths of w, the clamped beta, w + beta
  int64_t eps_max = 0;
  detail::Pwl pwl;
};

Geo make_geo(const ref::LayerNormRef& r, const LayerNormUnitOptions& o) {
  Geo g;
  g.r = &r;
  g.o = o;
  const LayerNormDatapath& dp = r.dp;
  static_cast<detail::RowShape&>(g) = detail::row_shape("layernorm", o.name, o.lanes, o.max_n, 4096);
  if (o.mul_digit_bits < 1 || o.mul_digit_bits > 12)
    throw std::invalid_argument(fmt::format("layernorm unit mul_digit_bits must be in [1, 12], got {}", o.mul_digit_bits));
  g.NW = ubits(static_cast<uint64_t>(g.N));
  g.SXW = ubits(uint64_t{128} * static_cast<uint64_t>(g.N)) + 1;
  g.SXXW = ubits(uint64_t{16384} * static_cast<uint64_t>(g.N));
  for (int64_t n = 1; n <= g.N; ++n) g.eps_max = std::max(g.eps_max, eps_of(dp, n));
  require(g.eps_max < (int64_t{1} << 40), "eps codes must be below 2^40");
  g.EPSW = ubits(static_cast<uint64_t>(g.eps_max));
  g.VW = ubits(uint64_t{16384} * static_cast<uint64_t>(g.N) * static_cast<uint64_t>(g.N) +
               static_cast<uint64_t>(g.eps_max));
  g.A = dp.rsqrt_a;
  g.SR = dp.rsqrt_scale;
  require(g.A + 2 <= 7, "RSQRT codes must be positive int8");
  g.DS = dp.rsqrt_table_shift - ref::kNewtonFrac;
  g.E_min = -g.A - 1;
  const int e_max = g.VW - 1 - g.A + 2;
  g.EW = ubits(static_cast<uint64_t>(std::max(-g.E_min, e_max + g.SR + 1))) + 1;
  g.LZR = g.A + 2;
  g.LZX = std::max(0, ref::kNewtonFrac - g.SR - g.E_min);
  g.NS = dp.newton_steps;
  g.DB = o.mul_digit_bits;
  g.MB = (kMulA + g.DB - 1) / g.DB * g.DB;
  g.CYC = g.MB / g.DB;
  g.pwl = detail::make_pwl(r.rsqrt, g.P + "_rsqrt", o.programmable, "rsqrt");
  for (uint32_t c = 1u << g.A; c < (4u << g.A); ++c)
    require(ref::layernorm_rsqrt_acc(r, c) > 0 && ref::layernorm_rsqrt_seed(r, c) < (uint64_t{1} << kYW),
            fmt::format("RSQRT seed of code {} must be in (0, 2^31)", c));
  // R bounds (X within [2^(a-s), 2^(a+2-s)], the Newton bound, rounding) and the output stage's
  // form: every reachable (n, floor(log2 V)) must give t in [1, 29] (the 32-bit form).
  const double rel = dp.rsqrt_newton_max_rel_error + 1e-6;
  const double r_hi = std::ldexp(1.0, ref::kRsqrtBits) / std::sqrt(std::ldexp(1.0, g.A - g.SR)) * (1 + rel) + 2;
  const double r_lo = std::ldexp(1.0, ref::kRsqrtBits) / std::sqrt(std::ldexp(1.0, g.A + 2 - g.SR)) * (1 - rel) - 2;
  require(r_hi < std::ldexp(1.0, kRW), "R must stay below 2^23");
  g.NRW = ubits(static_cast<uint64_t>(r_hi) * static_cast<uint64_t>(g.N));
  g.SRW = ubits(static_cast<uint64_t>(r_hi) * 128 * static_cast<uint64_t>(g.N)) + 1;
  int p_max = 0;
  for (int64_t n = 1; n <= g.N; ++n) {
    const int b_lo = ubits(static_cast<uint64_t>(std::max(1.0, r_lo)) * static_cast<uint64_t>(n));
    const int b_hi = ubits(static_cast<uint64_t>(r_hi) * static_cast<uint64_t>(n));
    for (int lv = 0; lv < g.VW; ++lv) {
      int e = lv - g.A;
      if ((e + g.SR) & 1) --e;
      for (int ee : {e, e + 2}) {
        const int k = ref::kRsqrtBits + (ee + g.SR) / 2;
        for (int b = b_lo; b <= b_hi; ++b) {
          int pp = std::max(0, b - ref::kLnMulBits), f = ref::kLnZFrac, sh = k - f - pp;
          if (sh < 1) {
            f -= 1 - sh;
            sh = 1;
          }
          if (sh > ref::kLnShiftMax) {
            pp += sh - ref::kLnShiftMax;
            sh = ref::kLnShiftMax;
          }
          const int t = f + dp.gamma_frac - dp.out_frac;
          if (t < 1 || t > ref::kLnOutShiftMax)
            throw std::invalid_argument(fmt::format(
                "layernorm unit implements the 32-bit output stage only: rows of {} elements with floor(log2 V) = {} "
                "need t = {} outside [1, {}] (gamma_frac {}, out_frac {})",
                n, lv, t, ref::kLnOutShiftMax, dp.gamma_frac, dp.out_frac));
          p_max = std::max(p_max, pp);
          g.t_min = std::min(g.t_min, t);
        }
      }
    }
  }
  g.PW = ubits(static_cast<uint64_t>(p_max));
  // |z gamma| <= 2^30 gives |w| <= 2^(30 - t) <= W; beta clamped to +-(W + 128) gives the same
  // sat8(w + beta) as the reference's clamp to +-(3 2^29 - 1) (both saturate beyond it), so the
  // buffer keeps beta on BCW bits.
  g.WMAX = (int64_t{1} << (ref::kLnZClampBits + 7 - g.t_min)) + 1;
  g.BCLAMP = g.WMAX + 128;
  require(g.BCLAMP <= ref::kLnBetaClamp, "the unit's beta clamp must not exceed the reference's");
  g.WW = ubits(static_cast<uint64_t>(g.WMAX)) + 1;
  g.BCW = ubits(static_cast<uint64_t>(g.BCLAMP)) + 1;
  g.SUW = std::max(g.WW, g.BCW) + 1;
  g.KW = ubits(static_cast<uint64_t>(ref::kRsqrtBits + (e_max + g.SR) / 2 + 64)) + 1;
  return g;
}

detail::Vars vars_of(const Geo& g) {
  const LayerNormDatapath& dp = g.r->dp;
  detail::Vars v = detail::row_vars(g);
  v.insert({{"NW", S(g.NW)}, {"NW1", S(g.NW - 1)},
          {"SXW", S(g.SXW)}, {"SXW1", S(g.SXW - 1)}, {"SXXW", S(g.SXXW)}, {"SXXW1", S(g.SXXW - 1)},
          {"EPSW", S(g.EPSW)}, {"EPSW1", S(g.EPSW - 1)}, {"VW", S(g.VW)}, {"VW1", S(g.VW - 1)}, {"A", S(g.A)},
          {"SR", S(g.SR)}, {"EW", S(g.EW)}, {"EW1", S(g.EW - 1)}, {"NS", S(g.NS)}, {"MB", S(g.MB)},
          {"MB1", S(g.MB - 1)}, {"NRW", S(g.NRW)}, {"NRW1", S(g.NRW - 1)}, {"SRW", S(g.SRW)},
          {"SRW1", S(g.SRW - 1)}, {"PW", S(g.PW)}, {"PW1", S(g.PW - 1)}, {"KW", S(g.KW)}, {"KW1", S(g.KW - 1)},
          {"GF", S(dp.gamma_frac)}, {"OF", S(dp.out_frac)}, {"IF", S(dp.in_frac)}, {"LR", S(dp.rsqrt_table_shift)},
          {"RW1", S(kRW - 1)}, {"AW1", S(kAW - 1)}, {"BW1", S(kBW - 1)}, {"BQW1", S(kBQW - 1)}, {"WW1", S(g.WW - 1)}, {"BCW1", S(g.BCW - 1)}, {"DW1", S(kDW - 1)},
          {"ZW1", S(kZW - 1)}, {"VW2", S(kVW2 - 1)}, {"XW1", S(kXW - 1)}, {"YW1", S(kYW - 1)},
          {"Y2W1", S(kY2W - 1)}, {"XY2W1", S(kXY2W - 1)}, {"MA1", S(kMulA - 1)}});
  return v;
}

detail::ProgPort prog_port(const Geo& g) { return {g.o.programmable, g.pwl.address_bits, g.pwl.data_bits}; }
std::string prog_ports(const Geo& g) { return detail::prog_ports(prog_port(g), "RSQRT table write port (docs/hw_units.md)"); }

// ---------------------------------------------------------------------------- modules
std::string stats_module(const Geo& g) {
  auto v = vars_of(g);
  const LayerNormDatapath& dp = g.r->dp;
  v["PROG"] = prog_ports(g);
  // eps(n) ROM
  std::string rom;
  if (g.eps_max == 0) {
    rom = fmt::format("  wire [{}:0] eps = {}'d0;\n", g.EPSW - 1, g.EPSW);
  } else {
    rom = fmt::format("  reg [{}:0] eps;  // round(eps n^2 4^in_frac) (ref::layernorm_eps_codes)\n  always @* begin\n    case (n)\n",
                      g.EPSW - 1);
    for (int64_t n = 1; n <= g.N; ++n)
      if (eps_of(dp, n) != 0) rom += fmt::format("      {}'d{}: eps = {}'d{};\n", g.NW, n, g.EPSW, eps_of(dp, n));
    rom += fmt::format("      default: eps = {}'d0;\n    endcase\n  end\n", g.EPSW);
  }
  v["ROM"] = rom;
  v["EPSX"] = zext("eps", g.EPSW, g.VW);
  v["MA_SXX"] = zext("sxx", g.SXXW, kMulA);
  v["MA_SXA"] = zext("sxa", g.SXW - 1, kMulA);
  v["MA_Y"] = zext("y_r", kYW, kMulA);
  v["MA_Y2"] = zext("y2", kY2W, kMulA);
  v["MA_R"] = zext("rr_r", kRW, kMulA);
  v["MB_N"] = zext("n", g.NW, g.MB);
  v["MB_SXA"] = zext("sxa", g.SXW - 1, g.MB);
  v["MB_Y"] = zext("y_r", kYW, g.MB);
  v["MB_X"] = zext("x_r", kXW, g.MB);
  v["MB_3"] = zext("xy3", kXY2W, g.MB);
  v["PWLI"] = g.o.programmable
                  ? fmt::format("  {} u_rsqrt (.clk(clk), .we(we), .waddr(waddr), .wdata(wdata), .q({}), .acc(acc_w));\n",
                                g.pwl.module, zext("r_r", g.A + 3, 8))
                  : fmt::format("  {} u_rsqrt (.q({}), .acc(acc_w));\n", g.pwl.module, zext("r_r", g.A + 3, 8));
  v["LZR"] = S(g.LZR);
  v["LZX"] = S(g.LZX);
  v["RRW1"] = S(g.VW + g.LZR - 1);
  v["XSW1"] = S(g.VW + g.LZX - 1);
  v["VLZR"] = g.LZR > 0 ? fmt::format("{{v_r, {}'d0}}", g.LZR) : "v_r";
  v["VLZX"] = g.LZX > 0 ? fmt::format("{{v_r, {}'d0}}", g.LZX) : "v_r";
  v["A1"] = S(g.A + 1);
  v["A2"] = S(g.A + 2);
  v["A3"] = S(g.A + 3);
  v["R4"] = S(4 << g.A);
  v["LGW"] = S(ubits(static_cast<uint64_t>(g.VW)));
  v["LGW1"] = S(ubits(static_cast<uint64_t>(g.VW)) - 1);
  v["LGX"] = sext(zext("lg_r", ubits(static_cast<uint64_t>(g.VW)), g.EW), g.EW, g.EW);
  v["NSW"] = S(ubits(static_cast<uint64_t>(std::max(g.NS, 1))));
  v["NSW1"] = S(ubits(static_cast<uint64_t>(std::max(g.NS, 1))) - 1);
  v["PWM"] = S(kMulA + g.MB - 1);
  v["NBW"] = S(ubits(static_cast<uint64_t>(g.NRW)));
  v["NBW1"] = S(ubits(static_cast<uint64_t>(g.NRW)) - 1);
  v["EXK"] = sext("e_r", g.EW, g.KW);
  v["PWX"] = zext("p0", ubits(static_cast<uint64_t>(g.NRW)), g.KW);
  v["SRX"] = sext("sr_r", g.SRW, std::max(g.SRW, kBW) + 1);
  v["SRXW1"] = S(std::max(g.SRW, kBW));
  v["NRX"] = zext("nr_r", g.NRW, std::max(g.NRW, kAW) + 1);
  v["NRXW1"] = S(std::max(g.NRW, kAW));
  v["TC"] = S(dp.gamma_frac - dp.out_frac);
  return subst(R"(// Row statistics and the reciprocal square root (ref::layernorm_variance, layernorm_var_split,
// layernorm_rsqrt_seed, ${NS} x layernorm_newton_step, layernorm_rsqrt_round, layernorm_row_stage in
// its 32-bit form) on one sequential multiplier. start (n, sx, sxx valid and held until done) ->
// done (one cycle) with a, bq = b - 2^(s-1), s, t valid from the next cycle on (held until the next
// start). A row with V = 0 gives a = b = 0, s = t = 1 (bq = -1).
module ${P}_stats (
  input  wire          clk,
  input  wire          rst,
${PROG}  input  wire          start,
  input  wire [${NW1}:0]   n,
  input  wire signed [${SXW1}:0] sx,
  input  wire [${SXXW1}:0]  sxx,
  output wire          done,
  output reg  [${AW1}:0]   a,     // a >= 0, <= 2^22
  output reg  signed [${BQW1}:0] bq,  // b - 2^(s-1): the output stage's rounding folded in once per row
  output reg  [4:0]    s,     // s in [1, 30]
  output reg  [4:0]    t      // t in [1, 29]
);
  localparam [4:0] IDLE = 5'd0, M1S = 5'd1, M1 = 5'd2, M2S = 5'd3, M2 = 5'd4, LOG = 5'd5, SPLIT = 5'd6,
                   SPLIT2 = 5'd7, SEED = 5'd8, YYS = 5'd9, YY = 5'd10, XYS = 5'd11, XY = 5'd12, Y3S = 5'd13,
                   Y3 = 5'd14, RND = 5'd15, NRS = 5'd16, NR = 5'd17, SRS = 5'd18, SR = 5'd19, ROW = 5'd20,
                   ROW2 = 5'd21, ROW3 = 5'd22;
  reg [4:0] st;
  reg fin;
  wire [${SXW2}:0] sxa = sx[${SXW1}] ? -sx[${SXW2}:0] : sx[${SXW2}:0];  // |Sx|
  wire sneg = sx[${SXW1}];   // Sx < 0
  reg [${VW1}:0] p1, v_r;
  reg [${LGW1}:0] lg_r;
  reg signed [${EW1}:0] e_r;
  reg [${A2}:0] r_r;          // the RSQRT code, [2^a, 2^(a+2))
  reg [${XW1}:0] x_r;         // X (Q28)
  reg [${YW1}:0] y_r;         // Y (Q28)
  reg [${NSW1}:0] ns_r;
  reg [${RW1}:0] rr_r;        // R (Q20)
  reg [${NRW1}:0] nr_r;       // n R
  reg signed [${SRW1}:0] sr_r;  // Sx R
  reg [${PW1}:0] p_r;
  reg vzero;
  wire mdone;
  /* verilator lint_off UNUSEDSIGNAL */
  wire [${PWM}:0] mp;
  /* verilator lint_on UNUSEDSIGNAL */
  // y2 = (Y Y) >> 28 and xy2 = (X y2) >> 28, read from the multiplier, which holds its product
  // until the next start (the start that uses them)
  wire [${Y2W1}:0] y2 = mp[${Y2HI}:28];
  wire [${XY2W1}:0] xy2 = mp[${XY2HI}:28];
${ROM}  // floor(log2 V)
)" + detail::floor_log2("v_r", g.VW, ubits(static_cast<uint64_t>(g.VW))) + R"(  // E = floor(log2 V) - a, minus 1 if E + s_r is odd; r = round(V 2^-E); a carry to 2^(a+2): r / 4, E + 2
  wire signed [${EW1}:0] e0a = ${LGX} - ${EW}'sd${A};
  wire signed [${EW1}:0] e0 = e0a[0] ^ ${SRBIT} ? e0a - ${EW}'sd1 : e0a;
  /* verilator lint_off UNUSEDSIGNAL */
  wire signed [${EW1}:0] rsh = e0 + ${EW}'sd${LZR1};
  wire [${RRW1}:0] rrw = ${VLZR} >> rsh[${EW1}:0];
  wire [${A3}:0] r1 = rrw[${A3}:0] + ${A4}'d1;
  /* verilator lint_on UNUSEDSIGNAL */
  wire [${A2}:0] r0 = r1[${A3}:1];
  wire rcarry = (r0 >= ${A3}'d${R4});
  // X = V 2^(28 - E - s_r) (truncated)
  /* verilator lint_off UNUSEDSIGNAL */
  wire signed [${EW1}:0] xsh = e_r + ${EW}'sd${XSHC};
  wire [${XSW1}:0] xs = ${VLZX} >> xsh[${EW1}:0];
  /* verilator lint_on UNUSEDSIGNAL */
)" + detail::pwl_seed("RSQRT", "acc_w", "acc_d", g.pwl.acc_bits, g.DS) + R"(${PWLI}  // the sequential multiplier
  wire [${XY2W1}:0] xy3 = 30'd${THREE} - xy2;
  reg [${MA1}:0] ma;
  reg [${MB1}:0] mb;
  always @* begin
    case (st)
      M1S: begin ma = ${MA_SXX}; mb = ${MB_N}; end
      M2S: begin ma = ${MA_SXA}; mb = ${MB_SXA}; end
      YYS: begin ma = ${MA_Y}; mb = ${MB_Y}; end
      XYS: begin ma = ${MA_Y2}; mb = ${MB_X}; end
      Y3S: begin ma = ${MA_Y}; mb = ${MB_3}; end
      NRS: begin ma = ${MA_R}; mb = ${MB_N}; end
      default: begin ma = ${MA_R}; mb = ${MB_SXA}; end
    endcase
  end
  ${P}_mul u_mul (.clk(clk), .rst(rst), .start(st == M1S || st == M2S || st == YYS || st == XYS || st == Y3S ||
    st == NRS || st == SRS), .a(ma), .b(mb), .done(mdone), .p(mp));
  // the output stage's constants (32-bit form): P = max(0, bitlen(n R) - 22), k = 20 + (E + s_r)/2,
  // s = k - 14 - P (s < 1: F = 13 + s, s = 1; s > 30: P += s - 30, s = 30), t = F + gamma_frac - out_frac
  reg [${NBW1}:0] nb;
  integer j;
  always @* begin
    nb = ${NBW}'d0;
    for (j = 0; j < ${NRW}; j = j + 1)
      if (nr_r[j]) nb = j[${NBW1}:0] + ${NBW}'d1;
  end
  wire [${NBW1}:0] p0 = (nb > ${NBW}'d22) ? nb - ${NBW}'d22 : ${NBW}'d0;
  /* verilator lint_off UNUSEDSIGNAL */
  wire signed [${KW1}:0] kk = ${EXK} + ${KW}'sd${SR};
  wire signed [${KW1}:0] sh0 = ${KW}'sd20 + (kk >>> 1) - ${KW}'sd14 - $signed(${PWX});
  wire signed [${KW1}:0] p_adj = $signed(${PWX}) + ((sh0 > ${KW}'sd30) ? sh0 - ${KW}'sd30 : ${KW}'sd0);
  wire signed [${KW1}:0] f0 = (sh0 < ${KW}'sd1) ? ${KW}'sd13 + sh0 : ${KW}'sd14;
  wire signed [${KW1}:0] tt = f0 + ${KW}'sd${TCP} - ${KW}'sd${TCN};
  wire [${NRXW1}:0] ah = ${NRX} + ((p_r == ${PW}'d0) ? ${NRXW}'d0 : (${NRXW}'d1 << (p_r - ${PW}'d1)));
  wire [${NRXW1}:0] av = ah >> p_r;
  wire signed [${SRXW1}:0] bh = ${SRX} + ((p_r == ${PW}'d0) ? ${SRXW}'sd0 : $signed(${SRXW}'d1 << (p_r - ${PW}'d1)));
  wire signed [${SRXW1}:0] bv = bh >>> p_r;
  /* verilator lint_on UNUSEDSIGNAL */
  /* verilator lint_off UNUSEDSIGNAL */
  wire [31:0] yr8 = {1'b0, y_r} + 32'd128;  // R = round(Y 2^-8)
  /* verilator lint_on UNUSEDSIGNAL */
)" + detail::kSeqFsmHead + R"(        IDLE: if (start) st <= M1S;
        M1S: st <= M1;
        M1: if (mdone) begin p1 <= mp[${VW1}:0]; st <= M2S; end
        M2S: st <= M2;
        M2: if (mdone) begin v_r <= p1 - mp[${VW1}:0] + ${EPSX}; st <= LOG; end
        LOG: begin lg_r <= lg; vzero <= (v_r == ${VW}'d0); st <= SPLIT; end
        SPLIT: begin
          e_r <= rcarry ? e0 + ${EW}'sd2 : e0;
          r_r <= rcarry ? {2'b00, r0[${A2}:2]} : r0;
          st <= SPLIT2;
        end
        SPLIT2: begin x_r <= xs[${XW1}:0]; st <= SEED; end
        SEED: begin
          y_r <= seed[${YW1}:0];
          ns_r <= ${NSW}'d${NS};
          st <= (${NSW}'d${NS} == ${NSW}'d0) ? RND : YYS;
        end
        YYS: st <= YY;
        YY: if (mdone) st <= XYS;
        XYS: st <= XY;
        XY: if (mdone) st <= Y3S;
        Y3S: st <= Y3;
        Y3: if (mdone) begin
          y_r <= mp[${YHI}:29];
          ns_r <= ns_r - ${NSW}'d1;
          st <= (ns_r == ${NSW}'d1) ? RND : YYS;
        end
        RND: begin rr_r <= yr8[30:8]; st <= NRS; end
        NRS: st <= NR;
        NR: if (mdone) begin nr_r <= mp[${NRW1}:0]; st <= SRS; end
        SRS: st <= SR;
        SR: if (mdone) begin sr_r <= sneg ? -$signed(mp[${SRW1}:0]) : $signed(mp[${SRW1}:0]); st <= ROW; end
        ROW: begin
          p_r <= p_adj[${PW1}:0];
          s <= (sh0 < ${KW}'sd1) ? 5'd1 : ((sh0 > ${KW}'sd30) ? 5'd30 : sh0[4:0]);
          t <= vzero ? 5'd1 : tt[4:0];
          st <= ROW2;
        end
        ROW2: begin
          a <= vzero ? ${AW}'d0 : av[${AW1}:0];
          bq <= vzero ? ${BQW}'sd0 : ${BVX};
          if (vzero) s <= 5'd1;
          st <= ROW3;
        end
        ROW3: begin
          bq <= bq - $signed(${BQW}'d1 << (s - 5'd1));
          fin <= 1'b1;
          st <= IDLE;
        end
        default: st <= IDLE;
      endcase
    end
  end
endmodule
)",
               [&] {
                 auto w = v;
                 w["SRBIT"] = (g.SR & 1) ? "1'b1" : "1'b0";
                 w["LZR1"] = S(g.LZR - 1);
                 w["A4"] = S(g.A + 4);
                 w["XSHC"] = S(g.SR - ref::kNewtonFrac + g.LZX);
                 w["THREE"] = S(int64_t{3} << ref::kNewtonFrac);
                 w["Y2HI"] = S(28 + kY2W - 1);
                 w["XY2HI"] = S(28 + kXY2W - 1);
                 w["YHI"] = S(29 + kYW - 1);
                 w["RW"] = S(kRW);
                 w["AW"] = S(kAW);
                 w["BW"] = S(kBW);
                 w["BQW"] = S(kBQW);
                 w["BVX"] = fmt::format("{{{{{}{{bv[{}]}}}}, bv[{}:0]}}", kBQW - kBW, kBW - 1, kBW - 1);
                 w["SXW2"] = S(g.SXW - 2);
                 w["NRXW"] = S(std::max(g.NRW, kAW) + 1);
                 w["SRXW"] = S(std::max(g.SRW, kBW) + 1);
                 const int tc = g.r->dp.gamma_frac - g.r->dp.out_frac;
                 w["TCP"] = S(tc > 0 ? tc : 0);
                 w["TCN"] = S(tc < 0 ? -tc : 0);
                 return w;
               }());
}

std::string out_modules(const Geo& g) {
  auto v = vars_of(g);
  v["CLAMP"] = S(g.BCLAMP);
  v["BETATO"] = g.o.restream ? "element pipeline" : "row buffer";
  return subst(R"(// Beta on the way into the ${BETATO}: bc = clamp(beta, +-${CLAMP}). Every row with V > 0 has
// t >= ${TMIN}, so |w| <= 2^(30 - ${TMIN}) + 1 = ${WMAX}, and sat8(w + bc) equals the reference's
// sat8(w + clamp(beta, +-(3 2^29 - 1))): both saturate once |beta| > ${CLAMP}.
module ${P}_beta (
  input  wire signed [31:0] beta,
  output wire signed [${BCW1}:0] bc
);
  /* verilator lint_off UNUSEDSIGNAL */
  wire signed [31:0] c = (beta > 32'sd${CLAMP}) ? 32'sd${CLAMP} : ((beta < -32'sd${CLAMP}) ? -32'sd${CLAMP} : beta);
  /* verilator lint_on UNUSEDSIGNAL */
  assign bc = c[${BCW1}:0];
endmodule

// Output stage 1 (ref::layernorm_out, 32-bit form): d = q a - bq (bq = b - 2^(s-1), the rounding
// half folded into the row constant).
module ${P}_out1 (
  input  wire signed [7:0]  q,
  input  wire [${AW1}:0]      a,
  input  wire signed [${BQW1}:0] bq,
  output wire signed [${DW1}:0] d
);
  wire signed [${DW1}:0] qa = $signed({{${QAP}{q[7]}}, q}) * $signed({${AZ}'d0, a});
  assign d = qa - $signed({{${BP}{bq[${BQW1}]}}, bq});
endmodule

// Output stage 2: z = clamp(d >> s, -2^23, 2^23).
module ${P}_out2 (
  input  wire signed [${DW1}:0] d,
  input  wire [4:0]         s,
  output wire signed [${ZW1}:0] z
);
  wire signed [${DW1}:0] ds = d >>> s;
  assign z = (ds > ${DWW}'sd8388608) ? ${ZWW}'sd8388608 : ((ds < -${DWW}'sd8388608) ? -${ZWW}'sd8388608 : ds[${ZW1}:0]);
endmodule

// Output stage 3: v = z gamma.
module ${P}_out3 (
  input  wire signed [${ZW1}:0] z,
  input  wire signed [7:0]  gamma,
  output wire signed [${VW2}:0] v
);
  assign v = $signed({{${ZP}{z[${ZW1}]}}, z}) * $signed({{${GP}{gamma[7]}}, gamma});
endmodule

// Output stage 4: w = (v + 2^(t-1) - (v < 0)) >> t (|v| <= 2^30, t >= ${TMIN} or v = 0: |w| <= ${WMAX}).
module ${P}_out4 (
  input  wire signed [${VW2}:0] v,
  input  wire [4:0]         t,
  output wire signed [${WW1}:0] w
);
  wire signed [${VW2}:0] vr = v + $signed(${VWW}'d1 << (t - 5'd1)) - {${VWM1}'d0, v[${VW2}]};
  /* verilator lint_off UNUSEDSIGNAL */
  wire signed [${VW2}:0] vs = vr >>> t;
  /* verilator lint_on UNUSEDSIGNAL */
  assign w = vs[${WW1}:0];
endmodule

// Output stage 5: y = sat8(w + bc).
module ${P}_out5 (
  input  wire signed [${WW1}:0] w,
  input  wire signed [${BCW1}:0] bc,
  output wire signed [7:0]  y
);
  wire signed [${SUW1}:0] sum = ${WX} + ${BCX};
  assign y = (sum > ${SUW}'sd127) ? 8'sd127 : ((sum < -${SUW}'sd128) ? -8'sd128 : sum[7:0]);
endmodule
)",
               [&] {
                 auto w = v;
                 w["QAP"] = S(kDW - 8);
                 w["AZ"] = S(kDW - kAW);
                 w["BP"] = S(kDW - kBQW);
                 w["DWW"] = S(kDW);
                 w["ZWW"] = S(kZW);
                 w["ZP"] = S(kVW2 - kZW);
                 w["GP"] = S(kVW2 - 8);
                 w["VWW"] = S(kVW2);
                 w["VWM1"] = S(kVW2 - 1);
                 w["SUW"] = S(g.SUW);
                 w["SUW1"] = S(g.SUW - 1);
                 w["WX"] = sext("w", g.WW, g.SUW);
                 w["BCX"] = sext("bc", g.BCW, g.SUW);
                 w["TMIN"] = S(g.t_min);
                 w["WMAX"] = S(g.WMAX);
                 return w;
               }());
}

// The buffered top module's row-buffer write (LOAD) and its issue and read (PASS).
const char* const kBufferWrite = R"(  // the buffer write: while the unit loads a row, the entry at the write address follows the
  // input until its beat is taken (then the address moves on), so no enable depends on in_valid
  wire row_done = (ph == PASS) && pop && out_last;
  reg [${IW1}:0] mem [0:${NB1}];
  always @(posedge clk) if (ph == LOAD) mem[${WA_}] <= {${IBC}, in_gamma, in_q};
)";
const char* const kBufferRead = R"(  wire issue = (ph == PASS) && (rp != nb) && (cred != ${CRW}'d${FD});
  // the buffer read: a one-hot select register (the decoded next read address), so that no
  // register drives more than one buffer entry's bits
  wire [${CW1}:0] rp_n = (ph == PASS) ? rp + ${ISS} : ${CW}'d0;
  reg [${NB1}:0] rsel;
  // the row buffer's read: mem[i] = {clamped beta, gamma, x} of beat i; the OR of rsel[i] & mem[i],
  // chained in groups of 16 (ent[i].o) and over groups (ent[i].last.c at each group's last entry)
  genvar gi;
  generate
    for (gi = 0; gi < ${NB}; gi = gi + 1) begin : ent
      wire [${IW1}:0] o;
      if (gi % 16 == 0) begin : head
        assign o = {${IW}{rsel[gi]}} & mem[gi];
      end else begin : chain
        assign o = ent[gi - 1].o | ({${IW}{rsel[gi]}} & mem[gi]);
      end
      if (gi % 16 == 15 || gi == ${NB1}) begin : last
        wire [${IW1}:0] c;
        if (gi < 16) begin : first
          assign c = o;
        end else begin : more
          assign c = ent[gi - gi % 16 - 1].last.c | o;
        end
      end
    end
  endgenerate
  reg [${IW1}:0] rd;
)";

// The re-streamed top module (no row buffer): pass 2 takes the row again from the input stream,
// a beat whenever a credit is free, straight into the element pipeline's first register.
const char* const kRestreamRead = R"(  // pass 2: the row again from the source, one beat per free credit (in_ready), into rd
  wire pass2_ready = (ph == PASS) && (rp != nb) && (cred != ${CRW}'d${FD});
  assign in_ready = (ph == LOAD) || pass2_ready;
  wire issue = pass2_ready && in_valid;
  wire [${CW1}:0] rp_n = (ph == PASS) ? rp + ${ISS} : ${CW}'d0;
  reg [${IW1}:0] rd;
)";

std::string top_module(const Geo& g) {
  auto v = vars_of(g);
  const int L = g.L;
  v["PROG"] = prog_ports(g);
  detail::add_stream_vars(v, g, kStages, g.o.programmable);
  v["IW"] = S((16 + g.BCW) * L);
  v["IW1"] = S((16 + g.BCW) * L - 1);
  v["BTW1"] = S(32 * L - 1);
  v["FD"] = S(kFifo);
  v["FD1"] = S(kFifo - 1);
  v["FD2"] = S(kFifo - 2);
  const int crw = ubits(static_cast<uint64_t>(kFifo));
  v["CRW"] = S(crw);
  v["CRW1"] = S(crw - 1);
  v["CRISS"] = zext("issue", 1, crw);
  v["CRPOP"] = zext("pop", 1, crw);
  v["CRV4"] = zext("v4", 1, crw);
  const int fw = 2 + (L > 1 ? g.KB : 0) + 8 * L;  // {first, last, [keep], y}
  v["FW"] = S(fw);
  v["FW1"] = S(fw - 1);
  v["FWORD"] = fmt::format("{{f{s}, l{s}, {keep}{y}}}", fmt::arg("s", kStages),
                           fmt::arg("keep", L > 1 ? fmt::format("(l{} ? keep_last : {}'d{}), ", kStages, g.KB, L) : ""),
                           fmt::arg("y", detail::lane_outputs(g, kStages, "yw")));
  v["FOUT"] = L > 1 ? "{out_first, out_last, out_keep, out_y}" : "{out_first, out_last, out_y}";
  // sums of the input beat over its valid lanes
  std::string sums, lanes;
  std::string bsx = fmt::format("{}'sd0", g.SXW), bsxx = fmt::format("{}'d0", g.SXXW), ibc;
  for (int j = 0; j < L; ++j) {
    const std::string m = detail::lane_mask("in_last", "in_keep", g.KB, j);
    sums += fmt::format("  wire signed [7:0] iq{j} = in_q[{h}:{l}];\n  wire signed [15:0] iqx{j} = {{{{8{{iq{j}[7]}}}}, iq{j}}};\n  wire [15:0] iqq{j} = iqx{j} * iqx{j};\n",
                        fmt::arg("j", j), fmt::arg("h", 8 * j + 7), fmt::arg("l", 8 * j));
    bsx += fmt::format(" + ({} ? {} : {}'sd0)", m, sext("iq" + S(j), 8, g.SXW), g.SXW);
    bsxx += fmt::format(" + ({} ? {} : {}'d0)", m, zext("iqq" + S(j), 16, g.SXXW), g.SXXW);
    sums += fmt::format("  wire signed [{w1}:0] ibc{j};\n  {p}_beta u_beta{j} (.beta(in_beta[{h}:{l}]), .bc(ibc{j}));\n",
                        fmt::arg("w1", g.BCW - 1), fmt::arg("j", j), fmt::arg("p", g.P), fmt::arg("h", 32 * j + 31),
                        fmt::arg("l", 32 * j));
    ibc = "ibc" + S(j) + (j ? ", " : "") + ibc;
    auto w = v;
    w["J"] = S(j);
    w["QH"] = S(8 * j + 7);
    w["QL"] = S(8 * j);
    w["GH"] = S(8 * L + 8 * j + 7);
    w["GL"] = S(8 * L + 8 * j);
    w["BH"] = S(16 * L + g.BCW * j + g.BCW - 1);
    w["BL"] = S(16 * L + g.BCW * j);
    // with several lanes each lane (or the last lanes together) shifts by its own copy of s and t
    w["SJ"] = L > 1 ? "s_c" + S(std::min(j, kSCopies - 1)) : "cs";
    w["TJ"] = L > 1 ? "t_c" + S(std::min(j, kTCopies - 1)) : "ct";
    lanes += subst(R"(  // lane ${J}: d -> z -> v = z gamma -> w -> y (pipeline registers without enables)
  wire signed [${DW1}:0] d1w${J};
  ${P}_out1 u_o1_${J} (.q(rd[${QH}:${QL}]), .a(ca), .bq(cbq), .d(d1w${J}));
  reg signed [${DW1}:0] d1_${J};
  reg signed [7:0] g1_${J}, g2_${J};
  reg signed [${BCW1}:0] bc1_${J}, bc2_${J}, bc3_${J}, bc4_${J};
  wire signed [${ZW1}:0] z2w${J};
  ${P}_out2 u_o2_${J} (.d(d1_${J}), .s(${SJ}), .z(z2w${J}));
  reg signed [${ZW1}:0] z2_${J};
  wire signed [${VW2}:0] v3w${J};
  ${P}_out3 u_o3_${J} (.z(z2_${J}), .gamma(g2_${J}), .v(v3w${J}));
  reg signed [${VW2}:0] p3_${J};
  wire signed [${WW1}:0] w4w${J};
  ${P}_out4 u_o4_${J} (.v(p3_${J}), .t(${TJ}), .w(w4w${J}));
  reg signed [${WW1}:0] w4_${J};
  wire signed [7:0] yw${J};
  ${P}_out5 u_o5_${J} (.w(w4_${J}), .bc(bc4_${J}), .y(yw${J}));
  always @(posedge clk) begin
    d1_${J} <= d1w${J}; g1_${J} <= rd[${GH}:${GL}]; bc1_${J} <= rd[${BH}:${BL}];
    z2_${J} <= z2w${J}; g2_${J} <= g1_${J}; bc2_${J} <= bc1_${J};
    p3_${J} <= v3w${J}; bc3_${J} <= bc2_${J};
    w4_${J} <= w4w${J}; bc4_${J} <= bc3_${J};
  end
)",
                   w);
  }
  v["SUMS"] = sums;
  v["IBC"] = L > 1 ? "{" + ibc + "}" : ibc;
  v["BSX"] = bsx;
  v["BSXX"] = bsxx;
  v["LANES"] = lanes;
  std::string copies;
  if (L > 1) {
    // The row constants s and t feed every lane's shifters: one register would drive 34 inputs
    // per lane. Each copy is loaded in its own cycle after done (k cycles later for copy k), so
    // synthesis keeps the copies apart; copy k of s is in place before the row's first element
    // reaches _out2 (k <= 2), copy k of t before it reaches _out4 (k <= 4).
    const int ns = std::min(L, kSCopies), nt = std::min(L, kTCopies), nd = std::max(ns, nt) - 1;
    copies += fmt::format("  // per-lane copies of s and t, loaded 0..{} cycles after done\n", nd);
    if (nd > 0)
      copies += fmt::format("  reg [{0}:1] ldd;\n  always @(posedge clk) ldd <= rst ? {0}'d0 : {1};\n", nd,
                            nd > 1 ? fmt::format("{{ldd[{}:1], sdone}}", nd - 1) : std::string("sdone"));
    auto ld = [](int k) { return k == 0 ? std::string("sdone") : fmt::format("ldd[{}]", k); };
    for (int k = 0; k < ns; ++k)
      copies += fmt::format("  reg [4:0] s_c{0};\n  always @(posedge clk) if ({1}) s_c{0} <= cs;\n", k, ld(k));
    for (int k = 0; k < nt; ++k)
      copies += fmt::format("  reg [4:0] t_c{0};\n  always @(posedge clk) if ({1}) t_c{0} <= ct;\n", k, ld(k));
  }
  v["COPIES"] = copies;
  v["KEEPL"] = L > 1 ? fmt::format("  reg [{}:0] keep_last;\n", g.KB - 1) : "";
  // n = wp L + keep (the row's last beat)
  v["NCOUNT"] = L > 1 ? fmt::format("{} * {}'d{} + {}", zext("wp", g.CW, g.NW), g.NW, L, zext("in_keep", g.KB, g.NW))
                      : fmt::format("{} + {}'d1", zext("wp", g.CW, g.NW), g.NW);
  v["ONE"] = g.NB > 1 ? fmt::format("{{{}'d0, 1'b1}}", g.NB - 1) : "1'b1";
  v["ISS"] = zext("issue", 1, g.CW);
  const bool rs = g.o.restream;
  v["RESTREAMDOC"] = rs ? "// Re-streamed (no row buffer): the source sends each row twice, identical both times (same\n"
                          "// beats, in_last, in_keep): pass 1 gives Sx, Sxx, n (in_gamma / in_beta ignored); after the\n"
                          "// statistics pass 2 gives x, gamma, beta for the outputs (in_ready: a credit is free).\n"
                          "// A second pass that differs from the first gives undefined outputs.\n"
                        : "";
  v["INREADY"] = rs ? "" : "  assign in_ready = (ph == LOAD);\n";
  v["BUFWRITE"] = rs ? "  wire row_done = (ph == PASS) && pop && out_last;\n" : subst(kBufferWrite, v);
  v["READ"] = subst(rs ? kRestreamRead : kBufferRead, v);
  v["RSELRST"] = rs ? "" : subst("      rsel <= ${ONE};\n", v);
  v["RSELNEXT"] = rs ? "" : subst("      rsel <= ${ONE} << rp_n;\n", v);
  v["RDIN"] = rs ? subst("{${IBC}, in_gamma, in_q}", v) : subst("ent[${NB1}].last.c", v);
  return subst(R"(// Integer LayerNorm unit: ${L} lane(s), rows of 1..${N} int8 x at 2^-${IF}, int8 gamma at 2^-${GF},
// int32 beta and int8 y at 2^-${OF}. Generated by gqalut (gqalut::hw::generate_layernorm_unit);
// docs/hw_units.md. Stream in: beats of ${L} (x, gamma, beta) (lane j = in_q[8j+7:8j], in_gamma[8j+7:8j],
// in_beta[32j+31:32j]); in_last marks the row's last beat (the ${NB}th beat ends a row by itself).
// Stream out: y in the same beats, out_first / out_last mark the row's first / last beat.
// The element pipeline never stalls: a beat is issued only while fewer than ${FD} are in flight or
// waiting in the ${FD}-entry output queue, so out_ready gates the queue and the issue alone.
${RESTREAMDOC})" + detail::stream_ports("  input  wire [${QW1}:0]   in_gamma,\n  input  wire [${BTW1}:0]  in_beta,\n", "out_y", "") + R"(  localparam [1:0] LOAD = 2'd0, SSTART = 2'd1, SWAIT = 2'd2, PASS = 2'd3;
  reg [1:0] ph;
  reg [${CW1}:0] wp, nb, rp;
${KEEPL}  reg signed [${SXW1}:0] sx;
  reg [${SXXW1}:0] sxx;
  reg [${NW1}:0] n;
${INREADY}  wire take = in_valid && (ph == LOAD);
  // credits: beats issued and not yet taken at the output (in the pipeline or the queue)
  reg [${CRW1}:0] cred, fc;
  wire pop = out_valid && out_ready;
${SUMS}  wire signed [${SXW1}:0] bsx = ${BSX};
  wire [${SXXW1}:0] bsxx = ${BSXX};
${BUFWRITE}  always @(posedge clk) begin
    if (rst) wp <= ${CW}'d0;
    else if (take) wp <= wp + ${CW}'d1;
    else if (row_done) wp <= ${CW}'d0;
  end
  // the row statistics
  wire sdone;
  wire [${AW1}:0] ca;
  wire signed [${BQW1}:0] cbq;
  wire [4:0] cs, ct;
  ${P}_stats u_stats (.clk(clk), .rst(rst),
${PROGC}    .start(ph == SSTART), .n(n), .sx(sx), .sxx(sxx), .done(sdone), .a(ca), .bq(cbq), .s(cs), .t(ct));
${COPIES}${READ}  reg vr, lr, fr, v1, l1, f1, v2, l2, f2, v3, l3, f3, v4, l4, f4;
  always @(posedge clk) begin
    if (rst) begin
      rp <= ${CW}'d0;
${RSELRST}      vr <= 1'b0; v1 <= 1'b0; v2 <= 1'b0; v3 <= 1'b0; v4 <= 1'b0;
    end else begin
      rp <= rp_n;
${RSELNEXT}      vr <= issue; v1 <= vr; v2 <= v1; v3 <= v2; v4 <= v3;
    end
    rd <= ${RDIN};
    lr <= (rp == nb - ${CW}'d1); fr <= (rp == ${CW}'d0);
    l1 <= lr; f1 <= fr; l2 <= l1; f2 <= f1; l3 <= l2; f3 <= f2; l4 <= l3; f4 <= f3;
  end
${LANES}  // the output queue: one-hot write and read positions
  reg [${FD1}:0] wq, rq;
  reg [${FW1}:0] fq [0:${FD1}];
  integer mw, mr;
  always @(posedge clk) begin
    if (rst) begin
      wq <= ${FD}'d1;
      rq <= ${FD}'d1;
      cred <= ${CRW}'d0;
      fc <= ${CRW}'d0;
    end else begin
      if (v4) wq <= {wq[${FD2}:0], wq[${FD1}]};
      if (pop) rq <= {rq[${FD2}:0], rq[${FD1}]};
      cred <= cred + ${CRISS} - ${CRPOP};
      fc <= fc + ${CRV4} - ${CRPOP};
    end
    for (mw = 0; mw < ${FD}; mw = mw + 1)
      if (v4 && wq[mw]) fq[mw] <= ${FWORD};
  end
  reg [${FW1}:0] fout;
  always @* begin
    fout = {${FW}{1'b0}};
    for (mr = 0; mr < ${FD}; mr = mr + 1) fout = fout | ({${FW}{rq[mr]}} & fq[mr]);
    out_valid = (fc != ${CRW}'d0);
    ${FOUT} = fout;
  end
  always @(posedge clk) begin
    if (rst) begin
      ph <= LOAD;
    end else begin
      case (ph)
        LOAD: if (take) begin
          sx <= (wp == ${CW}'d0) ? bsx : sx + bsx;
          sxx <= (wp == ${CW}'d0) ? bsxx : sxx + bsxx;
          if (${ROWEND}) begin
            nb <= wp + ${CW}'d1;
            n <= ${NCOUNT};
${KEEPSET}            ph <= SSTART;
          end
        end
        SSTART: ph <= SWAIT;
        SWAIT: if (sdone) ph <= PASS;
        PASS: if (row_done) ph <= LOAD;
        default: ph <= LOAD;
      endcase
    end
  end
endmodule
)",
               v);
}

std::string file_header(const Geo& g, const std::string& what) {
  const LayerNormDatapath& dp = g.r->dp;
  return fmt::format(
      "// Generated by gqalut (gqalut::hw::generate_layernorm_unit): {}.\n"
      "// Plan: in_frac {}, out_frac {}, gamma_frac {}, eps {}, RSQRT scale {} octave a = {} (L_r {}), {} Newton step(s).\n"
      "// {} table. Verilog-2005, synthesizable. Do not edit: regenerate.\n{}",
      what, dp.in_frac, dp.out_frac, dp.gamma_frac, dp.eps, dp.rsqrt_scale, dp.rsqrt_a, dp.rsqrt_table_shift,
      dp.newton_steps, g.o.programmable ? "Programmable" : "Baked", detail::kTimescale);
}

std::vector<UnitRegisterWrite> program_of(const Geo& g) {
  std::vector<UnitRegisterWrite> out;
  for (const auto& w : program_image(g.r->rsqrt, g.pwl.geometry)) out.push_back({w.addr, w.data});
  return out;
}

// Random rows: normal around a centre with a few widths, uniform, near-constant; gamma and beta
// around the typical ranges with occasional extremes.
void random_row(std::mt19937_64& rng, size_t n, int gamma_frac, int out_frac, std::vector<int8_t>& x,
                std::vector<int8_t>& gm, std::vector<int32_t>& bt) {
  x.resize(n);
  gm.resize(n);
  bt.resize(n);
  const int kind = std::uniform_int_distribution<int>(0, 5)(rng);
  const double sigma = std::vector<double>{0.4, 3, 12, 40, 90, 1}[static_cast<size_t>(kind)];
  const int centre = std::uniform_int_distribution<int>(-100, 100)(rng);
  for (size_t i = 0; i < n; ++i) {
    const long q = kind == 5 ? std::uniform_int_distribution<int>(-128, 127)(rng)
                             : std::lround(centre + std::normal_distribution<double>(0, sigma)(rng));
    x[i] = static_cast<int8_t>(std::clamp<long>(q, -128, 127));
    const int gk = std::uniform_int_distribution<int>(0, 9)(rng);
    gm[i] = static_cast<int8_t>(gk == 0 ? std::uniform_int_distribution<int>(-128, 127)(rng)
                                        : std::clamp<long>(std::lround(std::ldexp(std::normal_distribution<double>(1, 0.3)(rng), gamma_frac)), -128, 127));
    const int bk = std::uniform_int_distribution<int>(0, 19)(rng);
    bt[i] = bk == 0 ? static_cast<int32_t>(std::uniform_int_distribution<int64_t>(INT32_MIN, INT32_MAX)(rng))
                    : static_cast<int32_t>(std::lround(std::ldexp(std::normal_distribution<double>(0, 0.5)(rng), out_frac)));
  }
}

}  // namespace

// ---------------------------------------------------------------------------- public API
VerilogUnit generate_layernorm_unit(const ref::LayerNormRef& r, const LayerNormUnitOptions& opt) {
  const Geo g = make_geo(r, opt);
  VerilogUnit u = detail::unit_with_tables(g.P, {&g.pwl});
  u.files.emplace_back(g.P + "_mul.v", file_header(g, "the per-row sequential multiplier") +
                                           detail::seqmul_module(g.P + "_mul", kMulA, g.MB, g.DB));
  u.files.emplace_back(g.P + "_stats.v", file_header(g, "row statistics and rsqrt") + stats_module(g));
  const std::string out = out_modules(g);
  const size_t beta_end = out.find("// Output stage 1");
  u.files.emplace_back(fmt::format("{}_beta.v", g.P), file_header(g, g.o.restream ? "beta into the element pipeline" : "beta into the row buffer") + out.substr(0, beta_end));
  const char* marks[] = {"// Output stage 1", "// Output stage 2", "// Output stage 3", "// Output stage 4",
                         "// Output stage 5"};
  for (int i = 0; i < 5; ++i) {
    const size_t from = out.find(marks[i]);
    const size_t to = i == 4 ? std::string::npos : out.find(marks[i + 1]);
    u.files.emplace_back(fmt::format("{}_out{}.v", g.P, i + 1),
                         file_header(g, fmt::format("output stage {}", i + 1)) + out.substr(from, to - from));
  }
  u.files.emplace_back(g.P + ".v", file_header(g, g.o.restream ? "top (streaming LayerNorm unit, re-streamed: no row buffer)"
                                                                     : "top (streaming LayerNorm unit)") + top_module(g));
  return u;
}

VerilogUnit generate_layernorm_unit(const LayerNormPlan& plan, const LayerNormUnitOptions& opt) {
  return generate_layernorm_unit(plan.reference(), opt);
}

std::vector<UnitRegisterWrite> layernorm_unit_program(const ref::LayerNormRef& r, const LayerNormUnitOptions& opt) {
  LayerNormUnitOptions o = opt;
  o.programmable = true;
  return program_of(make_geo(r, o));
}

UnitTiming layernorm_unit_timing(const ref::LayerNormRef& r, const LayerNormUnitOptions& opt, long long n) {
  const Geo g = make_geo(r, opt);
  // the element pipeline: the buffer read, kStages registers, the output queue
  UnitTiming t = detail::row_timing("layernorm", g, n, kStages + 2);
  const long long mul = 1 + g.CYC + 1;  // start state, CYC digits, the cycle that sees done
  // start, M1, M2, LOG, SPLIT, SPLIT2, SEED, 3 multiplies per Newton step, RND, NR, SR, ROW, ROW2, ROW3
  t.recip_cycles = 1 + 2 * mul + 4 + static_cast<long long>(g.NS) * 3 * mul + 1 + 2 * mul + 3;
  // LOAD B beats, SSTART, the statistics, PASS: B issues + the pipeline (the last beat leaves the
  // queue kStages + 2 cycles after its issue). Re-streamed (opt.restream): pass 1 is LOAD; pass 2
  // takes the B beats again, one a cycle from the first PASS cycle on (a source that keeps up holds
  // its beat while in_ready is low), and each taken beat is an issue, as the buffered unit's read:
  // the same count, with 2B beats in instead of B.
  t.row_cycles = t.beats + 1 + t.recip_cycles + (t.beats + kStages + 1);
  t.interval = t.row_cycles + 1;
  return t;
}

namespace {

struct StatsVec {
  int64_t n, sx, sxx;
};

// The unit's per-row constant bq = b - 2^(s-1) (the output stage's rounding half folded in).
int64_t bq_of(const ref::LayerNormRowStage& st) { return st.b - (int64_t{1} << (st.s - 1)); }

}  // namespace

UnitTestbench layernorm_stage_testbench(const ref::LayerNormRef& r, const LayerNormUnitOptions& opt,
                                        const UnitTestOptions& to) {
  const Geo g = make_geo(r, opt);
  const LayerNormDatapath& dp = r.dp;
  std::vector<StatsVec> sv;
  const int64_t sxx_max = (int64_t{1} << g.SXXW) - 1;
  // V given directly: n = 1 (V = Sxx + eps(1)) or n = 2 (V = 2 Sxx - Sx^2 + eps(2), Sx in {0, 1}).
  auto add_v = [&](int64_t V) {
    const int64_t e1 = eps_of(dp, 1), e2 = eps_of(dp, 2);
    if (V - e1 >= 0 && V - e1 <= sxx_max) {
      sv.push_back({1, 0, V - e1});
      return;
    }
    const int64_t w = V - e2;
    if (w < 0) return;
    const int64_t sx = w % 2 ? 1 : 0, sxx = (w + sx) / 2;
    if (sxx <= sxx_max) sv.push_back({2, sx, sxx});
  };
  for (int64_t V = 0; V < (int64_t{8} << g.A); ++V) add_v(V);  // every small V (E <= 0 and the first codes)
  const int lv_max = ubits(static_cast<uint64_t>(2 * sxx_max)) - 1;
  for (int lv : {g.A + 3, g.A + 4, (g.A + 3 + lv_max) / 2, (g.A + 3 + lv_max) / 2 + 1, lv_max - 1, lv_max}) {
    int e = lv - g.A;
    if ((e + g.SR) & 1) --e;
    for (int64_t c = int64_t{1} << g.A; c < (int64_t{4} << g.A); ++c)
      for (int64_t V : {(c << e) - (int64_t{1} << (e - 1)), c << e, (c << e) + (int64_t{1} << (e - 1)) - 1})
        if (V >= 1 && ubits(static_cast<uint64_t>(V)) - 1 <= lv_max) add_v(V);
    add_v((int64_t{2} << lv) - 1);  // rounds up to the next octave (the carry)
  }
  // Sums of edge and random rows (reachable classes: every n, Sx, R, P).
  std::mt19937_64 rng(to.seed * 104729 + 3);
  std::vector<int8_t> x, gm;
  std::vector<int32_t> bt;
  auto add_row = [&](const std::vector<int8_t>& q) {
    const ref::LayerNormSums su = ref::layernorm_sums(q.data(), q.size());
    sv.push_back({static_cast<int64_t>(q.size()), su.sx, su.sxx});
  };
  for (int64_t n : {int64_t{1}, int64_t{2}, int64_t{3}, int64_t{g.N - 1}, int64_t{g.N}}) {
    if (n < 1 || n > g.N) continue;  // short units (max_n < 3) take no longer rows
    add_row(std::vector<int8_t>(static_cast<size_t>(n), -128));
    add_row(std::vector<int8_t>(static_cast<size_t>(n), 127));
    add_row(detail::alternating(static_cast<size_t>(n)));
    std::vector<int8_t> spike(static_cast<size_t>(n), 0);
    spike[0] = 127;
    add_row(spike);
  }
  for (long long i = 0; i < to.stage_random / 8; ++i) {
    const size_t n = std::uniform_int_distribution<size_t>(1, static_cast<size_t>(g.N))(rng);
    random_row(rng, n, dp.gamma_frac, dp.out_frac, x, gm, bt);
    add_row(x);
  }
  std::string svf;
  std::vector<ref::LayerNormRowStage> stages;
  for (const auto& v : sv) {
    const int64_t V = ref::layernorm_variance(dp, v.sx, v.sxx, v.n);
    require(V >= 0 && V < (int64_t{1} << g.VW), "stage vector V within the unit's width");
    const ref::LayerNormRowStage stg = ref::layernorm_row_stage(r, v.sx, v.sxx, v.n);
    require(!stg.wide, "stage vectors stay in the 32-bit form");
    require(V == 0 || stg.t >= g.t_min, "stage vectors have t >= the unit's bound t_min (the beta clamp's premise)");
    stages.push_back(stg);
    ref::LayerNormRsqrt rs;
    if (V > 0) rs = ref::layernorm_rsqrt(r, V);
    svf += HexWord()
               .add(static_cast<uint64_t>(v.n), g.NW)
               .add(static_cast<uint64_t>(v.sx), g.SXW)
               .add(static_cast<uint64_t>(v.sxx), g.SXXW)
               .add(static_cast<uint64_t>(V), g.VW)
               .add(V > 0 ? 0 : 1, 1)
               .add(static_cast<uint64_t>(rs.split.E), g.EW)
               .add(rs.split.r, g.A + 3)
               .add(rs.split.X, kXW)
               .add(rs.y0, kYW)
               .add(rs.y, kYW)
               .add(static_cast<uint64_t>(rs.R), kRW)
               .add(static_cast<uint64_t>(stg.a), kAW)
               .add(static_cast<uint64_t>(bq_of(stg)), kBQW)
               .add(static_cast<uint64_t>(stg.s), 5)
               .add(static_cast<uint64_t>(stg.t), 5)
               .str() +
           "\n";
  }
  const int svw = g.NW + g.SXW + g.SXXW + g.VW + 1 + g.EW + g.A + 3 + kXW + 2 * kYW + kRW + kAW + kBQW + 10;
  // Output stage: every q with corner gamma/beta on a few row stages, then random.
  std::string ovf;
  long long nov = 0;
  auto add_out = [&](const ref::LayerNormRowStage& st, int q, int gmm, int32_t beta) {
    ovf += HexWord()
               .add(static_cast<uint64_t>(q), 8)
               .add(static_cast<uint64_t>(gmm), 8)
               .add(static_cast<uint64_t>(static_cast<uint32_t>(beta)), 32)
               .add(static_cast<uint64_t>(st.a), kAW)
               .add(static_cast<uint64_t>(bq_of(st)), kBQW)
               .add(static_cast<uint64_t>(st.s), 5)
               .add(static_cast<uint64_t>(st.t), 5)
               .add(static_cast<uint64_t>(static_cast<uint8_t>(
                        ref::layernorm_out(st, static_cast<int8_t>(q), static_cast<int8_t>(gmm), beta))),
                    8)
               .str() +
           "\n";
    ++nov;
  };
  for (size_t k = 0; k < stages.size(); k += std::max<size_t>(1, stages.size() / 8))
    for (int q = -128; q <= 127; ++q)
      for (int gmm : {-128, -1, 64, 127})
        for (int32_t beta : {INT32_MIN, -5, 0, 1000, INT32_MAX}) add_out(stages[k], q, gmm, beta);
  for (long long i = 0; i < to.stage_random; ++i)
    add_out(stages[static_cast<size_t>(i) % stages.size()], std::uniform_int_distribution<int>(-128, 127)(rng),
            std::uniform_int_distribution<int>(-128, 127)(rng),
            i % 4 ? std::uniform_int_distribution<int32_t>(-300, 300)(rng)
                  : static_cast<int32_t>(std::uniform_int_distribution<int64_t>(INT32_MIN, INT32_MAX)(rng)));
  const int ovw = 8 + 8 + 32 + kAW + kBQW + 10 + 8;
  const auto prog = g.o.programmable ? program_of(g) : std::vector<UnitRegisterWrite>{};
  auto v = vars_of(g);
  v["SVW1"] = S(svw - 1);
  v["OVW1"] = S(ovw - 1);
  v["NSV"] = S(static_cast<long long>(sv.size()));
  v["NSV1"] = S(static_cast<long long>(sv.size()) - 1);
  detail::add_stage_tb_vars(v, prog_port(g), prog.size(), nov);
  v["RC1"] = S(g.A + 2);
  UnitTestbench tb;
  detail::set_testbench(tb, g.P, "stage", "gqalut::ref stage functions", subst(detail::kStageTbHead + std::string(R"(  reg [${SVW1}:0] sv [0:${NSV1}];
  reg start = 1'b0;
  reg [${NW1}:0] n;
  reg signed [${SXW1}:0] sx;
  reg [${SXXW1}:0] sxx;
  wire done;
  wire [${AW1}:0] a;
  wire signed [${BQW1}:0] bq;
  wire [4:0] s, t;
  ${P}_stats u_stats (.clk(clk), .rst(rst), ${PROGC}.start(start), .n(n), .sx(sx), .sxx(sxx), .done(done),
    .a(a), .bq(bq), .s(s), .t(t));
  reg [${YW1}:0] y0_seen;
  always @(posedge clk) if (u_stats.st == 5'd8) y0_seen <= u_stats.seed[${YW1}:0];
  reg [${VW1}:0] eV;
  reg ez;
  reg [${EW1}:0] eE;
  reg [${RC1}:0] er;
  reg [${XW1}:0] eX;
  reg [${YW1}:0] ey0, ey;
  reg [${RW1}:0] eR;
  reg [${AW1}:0] ea;
  reg [${BQW1}:0] eb;
  reg [4:0] es, et;
  // output stage
  reg [${OVW1}:0] ov [0:${NO1}];
  reg signed [7:0] oq, og, oy;
  reg signed [31:0] obeta;
  reg [${AW1}:0] oa;
  reg signed [${BQW1}:0] ob;
  reg [4:0] os, ot;
  wire signed [${DW1}:0] od;
  wire signed [${BCW1}:0] obc;
  wire signed [${ZW1}:0] oz;
  wire signed [${VW2}:0] ovv;
  wire signed [${WW1}:0] ow;
  wire signed [7:0] y;
  ${P}_beta u_ob (.beta(obeta), .bc(obc));
  ${P}_out1 u_o1 (.q(oq), .a(oa), .bq(ob), .d(od));
  ${P}_out2 u_o2 (.d(od), .s(os), .z(oz));
  ${P}_out3 u_o3 (.z(oz), .gamma(og), .v(ovv));
  ${P}_out4 u_o4 (.v(ovv), .t(ot), .w(ow));
  ${P}_out5 u_o5 (.w(ow), .bc(obc), .y(y));
  initial begin
    $readmemh("stats.hex", sv);
    $readmemh("out.hex", ov);
)") + detail::kTbReset + R"(    for (i = 0; i < ${NSV}; i = i + 1) begin
      @(negedge clk);
      {n, sx, sxx, eV, ez, eE, er, eX, ey0, ey, eR, ea, eb, es, et} = sv[i];
)" + detail::kTbStartAndWait + R"(      if (u_stats.v_r !== eV || a !== ea || bq !== eb || s !== es || t !== et ||
          (!ez && (u_stats.e_r !== eE || u_stats.r_r !== er || u_stats.x_r !== eX || y0_seen !== ey0 ||
                   u_stats.y_r !== ey || u_stats.rr_r !== eR))) begin
        errors = errors + 1;
        if (errors <= 20) $display("FAIL: STATS n=%0d sx=%0d sxx=%0d: V=%0d E=%0d r=%0d X=%0d y0=%0d y=%0d R=%0d a=%0d bq=%0d s=%0d t=%0d, expected %0d %0d %0d %0d %0d %0d %0d %0d %0d %0d %0d",
          n, sx, sxx, u_stats.v_r, u_stats.e_r, u_stats.r_r, u_stats.x_r, y0_seen, u_stats.y_r, u_stats.rr_r, a, bq, s, t,
          eV, $signed(eE), er, eX, ey0, ey, eR, ea, $signed(eb), es, et);
      end
    end
    for (i = 0; i < ${NO}; i = i + 1) begin
      {oq, og, obeta, oa, ob, os, ot, oy} = ov[i];
      #1;
      checks = checks + 1;
      if (y !== oy) begin
        errors = errors + 1;
        if (errors <= 20) $display("FAIL: OUT q=%0d gamma=%0d beta=%0d a=%0d bq=%0d s=%0d t=%0d: y=%0d expected %0d",
                                   oq, og, obeta, oa, ob, os, ot, y, oy);
      end
    end
)", v));
  detail::set_data_files(tb, {{"stats.hex", svf}, {"out.hex", ovf}}, prog_port(g), prog);
  tb.checks = static_cast<long long>(sv.size()) + nov;
  return tb;
}

UnitTestbench layernorm_row_testbench(const ref::LayerNormRef& r, const LayerNormUnitOptions& opt,
                                      const UnitTestOptions& to) {
  const Geo g = make_geo(r, opt);
  const LayerNormDatapath& dp = r.dp;
  const int N = g.N, L = g.L;
  struct Row {
    std::vector<int8_t> x, gm;
    std::vector<int32_t> bt;
  };
  std::vector<Row> rows;
  std::mt19937_64 rng(to.seed);
  auto edge = [&](std::vector<int8_t> x) {
    Row rw;
    rw.x = std::move(x);
    const size_t n = rw.x.size();
    rw.gm.assign(n, static_cast<int8_t>(1 << std::min(dp.gamma_frac, 6)));
    rw.bt.assign(n, 3);
    if (n > 2) {
      rw.gm[0] = 127;
      rw.gm[1] = -128;
      rw.bt[0] = INT32_MAX;
      rw.bt[n - 1] = INT32_MIN;
    }
    rows.push_back(std::move(rw));
  };
  edge({0});
  edge({-128});
  edge({127});
  edge(std::vector<int8_t>(static_cast<size_t>(N), 5));
  edge(std::vector<int8_t>(static_cast<size_t>(N), -128));
  edge(std::vector<int8_t>(static_cast<size_t>(std::min(5, N)), 9));  // V = 0 when eps(n) = 0
  {
    std::vector<int8_t> spike(static_cast<size_t>(N), -3);
    spike[static_cast<size_t>(N / 2)] = 120;
    edge(spike);
    edge(detail::alternating(static_cast<size_t>(N)));
    for (int n : detail::edge_lengths(L, N)) edge(detail::last_high(static_cast<size_t>(n)));
  }
  for (long long i = 0; i < to.random_rows; ++i) {
    const size_t n = detail::random_row_length(rng, to, i, N, "layernorm");
    Row rw;
    random_row(rng, n, dp.gamma_frac, dp.out_frac, rw.x, rw.gm, rw.bt);
    rows.push_back(std::move(rw));
  }
  detail::RowBeats beats;
  long long elems = 0, in_beats = 0;
  UnitTestbench tb;
  // Re-streamed: each row is sent twice; pass 1 carries the row's x and markers with random gamma
  // and beta (the unit must ignore them), from an engine of its own so that the rows are the
  // buffered testbench's.
  std::mt19937_64 junk(to.seed * 7919 + 11);
  for (const auto& rw : rows) {
    const size_t n = rw.x.size();
    std::vector<int8_t> y(n);
    ref::layernorm_row_ref(r, rw.x.data(), rw.gm.data(), rw.bt.data(), y.data(), n);
    if (g.o.restream) {
      detail::RowBeats pass1;
      detail::add_row_beats(
          pass1, g, n,
          [&](HexWord& w, size_t lo) {
            detail::add_lanes(w, g, lo, n, 32, [&](size_t) { return static_cast<uint32_t>(junk()); });
            detail::add_lanes(w, g, lo, n, 8, [&](size_t) { return static_cast<uint8_t>(junk()); });
            detail::add_lanes(w, g, lo, n, 8, [&](size_t i) { return static_cast<uint8_t>(rw.x[i]); });
          },
          [](size_t) { return uint64_t{0}; });
      beats.in += pass1.in;
      in_beats += pass1.beats;
    }
    detail::add_row_beats(
        beats, g, n,
        [&](HexWord& w, size_t lo) {
          detail::add_lanes(w, g, lo, n, 32, [&](size_t i) { return static_cast<uint32_t>(rw.bt[i]); });
          detail::add_lanes(w, g, lo, n, 8, [&](size_t i) { return static_cast<uint8_t>(rw.gm[i]); });
          detail::add_lanes(w, g, lo, n, 8, [&](size_t i) { return static_cast<uint8_t>(rw.x[i]); });
        },
        [&](size_t i) { return static_cast<uint8_t>(y[i]); });
    elems += static_cast<long long>(n);
    tb.row_lengths.push_back(static_cast<long long>(n));
  }
  const auto prog = g.o.programmable ? program_of(g) : std::vector<UnitRegisterWrite>{};
  auto v = vars_of(g);
  const int passes = g.o.restream ? 2 : 1;
  detail::add_row_tb_vars(v, g, prog_port(g), prog.size(), to, beats.beats, layernorm_unit_timing(r, opt, 1).row_cycles,
                          rows.size(), elems * passes);
  in_beats += beats.beats;
  v["NOB1"] = v["NO1"];  // the expected beats (NI: the beats sent, both passes)
  v["NI"] = S(in_beats);
  v["NI1"] = S(in_beats - 1);
  v["IW1"] = S(1 + g.KB + 48 * L - 1);
  v["BTW1"] = S(32 * L - 1);
  detail::set_testbench(tb, g.P, "row", "gqalut::ref::layernorm_row_ref", subst(detail::tb_head("rows") + R"(  integer errors = 0, checks = 0, ii = 0, oi = 0, j, seed = ${SEED}, cycles = 0;
${PROGDECL}  reg [${IW1}:0] inb [0:${NI1}];
  reg [${OW1}:0] outb [0:${NOB1}];
  reg in_valid = 1'b0, in_last = 1'b0, out_ready = 1'b0;
  reg [${QW1}:0] in_q = 0, in_gamma = 0;
  reg [${BTW1}:0] in_beta = 0;
  reg [${KB1}:0] ikeep = 0;
  wire in_ready, out_valid, out_first, out_last;
  wire [${QW1}:0] out_y;
${OKEEPD}  ${P} dut (.clk(clk), .rst(rst),
${PROGC}    .in_valid(in_valid), .in_ready(in_ready), .in_q(in_q), .in_gamma(in_gamma), .in_beta(in_beta),
    .in_last(in_last), ${KEEPC}
    .out_valid(out_valid), .out_ready(out_ready), .out_y(out_y), .out_first(out_first), .out_last(out_last)${OKEEPC});
  reg ef, el;
  reg [${KB1}:0] ek;
  reg [${QW1}:0] ep;
  reg started = 1'b0;
)" + detail::row_tb_driver("{in_last, ikeep, in_beta, in_gamma, in_q}", "") +
      detail::row_tb_checker("out_y", R"($display("FAIL: beat %0d lane %0d: y=%0d expected %0d", oi, j,
                                       $signed(out_y[8*j +: 8]), $signed(ep[8*j +: 8]));)") +
      detail::row_tb_run(), v));
  detail::set_data_files(tb, {{"in.hex", beats.in}, {"expected.hex", beats.out}}, prog_port(g), prog);
  tb.checks = elems;
  return tb;
}

UnitVerification verify_layernorm_unit(const ref::LayerNormRef& r, const LayerNormUnitOptions& opt,
                                       const UnitTestOptions& t, const SimOptions& sim, const LintOptions& lint) {
  return detail::verify_row_unit(
      generate_layernorm_unit(r, opt), [&] { return layernorm_stage_testbench(r, opt, t); },
      [&] { return layernorm_row_testbench(r, opt, t); }, sim, lint);
}

}  // namespace gqalut::hw
