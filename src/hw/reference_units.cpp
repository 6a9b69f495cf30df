// The reference units of issue 16 (point 4): bit-exact models, generators and stream testbenches
// (gqalut/hw/reference_units.hpp, docs/hw_reference_units.md).
#include "gqalut/hw/reference_units.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "gqalut/ibert.hpp"

#include "../../rtl/models.hpp"  // the FP32 primitives' models (fp32_add, fp32_mul, fp32_ge)

namespace gqalut::hw {

namespace fp32ref {
namespace {

using rtl::bits_of;
using rtl::float_of;
constexpr uint32_t kCoef[6] = {0x3f800001u, 0x3f317218u, 0x3e75fc83u, 0x3d6357b6u, 0x3c1e8838u, 0x3aaf8448u};

float neg(float x) { return float_of(bits_of(x) ^ 0x80000000u); }

// y with its biased exponent moved by `shift`: a result below the normal range is a signed zero,
// above it a signed infinity (y normal).
float scale_exponent(float y, int shift, uint32_t sign) {
  const int e = int((bits_of(y) >> 23) & 0xff) + shift;
  if (e <= 0) return float_of(sign);
  if (e >= 255) return float_of(sign | 0x7f800000u);
  return float_of(sign | (uint32_t(e) << 23) | (bits_of(y) & 0x7fffffu));
}

}  // namespace

const uint32_t* exp_coefficients() { return kCoef; }

uint32_t recip_seed(int i) { return uint32_t(std::lround(131072.0 / double(129 + 2 * i))); }

uint32_t rsqrt_seed(int i) {
  const int p = i >> 5, j = i & 31;
  return uint32_t(std::lround(8192.0 / std::sqrt(double(65 + 2 * j) * double(1 << p))));
}

float from_int(int64_t q, int frac) { return std::ldexp(static_cast<float>(q), -frac); }

int32_t to_int(float x, int scale, int32_t lo, int32_t hi) {
  x = rtl::ftz(x);
  if (std::isnan(x) || x == 0) return 0;
  const double v = std::round(std::ldexp(double(x), scale));  // half away from zero
  return int32_t(std::clamp(v, double(lo), double(hi)));
}

float exp(float d) {
  const float t = rtl::fp32_mul(d, float_of(kLog2e));
  if (std::isnan(t)) return float_of(rtl::kCanonicalNan);
  if (std::fabs(t) >= 256.0f) return t < 0 ? 0.0f : std::numeric_limits<float>::infinity();
  const int32_t k = to_int(t, 0, -511, 511);
  const float f = rtl::fp32_add(t, neg(from_int(k, 0)));
  float p = float_of(kCoef[5]);
  for (int i = 4; i >= 0; --i) p = rtl::fp32_add(rtl::fp32_mul(p, f), float_of(kCoef[i]));
  return scale_exponent(p, k, 0);
}

float recip(float x) {
  x = rtl::ftz(x);
  const uint32_t b = bits_of(x), sign = b & 0x80000000u, e = (b >> 23) & 0xff, m = b & 0x7fffffu;
  if (std::isnan(x)) return float_of(rtl::kCanonicalNan);
  if (e == 0) return float_of(sign | 0x7f800000u);
  if (e == 255) return float_of(sign);
  const float mr = float_of((127u << 23) | m);
  float y = float_of((126u << 23) | ((recip_seed(int(m >> 17)) - 512u) << 14));
  for (int s = 0; s < 2; ++s) {
    const float t = rtl::fp32_mul(mr, y);
    const float u = rtl::fp32_add(2.0f, neg(t));
    y = rtl::fp32_mul(y, u);
  }
  return scale_exponent(y, -(int(e) - 127), sign);
}

float rsqrt(float x) {
  x = rtl::ftz(x);
  const uint32_t b = bits_of(x), sign = b & 0x80000000u, e = (b >> 23) & 0xff, m = b & 0x7fffffu;
  if (std::isnan(x)) return float_of(rtl::kCanonicalNan);
  if (e == 0) return float_of(sign | 0x7f800000u);
  if (sign) return float_of(rtl::kCanonicalNan);
  if (e == 255) return 0.0f;
  const uint32_t p = (e & 1) ? 0 : 1;  // e - 127 odd
  const float h = float_of(((126u + p) << 23) | m);
  float y = float_of((126u << 23) | ((rsqrt_seed(int((p << 5) | (m >> 18))) - 512u) << 14));
  for (int s = 0; s < 2; ++s) {
    const float a = rtl::fp32_mul(y, y);
    const float c = rtl::fp32_add(1.5f, neg(rtl::fp32_mul(a, h)));
    y = rtl::fp32_mul(y, c);
  }
  return scale_exponent(y, -((int(e) - 127 - int(p)) / 2), 0);
}

}  // namespace fp32ref

namespace {

void check_range(const char* unit, const char* field, int v, int lo, int hi) {
  if (v < lo || v > hi)
    throw std::invalid_argument(fmt::format("{}: {} must be in [{}, {}], got {}", unit, field, lo, hi, v));
}

void check_row(const char* unit, size_t n, int max_n) {
  if (n < 1 || n > size_t(max_n))
    throw std::invalid_argument(fmt::format("{}: row length must be in [1, max_n = {}], got {}", unit, max_n, n));
}

void check(const Fp32SoftmaxConfig& c) {
  check_range("fp32 softmax", "max_n", c.max_n, 2, 1 << 16);
  check_range("fp32 softmax", "in_frac", c.in_frac, 0, 15);
  check_range("fp32 softmax", "out_frac", c.out_frac, 0, 15);
  check_range("fp32 softmax", "lanes", c.lanes, 1, 16);
}

void check(const Fp32LayerNormConfig& c) {
  check_range("fp32 layernorm", "max_n", c.max_n, 2, 1 << 16);
  check_range("fp32 layernorm", "in_frac", c.in_frac, 0, 15);
  check_range("fp32 layernorm", "gamma_frac", c.gamma_frac, 0, 15);
  check_range("fp32 layernorm", "out_frac", c.out_frac, 0, 15);
  check_range("fp32 layernorm", "lanes", c.lanes, 1, 16);
  const float e = rtl::ftz(c.eps);
  if (!(e > 0) || !std::isfinite(e))
    throw std::invalid_argument(fmt::format("fp32 layernorm: eps must be a positive normal float, got {}", c.eps));
}

VerilogUnit read_sources(const std::string& rtl_dir, const std::vector<std::string>& names) {
  std::vector<std::string> paths;
  for (const auto& n : names) paths.push_back(rtl_dir + "/" + n);
  return read_unit("", paths);
}

}  // namespace

void fp32_softmax_row(const Fp32SoftmaxConfig& c, const int8_t* q, uint8_t* out, size_t n) {
  check(c);
  check_row("fp32 softmax", n, c.max_n);
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = fp32ref::from_int(q[i], c.in_frac);
  float m = x[0];
  for (size_t i = 1; i < n; ++i)
    if (!rtl::fp32_ge(m, x[i])) m = x[i];
  const float neg_m = fp32ref::neg(m);
  // one accumulator per lane (lane j: elements j, j + L, ...), then the lanes' sums in lane order
  const size_t lanes = size_t(c.lanes);
  std::vector<float> acc(lanes, 0.0f);
  for (size_t i = 0; i < n; ++i)
    acc[i % lanes] = rtl::fp32_add(acc[i % lanes], fp32ref::exp(rtl::fp32_add(x[i], neg_m)));
  float s = acc[0];
  for (size_t j = 1; j < lanes; ++j) s = rtl::fp32_add(s, acc[j]);
  const float r = fp32ref::recip(s);
  for (size_t i = 0; i < n; ++i) {
    const float p = rtl::fp32_mul(fp32ref::exp(rtl::fp32_add(x[i], neg_m)), r);
    out[i] = uint8_t(fp32ref::to_int(p, c.out_frac, 0, 255));
  }
}

void fp32_layernorm_row(const Fp32LayerNormConfig& c, const int8_t* q, const int8_t* gamma, const int32_t* beta,
                        int8_t* out, size_t n) {
  check(c);
  check_row("fp32 layernorm", n, c.max_n);
  // one pair of accumulators per lane (lane j: elements j, j + L, ...), then combined in lane order
  const size_t lanes = size_t(c.lanes);
  std::vector<float> ax(lanes, 0.0f), axx(lanes, 0.0f);
  for (size_t i = 0; i < n; ++i) {
    const float x = fp32ref::from_int(q[i], c.in_frac);
    ax[i % lanes] = rtl::fp32_add(ax[i % lanes], x);
    axx[i % lanes] = rtl::fp32_add(axx[i % lanes], rtl::fp32_mul(x, x));
  }
  float sx = ax[0], sxx = axx[0];
  for (size_t j = 1; j < lanes; ++j) {
    sx = rtl::fp32_add(sx, ax[j]);
    sxx = rtl::fp32_add(sxx, axx[j]);
  }
  const float rn = fp32ref::recip(fp32ref::from_int(int64_t(n), 0));
  const float mean = rtl::fp32_mul(sx, rn);
  const float m2 = rtl::fp32_mul(sxx, rn);
  float var = rtl::fp32_add(m2, fp32ref::neg(rtl::fp32_mul(mean, mean)));
  if (std::signbit(var)) var = 0.0f;
  const float r = fp32ref::rsqrt(rtl::fp32_add(var, c.eps));
  const float neg_mean = fp32ref::neg(mean);
  for (size_t i = 0; i < n; ++i) {
    const float d = rtl::fp32_add(fp32ref::from_int(q[i], c.in_frac), neg_mean);
    const float u = rtl::fp32_mul(d, r);
    const float v = rtl::fp32_mul(u, fp32ref::from_int(gamma[i], c.gamma_frac));
    const float w = rtl::fp32_add(v, fp32ref::from_int(beta[i], c.out_frac));
    out[i] = int8_t(fp32ref::to_int(w, c.out_frac, -128, 127));
  }
}

namespace {

const std::vector<std::string> kFp32Common = {"ref_pipe.v", "fp32_add.v", "fp32_mul.v", "fp32_ge.v", "fp32_cvt.v",
                                              "fp32_exp.v",  "fp32_newton.v"};

// The wrapper's name suffix and the RESTREAM parameter: none for the row-buffer units (their
// names and text as before the option), "_r1" and RESTREAM = 1 for the re-streamed ones.
std::string restream_suffix(bool restream) { return restream ? "_r1" : ""; }
std::string restream_param(bool restream) { return restream ? ", .RESTREAM(1)" : ""; }

// The wrapper module: the unit's ports, its parameters set.
std::string wrapper(const std::string& top, const std::string& module, const std::string& params, bool layernorm) {
  const std::string in_ports = layernorm ? "  input  wire [7:0]  in_q,\n  input  wire [7:0]  in_gamma,\n"
                                           "  input  wire [31:0] in_beta,\n"
                                         : "  input  wire [7:0]  in_q,\n";
  const std::string out_port = layernorm ? "out_y" : "out_p";
  const std::string in_conn =
      layernorm ? ".in_q(in_q), .in_gamma(in_gamma), .in_beta(in_beta)," : ".in_q(in_q),";
  return fmt::format(
      "// Generated by gqalut (gqalut/hw/reference_units.hpp): {module} with its parameters set.\n"
      "`timescale 1ns / 1ps\n"
      "module {top} (\n"
      "  input  wire        clk,\n  input  wire        rst,\n  input  wire        in_valid,\n"
      "  output wire        in_ready,\n{in_ports}  input  wire        in_last,\n"
      "  output wire        out_valid,\n  input  wire        out_ready,\n  output wire [7:0]  {out},\n"
      "  output wire        out_last\n);\n"
      "  {module} #({params}) u_unit (.clk(clk), .rst(rst), .in_valid(in_valid), .in_ready(in_ready), {in_conn}\n"
      "    .in_last(in_last), .out_valid(out_valid), .out_ready(out_ready), .{out}({out}), .out_last(out_last));\n"
      "endmodule\n",
      fmt::arg("module", module), fmt::arg("top", top), fmt::arg("in_ports", in_ports), fmt::arg("out", out_port),
      fmt::arg("params", params), fmt::arg("in_conn", in_conn));
}

// The wrapper of softmax_fp32_lanes / layernorm_fp32_lanes: the integer units' ports at L lanes
// (in_keep / out_keep).
std::string wrapper_lanes(const std::string& top, const std::string& module, const std::string& params, int lanes,
                          bool layernorm) {
  int kb = 1;
  while ((1 << kb) < lanes + 1) ++kb;
  const std::string out = layernorm ? "out_y" : "out_p";
  const std::string ln_ports =
      layernorm ? fmt::format("  input  wire [{}:0] in_gamma,\n  input  wire [{}:0] in_beta,\n", 8 * lanes - 1,
                              32 * lanes - 1)
                : "";
  const std::string ln_conn = layernorm ? " .in_gamma(in_gamma), .in_beta(in_beta)," : "";
  return fmt::format(
      "// Generated by gqalut (gqalut/hw/reference_units.hpp): {module} with its parameters set.\n"
      "`timescale 1ns / 1ps\n"
      "module {top} (\n"
      "  input  wire        clk,\n  input  wire        rst,\n  input  wire        in_valid,\n"
      "  output wire        in_ready,\n  input  wire [{qh}:0] in_q,\n{ln_ports}  input  wire        in_last,\n"
      "  input  wire [{kh}:0]  in_keep,\n"
      "  output wire        out_valid,\n  input  wire        out_ready,\n  output wire [{qh}:0] {out},\n"
      "  output wire        out_last,\n  output wire [{kh}:0]  out_keep\n);\n"
      "  {module} #({params}) u_unit (.clk(clk), .rst(rst), .in_valid(in_valid), .in_ready(in_ready), .in_q(in_q),\n"
      "   {ln_conn} .in_last(in_last), .in_keep(in_keep), .out_valid(out_valid), .out_ready(out_ready), "
      ".{out}({out}),\n"
      "    .out_last(out_last), .out_keep(out_keep));\n"
      "endmodule\n",
      fmt::arg("module", module), fmt::arg("top", top), fmt::arg("params", params), fmt::arg("qh", 8 * lanes - 1),
      fmt::arg("kh", kb - 1), fmt::arg("out", out), fmt::arg("ln_ports", ln_ports), fmt::arg("ln_conn", ln_conn));
}

// The FP32 unit's wrapper file: `module` at one lane, `module`_lanes with LANES and MAXB beyond.
std::pair<std::string, std::string> fp32_wrapper(const std::string& top, const std::string& module,
                                                 const std::string& params, int lanes, int max_n, bool layernorm) {
  if (lanes == 1) return {top + ".v", wrapper(top, module, params, layernorm)};
  const int beats = (max_n + lanes - 1) / lanes;  // MAXB as a plain number (Verilator's width rules)
  return {top + ".v", wrapper_lanes(top, module + "_lanes",
                                    params + fmt::format(", .LANES({}), .MAXB({})", lanes, beats), lanes, layernorm)};
}

// The top name's lane part: none at one lane.
std::string lanes_suffix(int lanes) { return lanes > 1 ? fmt::format("_l{}", lanes) : ""; }

}  // namespace

VerilogUnit fp32_softmax_unit(const Fp32SoftmaxConfig& c, const std::string& rtl_dir) {
  check(c);
  std::vector<std::string> names = kFp32Common;
  names.push_back("softmax_fp32.v");
  VerilogUnit u = read_sources(rtl_dir, names);
  u.top = fmt::format("ref_softmax_fp32_n{}_i{}_o{}_p{}{}{}", c.max_n, c.in_frac, c.out_frac, c.pipeline ? 1 : 0,
                      lanes_suffix(c.lanes), restream_suffix(c.restream));
  const std::string params = fmt::format(".MAXN({}), .IN_FRAC({}), .OUT_FRAC({}), .PIPE({}){}", c.max_n, c.in_frac,
                                         c.out_frac, c.pipeline ? 1 : 0, restream_param(c.restream));
  u.files.push_back(fp32_wrapper(u.top, "softmax_fp32", params, c.lanes, c.max_n, false));
  return u;
}

VerilogUnit fp32_layernorm_unit(const Fp32LayerNormConfig& c, const std::string& rtl_dir) {
  check(c);
  std::vector<std::string> names = kFp32Common;
  names.push_back("layernorm_fp32.v");
  VerilogUnit u = read_sources(rtl_dir, names);
  const uint32_t eps = rtl::bits_of(c.eps);
  u.top = fmt::format("ref_layernorm_fp32_n{}_i{}_g{}_o{}_e{:08x}_p{}{}{}", c.max_n, c.in_frac, c.gamma_frac,
                      c.out_frac, eps, c.pipeline ? 1 : 0, lanes_suffix(c.lanes), restream_suffix(c.restream));
  const std::string params =
      fmt::format(".MAXN({}), .IN_FRAC({}), .GAMMA_FRAC({}), .OUT_FRAC({}), .EPS(32'h{:08x}), .PIPE({}){}", c.max_n,
                  c.in_frac, c.gamma_frac, c.out_frac, eps, c.pipeline ? 1 : 0, restream_param(c.restream));
  u.files.push_back(fp32_wrapper(u.top, "layernorm_fp32", params, c.lanes, c.max_n, true));
  return u;
}

// The protocol of intops_measure.hpp itself (one implementation): the row functions wrapped as
// its row operations.
OpErrorStats measure_softmax_rows(const SoftmaxRowFn& fn, int in_frac, int out_frac, const Rows& rows) {
  SoftmaxRowOp op;
  op.in_frac = in_frac;
  op.out_frac = out_frac;
  op.s8 = fn;
  return measure_softmax(op, rows, false);
}

OpErrorStats measure_layernorm_rows(const LayerNormRowFn& fn, int in_frac, int gamma_frac, int out_frac, double eps,
                                    const Rows& rows, uint64_t seed) {
  LayerNormRowOp op;
  op.in_frac = in_frac;
  op.gamma_frac = gamma_frac;
  op.out_frac = out_frac;
  op.eps = eps;
  op.row = fn;
  return measure_layernorm(op, rows, seed);
}

namespace {

void check(const IbertSoftmaxConfig& c) {
  check_range("I-BERT softmax unit", "max_n", c.max_n, 2, 1 << 16);
  check_range("I-BERT softmax unit", "in_frac", c.in_frac, 0, 15);
  check_range("I-BERT softmax unit", "out_frac", c.out_frac, 1, 15);
  if (c.work_frac != -1) check_range("I-BERT softmax unit", "work_frac", c.work_frac, std::max(c.in_frac, 1), 20);
}

void check(const IbertLayerNormConfig& c) {
  check_range("I-BERT layernorm unit", "max_n", c.max_n, 2, 1 << 16);
  check_range("I-BERT layernorm unit", "in_frac", c.in_frac, 0, 15);
  check_range("I-BERT layernorm unit", "gamma_frac", c.gamma_frac, 0, 15);
  check_range("I-BERT layernorm unit", "out_frac", c.out_frac, 0, 15);
  if (!(c.eps >= 0) || !(std::ldexp(c.eps, 2 * c.in_frac) <= 16384.0))
    throw std::invalid_argument(
        fmt::format("I-BERT layernorm unit: eps must be >= 0 with eps 4^in_frac <= 2^14, got {}", c.eps));
}


int bit_length(uint64_t v) { return v == 0 ? 0 : 64 - __builtin_clzll(v); }

__extension__ typedef unsigned __int128 u128;

}  // namespace

IbertEpsFixed ibert_eps_fixed(const IbertLayerNormConfig& c) {
  check(c);
  const ibert::LayerNorm l = ibert::make_layernorm(c.in_frac, c.out_frac, c.gamma_frac, c.eps);
  // ibert's eps_v (layernorm_row_stats): llround(eps n^2 4^f), computed in double.
  auto want = [&](int64_t n) {
    return std::llround(l.eps * (double(n) * double(n) * double(int64_t{1} << (2 * l.in_frac))));
  };
  const double e = std::ldexp(c.eps, 2 * c.in_frac);
  if (e == 0) return {};
  for (int f = 1; f <= 62; ++f) {
    const double mf = std::round(std::ldexp(e, f));
    if (mf >= std::ldexp(1.0, 40)) break;
    const uint64_t m = uint64_t(mf);
    bool ok = m > 0;
    for (int64_t n = 1; ok && n <= c.max_n; ++n) {
      const u128 v = u128(uint64_t(n * n)) * m + (u128(1) << (f - 1));
      ok = int64_t(v >> f) == want(n);
    }
    if (ok) return {m, f, bit_length(m)};
  }
  throw std::invalid_argument(fmt::format(
      "I-BERT layernorm unit: no fixed-point eps (m < 2^40) reproduces round(eps n^2 4^in_frac) for every n <= {} "
      "(eps {})",
      c.max_n, c.eps));
}

void ibert_softmax_row(const IbertSoftmaxConfig& c, const int8_t* q, uint8_t* out, size_t n) {
  check(c);
  check_row("I-BERT softmax unit", n, c.max_n);
  ibert::softmax_row(ibert::make_softmax(c.in_frac, c.out_frac, c.work_frac), q, out, n);
}

void ibert_layernorm_row(const IbertLayerNormConfig& c, const int8_t* q, const int8_t* gamma, const int32_t* beta,
                         int8_t* out, size_t n) {
  check(c);
  check_row("I-BERT layernorm unit", n, c.max_n);
  ibert::layernorm_row(ibert::make_layernorm(c.in_frac, c.out_frac, c.gamma_frac, c.eps), q, gamma, beta, out, n);
}

VerilogUnit ibert_softmax_unit(const IbertSoftmaxConfig& c, const std::string& rtl_dir) {
  check(c);
  const ibert::Softmax s = ibert::make_softmax(c.in_frac, c.out_frac, c.work_frac);
  const ibert::Poly& p = s.exp.poly;
  const int64_t top = p.qb * p.qb + p.qc;  // e at p = 0: the largest
  if (p.qb < s.exp.q_ln2 || p.qc < 0 || top <= 0 || s.shift < 0 || s.shift > 20)
    throw std::invalid_argument(fmt::format("I-BERT softmax unit: unexpected i-exp constants qb {} qc {} q_ln2 {} shift {}",
                                            p.qb, p.qc, s.exp.q_ln2, s.shift));
  VerilogUnit u = read_sources(rtl_dir, {"ref_pipe.v", "ref_udiv.v", "softmax_ibert.v"});
  u.top = fmt::format("ref_softmax_ibert_n{}_i{}_w{}_o{}_p{}{}", c.max_n, c.in_frac, s.exp.in_frac, c.out_frac,
                      c.pipeline ? 1 : 0, restream_suffix(c.restream));
  const std::string params = fmt::format(
      ".MAXN({}), .OUT_FRAC({}), .SHIFT({}), .QLN2(64'd{}), .QB(64'd{}), .QC(64'd{}), .UW({}), .BW({}), .PW({}), "
      ".PIPE({}){}",
      c.max_n, c.out_frac, s.shift, s.exp.q_ln2, p.qb, p.qc, 9 + s.shift, bit_length(uint64_t(p.qb)),
      bit_length(uint64_t(top)), c.pipeline ? 1 : 0, restream_param(c.restream));
  u.files.emplace_back(u.top + ".v", wrapper(u.top, "softmax_ibert", params, false));
  return u;
}

VerilogUnit ibert_layernorm_unit(const IbertLayerNormConfig& c, const std::string& rtl_dir) {
  const IbertEpsFixed e = ibert_eps_fixed(c);
  VerilogUnit u = read_sources(rtl_dir, {"ref_pipe.v", "ref_udiv.v", "layernorm_ibert.v"});
  u.top = fmt::format("ref_layernorm_ibert_n{}_i{}_g{}_o{}_e{}_{}_p{}{}", c.max_n, c.in_frac, c.gamma_frac,
                      c.out_frac, e.m, e.f, c.pipeline ? 1 : 0, restream_suffix(c.restream));
  const int sh = ibert::kLnFracBits + c.gamma_frac - c.out_frac;
  const std::string params = fmt::format(".MAXN({}), .SH({}), .EPS_M(64'd{}), .EPS_F({}), .EPW({}), .PIPE({}){}",
                                         c.max_n, sh, e.m, e.f, e.bits, c.pipeline ? 1 : 0,
                                         restream_param(c.restream));
  u.files.emplace_back(u.top + ".v", wrapper(u.top, "layernorm_ibert", params, true));
  return u;
}

// The back-to-back row intervals of the RTL headers (the same with RESTREAM = 1: passes 2 and 3
// are taken where the buffer was read, with a source that keeps up).
long long row_interval_cycles(const Fp32SoftmaxConfig& c, long long n) {
  const long long lat = 1 + (c.pipeline ? 13 : 0);  // LAT: buffer read to e_i
  const long long L = c.lanes, beats = (n + L - 1) / L;
  return 3 * beats + 2 * lat + 10 + (L - 1);  // + the L - 1 steps combining the lanes' sums
}
long long row_interval_cycles(const Fp32LayerNormConfig& c, long long n) {
  const long long lat = 1 + (c.pipeline ? 3 : 0);  // LAT: buffer read to the output register's input
  const long long L = c.lanes, beats = (n + L - 1) / L;
  return 2 * beats + lat + 27 + (L - 1);  // + the L - 1 steps combining the lanes' sums
}
long long row_interval_cycles(const IbertSoftmaxConfig& c, long long n) {
  const long long le = 1 + (c.pipeline ? 2 : 0);                  // LE: buffer read to e
  return 3 * n + 2 * le + 1 + (c.pipeline ? c.out_frac + 1 : 0);  // + the divider's OUT_FRAC + 1 stages
}
long long row_interval_cycles(const IbertLayerNormConfig& c, long long n) {
  int aw = 1;  // AW of the row length
  while ((1 << aw) < c.max_n) ++aw;
  const long long sqrt_steps = aw + 8, quotient_bits = 17 + (aw + 1) / 2;  // VW / 2 and QW
  return 2 * n + sqrt_steps + 6 + (c.pipeline ? quotient_bits + 1 : 0);
}

std::vector<std::vector<int8_t>> reference_check_rows(int max_n, int random_rows, uint64_t seed) {
  if (max_n < 2) throw std::invalid_argument(fmt::format("reference_check_rows: max_n must be >= 2, got {}", max_n));
  std::mt19937_64 rng(seed);
  const size_t N = size_t(max_n);
  std::vector<std::vector<int8_t>> rows;
  std::vector<int8_t> all;
  for (int q = -128; q < 128; ++q) all.push_back(int8_t(q));
  std::shuffle(all.begin(), all.end(), rng);
  for (size_t i = 0; i < all.size(); i += N) {
    std::vector<int8_t> r(all.begin() + long(i), all.begin() + long(std::min(all.size(), i + N)));
    r[0] = 127;
    rows.push_back(r);
  }
  rows.push_back({int8_t(-128)});
  rows.push_back({int8_t(127)});
  rows.push_back(std::vector<int8_t>(N, 7));
  rows.push_back(std::vector<int8_t>(N, -128));
  std::vector<int8_t> spike(N, -128), alt(N), two(N, 3);
  spike[N / 3] = 127;
  for (size_t i = 0; i < N; ++i) alt[i] = int8_t(i % 2 ? 127 : -128);
  two[0] = 4;
  rows.push_back(spike);
  rows.push_back(alt);
  rows.push_back(two);
  for (int r = 0; r < random_rows; ++r) {
    const size_t n = 1 + size_t(rng() % N);
    std::normal_distribution<double> d(double(int(rng() % 40) - 20), 2.0 + double(rng() % 40));
    std::vector<int8_t> row(n);
    for (auto& v : row) v = int8_t(std::clamp(std::lround(d(rng)), -128L, 127L));
    rows.push_back(row);
  }
  return rows;
}

StreamCheck softmax_stream_check(const SoftmaxRowFn& model, std::vector<std::vector<int8_t>> rows) {
  StreamCheck c;
  c.q = std::move(rows);
  for (const auto& row : c.q) {
    std::vector<uint8_t> out(row.size());
    model(row.data(), out.data(), row.size());
    c.expected.emplace_back(out.begin(), out.end());
  }
  return c;
}

StreamCheck layernorm_stream_check(const LayerNormRowFn& model, int gamma_frac, int out_frac,
                                   std::vector<std::vector<int8_t>> rows, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(1.0, 0.3), b(0.0, 0.5);
  StreamCheck c;
  c.q = std::move(rows);
  for (size_t r = 0; r < c.q.size(); ++r) {
    const auto& q = c.q[r];
    std::vector<int8_t> gamma(q.size()), out(q.size());
    std::vector<int32_t> beta(q.size());
    for (size_t i = 0; i < q.size(); ++i) {
      gamma[i] = int8_t(std::clamp(std::lround(std::ldexp(g(rng), gamma_frac)), -128L, 127L));
      beta[i] = int32_t(std::clamp(std::lround(std::ldexp(b(rng), out_frac)), -100000L, 100000L));
      if (r % 5 == 2 && i % 4 == 0) beta[i] = int32_t(uint32_t(rng()));
      if (r % 5 == 3 && i % 3 == 0) gamma[i] = int8_t(rng() & 1 ? -128 : 127);
    }
    model(q.data(), gamma.data(), beta.data(), out.data(), q.size());
    c.gamma.push_back(gamma);
    c.beta.push_back(beta);
    c.expected.emplace_back(out.begin(), out.end());
  }
  return c;
}

VerilogUnit softmax_stream_testbench(const std::string& rtl_dir) {
  VerilogUnit u = read_sources(rtl_dir, {"tb_softmax_ref.v"});
  u.top = "tb_softmax_ref";
  return u;
}

VerilogUnit layernorm_stream_testbench(const std::string& rtl_dir) {
  VerilogUnit u = read_sources(rtl_dir, {"tb_layernorm_ref.v"});
  u.top = "tb_layernorm_ref";
  return u;
}

SimResult simulate_stream(const VerilogUnit& unit, bool layernorm, const StreamCheck& check, const std::string& rtl_dir,
                          SimOptions opt, unsigned seed, bool stall) {
  if (check.expected.size() != check.q.size())
    throw std::invalid_argument(fmt::format("simulate_stream: {} input rows but {} expected rows", check.q.size(),
                                            check.expected.size()));
  if (check.passes < 1 || check.passes > (layernorm ? 2 : 3))
    throw std::invalid_argument(fmt::format("simulate_stream: passes must be in [1, {}], got {}", layernorm ? 2 : 3,
                                            check.passes));
  std::string in, exp;
  for (size_t r = 0; r < check.q.size(); ++r) {
    const auto& q = check.q[r];
    if (q.empty() || check.expected[r].size() != q.size())
      throw std::invalid_argument(fmt::format("simulate_stream: row {} has {} inputs and {} expected outputs", r,
                                              q.size(), check.expected[r].size()));
    if (layernorm && (check.gamma.size() <= r || check.beta.size() <= r || check.gamma[r].size() != q.size() ||
                      check.beta[r].size() != q.size()))
      throw std::invalid_argument(fmt::format("simulate_stream: row {} lacks gamma or beta of its length", r));
    for (size_t i = 0; i < q.size(); ++i) {
      const unsigned last = i + 1 == q.size() ? 1 : 0;
      if (layernorm)
        in += fmt::format("1{:01x}{:08x}{:02x}{:02x}\n", last, uint32_t(check.beta[r][i]), uint8_t(check.gamma[r][i]),
                          uint8_t(q[i]));
      else
        in += fmt::format("1{:01x}{:02x}\n", last, uint8_t(q[i]));
      exp += fmt::format("1{:01x}{:02x}\n", last, uint8_t(check.expected[r][i]));
    }
  }
  opt.data_files.emplace_back("in.hex", in);
  opt.data_files.emplace_back("exp.hex", exp);
  const std::string tb = layernorm ? "tb_layernorm_ref" : "tb_softmax_ref";
  opt.iverilog_flags.push_back("-DUNIT=" + unit.top);
  opt.iverilog_flags.push_back(fmt::format("-P{}.SEED={}", tb, seed));
  opt.iverilog_flags.push_back(fmt::format("-P{}.STALL={}", tb, stall ? 1 : 0));
  if (check.lanes < 1 || check.lanes > 16)
    throw std::invalid_argument(fmt::format("simulate_stream: lanes must be in [1, 16], got {}", check.lanes));
  if (check.lanes != 1) opt.iverilog_flags.push_back(fmt::format("-P{}.LANES={}", tb, check.lanes));
  if (check.passes != 1) opt.iverilog_flags.push_back(fmt::format("-P{}.PASSES={}", tb, check.passes));
  return simulate(unit, layernorm ? layernorm_stream_testbench(rtl_dir) : softmax_stream_testbench(rtl_dir), opt);
}

}  // namespace gqalut::hw
