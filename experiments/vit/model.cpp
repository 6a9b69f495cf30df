// gqalut ViT experiment: the models (see model.hpp).
#include "model.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace gqalut::vit {
namespace {

using torch::Tensor;
namespace F = torch::nn::functional;

// Exact function forward, table forward in LUT mode with the exact gradient.
Tensor straight_through(const Tensor& exact, const Tensor& table) { return exact + (table - exact).detach(); }

// x rounded to the int8 grid 2^-n (forward), gradient of the identity.
Tensor round_to_grid(const Tensor& x, int n) {
  const double one = std::ldexp(1.0, n);
  return straight_through(x, (x * one).round().clamp(-128, 127) / one);
}

Tensor from_codes(const Tensor& codes, int n) {
  return codes.to(torch::kFloat) * static_cast<float>(std::ldexp(1.0, -n));
}

}  // namespace

double mode_cost(const Forward& ctx) {
  switch (ctx.mode) {
    case Mode::fp32: return 1.0;
    case Mode::qat: return 1.3;
    case Mode::lut: return ctx.backend == Backend::torch ? 1.6 : 1.3;
  }
  return 1.0;
}

// ---- quantizer --------------------------------------------------------------------

QuantImpl::QuantImpl(int qmin, int qmax, int n_lo, int n_hi, bool weight)
    : qmin_(qmin), qmax_(qmax), n_lo_(n_lo), n_hi_(n_hi), weight_(weight) {
  t = register_parameter("t", torch::zeros({1}));
  inited = register_buffer("inited", torch::zeros({1}));
}

int QuantImpl::n() const {
  const double tc = std::clamp<double>(t.item<float>(), -n_hi_, -n_lo_);
  return -static_cast<int>(std::nearbyint(tc));
}

void QuantImpl::init_from(const Tensor& x) {
  torch::NoGradGuard ng;
  const double qabs = std::max(std::abs(qmin_), std::abs(qmax_));
  const double s = weight_ ? x.abs().max().item<double>() / qabs : 2.0 * x.abs().mean().item<double>() / std::sqrt(qabs);
  t.fill_(std::log2(std::max(s, 1e-8)));
  inited.fill_(1);
}

Tensor QuantImpl::forward(const Tensor& x) {
  if (inited.item<float>() == 0) init_from(x);
  const int nn = n();
  const double g = 1.0 / std::sqrt(static_cast<double>(x.numel()) * std::max(1, std::abs(qmax_ == 0 ? qmin_ : qmax_)));
  const Tensor tg = t * g + (t - t * g).detach();
  const Tensor tc = tg.clamp(-n_hi_, -n_lo_);
  const Tensor tr = tc + (tc.round() - tc).detach();
  const Tensor sg = torch::exp2(tr);
  const Tensor s = std::ldexp(1.0, -nn) + (sg - sg.detach());  // exact value, LSQ gradient
  const Tensor v = (x / s).clamp(qmin_, qmax_);
  const Tensor vr = v + (v.round() - v).detach();
  return vr * s;
}

Tensor QuantImpl::codes(const Tensor& x) const {
  return (x.detach() * std::ldexp(1.0, n())).round().clamp(qmin_, qmax_).to(torch::kLong);
}

// ---- layers ------------------------------------------------------------------------

QLinearImpl::QLinearImpl(int in, int out)
    : lin(register_module("lin", torch::nn::Linear(in, out))),
      in_q(register_module("in_q", Quant(-128, 127, -8, 12))),
      w_q(register_module("w_q", Quant(-128, 127, -8, 16, true))) {}

Tensor QLinearImpl::forward(const Tensor& x, const Forward& ctx) {
  if (ctx.mode == Mode::fp32) return lin(x);
  return F::linear(in_q(x), w_q(lin->weight), lin->bias);
}

ActOpImpl::ActOpImpl(Activation fn) : fn_(fn), q(register_module("q", Quant(-128, 127, kActNLo, kActNHi))) {}

Tensor ActOpImpl::forward(const Tensor& x, const Forward& ctx) {
  auto f = [&](const Tensor& v) { return fn_ == Activation::gelu ? F::gelu(v) : torch::hardswish(v); };
  if (ctx.mode == Mode::fp32) return f(x);
  // GELU(x) and HSWISH(x) lie in [-0.38, max(x, 0)]: the input's int8 grid holds them.
  const int n = q->n();
  const Tensor exact = round_to_grid(f(q(x)), n);
  if (ctx.mode == Mode::qat) return exact;
  return straight_through(exact, from_codes(ctx.ops->activation(fn_, n, n, q->codes(x), ctx.backend), n));
}

SoftmaxOpImpl::SoftmaxOpImpl() : q(register_module("q", Quant(-128, 0, kSoftmaxNLo, kSoftmaxNHi))) {}

Tensor SoftmaxOpImpl::forward(const Tensor& z, const Forward& ctx) {
  if (ctx.mode == Mode::fp32) return torch::softmax(z, -1);
  const Tensor d = z - std::get<0>(z.max(-1, true)).detach();
  const Tensor exact = round_to_grid(torch::softmax(q(d), -1), kProbBits);
  if (ctx.mode == Mode::qat) return exact;
  return straight_through(exact, from_codes(ctx.ops->softmax(q->n(), q->codes(d), ctx.backend), kProbBits));
}

LayerNormOpImpl::LayerNormOpImpl()
    : q(register_module("q", Quant(-128, 127, kLnNLo, kLnNHi))),
      gamma(register_parameter("gamma", torch::ones({kDim}))),
      beta(register_parameter("beta", torch::zeros({kDim}))),
      gamma_q(register_module("gamma_q", Quant(-128, 127, kLnNLo, kLnNHi, true))),
      out_q(register_module("out_q", Quant(-128, 127, kLnNLo, kLnNHi))) {}

Tensor LayerNormOpImpl::forward(const Tensor& x, const Forward& ctx) {
  if (ctx.mode == Mode::fp32) {
    return F::layer_norm(x, F::LayerNormFuncOptions({kDim}).weight(gamma).bias(beta).eps(kLnEps));
  }
  // gamma: int8 codes at its own scale; beta: int32 codes at the output's scale
  // (it is added after the rounding, as in the library's datapath).
  const Tensor g = gamma_q(gamma);
  const Tensor xq = q(x);
  if (out_q->inited.item<float>() == 0) {  // calibrate the output scale on the unquantized beta
    out_q->init_from(F::layer_norm(xq, F::LayerNormFuncOptions({kDim}).weight(g).bias(beta).eps(kLnEps)));
  }
  const int no = out_q->n();
  const double one = std::ldexp(1.0, no);
  const Tensor bq = straight_through(beta, (beta * one).round() / one);
  const Tensor exact = out_q(F::layer_norm(xq, F::LayerNormFuncOptions({kDim}).weight(g).bias(bq).eps(kLnEps)));
  if (ctx.mode == Mode::qat) return exact;
  const Tensor beta_codes = (beta.detach() * one).round().clamp(-2147483648.0, 2147483647.0).to(torch::kLong);
  const Tensor y = ctx.ops->layernorm(q->n(), q->codes(x), gamma_q->n(), gamma_q->codes(gamma), no, beta_codes,
                                      kLnEps, ctx.backend);
  return straight_through(exact, from_codes(y, no));
}

// ---- blocks ---------------------------------------------------------------------------

namespace {
// out_i = relu(q_i) sum_j relu(k_j)^T v_j / (relu(q_i) . sum_j relu(k_j) + eps) on [B, H, T, D].
Tensor linear_attention_exact(const Tensor& q, const Tensor& k, const Tensor& v, double eps) {
  const Tensor a = torch::relu(q), b = torch::relu(k);
  const Tensor num = torch::matmul(a, torch::matmul(b.transpose(-2, -1), v));
  const Tensor den = (a * b.sum(-2, true)).sum(-1, true) + eps;
  return num / den;
}
}  // namespace

BlockImpl::BlockImpl(bool eff)
    : eff_(eff),
      ln1(register_module("ln1", LayerNormOp())),
      ln2(register_module("ln2", LayerNormOp())),
      qkv(register_module("qkv", QLinear(kDim, 3 * kDim))),
      proj(register_module("proj", QLinear(kDim, kDim))),
      fc1(register_module("fc1", QLinear(kDim, kMlp))),
      fc2(register_module("fc2", QLinear(kMlp, kDim))),
      qq(register_module("qq", Quant(-128, 127, -8, 12))),
      qk(register_module("qk", Quant(-128, 127, -8, 12))),
      qv(register_module("qv", Quant(-128, 127, -8, 12))),
      softmax(eff ? SoftmaxOp(nullptr) : register_module("softmax", SoftmaxOp())),
      act(register_module(eff ? "hswish" : "gelu", ActOp(eff ? Activation::hswish : Activation::gelu))) {}

Tensor BlockImpl::forward(Tensor x, const Forward& ctx) {
  const int64_t b = x.size(0), t = x.size(1);
  const Tensor h = qkv(ln1(x, ctx), ctx).view({b, t, 3, kHeads, kHeadDim}).permute({2, 0, 3, 1, 4});
  Tensor q = h[0], k = h[1], v = h[2];
  if (ctx.mode != Mode::fp32) {
    q = qq(q);
    k = qk(k);
    v = qv(v);
  }
  Tensor o;
  if (eff_) {
    o = linear_attention(q, k, v, ctx);
  } else {
    // 1/sqrt(16) = 2^-2 is a power of two: the logits stay on an integer grid.
    o = torch::matmul(softmax(torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(kHeadDim)), ctx), v);
  }
  x = x + proj(o.permute({0, 2, 1, 3}).reshape({b, t, kDim}), ctx);
  return x + fc2(act(fc1(ln2(x, ctx), ctx), ctx), ctx);
}

// FP32: eps = 1e-6. QAT/LUT: q, k, v are int8 codes at 2^-nq, 2^-nk, 2^-nv,
// eps = 2^-(nq+nk) (one unit of the denominator), the output int8 codes at v's
// scale; in LUT mode the division goes through the reciprocal table.
Tensor BlockImpl::linear_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Forward& ctx) {
  if (ctx.mode == Mode::fp32) return linear_attention_exact(q, k, v, 1e-6);
  const int nq = qq->n(), nk = qk->n(), nv = qv->n();
  const Tensor exact = round_to_grid(linear_attention_exact(q, k, v, std::ldexp(1.0, -(nq + nk))), nv);
  if (ctx.mode == Mode::qat) return exact;
  const Tensor o = ctx.ops->linear_attention(qq->codes(q), qk->codes(k), qv->codes(v), ctx.backend);
  return straight_through(exact, from_codes(o, nv));
}

VitImpl::VitImpl(bool eff)
    : patch(register_module("patch", QLinear(kPatch * kPatch, kDim))),
      cls(register_parameter("cls", torch::randn({1, 1, kDim}) * 0.02)),
      pos(register_parameter("pos", torch::randn({1, kTokens, kDim}) * 0.02)),
      norm(register_module("norm", LayerNormOp())),
      head(register_module("head", QLinear(kDim, 10))) {
  for (int i = 0; i < kDepth; ++i) blocks.push_back(register_module("block" + std::to_string(i), Block(eff)));
}

Tensor VitImpl::forward(const Tensor& img, const Forward& ctx) {
  const int64_t b = img.size(0), g = 28 / kPatch;
  const Tensor p = img.view({b, g, kPatch, g, kPatch}).permute({0, 1, 3, 2, 4}).reshape({b, g * g, kPatch * kPatch});
  Tensor x = torch::cat({cls.expand({b, 1, kDim}), patch(p, ctx)}, 1) + pos;
  for (auto& blk : blocks) x = blk(x, ctx);
  return head(norm(x, ctx).select(1, 0), ctx);
}

void check_bank(const IntOps& ops, bool eff) {
  const LutBank& bank = ops.bank();
  const Activation fn = eff ? Activation::hswish : Activation::gelu;
  for (int n = kActNLo; n <= kActNHi; ++n) (void)ops.activation_plan(fn, n, n);
  if (!eff) {
    for (int n = kSoftmaxNLo; n <= kSoftmaxNHi; ++n) (void)ops.softmax_plan(n);
  }
  (void)ops.layernorm_plan(4, 6, 4, kLnEps);
  if (bank.reci.tables.empty()) throw std::invalid_argument(bank.name + ": no reciprocal table");
}

}  // namespace gqalut::vit
