// The integer softmax unit (issue 16, point 3): synthesizable Verilog-2005 generated from a
// plan's reference (ref::SoftmaxRef: the tables and constants of prepare_softmax), and its
// testbenches, whose expected values come from the stage functions of gqalut/datapath.hpp.
// docs/hw_units.md describes the interface, the pipeline and the timing.
//
// Structure (one row at a time; phases LOAD, PASS2, RECIP, PASS3):
//   LOAD   beats of `lanes` int8 codes into the row buffer, running max
//   PASS2  buffer -> u = max - q -> EXP split (k, c) -> EXP2M1 PWL -> shift (e) -> S += e
//   RECIP  x = floor(log2 S), d, X -> DIV PWL seed -> Newton steps (16 x 16-bit partial products on
//          lane 0's output multiplier, idle in this phase) -> R, T
//   PASS3  the same element pipeline again (e recomputed from the buffered codes) -> out = e16 R >> T
// Recomputing e in PASS3 costs no extra logic (the EXP lanes are idle then) and saves a row
// buffer of e16 values (16 bits per element, twice the int8 code buffer).
// With `restream` there is no row buffer: the source sends the row once per pass (LOAD, PASS2,
// PASS3), and PASS2 / PASS3 take their elements from the input beat instead of the buffer read
// (in_ready high while the pass has beats left and the element pipeline advances). Everything
// after the element register qr is the same.
#include "gqalut/hw/softmax_unit.hpp"

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
using detail::ubits;
using detail::zext;

namespace {

constexpr int kEBits = ref::kExpBits;            // e < 2^24
constexpr int kMantBits = ref::kExpBits + 1;     // mantissas < 2^25
constexpr int kProdBits = ref::kProductBits;     // e16 R < 2^31
constexpr int kE16Bits = kEBits - ref::kE16Shift;  // e16 < 2^16: the multiplier's first operand
constexpr int kDigit = 16;                       // Newton partial products: 16 x 16-bit digits
constexpr int kNF = ref::kNewtonFrac;            // Q28

// One partial product of the Newton multiplies on the shared multiplier: digit i of Y (port a)
// times digit j of the other operand (port b); `first`: the first of its column i + j (the
// accumulator shifts its finished low digit out before adding).
struct PartialProduct {
  int i = 0, j = 0;
  bool first = false;
};

// Every constant and width of one unit, derived from the reference and the options (each width
// asserted from the plan).
struct Geo : detail::RowShape {
  const ref::SoftmaxRef* r = nullptr;
  SoftmaxUnitOptions o;
  // EXP split
  uint32_t UC = 0;         // u cap within the int8 span
  uint64_t CN = 0;         // narrow log2(e) constant: t = (u CN + 2^(TSH-1)) >> TSH
  int TSH = 0, TPW = 0, TW = 0, KKW = 0, KW = 0, SE = 0;
  // EXP shift
  int WA = 0, G = 0, PRE = 0;
  uint32_t e_max = 0;
  // sum and reciprocal
  int SW = 0, A = 0, SD = 0, C2 = 0, K3 = 0, L1 = 0, WD = 0, DS = 0, RS = 0, RW = 0, NS = 0;
  // the exponent x = floor(log2 S) (after the rounding carry) in [XLO, XHI + 1], kept as x - XLO on
  // XOW bits; it is also T - TMIN, T = x + 7 - out_frac the output shift
  int XLO = 0, XHI = 0, XOW = 1, TMIN = 0, TMAX = 0;
  bool zero_used = false;  // T >= 32 (every output 0) is reachable
  int HW = 0;              // the output product's bits that matter: e16 R >> (TMIN - 1), < 2^HW
  // Newton: X < 2^WX, Y < 2^WY, M = 2^29 - (X Y >> 28) < 2^WM; Y on port a (NDA digits), X or M
  // on port b (NDB digits); the accumulator AW bits; the R clamps that can act
  int WX = 0, WY = 0, WM = 0, NDA = 0, NDB = 0, AW = 0;
  bool clamp_hi = true, clamp_lo = true;
  std::vector<PartialProduct> pps;
  uint32_t r_max = 0, max_code = 255;
  detail::Pwl exp_pwl, div_pwl;
};

uint32_t narrow_t(uint64_t u, uint64_t cn, int sh) { return static_cast<uint32_t>((u * cn + (uint64_t{1} << (sh - 1))) >> sh); }

Geo make_geo(const ref::SoftmaxRef& r, const SoftmaxUnitOptions& o) {
  Geo g;
  g.r = &r;
  g.o = o;
  const SoftmaxDatapath& dp = r.dp;
  static_cast<detail::RowShape&>(g) = detail::row_shape("softmax", o.name, o.lanes, o.max_n, 1 << 16);
  g.max_code = o.int8_out ? 127 : 255;

  // EXP split: u in [0, 255] capped at u_cap; the narrowest constant giving the same t for every u.
  g.SE = dp.exp_scale;
  g.UC = std::min<uint32_t>(dp.u_cap, 255);
  std::vector<uint32_t> t_ref(g.UC + 1);
  for (uint32_t u = 0; u <= g.UC; ++u) t_ref[u] = ref::softmax_exp_split(dp, u).t;
  g.CN = 0;
  for (int j = dp.exp_shift - 1; j >= 0; --j) {
    const int sh = dp.exp_shift - j;
    const uint64_t cn = (uint64_t{dp.log2e} + ((uint64_t{1} << j) >> 1)) >> j;
    bool ok = true;
    for (uint32_t u = 0; u <= g.UC && ok; ++u) ok = narrow_t(u, cn, sh) == t_ref[u];
    if (ok) {
      g.CN = cn;
      g.TSH = sh;
      break;
    }
  }
  if (g.CN == 0) {
    g.CN = dp.log2e;
    g.TSH = dp.exp_shift;
  }
  g.TPW = ubits(uint64_t{g.UC} * g.CN + (uint64_t{1} << (g.TSH - 1)));
  require(g.TPW > 8 && g.TPW > g.TSH, "EXP split product width");
  g.TW = g.TPW - g.TSH;
  g.KKW = std::max(g.TW + 1, g.SE + 1);
  g.KW = g.KKW - g.SE;
  const uint32_t k_max = ref::softmax_exp_split(dp, g.UC).k;
  require(k_max < (1u << g.KW), "EXP split k width");
  require(g.SE >= 1 && g.SE <= 8, fmt::format("EXP2M1 scale {} must be in [1, 8]", g.SE));

  // EXP shift.
  g.exp_pwl = detail::make_pwl(r.exp2m1, g.P + "_exp2m1", o.programmable, "exp2m1");
  g.WA = g.exp_pwl.acc_bits;
  g.G = std::max(dp.exp_gain, 0);
  g.PRE = ref::softmax_exp_pre_shift(dp);
  require(dp.exp_table_shift < kMantBits, "EXP2M1 accumulator scale");
  for (int c = -(1 << (g.SE - 1)); c < (1 << (g.SE - 1)); ++c)
    require(ref::softmax_exp_mantissa(r, c) < (1u << kMantBits) &&
                ((int64_t{1} << dp.exp_table_shift) + ref::softmax_exp_acc(r, c)) > 0,
            fmt::format("EXP mantissa of code {} must be in (0, 2^25)", c));
  for (uint32_t u = 0; u <= g.UC; ++u) g.e_max = std::max(g.e_max, ref::softmax_exp(r, u));
  require(g.e_max < (1u << kEBits) - (1u << (ref::kE16Shift - 1)), "EXP output e must stay below 2^24 - 2^7");

  // Sum and reciprocal.
  g.SW = ubits(uint64_t{g.e_max} * static_cast<uint64_t>(g.N));
  g.A = dp.div_a;
  g.SD = dp.div_scale;
  g.C2 = g.A - g.SD + ref::kNewtonFrac;
  const int x_min = 31 - __builtin_clz(ref::softmax_exp(r, 0));  // S >= e(0)
  require(x_min >= g.A + 1, "the row sum must reach 2^(a+1)");
  g.K3 = std::max(0, std::min(g.C2, x_min));
  g.L1 = g.C2 - g.K3;
  g.div_pwl = detail::make_pwl(r.div, g.P + "_div", o.programmable, "reci");
  g.WD = g.div_pwl.acc_bits;
  require(g.A + 1 <= 7, "DIV codes must be positive int8");
  g.DS = dp.div_table_shift - ref::kNewtonFrac;
  for (uint32_t d = 1u << g.A; d < (2u << g.A); ++d)
    require(ref::softmax_div_seed(r, d) < (uint64_t{1} << 33) && ref::softmax_div_acc(r, d) > 0,
            fmt::format("DIV seed of code {} must be in (0, 2^33)", d));
  g.RS = ref::kNewtonFrac - ref::kRecipBits - g.A + g.SD;
  require(g.RS >= 1, fmt::format("reciprocal rounding shift {} must be >= 1", g.RS));
  g.r_max = dp.r_max;
  g.RW = ubits(g.r_max);
  require(g.RW >= kDigit, "R must have at least 16 bits (the multiplier's second port takes 16-bit digits)");
  require(dp.max_product < (1u << kProdBits), "e16 R must fit 31 bits");
  g.NS = dp.newton_steps;

  // The exponent's range: S in [e(0), max_n e_max].
  g.XLO = x_min;
  g.XHI = ubits(uint64_t{g.e_max} * static_cast<uint64_t>(g.N)) - 1;  // floor(log2(max_n e_max))
  g.XOW = ubits(static_cast<uint64_t>(g.XHI + 1 - g.XLO));
  g.TMIN = ref::softmax_out_shift(dp, g.XLO);
  g.TMAX = ref::softmax_out_shift(dp, g.XHI + 1);
  require(g.TMIN >= 1, "output shift T must be >= 1");
  require(g.TMIN < ref::kOutShiftZero, "the shortest row's output shift T must be < 32");
  g.zero_used = g.TMAX >= ref::kOutShiftZero;
  g.HW = kProdBits - (g.TMIN - 1);

  // Newton widths, by interval arithmetic over every DIV code d: X = floor(m 2^C2) for the mantissa
  // m = S 2^-x in [(d - 1/2) 2^-a, (d + 1/2) 2^-a) (d = 2^a also takes m in [1 - 2^-(a+2), 1): the
  // rounding carry), Y0 the code's seed, then per step xy = (X Y) >> 28, M = 2^29 - xy, Y' = (Y M)
  // >> 28 bounded below by the smallest operands and above by both the largest operands and
  // 2^56 / X + Y 2^-28 (Y (2 - X Y) <= 1/X).
  __extension__ typedef unsigned __int128 u128;
  auto scaled = [](u128 v, int sh) { return sh >= 0 ? v << sh : v >> -sh; };  // floor(v 2^sh)
  const int fe = g.C2 - g.A - 2;  // X = floor(m2 2^fe), m2 = m 2^(a+2) (quarters of a code)
  uint64_t x_top = 0, y_top = 0, m_top = 0, yf_lo = ~uint64_t{0}, yf_hi = 0;
  for (uint32_t d = 1u << g.A; d < (2u << g.A); ++d) {
    const u128 lo4 = d == (1u << g.A) ? (u128{4} << g.A) - 1 : 4 * u128{d} - 2;  // quarters, inclusive
    const u128 hi4 = 4 * u128{d} + 2;                                            // exclusive
    const uint64_t xl = static_cast<uint64_t>(scaled(lo4, fe));
    u128 xh = scaled(hi4, fe);
    if (fe < 0 && (xh << -fe) == hi4) xh -= 1;  // m < (d + 1/2) 2^-a: the bound itself is excluded
    else if (fe >= 0) xh -= 1;
    const uint64_t xhi = static_cast<uint64_t>(std::min<u128>(xh, (u128{1} << (g.C2 + 1)) - 1));
    require(xl >= 1 && xl <= xhi, fmt::format("X interval of DIV code {}", d));
    x_top = std::max(x_top, xhi);
    uint64_t yl = ref::softmax_div_seed(r, d), yh = yl;
    y_top = std::max(y_top, yh);
    for (int i = 0; i < g.NS; ++i) {
      const u128 xyl = (u128{xl} * yl) >> kNF, xyh = (u128{xhi} * yh) >> kNF;
      require(xyh < (u128{2} << kNF), fmt::format("Newton step {} of DIV code {}: X Y must stay below 2^57", i, d));
      const uint64_t ml = static_cast<uint64_t>((u128{2} << kNF) - xyh), mh = static_cast<uint64_t>((u128{2} << kNF) - xyl);
      m_top = std::max(m_top, mh);
      const u128 by_ops = (u128{yh} * mh) >> kNF;
      const u128 by_inv = (u128{1} << (2 * kNF)) / xl + (yh >> kNF) + 1;
      yl = static_cast<uint64_t>((u128{yl} * ml) >> kNF);
      yh = static_cast<uint64_t>(std::min(by_ops, by_inv));
      y_top = std::max(y_top, yh);
    }
    yf_lo = std::min(yf_lo, yl);
    yf_hi = std::max(yf_hi, yh);
  }
  g.WX = ubits(x_top);
  g.WY = ubits(y_top);
  g.WM = ubits(std::max<uint64_t>(m_top, 1));
  require(g.WX <= 33 && g.WY <= 33 && g.WM <= 30, "Newton operands must fit 33 bits");
  const uint64_t half = uint64_t{1} << (g.RS - 1);
  g.clamp_hi = ((yf_hi + half) >> g.RS) > g.r_max;
  g.clamp_lo = ((yf_lo + half) >> g.RS) < 1;
  // The partial products, column by column.
  g.NDA = (g.WY + kDigit - 1) / kDigit;
  g.NDB = (std::max(g.WX, g.WM) + kDigit - 1) / kDigit;
  auto digit_max = [](int w, int i) { return (u128{1} << std::min(kDigit, w - kDigit * i)) - 1; };
  u128 acc_bound = 0, acc_top = 0;
  for (int k = 0; k <= g.NDA + g.NDB - 2; ++k) {
    acc_bound >>= kDigit;
    bool first = true;
    for (int i = 0; i < g.NDA; ++i) {
      const int j = k - i;
      if (j < 0 || j >= g.NDB) continue;
      g.pps.push_back({i, j, first && k > 0});
      first = false;
      acc_bound += digit_max(g.WY, i) * digit_max(std::max(g.WX, g.WM), j);
      acc_top = std::max(acc_top, acc_bound);
    }
  }
  g.AW = ubits(static_cast<uint64_t>(acc_top));
  require(g.AW <= 40 && g.NDA + g.NDB - 2 >= 1, "Newton accumulator");
  return g;
}

detail::Vars vars_of(const Geo& g) {
  const SoftmaxDatapath& dp = g.r->dp;
  detail::Vars v = detail::row_vars(g);
  v.insert({
      {"UC", S(g.UC)}, {"TPW", S(g.TPW)}, {"TPW1", S(g.TPW - 1)}, {"TSH", S(g.TSH)}, {"TW", S(g.TW)},
      {"TW1", S(g.TW - 1)}, {"KKW", S(g.KKW)}, {"KKW1", S(g.KKW - 1)}, {"KW", S(g.KW)}, {"KW1", S(g.KW - 1)},
      {"SE", S(g.SE)}, {"SE1", S(g.SE - 1)}, {"WA", S(g.WA)}, {"WA1", S(g.WA - 1)}, {"G", S(g.G)},
      {"PRE", S(g.PRE)}, {"LE", S(dp.exp_table_shift)}, {"SW", S(g.SW)}, {"SW1", S(g.SW - 1)},
      {"XOW", S(g.XOW)}, {"XOW1", S(g.XOW - 1)}, {"A", S(g.A)}, {"A1", S(g.A + 1)}, {"A2", S(g.A + 2)},
      {"A3", S(g.A + 3)}, {"SD", S(g.SD)}, {"K3", S(g.K3)}, {"L1", S(g.L1)}, {"WD", S(g.WD)},
      {"WD1", S(g.WD - 1)}, {"RS", S(g.RS)}, {"RW", S(g.RW)}, {"RW1", S(g.RW - 1)}, {"RMAX", S(g.r_max)},
      {"NS", S(g.NS)}, {"MAXC", S(g.max_code)}, {"XLO", S(g.XLO)}, {"TMIN", S(g.TMIN)}, {"HW", S(g.HW)},
      {"HW1", S(g.HW - 1)}, {"PL", S(g.TMIN - 1)}, {"MPW1", S(std::max(kE16Bits + g.RW, g.AW) - 1)}, {"WX", S(g.WX)},
      {"WX1", S(g.WX - 1)}, {"WY", S(g.WY)}, {"WY1", S(g.WY - 1)}, {"WM", S(g.WM)}, {"WM1", S(g.WM - 1)},
      {"AW", S(g.AW)}, {"AW1", S(g.AW - 1)},
      {"OF", S(dp.out_frac)}, {"IF", S(dp.in_frac)}});
  return v;
}

// ---------------------------------------------------------------------------- modules
std::string exp_split_module(const Geo& g) {
  auto v = vars_of(g);
  v["TP"] = fmt::format("{} * {}'d{} + {}'d{}", zext("uc", 8, g.TPW), g.TPW, g.CN, g.TPW, uint64_t{1} << (g.TSH - 1));
  v["KK"] = fmt::format("{} + {}'d{}", zext("t", g.TW, g.KKW), g.KKW, (1u << (g.SE - 1)) - 1);
  v["KS"] = g.SE == 0 ? "kk" : fmt::format("{{k, {}'d0}}", g.SE);
  v["CX"] = g.SE == 8 ? "cf[7:0]" : fmt::format("{{{{{}{{cf[{}]}}}}, cf[{}:0]}}", 8 - g.SE, g.SE - 1, g.SE - 1);
  v["TX"] = zext("t", g.TW, g.KKW);
  v["UCAP"] = g.UC >= 255 ? "u" : fmt::format("(u > 8'd{}) ? 8'd{} : u", g.UC, g.UC);
  return subst(R"(// EXP stage 1 (ref::softmax_exp_split): u = max - q capped at u_cap = ${UC} (within 0..255),
// t = round(u log2(e) 2^-(in_frac + 30 - s_e)) by a narrow constant (equal to the reference's for
// every u in [0, 255]: checked by the generator), k = (t + 2^(s_e-1) - 1) >> s_e, c = k 2^s_e - t.
module ${P}_exp_split (
  input  wire [7:0]    u,
  output wire [${KW1}:0] k,
  output wire [7:0]    c     // int8 code in [-2^(s_e-1), 2^(s_e-1)), s_e = ${SE}
);
  wire [7:0] uc = ${UCAP};
  /* verilator lint_off UNUSEDSIGNAL */
  wire [${TPW1}:0] tp = ${TP};
  wire [${TW1}:0] t = tp[${TPW1}:${TSH}];
  wire [${KKW1}:0] kk = ${KK};
  assign k = kk[${KKW1}:${SE}];
  wire [${KKW1}:0] cf = ${KS} - ${TX};
  /* verilator lint_on UNUSEDSIGNAL */
  assign c = ${CX};
endmodule
)",
               v);
}

std::string exp_shift_module(const Geo& g) {
  auto v = vars_of(g);
  v["ACC"] = g.WA >= kMantBits ? fmt::format("acc[{}:0]", kMantBits - 1)
                               : fmt::format("{{{{{}{{acc[{}]}}}}, acc}}", kMantBits - g.WA, g.WA - 1);
  const int ksw = std::max(g.KW, 5) + 1;
  v["KSW"] = S(ksw);
  v["KSW1"] = S(ksw - 1);
  v["KX"] = zext("k", g.KW, ksw);
  v["M"] = g.G > 0 ? fmt::format("m0 << {}", g.G) : "m0";
  return subst(R"(// EXP stage 3 (ref::softmax_exp_mantissa / softmax_exp_shift): M = (2^L_e + acc) << max(g, 0),
// e = round(M 2^-sh), sh = min(k + max(-g, 0), 26); L_e = ${LE}, g gives << ${G} and pre-shift ${PRE}.
module ${P}_exp_shift (
  /* verilator lint_off UNUSEDSIGNAL */
  input  wire [${WA1}:0] acc,   // the EXP2M1 accumulator (two's complement)
  /* verilator lint_on UNUSEDSIGNAL */
  input  wire [${KW1}:0] k,
  output wire [23:0]   e
);
  wire [24:0] m0 = ${ACC} + (25'd1 << ${LE});
  wire [24:0] m = ${M};
  wire [${KSW1}:0] ks = ${KX} + ${KSW}'d${PRE};
  wire [4:0] sh = (ks > ${KSW}'d26) ? 5'd26 : ks[4:0];
  wire [25:0] half = (sh == 5'd0) ? 26'd0 : (26'd1 << (sh - 5'd1));
  wire [25:0] rs = {1'b0, m} + half;
  /* verilator lint_off UNUSEDSIGNAL */
  wire [25:0] ef = rs >> sh;
  /* verilator lint_on UNUSEDSIGNAL */
  assign e = ef[23:0];
endmodule
)",
               v);
}

// The output stage: e16 (PASS3's first multiplier operand), the unit's multiplier (one per lane;
// lane 0's also does the reciprocal's Newton steps) and the rounding.
std::string e16_module(const Geo& g) {
  return subst(R"(// Output stage, part 1 (ref::softmax_e16): e16 = (e + 2^7) >> 8 (< 2^16: e < 2^24 - 2^7).
module ${P}_e16 (
  input  wire [23:0]   e,
  output wire [15:0]   e16
);
  /* verilator lint_off UNUSEDSIGNAL */
  wire [23:0] er = e + 24'd128;
  /* verilator lint_on UNUSEDSIGNAL */
  assign e16 = er[23:8];
endmodule
)",
               vars_of(g));
}

std::string mul_module(const Geo& g) {
  auto v = vars_of(g);
  const int pw = std::max(kE16Bits + g.RW, g.AW);
  v["AX"] = zext("a", kE16Bits, pw);
  v["BX"] = zext("b", g.RW, pw);
  v["CX"] = zext("c", g.AW, pw);
  return subst(R"(// The unit's multiplier (one per lane): a 16 x ${RW}-bit product plus an addend (one adder tree).
// PASS3: e16 R (ref::softmax_out), c = 0; lane 0's also runs the reciprocal's Newton partial
// products while the reciprocal runs, c its accumulator.
module ${P}_mul (
  input  wire [15:0]   a,
  input  wire [${RW1}:0] b,
  input  wire [${AW1}:0] c,
  output wire [${MPW1}:0] p
);
  assign p = ${AX} * ${BX} + ${CX};
endmodule
)",
               v);
}

std::string out_round_module(const Geo& g) {
  auto v = vars_of(g);
  const int vw = std::max(g.HW + 1, 9);
  v["VW1"] = S(vw - 1);
  v["HX"] = zext("h", g.HW, vw);
  v["ZERO"] = g.zero_used ? "zero ? 8'd0 : " : "";
  v["ZPORT"] = g.zero_used ? "  input  wire          zero,   // T >= 32\n" : "";
  v["VW"] = S(vw);
  v["ZNOTE"] = g.zero_used ? ", 0 when T >= 32" : "";
  return subst(R"(// Output stage, part 2 (ref::softmax_out): out = min((e16 R + 2^(T-1)) >> T, ${MAXC})${ZNOTE}. Only
// e16 R >> (T_min - 1) = e16 R >> ${PL} comes in (T >= T_min = ${TMIN} for every row), with t = T - T_min:
// out = min(((e16 R >> (T - 1)) + 1) >> 1, ${MAXC}).
module ${P}_out_round (
  input  wire [${HW1}:0] prod,  // (e16 R) >> ${PL}
  input  wire [${XOW1}:0]  t,     // T - ${TMIN}
${ZPORT}  output wire [7:0]    p
);
  wire [${HW1}:0] h = prod >> t;
  /* verilator lint_off UNUSEDSIGNAL */
  wire [${VW1}:0] v = (${HX} + ${VW}'d1) >> 1;
  /* verilator lint_on UNUSEDSIGNAL */
  assign p = ${ZERO}((v > ${VW}'d${MAXC}) ? 8'd${MAXC} : v[7:0]);
endmodule
)",
               v);
}

// The write port of both tables: the address's top bit picks the table (0: EXP2M1, 1: DIV).
detail::ProgPort prog_port(const Geo& g) {
  return {g.o.programmable, std::max(g.exp_pwl.address_bits, g.div_pwl.address_bits) + 1,
          std::max(g.exp_pwl.data_bits, g.div_pwl.data_bits)};
}
std::string prog_ports(const Geo& g) { return detail::prog_ports(prog_port(g), "table write port (see docs/hw_units.md)"); }

// A PWL instance: (clk, write enable for its table, its address and data slices).
std::string pwl_inst(const Geo& g, const detail::Pwl& p, int table, const std::string& inst, const std::string& q,
                     const std::string& acc) {
  if (!g.o.programmable) return fmt::format("  {} {} (.q({}), .acc({}));\n", p.module, inst, q, acc);
  const int aw = prog_port(g).aw;
  return fmt::format(
      "  {} {} (.clk(clk), .we(we && waddr[{}] == 1'b{}), .waddr(waddr[{}:0]), .wdata(wdata[{}:0]), .q({}), "
      ".acc({}));\n",
      p.module, inst, aw - 1, table, p.address_bits - 1, p.data_bits - 1, q, acc);
}

std::string recip_module(const Geo& g) {
  auto v = vars_of(g);
  v["PROG"] = prog_ports(g);
  v["D1"] = fmt::format("{}'d{}", g.A + 1, 1u << g.A);
  // X = (S << L1) >> (x - K3) < 2^WX, taken from xs: short rows (max_n < 16) have sums narrower than X.
  const int xs_w = std::max(g.WX, g.SW + g.L1);
  v["XS_W1"] = S(xs_w - 1);
  v["SL"] = zext(g.L1 > 0 ? fmt::format("{{s, {}'d0}}", g.L1) : std::string("s"), g.SW + g.L1, xs_w);
  v["XS0"] = S(g.XLO - g.K3);
  v["SD0"] = S(g.XLO - g.A - 1);
  v["SHW"] = S(g.SW - g.XLO);
  v["SHW1"] = S(g.SW - g.XLO - 1);
  v["SW1"] = S(g.SW - 1);
  v["PWL"] = pwl_inst(g, g.div_pwl, 1, "u_div", fmt::format("{}", zext("d_r", g.A + 1, 8)), "acc_div_w");
  const int nsw = ubits(static_cast<uint64_t>(std::max(g.NS, 1)));
  v["NSW"] = S(nsw);
  v["NSW1"] = S(nsw - 1);
  v["RSH"] = S(uint64_t{1} << (g.RS - 1));
  v["RRW"] = S(g.WY + 1 - g.RS);
  v["RRW1"] = S(g.WY - g.RS);
  v["YX"] = zext("y_r", g.WY, g.WY + 1);
  v["WY2"] = S(g.WY + 1);
  // the partial products' schedule
  const int npp = static_cast<int>(g.pps.size());
  const int cw = ubits(static_cast<uint64_t>(npp - 1));
  const int ncol = g.NDA + g.NDB - 1;
  const int low = kDigit * (ncol - 1);
  const int wb = std::max(g.WX, g.WM);
  const int iw = ubits(static_cast<uint64_t>(std::max(g.NDA - 1, 1))), jw = ubits(static_cast<uint64_t>(std::max(g.NDB - 1, 1)));
  v["CW"] = S(cw);
  v["CW1"] = S(cw - 1);
  v["LAST"] = S(npp - 1);
  v["LOW1"] = S(low - 1);
  v["WB1"] = S(wb - 1);
  v["IW1"] = S(iw - 1);
  v["JW1"] = S(jw - 1);
  v["IW"] = S(iw);
  v["JW"] = S(jw);
  v["BX"] = zext("xv", g.WX, wb);
  v["BM"] = zext("m_r", g.WM, wb);
  // mp < 2^AW for every partial product (the accumulator's bound)
  v["MPX"] = g.AW >= kE16Bits + g.RW ? zext("mp", kE16Bits + g.RW, g.AW) : fmt::format("mp[{}:0]", g.AW - 1);
  const int pw = g.AW + low;  // P = {acc, lo}
  v["PW1"] = S(pw - 1);
  const int qw = std::max(g.WY, 30);
  v["QW1"] = S(qw - 1);
  v["QHI"] = S(std::min(pw - 1, kNF + qw - 1));
  v["QX"] = zext(fmt::format("pf[{}:{}]", std::min(pw - 1, kNF + qw - 1), kNF), std::min(pw - 1, kNF + qw - 1) - kNF + 1, qw);
  v["LOSH"] = low > kDigit ? fmt::format("{{acc[15:0], lo[{}:16]}}", low - 1) : "acc[15:0]";
  std::string sched;
  for (int c = 0; c < npp; ++c) {
    const auto& pp = g.pps[static_cast<size_t>(c)];
    sched += fmt::format("      {}'d{}: begin ai = {}'d{}; bj = {}'d{}; cf = 1'b{}; end\n", cw, c, iw, pp.i, jw, pp.j,
                         pp.first ? 1 : 0);
  }
  v["SCHED"] = sched;
  auto digits = [&](const std::string& reg, int w, int n, const std::string& sel, int selw, int outw) {
    std::string e;
    for (int i = n - 1; i >= 0; --i) {
      const int hi = std::min(w, kDigit * (i + 1)) - 1, lo = kDigit * i;
      const std::string d = zext(fmt::format("{}[{}:{}]", reg, hi, lo), hi - lo + 1, outw);
      e = i == n - 1 ? d : fmt::format("({} == {}'d{}) ? {} : {}", sel, selw, i, d, e);
    }
    return e;
  };
  v["MA"] = digits("y_r", g.WY, g.NDA, "ai", iw, kDigit);
  v["MB"] = digits("bo", wb, g.NDB, "bj", jw, g.RW);
  std::string rexpr = g.WY + 1 - g.RS >= g.RW ? fmt::format("rr[{}:0]", g.RW - 1) : zext("rr", g.WY + 1 - g.RS, g.RW);
  if (g.clamp_lo) rexpr = fmt::format("(rr == {}'d0) ? {}'d1 : {}", g.WY + 1 - g.RS, g.RW, rexpr);
  if (g.clamp_hi) rexpr = fmt::format("(rr > {}'d{}) ? {}'d{} : ({})", g.WY + 1 - g.RS, g.r_max, g.RW, g.r_max, rexpr);
  v["REXPR"] = rexpr;
  v["ZERO"] = g.zero_used ? fmt::format("  assign zero = (x_r >= {}'d{});\n", g.XOW, ref::kOutShiftZero - g.TMIN) : "";
  v["ZPORT"] = g.zero_used ? ",\n  output wire          zero     // T >= 32: every output 0" : "";
  v["NSTEPS"] = g.NS == 0 ? "IDLE" : "MUL";
  return subst(R"(// The once-per-row reciprocal (ref::softmax_reciprocal): sum split (softmax_sum_split), the
// DIV table's seed (softmax_div_seed), ${NS} Newton steps Y <- Y (2 - X Y) in Q28 (softmax_newton_step),
// R = round(Y 2^-${RS}) (softmax_recip; its clamp to [1, ${RMAX}] is generated only where a plan's
// bounds reach it), t = T - ${TMIN}, T = x + 7 - ${OF}. x = floor(log2 S) is kept as x - ${XLO}
// (S >= e(0) >= 2^${XLO}). The Newton multiplies X Y and Y (2^29 - xy) run on the unit's multiplier
// (ma x mb -> mp, combinational, outside this module) as 16 x 16-bit digit products, column by
// column into an accumulator that shifts out each finished digit.
// start (one cycle) -> done (one cycle) with r, t valid from the next cycle on; s holds from start
// until done (the row's sum register), ma/mb are meaningful only in between.
module ${P}_recip (
  input  wire          clk,
  input  wire          rst,
${PROG}  input  wire          start,
  input  wire [${SW1}:0] s,
  output wire          done,
  output wire [15:0]   ma,
  output wire [${RW1}:0] mb,
  output wire [${AW1}:0] mc,
  output reg           msel,    // the multiplier is the reciprocal's (from SEED to the last store)
  input  wire [${MPW1}:0] mp,   // ma mb + mc
  output reg  [${RW1}:0] r,
  output wire [${XOW1}:0]  t${ZPORT}
);
  localparam [2:0] IDLE = 3'd0, LOG = 3'd1, SPLIT = 3'd2, SEED = 3'd3, MUL = 3'd4, STORE = 3'd5;
  reg [2:0] st;
  reg fin;
  reg [${XOW1}:0] x_r;     // floor(log2 S) - ${XLO}, then + the rounding carry
  reg [${A}:0] d_r;        // the DIV code in [2^a, 2^(a+1)), a = ${A}
  reg [${WY1}:0] y_r;      // Y (Q28)
  reg [${WM1}:0] m_r;      // 2^29 - ((X Y) >> 28)
  reg sec;                // the step's second multiply (Y M) runs
  reg [${CW1}:0] c;        // partial product
  reg [${AW1}:0] acc;      // the product's current column and above
  reg [${LOW1}:0] lo;      // its finished low digits
  reg [${NSW1}:0] n_r;      // Newton steps left
  // floor(log2 S) - ${XLO}
  wire [${SHW1}:0] sh = s[${SW1}:${XLO}];
)" + detail::floor_log2("sh", g.SW - g.XLO, g.XOW) + R"(  // d = round(S 2^(a - x)); a carry to 2^(a+1) gives d = 2^a, x + 1
  /* verilator lint_off UNUSEDSIGNAL */
  wire [${SW1}:0] s0 = s >> ${SD0};
  wire [${SW1}:0] sd = s0 >> x_r;
  wire [${A2}:0] d2 = {1'b0, sd[${A1}:0]} + ${A3}'d1;
  /* verilator lint_on UNUSEDSIGNAL */
  wire [${A1}:0] dr = d2[${A2}:1];
  wire carry = dr[${A1}];
  wire [${A}:0] d = carry ? ${D1} : dr[${A}:0];
  // X = S 2^(a - x - s_d + 28) (truncated), from the final x
  /* verilator lint_off UNUSEDSIGNAL */
  wire [${XS_W1}:0] xs0 = ${SL} >> ${XS0};
  wire [${XS_W1}:0] xs = xs0 >> x_r;
  /* verilator lint_on UNUSEDSIGNAL */
  wire [${WX1}:0] xv = xs[${WX1}:0];
)" + detail::pwl_seed("DIV", "acc_div_w", "acc_div", g.WD, g.DS) + R"(${PWL}  // the partial products: digit ai of Y times digit bj of X (first multiply) or M (second)
  reg [${IW1}:0] ai;
  reg [${JW1}:0] bj;
  reg cf;                 // the first of its column
  always @* begin
    ai = ${IW}'d0; bj = ${JW}'d0; cf = 1'b0;
    case (c)
${SCHED}      default: begin ai = ${IW}'d0; bj = ${JW}'d0; cf = 1'b0; end
    endcase
  end
  wire [${WB1}:0] bo = sec ? ${BM} : ${BX};
  assign ma = ${MA};
  assign mb = ${MB};
  // the multiplier's addend: 0 for a column's first partial product of the multiply, the
  // accumulator (shifted by a digit at a new column) after it; 0 while the unit uses it
  assign mc = (msel && c != ${CW}'d0) ? (cf ? (acc >> 16) : acc) : ${AW}'d0;
  /* verilator lint_off UNUSEDSIGNAL */
  wire [${MPW1}:0] accn = mp;
  /* verilator lint_on UNUSEDSIGNAL */
  // the product's bits from 2^28 on: xy (first multiply) or Y' (second)
  /* verilator lint_off UNUSEDSIGNAL */
  wire [${PW1}:0] pf = {acc, lo};
  wire [${QW1}:0] q = ${QX};
  wire [29:0] xym = 30'h20000000 - q[29:0];
  // R
  wire [${WY}:0] yh = ${YX} + ${WY2}'d${RSH};
  wire [${RRW1}:0] rr = yh[${WY}:${RS}];
  /* verilator lint_on UNUSEDSIGNAL */
  assign t = x_r;
${ZERO})" + detail::kSeqFsmHead + R"(        IDLE: begin msel <= 1'b0; if (start) st <= LOG; end
        LOG: begin x_r <= lg; st <= SPLIT; end
        SPLIT: begin d_r <= d; x_r <= x_r + {${XOW1}'d0, carry}; st <= SEED; end
        SEED: begin
          y_r <= seed[${WY1}:0];
          n_r <= ${NSW}'d${NS};
          sec <= 1'b0;
          c <= ${CW}'d0;
          st <= ${NSTEPS};
          msel <= (${NSW}'d${NS} != ${NSW}'d0);
          fin <= (${NSW}'d${NS} == ${NSW}'d0);
        end
        MUL: begin
          acc <= accn[${AW1}:0];
          if (cf) lo <= ${LOSH};
          c <= c + ${CW}'d1;
          if (c == ${CW}'d${LAST}) st <= STORE;
        end
        STORE: begin
          c <= ${CW}'d0;
          sec <= !sec;
          if (!sec) begin
            m_r <= xym[${WM1}:0];
            st <= MUL;
          end else begin
            y_r <= q[${WY1}:0];
            n_r <= n_r - ${NSW}'d1;
            st <= (n_r == ${NSW}'d1) ? IDLE : MUL;
            fin <= (n_r == ${NSW}'d1);
            msel <= (n_r != ${NSW}'d1);
          end
        end
        default: st <= IDLE;
      endcase
    end
  end
  // R from the final Y (y_r is final when fin is set; r valid the cycle after)
  always @(posedge clk) if (fin) r <= ${REXPR};
endmodule
)",
               v);
}

// Buffers of at least kReadCopiesFrom beats read through 8 copies of the read address, copy b
// selecting bit b of every lane's code: each copy's select lines reach 1/8 of the buffer's read
// multiplexer (a 256-deep buffer's single address otherwise drives thousands of multiplexer inputs,
// which the timing-driven mapping does not always buffer). The copies follow rp exactly.
constexpr int kReadCopiesFrom = 128;

std::string read_pipeline(const Geo& g) {
  // re-streamed: the element register takes the input beat of PASS2 / PASS3 (issue: taken)
  if (g.o.restream) return detail::marker_pipeline(4, "      if (issue) qr <= in_q;\n", " && (ph == PASS3)");
  std::string reads = "      qr <= mem[${RA}];\n";
  if (g.NB >= kReadCopiesFrom) {
    reads.clear();
    for (int b = 0; b < 8; ++b)
      for (int j = 0; j < g.L; ++j) reads += fmt::format("      qr[{0}] <= mem[ra{1}][{0}];\n", 8 * j + b, b);
  }
  return detail::marker_pipeline(4, reads, " && (ph == PASS3)");
}

// The read address copies (after the reciprocal's done is declared); v: the top's keys.
std::string read_copies(const Geo& g, const detail::Vars& v) {
  if (g.NB < kReadCopiesFrom || g.o.restream) return "";
  std::string copies;
  for (int b = 0; b < 8; ++b)
    copies += subst(R"(  (* keep *) reg [${ABW1}:0] ra${B};  // copy ${B} of the read address (bit ${B} of each code)
  always @(posedge clk) begin
    if (rst) ra${B} <= ${ABW}'d0;
    else case (ph)
      LOAD: if (take && ${ROWEND}) ra${B} <= ${ABW}'d0;
      PASS2: if (issue) ra${B} <= ra${B} + ${ABW}'d1;
      RWAIT: if (rdone) ra${B} <= ${ABW}'d0;
      PASS3: if (issue && adv) ra${B} <= ra${B} + ${ABW}'d1;
      default: ra${B} <= ra${B};
    endcase
  end
)",
                    {{"B", S(b)}, {"ABW", S(g.ABW)}, {"ABW1", S(g.ABW - 1)}, {"ROWEND", v.at("ROWEND")}});
  return copies;
}

std::string top_module(const Geo& g) {
  auto v = vars_of(g);
  const int L = g.L;
  v["PROG"] = prog_ports(g);
  detail::add_stream_vars(v, g, 4, g.o.programmable);
  std::string lanes, beatmax;
  // Beat max over the valid lanes of the input beat, lane pipelines.
  beatmax += "  // the input beat's maximum over its valid lanes\n";
  beatmax += "  wire signed [7:0] bm0 = in_q[7:0];\n";
  for (int j = 1; j < L; ++j)
    beatmax += fmt::format(
        "  wire signed [7:0] bq{j} = in_q[{h}:{l}];\n"
        "  wire signed [7:0] bm{j} = ({m} && bq{j} > bm{jm}) ? bq{j} : bm{jm};\n", fmt::arg("j", j),
        fmt::arg("h", 8 * j + 7), fmt::arg("l", 8 * j), fmt::arg("m", detail::lane_mask("in_last", "in_keep", g.KB, j)),
        fmt::arg("jm", j - 1));
  beatmax += fmt::format("  wire signed [7:0] bmax = bm{};", L - 1);
  std::string bsum = fmt::format("{}'d0", g.SW);
  for (int j = 0; j < L; ++j) {
    const std::string jj = S(j);
    lanes += subst(R"(  // lane ${J}
  /* verilator lint_off UNUSEDSIGNAL */
  wire [8:0] ud${J} = {mx[7], mx} - {qr[${H}], qr[${H}:${LO}]};
  /* verilator lint_on UNUSEDSIGNAL */
  wire [${KW1}:0] k1w${J};
  wire [7:0] c1w${J};
  ${P}_exp_split u_split${J} (.u(ud${J}[7:0]), .k(k1w${J}), .c(c1w${J}));
  reg [${KW1}:0] k1_${J}, k2_${J};
  reg [7:0] c1_${J};
  wire [${WA1}:0] a2w${J};
${PWL}  reg [${WA1}:0] a2_${J};
  wire [23:0] e3w${J};
  ${P}_exp_shift u_shift${J} (.acc(a2_${J}), .k(k2_${J}), .e(e3w${J}));
  reg [23:0] e3_${J};
  wire [15:0] e16_${J};
  ${P}_e16 u_e16${J} (.e(e3_${J}), .e16(e16_${J}));
  wire [7:0] pw${J};
  /* verilator lint_off UNUSEDSIGNAL */
  wire [${MPW1}:0] m4w${J};
  /* verilator lint_on UNUSEDSIGNAL */
${MUL}  reg [${HW1}:0] m4_${J};      // e16 R >> ${PL}
  ${P}_out_round u_ornd${J} (.prod(m4_${J}), .t(rt), ${ZC}.p(pw${J}));
  always @(posedge clk) if (adv) begin
    k1_${J} <= k1w${J}; c1_${J} <= c1w${J};
    a2_${J} <= a2w${J}; k2_${J} <= k1_${J};
    e3_${J} <= e3w${J};
    m4_${J} <= m4w${J}[30:${PL}];
  end
)",
                   [&] {
                     auto w = v;
                     w["J"] = jj;
                     w["H"] = S(8 * j + 7);
                     w["LO"] = S(8 * j);
                     w["PWL"] = pwl_inst(g, g.exp_pwl, 0, "u_exp" + jj, "c1_" + jj, "a2w" + jj);
                     // lane 0's multiplier also runs the reciprocal's Newton partial products (RWAIT)
                     w["MUL"] = j == 0 ? subst("  ${P}_mul u_mul0 (.a(rmsel ? rma : e16_0), .b(rmsel ? rmb : rr), .c(rmc), .p(m4w0));\n", w)
                                       : subst("  ${P}_mul u_mul${J} (.a(e16_${J}), .b(rr), .c(${AW}'d0), .p(m4w${J}));\n", w);
                     w["ZC"] = g.zero_used ? ".zero(rz), " : "";
                     return w;
                   }());
    bsum += fmt::format(" + (({}) ? {{{}'d0, e3_{}}} : {}'d0)", detail::lane_mask("l3", "keep_last", g.KB, j), g.SW - 24,
                        j, g.SW);
  }
  v["LANES"] = lanes;
  v["BSUM"] = bsum;
  v["BEATMAX"] = beatmax;
  v["KEEPL"] = L > 1 ? fmt::format("  reg [{}:0] keep_last;  // valid lanes of the row's last beat\n", g.KB - 1) : "";
  v["SWX"] = S(g.SW);
  v["RZD"] = g.zero_used ? "  wire rz;\n" : "";
  v["RZC"] = g.zero_used ? ", .zero(rz)" : "";
  v["RACOPIES"] = read_copies(g, v);
  // The row buffer and the passes' element source: the buffer read (issue: a beat is read), or,
  // re-streamed, the input beat (issue: a beat of PASS2 / PASS3 is taken).
  const std::string source =
      g.o.restream ? R"(  reg [${CW1}:0] wp, nb, rp;       // beats taken in LOAD, beats of the row, beats taken in this pass
${KEEPL}  reg signed [7:0] mx;            // the row's maximum
  reg [${SW1}:0] sum;             // S
  wire adv = !out_valid || out_ready;  // the element pipeline advances
  wire pass = (ph == PASS2 || ph == PASS3) && (rp != nb);  // a pass has beats left
  assign in_ready = (ph == LOAD) || (pass && adv);
  wire take = in_valid && (ph == LOAD);
  wire issue = in_valid && pass && adv;  // a beat of PASS2 / PASS3 is taken
${BEATMAX}
  // element pipeline: input beat -> split -> EXP2M1 -> shift -> (sum | output)
)"
                   : R"(  reg [${QW1}:0] mem [0:${NB1}];   // the row buffer (int8 codes)
  reg [${CW1}:0] wp, nb, rp;       // beats written, beats of the row, next beat to read
${KEEPL}  reg signed [7:0] mx;            // the row's maximum
  reg [${SW1}:0] sum;             // S
  wire adv = !out_valid || out_ready;  // the element pipeline advances
  assign in_ready = (ph == LOAD);
  wire take = in_valid && (ph == LOAD);
  wire issue = (ph == PASS2 || ph == PASS3) && (rp != nb);
${BEATMAX}
  always @(posedge clk) if (take) mem[${WA_}] <= in_q;
  // element pipeline: buffer read -> split -> EXP2M1 -> shift -> (sum | output)
)";
  const std::string about =
      g.o.restream ? R"(// Re-streamed (no row buffer): the source sends each row three times, identical each time (the same
// beats, in_last and in_keep): LOAD (the maximum), PASS2 (the sum) and PASS3 (the outputs: one
// output beat per input beat). in_ready is high in LOAD, and in PASS2 / PASS3 while the pass has
// beats left and the element pipeline advances (out_ready stalls reach the source); a pass ends on
// its in_last beat. A row sent differently in a later pass gives undefined outputs.
)"
                   : "";
  return subst(R"(// Integer softmax unit: ${L} lane(s), rows of 1..${N} int8 logits at 2^-${IF}, outputs at 2^-${OF}
// (saturated to ${MAXC}). Generated by gqalut (gqalut::hw::generate_softmax_unit); docs/hw_units.md.
// Stream in: beats of ${L} codes (lane j = in_q[8j+7:8j]), in_last marks the row's last beat (the
// ${NB}th beat ends a row by itself). Stream out: the row's probabilities in the same beats,
// out_first / out_last mark the row's first / last beat. valid/ready on both; a new row is
// accepted once the previous row's last output beat has been taken.
)" + about + detail::stream_ports("", "out_p", "\n") + R"(  localparam [2:0] LOAD = 3'd0, PASS2 = 3'd1, RSTART = 3'd2, RWAIT = 3'd3, PASS3 = 3'd4;
  reg [2:0] ph;
)" + source + R"(  reg [${QW1}:0] qr;
)" + read_pipeline(g) + R"(  // the reciprocal
  wire rdone;
  wire [${RW1}:0] rr;
  wire [${XOW1}:0] rt;
${RZD}  wire [15:0] rma;
  wire [${RW1}:0] rmb;
  wire [${AW1}:0] rmc;
  wire rmsel;
  ${P}_recip u_recip (.clk(clk), .rst(rst),
${PROGC}    .start(ph == RSTART), .s(sum), .done(rdone), .ma(rma), .mb(rmb), .mc(rmc), .msel(rmsel), .mp(m4w0),
    .r(rr), .t(rt)${RZC});
${LANES}  wire [${SW1}:0] bsum = ${BSUM};
)" + detail::kRowFsmHead + R"(          mx <= (wp == ${CW}'d0 || bmax > mx) ? bmax : mx;
          wp <= wp + ${CW}'d1;
          if (${ROWEND}) begin
            nb <= wp + ${CW}'d1;
${KEEPSET}            rp <= ${CW}'d0;
            sum <= ${SWX}'d0;
            ph <= PASS2;
          end
        end
        PASS2: begin
          if (issue) rp <= rp + ${CW}'d1;
          if (v3) sum <= sum + bsum;
          if (v3 && l3) ph <= RSTART;
        end
        RSTART: ph <= RWAIT;
        RWAIT: if (rdone) begin rp <= ${CW}'d0; ph <= PASS3; end
)" + detail::row_fsm_tail("PASS3") + R"(${RACOPIES}  // output register
)" + detail::output_register("out_p", detail::lane_outputs(g, 4, "pw"), 4) + R"(endmodule
)",
               v);
}

// ---------------------------------------------------------------------------- testbench pieces
std::string file_header(const Geo& g, const std::string& what) {
  const SoftmaxDatapath& dp = g.r->dp;
  return fmt::format(
      "// Generated by gqalut (gqalut::hw::generate_softmax_unit): {}.\n"
      "// Plan: in_frac {}, out_frac {}, EXP2M1 scale {} (L_e {}, g {}, u_cap {}), DIV scale {} octave a = {} (L_d {}),\n"
      "// {} Newton step(s), r_max {}. {} tables. Verilog-2005, synthesizable. Do not edit: regenerate.\n{}",
      what, dp.in_frac, dp.out_frac, dp.exp_scale, dp.exp_table_shift, dp.exp_gain, dp.u_cap, dp.div_scale, dp.div_a,
      dp.div_table_shift, dp.newton_steps, dp.r_max, g.o.programmable ? "Programmable" : "Baked", detail::kTimescale);
}

std::vector<UnitRegisterWrite> program_of(const Geo& g) {
  std::vector<UnitRegisterWrite> out;
  const int aw = prog_port(g).aw;
  for (const auto& w : program_image(g.r->exp2m1, g.exp_pwl.geometry)) out.push_back({w.addr, w.data});
  for (const auto& w : program_image(g.r->div, g.div_pwl.geometry)) out.push_back({w.addr | (1u << (aw - 1)), w.data});
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------- public API
VerilogUnit generate_softmax_unit(const ref::SoftmaxRef& r, const SoftmaxUnitOptions& opt) {
  const Geo g = make_geo(r, opt);
  VerilogUnit u = detail::unit_with_tables(g.P, {&g.exp_pwl, &g.div_pwl});
  u.files.emplace_back(g.P + "_mul.v", file_header(g, "the multiplier (output product, Newton steps)") + mul_module(g));
  u.files.emplace_back(g.P + "_exp_split.v", file_header(g, "EXP stage 1") + exp_split_module(g));
  u.files.emplace_back(g.P + "_exp_shift.v", file_header(g, "EXP stage 3") + exp_shift_module(g));
  u.files.emplace_back(g.P + "_e16.v", file_header(g, "output stage, e16") + e16_module(g));
  u.files.emplace_back(g.P + "_out_round.v", file_header(g, "output stage, rounding") + out_round_module(g));
  u.files.emplace_back(g.P + "_recip.v", file_header(g, "the once-per-row reciprocal") + recip_module(g));
  u.files.emplace_back(g.P + ".v", file_header(g, g.o.restream ? "top (streaming softmax unit, re-streamed: no row buffer; the row is sent 3 times)"
                                                                 : "top (streaming softmax unit)") +
                                        top_module(g));
  return u;
}

VerilogUnit generate_softmax_unit(const SoftmaxPlan& plan, const SoftmaxUnitOptions& opt) {
  return generate_softmax_unit(plan.reference(), opt);
}

std::vector<UnitRegisterWrite> softmax_unit_program(const ref::SoftmaxRef& r, const SoftmaxUnitOptions& opt) {
  SoftmaxUnitOptions o = opt;
  o.programmable = true;
  return program_of(make_geo(r, o));
}

UnitTiming softmax_unit_timing(const ref::SoftmaxRef& r, const SoftmaxUnitOptions& opt, long long n) {
  const Geo g = make_geo(r, opt);
  UnitTiming t = detail::row_timing("softmax", g, n, 5);
  // start cycle, LOG, SPLIT, SEED, then per Newton step two multiplies of (partial products + store) cycles.
  t.recip_cycles = 4 + static_cast<long long>(g.NS) * 2 * (static_cast<long long>(g.pps.size()) + 1);
  // LOAD B beats, PASS2 B issues + 4 pipeline cycles (read, split, EXP2M1, shift: the sum),
  // RSTART, the reciprocal, PASS3 B issues + 5 (read, split, EXP2M1, shift, product: the output).
  // Re-streamed, the same count with 3B input beats: a source that keeps up presents PASS2's
  // first beat in the cycle after LOAD's last (PASS2 takes a beat per cycle from there, as the
  // buffer read issues) and holds PASS3's first beat until the reciprocal is done (taken in the
  // cycle the buffer's first read would issue); the element register takes the beat where the
  // buffer read would load it.
  t.row_cycles = t.beats + (t.beats + 4) + 1 + t.recip_cycles + (t.beats + 5);
  t.interval = t.row_cycles + 1;
  return t;
}

UnitTestbench softmax_stage_testbench(const ref::SoftmaxRef& r, const SoftmaxUnitOptions& opt,
                                      const UnitTestOptions& to) {
  const Geo g = make_geo(r, opt);
  const SoftmaxDatapath& dp = r.dp;
  UnitTestbench tb;
  // EXP: every u in [0, 255].
  std::string ev;
  for (uint32_t u = 0; u < 256; ++u) {
    const ref::ExpSplit sp = ref::softmax_exp_split(dp, u);
    ev += HexWord()
              .add(u, 8)
              .add(sp.k, g.KW)
              .add(static_cast<uint32_t>(sp.c), 8)
              .add(static_cast<uint64_t>(ref::softmax_exp_acc(r, sp.c)), g.WA)
              .add(ref::softmax_exp(r, u), 24)
              .str() +
          "\n";
  }
  const int evw = 8 + g.KW + 8 + g.WA + 24;
  // Reciprocal: every DIV code at both ends of its interval and at its centre for several
  // exponents, the rounding carry, random reachable sums.
  const uint64_t s_min = ref::softmax_exp(r, 0);
  const uint64_t s_max = uint64_t{g.e_max} * static_cast<uint64_t>(g.N);
  std::vector<uint64_t> sums;
  const int x_lo = 63 - __builtin_clzll(s_min), x_hi = 63 - __builtin_clzll(s_max);
  std::vector<int> xs{x_lo, x_lo + 1, (x_lo + x_hi) / 2, x_hi - 1, x_hi};
  for (int x : xs) {
    if (x < g.A + 1) continue;
    const uint64_t unit = uint64_t{1} << (x - g.A);
    for (uint64_t d = uint64_t{1} << g.A; d < (uint64_t{2} << g.A); ++d) {
      for (uint64_t sv : {d * unit - unit / 2, d * unit, d * unit + unit / 2 - 1})
        if (sv >= s_min && sv <= s_max) sums.push_back(sv);
    }
    const uint64_t carry = (uint64_t{1} << (x + 1)) - 1;  // rounds up to 2^(a+1)
    if (carry >= s_min && carry <= s_max) sums.push_back(carry);
  }
  sums.push_back(s_min);
  sums.push_back(s_max);
  std::mt19937_64 rng(to.seed * 7919 + 17);
  for (long long i = 0; i < to.stage_random / 4; ++i) {
    // log-uniform over [s_min, s_max]
    const double l = std::uniform_real_distribution<double>(std::log2(double(s_min)), std::log2(double(s_max)))(rng);
    const uint64_t sv = std::clamp<uint64_t>(static_cast<uint64_t>(std::exp2(l)), s_min, s_max);
    sums.push_back(sv);
  }
  std::string rv;
  std::vector<uint32_t> rs;
  for (uint64_t sv : sums) {
    const ref::SoftmaxRecip rc = ref::softmax_reciprocal(r, sv);
    // the generator's bounds (make_geo) hold for every sum the testbench drives
    require(rc.y0 < (uint64_t{1} << g.WY) && rc.y < (uint64_t{1} << g.WY) && rc.split.X < (uint64_t{1} << g.WX) &&
                rc.split.x >= g.XLO && rc.split.x <= g.XHI + 1,
            fmt::format("the reciprocal of S = {} leaves the unit's bounds", sv));
    const bool zero = rc.T >= ref::kOutShiftZero;
    rs.push_back(rc.R);
    rv += HexWord()
              .add(sv, g.SW)
              .add(static_cast<uint64_t>(rc.split.x - g.XLO), g.XOW)
              .add(rc.split.d, g.A + 1)
              .add(rc.split.X, g.WX)
              .add(rc.y0, g.WY)
              .add(rc.y, g.WY)
              .add(rc.R, g.RW)
              .add(zero ? 1 : 0, 1)
              .str() +
          "\n";
  }
  const int rvw = g.SW + g.XOW + g.A + 1 + g.WX + 2 * g.WY + g.RW + 1;
  // Output stage: corners and random (e, R, T) within the reachable ranges.
  std::string ov;
  long long nov = 0;
  auto add_out = [&](uint32_t e, uint32_t R, int T) {
    const bool zero = T >= ref::kOutShiftZero;
    ov += HexWord()
              .add(e, 24)
              .add(R, g.RW)
              .add(zero ? 1 : 0, 1)
              .add(zero ? 0 : static_cast<uint64_t>(T - g.TMIN), g.XOW)
              .add(ref::softmax_out(e, R, T, g.max_code), 8)
              .str() +
          "\n";
    ++nov;
  };
  const int t_min = ref::softmax_out_shift(dp, x_lo), t_max = ref::softmax_out_shift(dp, x_hi + 1);
  for (uint32_t e : {0u, 1u, 127u, 128u, g.e_max / 2, g.e_max})
    for (uint32_t R : {1u, g.r_max / 2, g.r_max})
      for (int T = std::max(1, t_min); T <= t_max; ++T) add_out(e, R, T);
  // exact halves (round half up): e16 = 2^j, R = odd 2^(T-1-j)
  for (int T = std::max(1, t_min); T <= std::min(t_max, 31); ++T)
    for (int j = 0; j <= 15; ++j) {
      const uint32_t e = j == 15 ? (1u << 23) : ((1u << (j + 8)));
      for (uint32_t odd = 1; odd <= 9; odd += 2) {
        if (T - 1 - j < 0) continue;
        const uint64_t R = uint64_t{odd} << (T - 1 - j);
        if (R >= 1 && R <= g.r_max && e <= g.e_max) add_out(e, static_cast<uint32_t>(R), T);
      }
    }
  for (long long i = 0; i < to.stage_random; ++i) {
    const uint32_t e = std::uniform_int_distribution<uint32_t>(0, g.e_max)(rng);
    const uint32_t R = i % 2 ? rs[static_cast<size_t>(i / 2) % rs.size()]
                             : std::uniform_int_distribution<uint32_t>(1, g.r_max)(rng);
    add_out(e, R, std::uniform_int_distribution<int>(std::max(1, t_min), t_max)(rng));
  }
  const int ovw = 24 + g.RW + 1 + g.XOW + 8;
  const auto prog = g.o.programmable ? program_of(g) : std::vector<UnitRegisterWrite>{};
  std::map<std::string, std::string> v = vars_of(g);
  v["EVW1"] = S(evw - 1);
  v["RVW1"] = S(rvw - 1);
  v["OVW1"] = S(ovw - 1);
  v["NR"] = S(static_cast<long long>(sums.size()));
  v["NR1"] = S(static_cast<long long>(sums.size()) - 1);
  detail::add_stage_tb_vars(v, prog_port(g), prog.size(), nov);
  v["PWL"] = pwl_inst(g, g.exp_pwl, 0, "u_exp", "c", "acc");
  v["ZC"] = g.zero_used ? ", .zero(zero)" : "";
  v["ZD"] = g.zero_used ? "" : "  wire zero = 1'b0;\n";
  v["OZC"] = g.zero_used ? ".zero(oz), " : "";
  detail::set_testbench(tb, g.P, "stage", "gqalut::ref stage functions", subst(detail::kStageTbHead + std::string(R"(  // EXP stage: u -> (k, c) -> EXP2M1 -> e
  reg [${EVW1}:0] ev [0:255];
  reg [7:0] u;
  wire [${KW1}:0] k;
  wire [7:0] c;
  wire [${WA1}:0] acc;
  wire [23:0] e;
  ${P}_exp_split u_split (.u(u), .k(k), .c(c));
${PWL}  ${P}_exp_shift u_shift (.acc(acc), .k(k), .e(e));
  // reciprocal
  reg [${RVW1}:0] rv [0:${NR1}];
  reg start = 1'b0;
  reg [${SW1}:0] s;
  wire done;
${ZD}  wire [${RW1}:0] r;
  wire [${XOW1}:0] t;
  wire [15:0] rma;
  wire [${RW1}:0] rmb;
  wire [${AW1}:0] rmc;
  /* verilator lint_off UNUSEDSIGNAL */
  wire rmsel;
  /* verilator lint_on UNUSEDSIGNAL */
  wire [${MPW1}:0] rmp;
  ${P}_mul u_rmul (.a(rma), .b(rmb), .c(rmc), .p(rmp));
  ${P}_recip u_recip (.clk(clk), .rst(rst), ${PROGC}.start(start), .s(s), .done(done), .ma(rma), .mb(rmb), .mp(rmp),
    .mc(rmc), .msel(rmsel), .r(r), .t(t)${ZC});
  reg [${WY1}:0] y0_seen;
  always @(posedge clk) if (u_recip.st == 3'd3) y0_seen <= u_recip.seed[${WY1}:0];
  reg [${XOW1}:0] ex;
  reg [${A}:0] ed;
  reg [${WX1}:0] eX;
  reg [${WY1}:0] ey0, ey;
  reg [${RW1}:0] eR;
  reg ez;
  // output stage
  reg [${OVW1}:0] ov [0:${NO1}];
  reg [23:0] oe;
  reg [${RW1}:0] oR;
  reg [${XOW1}:0] oT;
  reg oz;
  reg [7:0] op;
  wire [7:0] p;
  wire [15:0] oe16;
  /* verilator lint_off UNUSEDSIGNAL */
  wire [${MPW1}:0] oprod;
  /* verilator lint_on UNUSEDSIGNAL */
  ${P}_e16 u_oe16 (.e(oe), .e16(oe16));
  ${P}_mul u_omul (.a(oe16), .b(oR), .c(${AW}'d0), .p(oprod));
  ${P}_out_round u_ornd (.prod(oprod[30:${PL}]), .t(oT), ${OZC}.p(p));
  reg [7:0] eu;
  reg [${KW1}:0] ek;
  reg [7:0] ec;
  reg [${WA1}:0] eacc;
  reg [23:0] ee;
  initial begin
    $readmemh("exp.hex", ev);
    $readmemh("recip.hex", rv);
    $readmemh("out.hex", ov);
)") + detail::kTbReset + R"(    for (i = 0; i < 256; i = i + 1) begin
      {eu, ek, ec, eacc, ee} = ev[i];
      u = eu; #1;
      checks = checks + 1;
      if (k !== ek || c !== ec || acc !== eacc || e !== ee) begin
        errors = errors + 1;
        if (errors <= 20) $display("FAIL: EXP u=%0d: k=%0d c=%0d acc=%0d e=%0d, expected k=%0d c=%0d acc=%0d e=%0d",
                                   u, k, c, acc, e, ek, ec, eacc, ee);
      end
    end
    for (i = 0; i < ${NR}; i = i + 1) begin
      @(negedge clk);
      {s, ex, ed, eX, ey0, ey, eR, ez} = rv[i];
)" + detail::kTbStartAndWait + R"(      if (u_recip.x_r !== ex || u_recip.d_r !== ed || u_recip.xv !== eX || y0_seen !== ey0 ||
          u_recip.y_r !== ey || r !== eR || zero !== ez || t !== ex) begin
        errors = errors + 1;
        if (errors <= 20) $display("FAIL: RECIP S=%0d: x-${XLO}=%0d d=%0d X=%0d y0=%0d y=%0d R=%0d zero=%0d t=%0d, expected %0d %0d %0d %0d %0d %0d %0d %0d",
                                   s, u_recip.x_r, u_recip.d_r, u_recip.xv, y0_seen, u_recip.y_r, r, zero, t,
                                   ex, ed, eX, ey0, ey, eR, ez, ex);
      end
    end
    for (i = 0; i < ${NO}; i = i + 1) begin
      {oe, oR, oz, oT, op} = ov[i];
      #1;
      checks = checks + 1;
      if (p !== op) begin
        errors = errors + 1;
        if (errors <= 20) $display("FAIL: OUT e=%0d R=%0d T-${TMIN}=%0d zero=%0d: p=%0d expected %0d", oe, oR, oT, oz, p, op);
      end
    end
)", v));
  detail::set_data_files(tb, {{"exp.hex", ev}, {"recip.hex", rv}, {"out.hex", ov}}, prog_port(g), prog);
  tb.checks = 256 + static_cast<long long>(sums.size()) + nov;
  return tb;
}

namespace {

// Random logits: several shapes (uniform int8, normal of a few widths, narrow spans, clusters).
std::vector<int8_t> random_row(std::mt19937_64& rng, size_t n) {
  std::vector<int8_t> q(n);
  const int kind = std::uniform_int_distribution<int>(0, 5)(rng);
  const double sigma = std::vector<double>{2, 8, 24, 64, 4, 16}[static_cast<size_t>(kind)];
  const int centre = std::uniform_int_distribution<int>(-128, 127)(rng);
  for (auto& v : q) {
    long x;
    if (kind == 0)
      x = std::uniform_int_distribution<int>(-128, 127)(rng);
    else
      x = std::lround(centre + std::normal_distribution<double>(0, sigma)(rng));
    v = static_cast<int8_t>(std::clamp<long>(x, -128, 127));
  }
  return q;
}

}  // namespace

UnitTestbench softmax_row_testbench(const ref::SoftmaxRef& r, const SoftmaxUnitOptions& opt,
                                    const UnitTestOptions& to) {
  const Geo g = make_geo(r, opt);
  const int N = g.N, L = g.L;
  std::vector<std::vector<int8_t>> rows;
  // Edge rows.
  rows.push_back({0});
  rows.push_back({-128});
  rows.push_back({127});
  rows.push_back(std::vector<int8_t>(static_cast<size_t>(N), 5));      // max length, all equal
  rows.push_back(std::vector<int8_t>(static_cast<size_t>(N), -128));   // all -128
  rows.push_back(std::vector<int8_t>(static_cast<size_t>(N), 127));
  {
    std::vector<int8_t> spike(static_cast<size_t>(N), -100);
    spike[static_cast<size_t>(N / 3)] = 100;
    rows.push_back(spike);
    rows.push_back(detail::alternating(static_cast<size_t>(N)));
    for (int n : detail::edge_lengths(L, N)) {
      rows.push_back(std::vector<int8_t>(static_cast<size_t>(n), -7));
      rows.push_back(detail::last_high(static_cast<size_t>(n)));
    }
  }
  std::mt19937_64 rng(to.seed);
  for (long long i = 0; i < to.random_rows; ++i) rows.push_back(random_row(rng, detail::random_row_length(rng, to, i, N, "softmax")));
  detail::RowBeats beats;
  long long elems = 0;
  const int passes = g.o.restream ? 3 : 1;  // re-streamed: each row's input beats sent three times
  std::string in_beats;
  for (const auto& q : rows) {
    const size_t n = q.size();
    std::vector<uint32_t> p(n);
    if (g.o.int8_out) {
      std::vector<int8_t> o(n);
      ref::softmax_row_ref(r, q.data(), o.data(), n);
      for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(o[i]);
    } else {
      std::vector<uint8_t> o(n);
      ref::softmax_row_ref(r, q.data(), o.data(), n);
      for (size_t i = 0; i < n; ++i) p[i] = o[i];
    }
    beats.in.clear();
    detail::add_row_beats(
        beats, g, n,
        [&](HexWord& w, size_t lo) { detail::add_lanes(w, g, lo, n, 8, [&](size_t i) { return static_cast<uint8_t>(q[i]); }); },
        [&](size_t i) { return p[i]; });
    for (int k = 0; k < passes; ++k) in_beats += beats.in;
    beats.in.clear();
    elems += static_cast<long long>(n);
  }
  beats.in = in_beats;
  UnitTestbench tb;
  for (const auto& q : rows) tb.row_lengths.push_back(static_cast<long long>(q.size()));
  const auto prog = g.o.programmable ? program_of(g) : std::vector<UnitRegisterWrite>{};
  std::map<std::string, std::string> v = vars_of(g);
  detail::add_row_tb_vars(v, g, prog_port(g), prog.size(), to, beats.beats, softmax_unit_timing(r, opt, 1).row_cycles,
                          rows.size(), elems);
  // the input beats (the output beats times the passes), and room for the passes' stalls
  v["NI"] = S(beats.beats * passes);
  v["NI1"] = S(beats.beats * passes - 1);
  if (passes > 1)
    v["LIMIT"] = S(softmax_unit_timing(r, opt, 1).row_cycles * static_cast<long long>(rows.size()) * 4 +
                   elems * 8 * passes / L + 10000);
  v["IW1"] = S(1 + g.KB + 8 * L - 1);
  detail::set_testbench(tb, g.P, "row", "gqalut::ref::softmax_row_ref", subst(detail::tb_head("rows") + R"(  integer errors = 0, checks = 0, ii = 0, oi = 0, j, seed = ${SEED}, cycles = 0, busy_cycles = 0;
${PROGDECL}  reg [${IW1}:0] inb [0:${NI1}];
  reg [${OW1}:0] outb [0:${NO1}];
  reg in_valid = 1'b0, in_last = 1'b0, out_ready = 1'b0;
  reg [${QW1}:0] in_q = 0;
  reg [${KB1}:0] ikeep = 0;
  wire in_ready, out_valid, out_first, out_last;
  wire [${QW1}:0] out_p;
${OKEEPD}  ${P} dut (.clk(clk), .rst(rst),
${PROGC}    .in_valid(in_valid), .in_ready(in_ready), .in_q(in_q), .in_last(in_last), ${KEEPC}
    .out_valid(out_valid), .out_ready(out_ready), .out_p(out_p), .out_first(out_first), .out_last(out_last)${OKEEPC});
  reg ef, el;
  reg [${KB1}:0] ek;
  reg [${QW1}:0] ep;
  reg started = 1'b0;
  // driver: presents beat ii (with random gaps when stalling)
)" + detail::row_tb_driver("{in_last, ikeep, in_q}", "  // hold the beat until it is taken") +
      "  // checker\n" +
      detail::row_tb_checker(
          "out_p", R"($display("FAIL: beat %0d lane %0d: p=%0d expected %0d", oi, j, out_p[8*j +: 8], ep[8*j +: 8]);)") +
      detail::row_tb_run(), v));
  detail::set_data_files(tb, {{"in.hex", beats.in}, {"expected.hex", beats.out}}, prog_port(g), prog);
  tb.checks = elems;
  return tb;
}

std::string UnitVerification::summary() const {
  return fmt::format("stages {}; rows {}; lint {}", stages.summary(), rows.summary(), lint.summary());
}

UnitVerification verify_softmax_unit(const ref::SoftmaxRef& r, const SoftmaxUnitOptions& opt,
                                     const UnitTestOptions& t, const SimOptions& sim, const LintOptions& lint) {
  return detail::verify_row_unit(
      generate_softmax_unit(r, opt), [&] { return softmax_stage_testbench(r, opt, t); },
      [&] { return softmax_row_testbench(r, opt, t); }, sim, lint);
}

}  // namespace gqalut::hw
