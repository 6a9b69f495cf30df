// gqalut ViT experiment: model, quantization-aware training and the LibTorch
// LUT path. The only translation unit that includes <torch/torch.h>.
//
// Flow (per seed): FP32 training -> QAT (int8 weights and activations, scales
// 2^round(t) with t = log2 s learned by LSQ, straight-through rounding) with
// exact non-linearities -> for each table bank: the QAT checkpoint with every
// non-linearity replaced by its integer table op (forward bit-exact, backward
// straight-through with the exact function's gradient) and a short fine-tune.
#include "vit.hpp"

#include <torch/torch.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>
#include <stdexcept>

namespace gqalut::vit {
namespace {

using torch::Tensor;
namespace F = torch::nn::functional;

// ---- data ------------------------------------------------------------------

std::vector<uint8_t> read_gz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw std::invalid_argument("cannot open " + path);
  std::vector<uint8_t> out;
  std::vector<uint8_t> buf(1 << 20);
  int got = 0;
  while ((got = gzread(f, buf.data(), static_cast<unsigned>(buf.size()))) > 0) {
    out.insert(out.end(), buf.begin(), buf.begin() + got);
  }
  gzclose(f);
  if (got < 0) throw std::invalid_argument("corrupt gzip file " + path);
  return out;
}

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

struct Split {
  Tensor images;  // [N, 28, 28] float in [0, 1]
  Tensor labels;  // [N] int64
};

Split load_split(const std::string& dir, const std::string& prefix, int limit) {
  const auto img = read_gz(dir + "/" + prefix + "-images-idx3-ubyte.gz");
  const auto lab = read_gz(dir + "/" + prefix + "-labels-idx1-ubyte.gz");
  if (img.size() < 16 || be32(img.data()) != 2051) throw std::invalid_argument("bad IDX images");
  if (lab.size() < 8 || be32(lab.data()) != 2049) throw std::invalid_argument("bad IDX labels");
  int64_t n = be32(img.data() + 4);
  const int64_t rows = be32(img.data() + 8), cols = be32(img.data() + 12);
  if (rows != 28 || cols != 28 || static_cast<int64_t>(be32(lab.data() + 4)) != n) {
    throw std::invalid_argument("unexpected IDX shape in " + dir);
  }
  if (limit > 0) n = std::min<int64_t>(n, limit);
  Split s;
  s.images = torch::from_blob(const_cast<uint8_t*>(img.data() + 16), {n, 28, 28}, torch::kUInt8)
                 .to(torch::kFloat)
                 .div(255.0);
  s.labels = torch::from_blob(const_cast<uint8_t*>(lab.data() + 8), {n}, torch::kUInt8)
                 .to(torch::kLong);
  return s;
}

// ---- progress --------------------------------------------------------------

// One line on stderr, rewritten in place: stage, step, loss, accuracy, ETA.
class Progress {
 public:
  explicit Progress(double total_units) : total_(total_units), start_(clock::now()) {}
  void add_total(double units) { total_ += units; }
  void advance(double units) { done_ += units; }
  double elapsed() const {
    return std::chrono::duration<double>(clock::now() - start_).count();
  }
  void show(const std::string& text, bool force = false) {
    const double now = elapsed();
    if (!force && now - last_ < 0.5) return;
    last_ = now;
    const double eta = done_ > 0 ? now / done_ * std::max(0.0, total_ - done_) : 0;
    std::fprintf(stderr, "\r%-86s %3.0f%% %s ETA %s ", text.c_str(),
                 100.0 * done_ / std::max(total_, 1e-9), clock_text(now).c_str(),
                 clock_text(eta).c_str());
    std::fflush(stderr);
  }
  void line(const std::string& text) {
    std::fprintf(stderr, "\r%-120s\n", text.c_str());
    std::fflush(stderr);
  }
  static std::string clock_text(double s) {
    const int t = static_cast<int>(s + 0.5);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%02d:%02d", t / 60, t % 60);
    return buf;
  }

 private:
  using clock = std::chrono::steady_clock;
  double total_ = 0, done_ = 0, last_ = -1;
  clock::time_point start_;
};

// ---- integer helpers on int64 tensors --------------------------------------

Tensor pow2_t(const Tensor& e) {  // 2^e for e >= 0, int64
  return torch::bitwise_left_shift(torch::ones_like(e), e);
}

// floor(log2 v), v >= 1.
Tensor floor_log2_t(const Tensor& v) {
  Tensor e = torch::floor(torch::log2(v.to(torch::kDouble))).to(torch::kLong).clamp_min(0);
  e = torch::where(pow2_t(e) > v, e - 1, e);
  e = torch::where(pow2_t(e + 1) <= v, e + 1, e);
  return e;
}

// round(v 2^-s), half away from zero; s may be negative (exact left shift).
Tensor round_shift_t(const Tensor& v, const Tensor& s) {
  const Tensor pos = s.clamp_min(0);
  const Tensor neg = (-s).clamp_min(0);
  const Tensor half = torch::bitwise_right_shift(pow2_t(pos), torch::ones_like(pos));
  Tensor r = torch::bitwise_right_shift(v.abs() + half, pos);
  r = torch::where(v < 0, -r, r);
  return torch::bitwise_left_shift(r, neg);
}

// prod 2^-s as float: exact in double, then one rounding to float (the same
// conversion int_ops' users do with std::ldexp).
Tensor to_float_t(const Tensor& prod, const Tensor& s) {
  const Tensor up = pow2_t((-s).clamp_min(0)).to(torch::kDouble);
  const Tensor down = pow2_t(s.clamp_min(0)).to(torch::kDouble);
  return (prod.to(torch::kDouble) * up / down).to(torch::kFloat);
}

// ---- tables in LibTorch ----------------------------------------------------

// A gqalut table at one scale, with the coefficients pre-shifted so that
// acc = k[seg] * q + b[seg] is exactly SPEC section 2's datapath.
struct TorchLut {
  int n = 0, shift = 0;
  Tensor bp, k, b;
};

TorchLut make_torch_lut(const Table& t) {
  TorchLut out;
  out.n = t.n;
  out.shift = t.shift();
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

// acc for int64 codes q (any shape): bucketize with right=true counts the
// breakpoints P_i <= q, which is SPEC section 1's segment rule.
Tensor lut_acc(const TorchLut& t, const Tensor& q) {
  const Tensor seg = torch::bucketize(q, t.bp, /*out_int32=*/false, /*right=*/true);
  return torch::take(t.k, seg) * q + torch::take(t.b, seg);
}

struct TorchBank {
  const LutBank* bank = nullptr;
  std::map<int, TorchLut> gelu, exp, hswish;
  TorchLut reci, rsqrt;
};

TorchBank make_torch_bank(const LutBank& bank) {
  TorchBank tb;
  tb.bank = &bank;
  for (const auto& [n, t] : bank.gelu.tables) tb.gelu[n] = make_torch_lut(t);
  for (const auto& [n, t] : bank.exp.tables) tb.exp[n] = make_torch_lut(t);
  for (const auto& [n, t] : bank.hswish.tables) tb.hswish[n] = make_torch_lut(t);
  tb.reci = make_torch_lut(bank.reci.at(bank.reci_n));
  tb.rsqrt = make_torch_lut(bank.rsqrt.at(bank.rsqrt_n));
  return tb;
}

// ---- the integer non-linear ops, two backends --------------------------------

enum class Mode { fp32, qat, lut };
enum class Backend { torch_lut, reference };

struct Context {
  Mode mode = Mode::fp32;
  Backend backend = Backend::torch_lut;
  const TorchBank* bank = nullptr;
};
Context g_ctx;  // the experiment is single-threaded at this level

// Rough cost of a forward/backward in the current mode relative to FP32 (for the ETA).
double mode_cost() {
  switch (g_ctx.mode) {
    case Mode::fp32: return 1.0;
    case Mode::qat: return 1.3;
    case Mode::lut: return g_ctx.backend == Backend::torch_lut ? 1.6 : 1.3;
  }
  return 1.0;
}

const TorchLut& at_scale(const std::map<int, TorchLut>& m, int n, const char* what) {
  auto it = m.find(n);
  if (it == m.end()) {
    throw std::invalid_argument(std::string(what) + " table has no scale n = " + std::to_string(n));
  }
  return it->second;
}

std::vector<int32_t> to_codes(const Tensor& q) {
  const Tensor c = q.to(torch::kInt).contiguous();
  return std::vector<int32_t>(c.data_ptr<int32_t>(), c.data_ptr<int32_t>() + c.numel());
}

Tensor from_codes(const std::vector<int64_t>& v, const Tensor& like) {
  return torch::tensor(v, torch::kLong).view(like.sizes());
}

// GELU: acc of the table at scale n (output scale 2^-shift).
Tensor gelu_acc(const TorchBank& tb, int n, const Tensor& q) {
  const TorchLut& t = at_scale(tb.gelu, n, "gelu");
  if (g_ctx.backend == Backend::torch_lut) return lut_acc(t, q);
  const auto codes = to_codes(q);
  std::vector<int64_t> acc(codes.size());
  lut_apply(tb.bank->gelu.at(n), codes.data(), acc.data(), codes.size());
  return from_codes(acc, q);
}

// HSWISH: acc of the table at scale n (output scale 2^-shift).
Tensor hswish_acc(const TorchBank& tb, int n, const Tensor& q) {
  const TorchLut& t = at_scale(tb.hswish, n, "hswish");
  if (g_ctx.backend == Backend::torch_lut) return lut_acc(t, q);
  const auto codes = to_codes(q);
  std::vector<int64_t> acc(codes.size());
  lut_apply(tb.bank->hswish.at(n), codes.data(), acc.data(), codes.size());
  return from_codes(acc, q);
}

// ReLU linear attention of int8 codes q, k, v [..., T, D] (one head per
// leading index) -> int8 codes at v's scale; see int_ops' linear_attention_head.
Tensor linattn_codes(const TorchBank& tb, const Tensor& q, const Tensor& k, const Tensor& v) {
  if (g_ctx.backend == Backend::reference) {
    const auto qc = to_codes(q), kc = to_codes(k), vc = to_codes(v);
    const std::size_t t = q.size(-2), d = q.size(-1);
    std::vector<int32_t> o(qc.size());
    const Table& rt = tb.bank->reci.at(tb.bank->reci_n);
    for (std::size_t h = 0; h < qc.size(); h += t * d) {
      linear_attention_head(rt, qc.data() + h, kc.data() + h, vc.data() + h, o.data() + h, t, d);
    }
    return from_codes(std::vector<int64_t>(o.begin(), o.end()), q);
  }
  const TorchLut& rt = tb.reci;
  const Tensor a = q.clamp_min(0), b = k.clamp_min(0);
  const Tensor kv = torch::matmul(b.transpose(-2, -1), v);        // [..., D, D]
  const Tensor num = torch::matmul(a, kv);                        // [..., T, D]
  const Tensor den = (a * b.sum(-2, true)).sum(-1, true) + 1;     // [..., T, 1], eps = 1 unit
  Tensor big_e = floor_log2_t(den);
  Tensor code = round_shift_t(den, big_e - rt.n);
  const Tensor over = code == (int64_t{2} << rt.n);
  code = torch::where(over, torch::bitwise_right_shift(code, 1), code);
  big_e = torch::where(over, big_e + 1, big_e);
  const Tensor r = lut_acc(rt, code);
  return round_shift_t(num * r, big_e + rt.shift).clamp(-128, 127);
}

// Softmax over the last dim of codes d in [-128, 0] at scale n -> int8 codes at 2^-7.
Tensor softmax_codes(const TorchBank& tb, int n, const Tensor& d) {
  if (g_ctx.backend == Backend::reference) {
    const auto codes = to_codes(d);
    const int64_t width = d.size(-1);
    std::vector<int32_t> p(codes.size());
    const Table& et = tb.bank->exp.at(n);
    const Table& rt = tb.bank->reci.at(tb.bank->reci_n);
    for (std::size_t row = 0; row < codes.size(); row += width) {
      softmax_row(et, rt, codes.data() + row, p.data() + row, width);
    }
    return from_codes(std::vector<int64_t>(p.begin(), p.end()), d);
  }
  const TorchLut& et = at_scale(tb.exp, n, "exp");
  const TorchLut& rt = tb.reci;
  const Tensor e = lut_acc(et, d);
  const Tensor sum = e.sum(-1, true).clamp_min(1);
  Tensor big_e = floor_log2_t(sum);
  Tensor code = round_shift_t(sum, big_e - rt.n);
  const Tensor over = code == (int64_t{2} << rt.n);
  code = torch::where(over, torch::bitwise_right_shift(code, 1), code);
  big_e = torch::where(over, big_e + 1, big_e);
  const Tensor r = lut_acc(rt, code);
  return round_shift_t(e * r, big_e + (rt.shift - kProbBits)).clamp(-128, 127);
}

// LayerNorm normalisation of codes q [..., 64] at scale nx -> float (x-mean)/sqrt(var+eps).
Tensor layernorm_norm(const TorchBank& tb, int nx, double eps, const Tensor& q) {
  if (g_ctx.backend == Backend::reference) {
    const auto codes = to_codes(q);
    std::vector<float> y(codes.size());
    std::vector<int64_t> prod(kLnDim);
    const Table& rt = tb.bank->rsqrt.at(tb.bank->rsqrt_n);
    for (std::size_t row = 0; row < codes.size(); row += kLnDim) {
      const int s = layernorm_row(rt, codes.data() + row, prod.data(), nx, eps);
      for (int i = 0; i < kLnDim; ++i) {
        y[row + i] = static_cast<float>(std::ldexp(static_cast<double>(prod[i]), -s));
      }
    }
    return torch::tensor(y, torch::kFloat).view(q.sizes());
  }
  const TorchLut& rt = tb.rsqrt;
  const Tensor sum = q.sum(-1, true);
  const Tensor c = q * kLnDim - sum;
  const Tensor w = ((c * c).sum(-1, true) + layernorm_eps_code(nx, eps)).clamp_min(1);
  Tensor k = torch::bitwise_right_shift(floor_log2_t(w), torch::ones_like(w));
  Tensor code = round_shift_t(w, 2 * k - rt.n);
  const Tensor over = code == (int64_t{4} << rt.n);
  code = torch::where(over, torch::bitwise_right_shift(code, 2 * torch::ones_like(code)), code);
  k = torch::where(over, k + 1, k);
  const Tensor r = lut_acc(rt, code);
  return to_float_t(c * r, k + (rt.shift - (3 * kLnDimLog2 / 2 - kLnDimLog2)));
}

// ---- quantizer -------------------------------------------------------------

// Fake quantizer with a power-of-two scale 2^-n, n = -round(t), t = log2(s)
// learned by LSQ (gradient scale 1/sqrt(numel * qmax)), rounding and the
// exponent's rounding both straight-through. n is clamped into [n_lo, n_hi].
struct QuantImpl : torch::nn::Module {
  QuantImpl(int qmin, int qmax, int n_lo, int n_hi, bool weight = false)
      : qmin_(qmin), qmax_(qmax), n_lo_(n_lo), n_hi_(n_hi), weight_(weight) {
    t = register_parameter("t", torch::zeros({1}));
    inited = register_buffer("inited", torch::zeros({1}));
  }

  int n() const {
    const double tc = std::clamp<double>(t.item<float>(), -n_hi_, -n_lo_);
    return -static_cast<int>(std::nearbyint(tc));
  }

  void init_from(const Tensor& x) {
    torch::NoGradGuard ng;
    const double qabs = std::max(std::abs(qmin_), std::abs(qmax_));
    double s = weight_ ? x.abs().max().item<double>() / qabs
                       : 2.0 * x.abs().mean().item<double>() / std::sqrt(qabs);
    t.fill_(std::log2(std::max(s, 1e-8)));
    inited.fill_(1);
  }

  // Dequantized value (code * 2^-n), differentiable in x and t.
  Tensor forward(const Tensor& x) {
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

  // The integer codes forward() represents (no gradient).
  Tensor codes(const Tensor& x) const {
    const double inv = std::ldexp(1.0, n());
    return (x.detach() * inv).round().clamp(qmin_, qmax_).to(torch::kLong);
  }

  Tensor t, inited;
  int qmin_, qmax_, n_lo_, n_hi_;
  bool weight_;
};
TORCH_MODULE(Quant);

// ---- layers ----------------------------------------------------------------

struct QLinearImpl : torch::nn::Module {
  QLinearImpl(int in, int out)
      : lin(register_module("lin", torch::nn::Linear(in, out))),
        in_q(register_module("in_q", Quant(-128, 127, -8, 12))),
        w_q(register_module("w_q", Quant(-128, 127, -8, 16, true))) {}
  Tensor forward(const Tensor& x) {
    if (g_ctx.mode == Mode::fp32) return lin(x);
    return F::linear(in_q(x), w_q(lin->weight), lin->bias);
  }
  torch::nn::Linear lin;
  Quant in_q, w_q;
};
TORCH_MODULE(QLinear);

// Exact function forward, table forward in LUT mode with the exact gradient.
Tensor straight_through(const Tensor& exact, const Tensor& table) {
  return exact + (table - exact).detach();
}

struct GeluOpImpl : torch::nn::Module {
  static constexpr int kNLo = 0, kNHi = 6;
  GeluOpImpl() : q(register_module("q", Quant(-128, 127, kNLo, kNHi))) {}
  Tensor forward(const Tensor& x) {
    if (g_ctx.mode == Mode::fp32) return F::gelu(x);
    const Tensor exact = F::gelu(q(x));
    if (g_ctx.mode == Mode::qat) return exact;
    const int n = q->n();
    const TorchLut& t = at_scale(g_ctx.bank->gelu, n, "gelu");
    const Tensor y = gelu_acc(*g_ctx.bank, n, q->codes(x)).to(torch::kFloat) *
                     static_cast<float>(std::ldexp(1.0, -t.shift));
    return straight_through(exact, y);
  }
  Quant q;
};
TORCH_MODULE(GeluOp);

struct HswishOpImpl : torch::nn::Module {
  static constexpr int kNLo = 0, kNHi = 6;
  HswishOpImpl() : q(register_module("q", Quant(-128, 127, kNLo, kNHi))) {}
  Tensor forward(const Tensor& x) {
    if (g_ctx.mode == Mode::fp32) return torch::hardswish(x);
    const Tensor exact = torch::hardswish(q(x));
    if (g_ctx.mode == Mode::qat) return exact;
    const int n = q->n();
    const TorchLut& t = at_scale(g_ctx.bank->hswish, n, "hswish");
    const Tensor y = hswish_acc(*g_ctx.bank, n, q->codes(x)).to(torch::kFloat) *
                     static_cast<float>(std::ldexp(1.0, -t.shift));
    return straight_through(exact, y);
  }
  Quant q;
};
TORCH_MODULE(HswishOp);

// EfficientViT-style ReLU linear attention on [B, H, T, D]:
//   out_i = relu(q_i) sum_j relu(k_j)^T v_j / (relu(q_i) . sum_j relu(k_j) + eps).
// FP32: eps = 1e-6. QAT/LUT: q, k, v are int8 codes at 2^-nq, 2^-nk, 2^-nv,
// eps = 2^-(nq+nk) (one unit of the denominator) and the output is int8 codes
// at v's scale; in LUT mode the division goes through the reciprocal table.
Tensor linear_attention_exact(const Tensor& q, const Tensor& k, const Tensor& v, double eps) {
  const Tensor a = torch::relu(q), b = torch::relu(k);
  const Tensor num = torch::matmul(a, torch::matmul(b.transpose(-2, -1), v));
  const Tensor den = (a * b.sum(-2, true)).sum(-1, true) + eps;
  return num / den;
}

struct SoftmaxOpImpl : torch::nn::Module {
  // n >= 4 keeps every int8 code of the max-subtracted logits inside exp's [-8, 0].
  static constexpr int kNLo = 4, kNHi = 6;
  SoftmaxOpImpl() : q(register_module("q", Quant(-128, 0, kNLo, kNHi))) {}
  Tensor forward(const Tensor& z) {
    if (g_ctx.mode == Mode::fp32) return torch::softmax(z, -1);
    const Tensor d = z - std::get<0>(z.max(-1, true)).detach();
    const Tensor exact = torch::softmax(q(d), -1);
    const double one = std::ldexp(1.0, kProbBits);
    if (g_ctx.mode == Mode::qat) {
      return straight_through(exact, (exact * one).round().clamp(-128, 127) / one);
    }
    const Tensor p = softmax_codes(*g_ctx.bank, q->n(), q->codes(d)).to(torch::kFloat) / one;
    return straight_through(exact, p);
  }
  Quant q;
};
TORCH_MODULE(SoftmaxOp);

struct LayerNormOpImpl : torch::nn::Module {
  static constexpr double kEps = 1e-5;
  LayerNormOpImpl()
      : q(register_module("q", Quant(-128, 127, -4, 10))),
        gamma(register_parameter("gamma", torch::ones({kLnDim}))),
        beta(register_parameter("beta", torch::zeros({kLnDim}))) {}
  Tensor forward(const Tensor& x) {
    if (g_ctx.mode == Mode::fp32) return F::layer_norm(x, F::LayerNormFuncOptions({kLnDim}).weight(gamma).bias(beta).eps(kEps));
    const Tensor exact =
        F::layer_norm(q(x), F::LayerNormFuncOptions({kLnDim}).weight(gamma).bias(beta).eps(kEps));
    if (g_ctx.mode == Mode::qat) return exact;
    const Tensor y = layernorm_norm(*g_ctx.bank, q->n(), kEps, q->codes(x)) * gamma + beta;
    return straight_through(exact, y);
  }
  Quant q;
  Tensor gamma, beta;
};
TORCH_MODULE(LayerNormOp);

constexpr int kDim = kLnDim, kHeads = 4, kHeadDim = kDim / kHeads, kMlp = 128, kDepth = 4;
constexpr int kPatch = 7, kTokens = (28 / kPatch) * (28 / kPatch) + 1;

struct BlockImpl : torch::nn::Module {
  // eff = false: the ViT block (softmax attention, GELU); true: EfficientViT
  // style (ReLU linear attention, HSWISH). The ViT registers exactly the
  // modules it always did, in the same order (same initialisation).
  explicit BlockImpl(bool eff = false)
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
        gelu(eff ? GeluOp(nullptr) : register_module("gelu", GeluOp())),
        hswish(eff ? register_module("hswish", HswishOp()) : HswishOp(nullptr)) {}

  Tensor forward(Tensor x) {
    const int64_t b = x.size(0), t = x.size(1);
    const Tensor h = qkv(ln1(x)).view({b, t, 3, kHeads, kHeadDim}).permute({2, 0, 3, 1, 4});
    Tensor q = h[0], k = h[1], v = h[2];
    if (g_ctx.mode != Mode::fp32) {
      q = qq(q);
      k = qk(k);
      v = qv(v);
    }
    if (eff_) {
      const Tensor o = linear_attention(q, k, v).permute({0, 2, 1, 3}).reshape({b, t, kDim});
      x = x + proj(o);
      return x + fc2(hswish(fc1(ln2(x))));
    }
    // 1/sqrt(16) = 2^-2 is a power of two: the logits stay on an integer grid.
    const Tensor att = softmax(torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(kHeadDim)));
    const Tensor o = torch::matmul(att, v).permute({0, 2, 1, 3}).reshape({b, t, kDim});
    x = x + proj(o);
    return x + fc2(gelu(fc1(ln2(x))));
  }
  Tensor linear_attention(const Tensor& q, const Tensor& k, const Tensor& v) {
    if (g_ctx.mode == Mode::fp32) return linear_attention_exact(q, k, v, 1e-6);
    const int nq = qq->n(), nk = qk->n(), nv = qv->n();
    const Tensor exact = linear_attention_exact(q, k, v, std::ldexp(1.0, -(nq + nk)));
    const double one = std::ldexp(1.0, nv);
    if (g_ctx.mode == Mode::qat) {
      return straight_through(exact, (exact * one).round().clamp(-128, 127) / one);
    }
    const Tensor o = linattn_codes(*g_ctx.bank, qq->codes(q), qk->codes(k), qv->codes(v));
    return straight_through(exact, o.to(torch::kFloat) / one);
  }
  bool eff_;
  LayerNormOp ln1, ln2;
  QLinear qkv, proj, fc1, fc2;
  Quant qq, qk, qv;
  SoftmaxOp softmax;
  GeluOp gelu;
  HswishOp hswish;
};
TORCH_MODULE(Block);

struct VitImpl : torch::nn::Module {
  explicit VitImpl(bool eff = false)
      : patch(register_module("patch", QLinear(kPatch * kPatch, kDim))),
        cls(register_parameter("cls", torch::randn({1, 1, kDim}) * 0.02)),
        pos(register_parameter("pos", torch::randn({1, kTokens, kDim}) * 0.02)),
        norm(register_module("norm", LayerNormOp())),
        head(register_module("head", QLinear(kDim, 10))) {
    for (int i = 0; i < kDepth; ++i) blocks.push_back(register_module("block" + std::to_string(i), Block(eff)));
  }
  Tensor forward(const Tensor& img) {  // [B, 28, 28]
    const int64_t b = img.size(0), g = 28 / kPatch;
    const Tensor p = img.view({b, g, kPatch, g, kPatch}).permute({0, 1, 3, 2, 4}).reshape({b, g * g, kPatch * kPatch});
    Tensor x = torch::cat({cls.expand({b, 1, kDim}), patch(p)}, 1) + pos;
    for (auto& blk : blocks) x = blk(x);
    return head(norm(x).select(1, 0));
  }
  QLinear patch;
  Tensor cls, pos;
  std::vector<Block> blocks;
  LayerNormOp norm;
  QLinear head;
};
TORCH_MODULE(Vit);

// ---- training and evaluation ------------------------------------------------

struct Data {
  Split train, test;
};

struct Trainer {
  const ExperimentConfig& cfg;
  const Data& data;
  Progress& progress;
  double eval_units = 0;  // progress units of one full evaluation

  // Adam with warm-up and cosine decay; `steps` mini-batches from the training set.
  double train(Vit& model, int steps, double lr, const std::string& stage, uint64_t seed) {
    model->train();
    torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(lr));
    const int64_t n = data.train.images.size(0);
    const int per_epoch = static_cast<int>((n + cfg.batch - 1) / cfg.batch);
    Tensor perm;
    double loss_avg = 0, acc_avg = 0;
    for (int step = 0; step < steps; ++step) {
      if (step % per_epoch == 0) perm = torch::randperm(n, torch::kLong);
      const int64_t lo = static_cast<int64_t>(step % per_epoch) * cfg.batch;
      const Tensor idx = perm.slice(0, lo, std::min<int64_t>(lo + cfg.batch, n));
      const Tensor x = data.train.images.index_select(0, idx);
      const Tensor y = data.train.labels.index_select(0, idx);
      const double warm = std::min(1.0, (step + 1) / std::max(1.0, 0.05 * steps));
      const double cur = lr * warm * 0.5 * (1 + std::cos(M_PI * step / std::max(1, steps)));
      for (auto& group : opt.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(cur);
      opt.zero_grad();
      const Tensor logits = model(x);
      const Tensor loss = F::cross_entropy(logits, y);
      loss.backward();
      opt.step();
      const double l = loss.item<double>();
      const double a = logits.argmax(1).eq(y).to(torch::kFloat).mean().item<double>();
      loss_avg = step == 0 ? l : 0.95 * loss_avg + 0.05 * l;
      acc_avg = step == 0 ? a : 0.95 * acc_avg + 0.05 * a;
      progress.advance(mode_cost());
      char buf[160];
      std::snprintf(buf, sizeof buf, "seed %llu %-14s epoch %.2f step %d/%d loss %.3f acc %.1f%%",
                    static_cast<unsigned long long>(seed), stage.c_str(),
                    static_cast<double>(step + 1) / per_epoch, step + 1, steps, loss_avg,
                    100 * acc_avg);
      progress.show(buf, step + 1 == steps);
    }
    return loss_avg;
  }

  // Test accuracy (percent) and the predicted classes.
  double evaluate(Vit& model, std::vector<int64_t>* preds, const std::string& what) {
    torch::NoGradGuard ng;
    model->eval();
    const int64_t n = data.test.images.size(0);
    const int64_t bs = 500;
    int64_t correct = 0;
    if (preds) preds->clear();
    for (int64_t lo = 0; lo < n; lo += bs) {
      const int64_t hi = std::min(n, lo + bs);
      const Tensor p = model(data.test.images.slice(0, lo, hi)).argmax(1);
      correct += p.eq(data.test.labels.slice(0, lo, hi)).sum().item<int64_t>();
      if (preds) {
        const Tensor pc = p.contiguous();
        preds->insert(preds->end(), pc.data_ptr<int64_t>(), pc.data_ptr<int64_t>() + pc.numel());
      }
      progress.advance(mode_cost() * eval_units * (hi - lo) / n);
      progress.show("evaluating " + what + " " + std::to_string(hi) + "/" + std::to_string(n));
    }
    return 100.0 * correct / n;
  }
};

std::vector<Tensor> snapshot(Vit& model) {
  std::vector<Tensor> out;
  for (const auto& p : model->parameters()) out.push_back(p.detach().clone());
  for (const auto& b : model->buffers()) out.push_back(b.detach().clone());
  return out;
}

void restore(Vit& model, const std::vector<Tensor>& snap) {
  torch::NoGradGuard ng;
  std::size_t i = 0;
  for (auto& p : model->parameters()) p.copy_(snap[i++]);
  for (auto& b : model->buffers()) b.copy_(snap[i++]);
}

void check_bank_scales(const LutBank& bank, bool eff) {
  if (eff) {
    for (int n = HswishOpImpl::kNLo; n <= HswishOpImpl::kNHi; ++n) (void)bank.hswish.at(n);
    return;
  }
  for (int n = GeluOpImpl::kNLo; n <= GeluOpImpl::kNHi; ++n) (void)bank.gelu.at(n);
  for (int n = SoftmaxOpImpl::kNLo; n <= SoftmaxOpImpl::kNHi; ++n) (void)bank.exp.at(n);
}

struct Stats {
  double mean = 0, sd = 0, lo = 0, hi = 0;
  int count = 0;
};
Stats stats(const std::vector<double>& v) {
  Stats s;
  s.count = static_cast<int>(v.size());
  if (v.empty()) return s;
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / v.size();
  double ss = 0;
  for (double x : v) ss += (x - s.mean) * (x - s.mean);
  s.sd = v.size() > 1 ? std::sqrt(ss / (v.size() - 1)) : 0;
  s.lo = *std::min_element(v.begin(), v.end());
  s.hi = *std::max_element(v.begin(), v.end());
  return s;
}

void write_outputs(const ExperimentConfig& cfg, const std::vector<RunRecord>& recs) {
  if (!cfg.raw_csv.empty()) {
    std::ofstream f(cfg.raw_csv);
    f << "seed,variant,acc_before_finetune,acc,integer_identical,integer_total\n";
    for (const auto& r : recs) {
      f << r.seed << ',' << r.variant << ',' << r.acc_before << ',' << r.acc << ','
        << r.identical << ',' << r.total << '\n';
    }
  }
  std::vector<std::string> order;
  for (const auto& r : recs) {
    if (std::find(order.begin(), order.end(), r.variant) == order.end()) order.push_back(r.variant);
  }
  auto values = [&](const std::string& v, bool before) {
    std::vector<double> out;
    for (const auto& r : recs) {
      if (r.variant == v) out.push_back(before ? r.acc_before : r.acc);
    }
    return out;
  };
  const Stats exact = stats(values("qat-exact", false));
  if (!cfg.summary_csv.empty()) {
    std::ofstream f(cfg.summary_csv);
    f << "index,variant,mean,sd,min,max,seeds,drop_vs_qat_exact,mean_before_finetune\n";
    int i = 0;
    for (const auto& v : order) {
      const Stats s = stats(values(v, false));
      const Stats b = stats(values(v, true));
      f << i++ << ',' << v << ',' << s.mean << ',' << s.sd << ',' << s.lo << ',' << s.hi << ','
        << s.count << ',' << exact.mean - s.mean << ',' << b.mean << '\n';
    }
  }
  if (!cfg.summary_md.empty()) {
    std::ofstream f(cfg.summary_md);
    char buf[256];
    f << "| variant | test accuracy % (mean ± sd) | min – max | drop vs QAT-exact | before fine-tune | integer-only check |\n";
    f << "|---|---|---|---|---|---|\n";
    for (const auto& v : order) {
      const Stats s = stats(values(v, false));
      const bool lut = v != "fp32";
      long same = 0, total = 0;
      for (const auto& r : recs) {
        if (r.variant == v && r.identical >= 0) {
          same += r.identical;
          total += r.total;
        }
      }
      std::string before = "–", check = "–", drop = "–";
      if (lut) {
        std::snprintf(buf, sizeof buf, "%.2f", stats(values(v, true)).mean);
        before = buf;
        if (total > 0) check = std::to_string(same) + "/" + std::to_string(total) + " identical";
      }
      if (v != "qat-exact") {
        std::snprintf(buf, sizeof buf, "%+.2f", exact.mean - s.mean);
        drop = buf;
      }
      std::snprintf(buf, sizeof buf, "| %s | %.2f ± %.2f | %.2f – %.2f | %s | %s | %s |\n",
                    v.c_str(), s.mean, s.sd, s.lo, s.hi, drop.c_str(), before.c_str(),
                    check.c_str());
      f << buf;
    }
  }
}

}  // namespace

std::vector<RunRecord> run_experiment(const ExperimentConfig& cfg) {
  torch::set_num_threads(cfg.threads);
  (void)model_functions(cfg.model);  // validates the name
  const bool eff = cfg.model == "effvit";
  for (const auto& bank : cfg.banks) check_bank_scales(bank, eff);
  std::vector<TorchBank> tbanks;
  for (const auto& bank : cfg.banks) tbanks.push_back(make_torch_bank(bank));

  Data data{load_split(cfg.data_dir, "train", cfg.train_subset),
            load_split(cfg.data_dir, "t10k", cfg.test_subset)};
  const int64_t n_train = data.train.images.size(0);
  const int per_epoch = static_cast<int>((n_train + cfg.batch - 1) / cfg.batch);
  const int fp32_steps = std::max(1, static_cast<int>(std::lround(cfg.fp32_epochs * per_epoch)));
  const int qat_steps = std::max(1, static_cast<int>(std::lround(cfg.qat_epochs * per_epoch)));

  // Progress units: one training step of FP32 = 1; QAT/LUT steps and
  // evaluations weighted by rough relative costs, so the ETA is honest.
  const double eval_units = 0.35 * data.test.images.size(0) / cfg.batch;
  const double lut_cost = 1.6, qat_cost = 1.3, int_cost = 1.3;
  const std::size_t nb = cfg.banks.size();
  const double per_seed = fp32_steps + qat_cost * (qat_steps + cfg.finetune_steps) +
                          (1 + 2 * qat_cost) * eval_units +
                          nb * (lut_cost * cfg.finetune_steps + 2 * lut_cost * eval_units);
  const double checks = cfg.integer_check ? nb * int_cost * eval_units *
                                                (cfg.integer_check_all_seeds ? cfg.seeds.size() : 1)
                                          : 0;
  Progress progress(per_seed * cfg.seeds.size() + checks);
  Trainer trainer{cfg, data, progress, eval_units};
  std::fprintf(stderr,
               "%s: %lld train / %lld test images, batch %d; per seed: FP32 %d steps, QAT %d "
               "steps, %zu LUT variants x %d fine-tune steps\n",
               eff ? "EfficientViT-style" : "ViT", static_cast<long long>(n_train),
               static_cast<long long>(data.test.images.size(0)),
               cfg.batch, fp32_steps, qat_steps, nb, cfg.finetune_steps);

  std::vector<RunRecord> recs;
  for (uint64_t seed : cfg.seeds) {
    torch::manual_seed(seed);
    Vit model(eff);
    auto report = [&](const RunRecord& r) {
      char buf[200];
      std::snprintf(buf, sizeof buf, "seed %llu %-12s test accuracy %.2f%%",
                    static_cast<unsigned long long>(r.seed), r.variant.c_str(), r.acc);
      std::string line = buf;
      if (r.variant != "fp32") {
        std::snprintf(buf, sizeof buf, " (before fine-tune %.2f%%)", r.acc_before);
        line += buf;
      }
      progress.line(line);
      recs.push_back(r);
    };

    g_ctx = Context{};
    trainer.train(model, fp32_steps, cfg.fp32_lr, "fp32", seed);
    report({seed, "fp32", 0, trainer.evaluate(model, nullptr, "fp32"), -1, 0});

    g_ctx.mode = Mode::qat;
    {  // calibrate every quantizer on one batch before QAT
      torch::NoGradGuard ng;
      model(data.train.images.slice(0, 0, std::min<int64_t>(n_train, 256)));
    }
    trainer.train(model, qat_steps, cfg.qat_lr, "qat", seed);
    const auto qat_state = snapshot(model);
    {  // the exact-function baseline gets the same fine-tune as every LUT variant
      RunRecord r{seed, "qat-exact", 0, 0, -1, 0};
      r.acc_before = trainer.evaluate(model, nullptr, "qat-exact");
      trainer.train(model, cfg.finetune_steps, cfg.finetune_lr, "ft qat-exact", seed);
      r.acc = trainer.evaluate(model, nullptr, "qat-exact (fine-tuned)");
      report(r);
    }

    for (std::size_t i = 0; i < nb; ++i) {
      const std::string name = cfg.banks[i].name;
      restore(model, qat_state);
      g_ctx.mode = Mode::lut;
      g_ctx.backend = Backend::torch_lut;
      g_ctx.bank = &tbanks[i];
      RunRecord r{seed, name, 0, 0, -1, 0};
      r.acc_before = trainer.evaluate(model, nullptr, name + " (no fine-tune)");
      trainer.train(model, cfg.finetune_steps, cfg.finetune_lr, "ft " + name, seed);
      std::vector<int64_t> torch_preds, int_preds;
      r.acc = trainer.evaluate(model, &torch_preds, name);
      if (cfg.integer_check && (cfg.integer_check_all_seeds || seed == cfg.seeds.front())) {
        g_ctx.backend = Backend::reference;
        trainer.evaluate(model, &int_preds, name + " integer-only");
        g_ctx.backend = Backend::torch_lut;
        r.total = static_cast<long>(torch_preds.size());
        r.identical = 0;
        for (std::size_t j = 0; j < torch_preds.size(); ++j) r.identical += torch_preds[j] == int_preds[j];
        progress.line("seed " + std::to_string(seed) + " " + name + " integer-only check: " +
                      std::to_string(r.identical) + "/" + std::to_string(r.total) + " identical");
      }
      report(r);
    }
    g_ctx = Context{};
  }
  progress.line("done in " + Progress::clock_text(progress.elapsed()));
  write_outputs(cfg, recs);
  return recs;
}

long torch_lut_mismatches(const LutBank& bank) {
  long bad = 0;
  const Tensor q = torch::arange(-128, 128, torch::kLong);
  for (const TableSet* set : {&bank.gelu, &bank.exp, &bank.hswish, &bank.reci, &bank.rsqrt}) {
    for (const auto& [n, t] : set->tables) {
      const TorchLut tl = make_torch_lut(t);
      const Tensor acc = lut_acc(tl, q);
      const Tensor val = acc.to(torch::kDouble) * std::ldexp(1.0, -tl.shift);
      for (int i = 0; i < 256; ++i) {
        const int32_t code = i - 128;
        bad += acc[i].item<int64_t>() != eval_acc(t, code);
        bad += val[i].item<double>() != eval_value(t, code);
      }
    }
  }
  return bad;
}

long torch_intops_mismatches(const LutBank& bank, int rows, uint64_t seed) {
  torch::manual_seed(seed);
  const TorchBank tb = make_torch_bank(bank);
  long bad = 0;
  const Backend saved = g_ctx.backend;
  for (int n = SoftmaxOpImpl::kNLo; n <= SoftmaxOpImpl::kNHi && !bank.exp.tables.empty(); ++n) {
    // Row maxima are 0 after subtraction; spread the rest over the int8 range.
    Tensor d = torch::randint(-128, 1, {rows, kTokens}, torch::kLong);
    d.select(1, 0).fill_(0);
    d = torch::where(torch::rand({rows, 1}) < 0.5, d, torch::div(d, 8, "trunc"));
    g_ctx.backend = Backend::torch_lut;
    const Tensor a = softmax_codes(tb, n, d);
    g_ctx.backend = Backend::reference;
    const Tensor b = softmax_codes(tb, n, d);
    bad += a.ne(b).sum().item<int64_t>();
  }
  for (int nx : {-2, 0, 3, 6, 9}) {
    // Rows of mixed spread: tiny variances exercise the left shift of the rsqrt reduction.
    Tensor q = torch::randint(-128, 128, {rows, kLnDim}, torch::kLong);
    const Tensor div = torch::randint(0, 8, {rows, 1}, torch::kLong);
    q = torch::div(q, torch::bitwise_left_shift(torch::ones_like(div), div), "trunc");
    g_ctx.backend = Backend::torch_lut;
    const Tensor a = layernorm_norm(tb, nx, LayerNormOpImpl::kEps, q);
    g_ctx.backend = Backend::reference;
    const Tensor b = layernorm_norm(tb, nx, LayerNormOpImpl::kEps, q);
    bad += a.ne(b).sum().item<int64_t>();
  }
  {
    // ReLU linear attention: heads of 17 x 16 int8 codes, per-head spreads
    // from the full range down to a few codes (small denominators, the
    // reduction's left shift), some heads with q <= 0 everywhere (den = eps).
    const int64_t heads = std::max(1, rows / 5);
    auto codes = [&](double neg_q) {
      Tensor c = torch::randint(-128, 128, {heads, kTokens, kHeadDim}, torch::kLong);
      const Tensor div = torch::randint(0, 8, {heads, 1, 1}, torch::kLong);
      c = torch::div(c, torch::bitwise_left_shift(torch::ones_like(div), div), "trunc");
      return torch::where(torch::rand({heads, 1, 1}) < neg_q, -c.abs(), c);
    };
    const Tensor q = codes(0.05), k = codes(0.05), v = codes(0.0);
    // Extremes: all of q and k at 127, v at -128 / 127 (the largest products).
    q[0].fill_(127);
    k[0].fill_(127);
    v[0].fill_(-128);
    q[1].fill_(127);
    k[1].fill_(127);
    v[1].fill_(127);
    g_ctx.backend = Backend::torch_lut;
    const Tensor a = linattn_codes(tb, q, k, v);
    g_ctx.backend = Backend::reference;
    const Tensor b = linattn_codes(tb, q, k, v);
    bad += a.ne(b).sum().item<int64_t>();
  }
  g_ctx.backend = saved;
  return bad;
}

}  // namespace gqalut::vit
