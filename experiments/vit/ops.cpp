// gqalut ViT experiment: integer operations on tensors, two backends (see ops.hpp).
//
// The LibTorch simulation below restates the scalar datapath reference
// (include/gqalut/datapath.hpp, docs/intops.md) stage for stage on int64
// tensors; every intermediate is exact in int64, so the only rule to match is
// each step's rounding and clamping. Every constant comes from the plan's
// datapath() or the reference's fixed widths (gqalut/datapath_widths.hpp):
// none is typed here. Backend::reference runs the reference itself.
#include "ops.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "gqalut/datapath.hpp"
#include "linear_attention.hpp"

namespace gqalut::vit {
namespace {

using torch::Tensor;

// ---- integer helpers on int64 tensors ------------------------------------------

Tensor pow2(const Tensor& e) { return torch::bitwise_left_shift(torch::ones_like(e), e); }  // e >= 0

// floor(log2 v) for v >= 1 (0 for v < 1).
Tensor floor_log2(const Tensor& v) {
  const Tensor vv = v.clamp_min(1);
  Tensor e = torch::floor(torch::log2(vv.to(torch::kDouble))).to(torch::kLong).clamp_min(0);
  e = torch::where(pow2(e) > vv, e - 1, e);  // the double's log2 may be one off near powers of two
  e = torch::where(pow2(e + 1) <= vv, e + 1, e);
  return e;
}

Tensor shr(const Tensor& v, const Tensor& s) { return torch::bitwise_right_shift(v, s); }  // arithmetic
Tensor shl(const Tensor& v, const Tensor& s) { return torch::bitwise_left_shift(v, s); }

// round(v 2^-s) half up ((v + 2^(s-1)) >> s) for s >= 1; v << -s for s <= 0.
Tensor round_half_up(const Tensor& v, const Tensor& s) {
  const Tensor pos = s.clamp_min(1);
  const Tensor r = shr(v + shl(torch::ones_like(pos), pos - 1), pos);
  return torch::where(s > 0, r, shl(v, (-s).clamp_min(0)));
}

// round(v 2^-s) half away from zero for s >= 1; v << -s for s <= 0.
Tensor round_half_away(const Tensor& v, const Tensor& s) {
  const Tensor pos = s.clamp_min(1);
  Tensor r = shr(v.abs() + shl(torch::ones_like(pos), pos - 1), pos);
  r = torch::where(v < 0, -r, r);
  return torch::where(s > 0, r, shl(v, (-s).clamp_min(0)));
}

// v 2^sh for sh >= 0, v >> -sh (truncating) for sh < 0; v >= 0.
Tensor shift_trunc(const Tensor& v, const Tensor& sh) {
  return torch::where(sh >= 0, shl(v, sh.clamp_min(0)), shr(v, (-sh).clamp_min(0)));
}

Tensor full_like_long(const Tensor& like, int64_t v) { return torch::full_like(like, v, torch::kLong); }

// ---- codes <-> buffers ------------------------------------------------------------

template <typename T>
std::vector<T> to_buffer(const Tensor& q) {
  const Tensor c = q.to(torch::kLong).contiguous();
  const int64_t* p = c.data_ptr<int64_t>();
  return std::vector<T>(p, p + c.numel());
}

template <typename T>
Tensor from_buffer(const std::vector<T>& v, const Tensor& like) {
  std::vector<int64_t> w(v.begin(), v.end());
  return torch::tensor(w, torch::kLong).view(like.sizes());
}

}  // namespace

TorchLut make_torch_lut(const Table& t) {
  TorchLut out;
  out.n = t.n;
  out.shift = t.shift();
  out.right = t.tie == TieRule::right;
  const int ks = out.shift - t.n - t.slope_format.frac_bits;
  const int bs = out.shift - t.intercept_format.frac_bits;
  std::vector<int64_t> bp(t.breakpoints.begin(), t.breakpoints.end());
  std::vector<int64_t> k, b;
  for (int i = 0; i < t.entries(); ++i) {
    k.push_back(int64_t{t.slopes[i]} * (int64_t{1} << ks));
    b.push_back(int64_t{t.intercepts[i]} * (int64_t{1} << bs));
  }
  out.bp = torch::tensor(bp, torch::kLong);
  out.k = torch::tensor(k, torch::kLong);
  out.b = torch::tensor(b, torch::kLong);
  return out;
}

Tensor lut_acc(const TorchLut& t, const Tensor& q) {
  const Tensor seg = torch::bucketize(q, t.bp, /*out_int32=*/false, /*right=*/t.right);
  return torch::take(t.k, seg) * q + torch::take(t.b, seg);
}

// ---- plans ------------------------------------------------------------------------

const TableSet& IntOps::set_of(Activation fn) const { return fn == Activation::gelu ? bank_->gelu : bank_->hswish; }

// The cache keys are addresses inside *bank_, which outlives this object.
const TorchLut& IntOps::torch_lut(const TableSet& set, int n) const {
  auto key = std::make_pair(&set, n);
  auto it = luts_.find(key);
  if (it == luts_.end()) it = luts_.emplace(key, make_torch_lut(set.at(n))).first;
  return it->second;
}

const ActivationPlan& IntOps::activation_plan(Activation fn, int in_frac, int out_frac) const {
  auto key = std::make_tuple(static_cast<int>(fn), in_frac, out_frac);
  auto it = act_plans_.find(key);
  if (it == act_plans_.end()) it = act_plans_.emplace(key, prepare_activation(set_of(fn), in_frac, out_frac)).first;
  return it->second;
}

const SoftmaxPlan& IntOps::softmax_plan(int in_frac) const {
  auto it = softmax_plans_.find(in_frac);
  if (it == softmax_plans_.end()) {
    it = softmax_plans_.emplace(in_frac, prepare_softmax(bank_->exp, bank_->reci, in_frac, kProbBits)).first;
  }
  return it->second;
}

const LayerNormPlan& IntOps::layernorm_plan(int in_frac, int gamma_frac, int out_frac, double eps) const {
  auto key = std::make_tuple(in_frac, gamma_frac, out_frac, eps);
  auto it = ln_plans_.find(key);
  if (it == ln_plans_.end()) {
    it = ln_plans_.emplace(key, prepare_layernorm(bank_->rsqrt, in_frac, out_frac, gamma_frac, eps)).first;
  }
  return it->second;
}

const PwlPlan& IntOps::reci_plan() const {
  auto it = reci_plan_.find(bank_->reci_n);
  if (it == reci_plan_.end()) it = reci_plan_.emplace(bank_->reci_n, prepare_pwl(bank_->reci.at(bank_->reci_n), 8)).first;
  return it->second;
}

// ---- activation: acc -> int8 at out_frac, half away from zero, saturated -----------

Tensor IntOps::activation(Activation fn, int in_frac, int out_frac, const Tensor& q, Backend b) const {
  const ActivationPlan& plan = activation_plan(fn, in_frac, out_frac);
  if (b == Backend::library) {
    auto in = to_buffer<int8_t>(q);
    std::vector<int8_t> out(in.size());
    gqalut::activation(plan, in.data(), out.data(), in.size());
    return from_buffer(out, q);
  }
  // requantize_s8 (include/gqalut/kernels.hpp): r = L - out_frac > 0 rounds,
  // r <= 0 shifts left after clamping acc just past the saturation points.
  const TorchLut& t = torch_lut(set_of(fn), in_frac);
  const Tensor acc = lut_acc(t, q);
  const int r = t.shift - out_frac;
  const Tensor v = r > 0 ? round_half_away(acc, full_like_long(acc, r)) : acc.clamp(-129, 128) * (int64_t{1} << -r);
  return v.clamp(-128, 127);
}

// ---- softmax ------------------------------------------------------------------------
// gqalut::softmax_row (int8 logits, int8 out): u = max - q; the EXP stage
// 2^(-u log2 e) = 2^-k 2^(c 2^-s) with the 2^x - 1 table on c; S = sum e; the
// reciprocal of S from the DIV table and integer Newton steps (Q28); out =
// round(((e + 2^7) >> 8) R 2^-T), saturated.

Tensor IntOps::softmax(int in_frac, const Tensor& q, Backend b) const {
  const SoftmaxPlan& plan = softmax_plan(in_frac);
  const SoftmaxDatapath& p = plan.datapath();  // the public constants the mirror restates
  const int64_t width = q.size(-1);
  if (b != Backend::torch) {
    auto in = to_buffer<int8_t>(q);
    std::vector<int8_t> out(in.size());
    for (std::size_t row = 0; row < in.size(); row += width) {
      if (b == Backend::library)
        softmax_row(plan, in.data() + row, out.data() + row, width);
      else
        ref::softmax_row_ref(plan.reference(), in.data() + row, out.data() + row, width);
    }
    return from_buffer(out, q);
  }
  // EXP: t = round(u C 2^-(in_frac + 30 - s)) (u log2 e at 2^-s), k = ceil-ish split,
  // c = k 2^s - t in [-2^(s-1), 2^(s-1)); mantissa (2^L + EXP2M1_acc(c)) 2^g, e = round(m 2^-(k + pre)).
  const TorchLut& et = torch_lut(bank_->exp, p.exp_scale);
  const int s = p.exp_scale;
  const Tensor u = (std::get<0>(q.max(-1, true)) - q).clamp_max(int64_t{p.u_cap});
  const Tensor t = shr(u * int64_t{p.log2e} + (int64_t{1} << (p.exp_shift - 1)), full_like_long(u, p.exp_shift));
  const Tensor k = shr(t + ((int64_t{1} << (s - 1)) - 1), full_like_long(t, s));
  const Tensor c = k * (int64_t{1} << s) - t;
  const int gl = std::max(p.exp_gain, 0), pre = ref::softmax_exp_pre_shift(p);
  const Tensor mant = ((int64_t{1} << et.shift) + lut_acc(et, c)) * (int64_t{1} << gl);
  const Tensor sh = (k + pre).clamp_max(ref::kExpZeroShift);
  const Tensor e = shr(mant + shr(shl(torch::ones_like(sh), sh), torch::ones_like(sh)), sh);
  // Reciprocal of the row sum S: d = round(S 2^(a - x)) in [2^a, 2^(a+1)) (a carry to
  // 2^(a+1) renormalises), X = S 2^(a - x - s_d) in Q28, Y = DIV(d) in Q28, Newton steps.
  const TorchLut& dt = torch_lut(bank_->reci, p.div_scale);
  const Tensor sum = e.sum(-1, true);
  Tensor ex = floor_log2(sum);
  const int a = p.div_a;
  Tensor d = round_half_up(sum, ex - a);
  const Tensor over = d == (int64_t{2} << a);
  d = torch::where(over, shr(d, torch::ones_like(d)), d);
  ex = torch::where(over, ex + 1, ex);
  constexpr int qf = ref::kNewtonFrac;  // Q28
  const Tensor x = shift_trunc(sum, (a - p.div_scale + qf) - ex);
  Tensor y = round_half_up(lut_acc(dt, d), full_like_long(d, p.div_table_shift - qf));
  for (int i = 0; i < p.newton_steps; ++i) {
    const Tensor xy = shr(x * y, full_like_long(y, qf));
    y = shr(y * ((int64_t{2} << qf) - xy), full_like_long(y, qf));
  }
  // R = round(Y 2^-(28 - 15 + s_d - a)), T = x + 15 - 8 - out_frac (ref::softmax_recip, softmax_out_shift).
  const Tensor r = round_half_up(y, full_like_long(y, qf - ref::kRecipBits - a + p.div_scale)).clamp(1, int64_t{p.r_max});
  const Tensor tt = ex + (ref::kRecipBits - ref::kE16Shift - p.out_frac);
  // T >= 32: the output is 0 (ref::softmax_out); the product e16 R < 2^31 shifted by T < 32 otherwise.
  const Tensor e16 = shr(e + (int64_t{1} << (ref::kE16Shift - 1)), full_like_long(e, ref::kE16Shift));
  const Tensor o = round_half_up(e16 * r, tt.clamp(1, ref::kOutShiftZero - 1)).clamp_max(127);
  return torch::where(tt >= ref::kOutShiftZero, torch::zeros_like(o), o);
}

// ---- LayerNorm ------------------------------------------------------------------------
// gqalut::layernorm_row: V = n Sxx - Sx^2 + eps_v = r 2^E (r in [2^a, 2^(a+2)), E + s_r
// even); the RSQRT table on r seeds Newton steps in Q28, R at Q20; then the 32-bit
// output datapath (or, for shifts outside [1, 29], the exact int64 one).

Tensor IntOps::layernorm(int in_frac, const Tensor& xq, int gamma_frac, const Tensor& gamma, int out_frac,
                         const Tensor& beta, double eps, Backend b) const {
  const LayerNormPlan& plan = layernorm_plan(in_frac, gamma_frac, out_frac, eps);
  const LayerNormDatapath& p = plan.datapath();
  const int64_t width = xq.size(-1);
  if (b != Backend::torch) {
    auto in = to_buffer<int8_t>(xq);
    const auto g = to_buffer<int8_t>(gamma);
    const auto be = to_buffer<int32_t>(beta);
    if (static_cast<int64_t>(g.size()) != width || static_cast<int64_t>(be.size()) != width) {
      throw std::invalid_argument("layernorm: gamma and beta must have the row's width " + std::to_string(width));
    }
    std::vector<int8_t> out(in.size());
    for (std::size_t row = 0; row < in.size(); row += width) {
      if (b == Backend::library)
        layernorm_row(plan, in.data() + row, g.data(), be.data(), out.data() + row, width);
      else
        ref::layernorm_row_ref(plan.reference(), in.data() + row, g.data(), be.data(), out.data() + row, width);
    }
    return from_buffer(out, xq);
  }
  using ref::kRsqrtBits;
  constexpr int qf = ref::kNewtonFrac;  // Q28
  const TorchLut& rt = torch_lut(bank_->rsqrt, p.rsqrt_scale);
  const int64_t nn = width;
  const Tensor sx = xq.sum(-1, true), sxx = (xq * xq).sum(-1, true);
  const Tensor v = nn * sxx - sx * sx + ref::layernorm_eps_codes(p, nn);  // n^2 (var + eps) in codes^2
  const int a = p.rsqrt_a, s = p.rsqrt_scale;
  Tensor e = floor_log2(v) - a;
  e = torch::where(torch::bitwise_and(e + s, 1) != 0, e - 1, e);
  Tensor r = round_half_up(v, e);
  const Tensor over = r >= (int64_t{4} << a);
  r = torch::where(over, shr(r, full_like_long(r, 2)), r);
  e = torch::where(over, e + 2, e);
  // Newton: y <- y (3 - X y^2) / 2 in Q28, X = v 2^-(e + s) exactly.
  const Tensor xx = shift_trunc(v, (qf - s) - e);
  Tensor y = round_half_up(lut_acc(rt, r), full_like_long(r, p.rsqrt_table_shift - qf));
  for (int i = 0; i < p.newton_steps; ++i) {
    const Tensor y2 = shr(y * y, full_like_long(y, qf));
    const Tensor xy2 = shr(xx * y2, full_like_long(y, qf));
    y = shr(y * ((int64_t{3} << qf) - xy2), full_like_long(y, qf + 1));
  }
  const Tensor rs = round_half_up(y, full_like_long(y, qf - kRsqrtBits));
  const Tensor half_es = shr(e + s, torch::ones_like(e));  // (e + s) / 2, exact: e + s is even
  // 32-bit datapath: a32 = round(n R 2^-P), b32 = round(Sx R 2^-P), z = round((x a32 - b32) 2^-sh).
  const Tensor k = half_es + kRsqrtBits;
  const Tensor a64 = nn * rs, b64 = sx * rs;
  const Tensor mag = a64.abs();
  Tensor pp = torch::where(mag == 0, torch::zeros_like(mag), (floor_log2(mag) + 1 - ref::kLnMulBits).clamp_min(0));
  Tensor f = full_like_long(k, ref::kLnZFrac);
  Tensor sh = k - f - pp;
  f = torch::where(sh < 1, f - (1 - sh), f);
  sh = sh.clamp_min(1);
  pp = torch::where(sh > ref::kLnShiftMax, pp + (sh - ref::kLnShiftMax), pp);
  sh = sh.clamp_max(ref::kLnShiftMax);
  const Tensor t = f + (p.gamma_frac - p.out_frac);
  const Tensor a32 = round_half_up(a64, pp), b32 = round_half_up(b64, pp);
  const int64_t zmax = int64_t{1} << ref::kLnZClampBits;
  const Tensor z = round_half_up(xq * a32 - b32, sh).clamp(-zmax, zmax);
  const Tensor zg = z * gamma;
  const Tensor tc = t.clamp(1, ref::kLnWideShiftMax);
  const Tensor w = shr(zg + shl(torch::ones_like(tc), tc - 1) - (zg < 0).to(torch::kLong), tc);
  const int64_t bmax = ref::kLnBetaClamp;
  const Tensor y32 = (w + beta.clamp(-bmax, bmax)).clamp(-128, 127);
  // Shifts outside [1, 29] (extreme fracs on near-constant rows): the exact int64 datapath.
  const Tensor t64 = (half_es + (p.gamma_frac + kRsqrtBits - p.out_frac)).clamp_max(ref::kLnWideShiftMax);
  const Tensor prod = (nn * xq - sx) * gamma * rs;
  const Tensor tpos = t64.clamp_min(1);
  const Tensor y_pos = shr(prod + shl(torch::ones_like(tpos), tpos - 1) - (prod < 0).to(torch::kLong), tpos);
  const Tensor y64 = (torch::where(t64 > 0, y_pos, shl(prod, (-t64).clamp_min(0))) + beta).clamp(-128, 127);
  const Tensor out = torch::where((t >= 1) & (t <= ref::kLnOutShiftMax), y32, y64);
  // v <= 0 (a constant row with eps = 0): the normalised value is 0.
  return torch::where(v <= 0, beta.clamp(-bmax, bmax).clamp(-128, 127).expand_as(out), out);
}

// ---- ReLU linear attention --------------------------------------------------------------

Tensor IntOps::linear_attention(const Tensor& q, const Tensor& k, const Tensor& v, Backend b) const {
  if (b == Backend::library) {
    const auto qc = to_buffer<int32_t>(q), kc = to_buffer<int32_t>(k), vc = to_buffer<int32_t>(v);
    const std::size_t t = q.size(-2), d = q.size(-1);
    std::vector<int32_t> o(qc.size());
    for (std::size_t h = 0; h < qc.size(); h += t * d) {
      linear_attention_head(reci_plan(), qc.data() + h, kc.data() + h, vc.data() + h, o.data() + h, t, d);
    }
    return from_buffer(o, q);
  }
  const TorchLut& rt = torch_lut(bank_->reci, bank_->reci_n);
  const Tensor a = q.clamp_min(0), bb = k.clamp_min(0);
  const Tensor kv = torch::matmul(bb.transpose(-2, -1), v);     // [..., D, D]
  const Tensor num = torch::matmul(a, kv);                      // [..., T, D]
  const Tensor den = (a * bb.sum(-2, true)).sum(-1, true) + 1;  // [..., T, 1], eps = 1 unit
  Tensor big_e = floor_log2(den);
  Tensor code = round_half_away(den, big_e - rt.n);
  const Tensor over = code == (int64_t{2} << rt.n);
  code = torch::where(over, shr(code, torch::ones_like(code)), code);
  big_e = torch::where(over, big_e + 1, big_e);
  const Tensor r = lut_acc(rt, code);
  return round_half_away(num * r, big_e + rt.shift).clamp(-128, 127);
}

}  // namespace gqalut::vit
