// gqalut ViT experiment: the checks the tests run (see study.hpp): the
// LibTorch table path against gqalut's evaluator, and the LibTorch simulation
// of the integer operations against gqalut's library.
#include <torch/torch.h>

#include <cmath>

#include "model.hpp"
#include "ops.hpp"
#include "study.hpp"

namespace gqalut::vit {

using torch::Tensor;

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

namespace {

long differ(const Tensor& a, const Tensor& b) { return a.ne(b).sum().item<int64_t>(); }

// rows x width int8 codes in [lo, hi], each row divided by 2^(0..7) (spreads
// from the full range down to a few codes).
Tensor random_rows(int64_t rows, int64_t width, int lo, int hi) {
  Tensor c = torch::randint(lo, hi + 1, {rows, width}, torch::kLong);
  const Tensor div = torch::randint(0, 8, {rows, 1}, torch::kLong);
  return torch::div(c, torch::bitwise_left_shift(torch::ones_like(div), div), "trunc");
}

}  // namespace

long torch_intops_mismatches(const LutBank& bank, int rows, uint64_t seed) {
  torch::manual_seed(seed);
  const IntOps ops(bank);
  long bad = 0;
  using B = Backend;

  // Activations: every int8 code at every scale, to the model's output scale
  // (the input's) and to coarser and finer ones (right and left shifts).
  const Tensor all = torch::arange(-128, 128, torch::kLong);
  for (Activation fn : {Activation::gelu, Activation::hswish}) {
    const TableSet& set = fn == Activation::gelu ? bank.gelu : bank.hswish;
    for (int n : set.scales()) {
      for (int out : {n, 0, 3, 7, 12, 20}) {
        bad += differ(ops.activation(fn, n, out, all, B::torch), ops.activation(fn, n, out, all, B::library));
      }
    }
  }

  // Softmax and LayerNorm: the LibTorch simulation and the library both equal
  // the scalar datapath reference (include/gqalut/datapath.hpp), bit for bit.
  const auto softmax_vs_ref = [&](int n, const Tensor& x) {
    const Tensor want = ops.softmax(n, x, B::reference);
    return differ(ops.softmax(n, x, B::torch), want) + differ(ops.softmax(n, x, B::library), want);
  };
  // Softmax: rows of the model's 17 tokens and of other widths; max-subtracted
  // codes (as the model gives them), raw int8 logits, peaked rows (one logit far
  // above the rest) and constant rows.
  if (!bank.exp.tables.empty()) {
    for (int n = kSoftmaxNLo; n <= kSoftmaxNHi; ++n) {
      for (int64_t width : {int64_t{kTokens}, int64_t{1}, int64_t{64}, int64_t{197}}) {
        Tensor d = random_rows(rows, width, -128, 0);
        d.select(1, 0).fill_(0);
        bad += softmax_vs_ref(n, d);
        const Tensor raw = random_rows(rows / 4 + 1, width, -128, 127);
        bad += softmax_vs_ref(n, raw);
        Tensor peaked = torch::randint(-128, -90, {rows / 4 + 1, width}, torch::kLong);
        peaked.select(1, 0).fill_(0);
        bad += softmax_vs_ref(n, peaked);
        const Tensor flat = torch::full({3, width}, -7, torch::kLong);
        bad += softmax_vs_ref(n, flat);
      }
    }
  }

  // LayerNorm: rows of 64 with mixed spreads (tiny variances exercise the
  // reduction's left shift), constant rows, every combination of input, gamma
  // and output scale from the model's range; random int8 gamma and int32 beta.
  for (int nx : {0, 3, 6, 9, 12}) {
    for (int ng : {0, 6, 12}) {
      for (int no : {0, 4, 8, 12}) {
        Tensor x = random_rows(rows / 8 + 2, kDim, -128, 127);
        x[0].fill_(5);
        x[1].fill_(0);
        const Tensor gamma = torch::randint(-128, 128, {kDim}, torch::kLong);
        const Tensor beta = torch::randint(-3000, 3000, {kDim}, torch::kLong);
        for (double eps : {kLnEps, 0.0}) {
          const Tensor want = ops.layernorm(nx, x, ng, gamma, no, beta, eps, B::reference);
          bad += differ(ops.layernorm(nx, x, ng, gamma, no, beta, eps, B::torch), want);
          bad += differ(ops.layernorm(nx, x, ng, gamma, no, beta, eps, B::library), want);
        }
      }
    }
  }

  // ReLU linear attention: heads of 17 x 16 codes, per-head spreads from the
  // full range down to a few codes (small denominators, the reduction's left
  // shift), some heads with q <= 0 everywhere (den = eps), and the extremes.
  if (!bank.reci.tables.empty()) {
    const int64_t heads = std::max(2, rows / 5);
    auto codes = [&](double neg) {
      Tensor c = random_rows(heads, kTokens * kHeadDim, -128, 127).view({heads, kTokens, kHeadDim});
      return torch::where(torch::rand({heads, 1, 1}) < neg, -c.abs(), c);
    };
    Tensor q = codes(0.05), k = codes(0.05), v = codes(0.0);
    q[0].fill_(127);
    k[0].fill_(127);
    v[0].fill_(-128);
    q[1].fill_(127);
    k[1].fill_(127);
    v[1].fill_(127);
    bad += differ(ops.linear_attention(q, k, v, B::torch), ops.linear_attention(q, k, v, B::library));
  }
  return bad;
}

}  // namespace gqalut::vit
