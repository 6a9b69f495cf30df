// gqalut ViT experiment: the models. A small ViT (softmax attention, GELU MLP)
// and an EfficientViT-style variant (ReLU linear attention, HSWISH MLP) on
// 28x28 images, 16 patches + a class token, width 64, 4 pre-norm blocks.
//
// Every forward takes a Forward context (the mode and, in LUT mode, the
// integer operations and their backend) instead of a global switch:
//   fp32  float everywhere;
//   qat   int8 fake quantization (power-of-two LSQ scales) at every linear
//         layer's weights and input, Q, K, V and every non-linearity's input
//         and output, with the exact functions ("QAT-exact");
//   lut   as qat, but every non-linearity is gqalut's integer operation on the
//         int8 codes (forward bit-exact; backward straight through with the
//         exact function's gradient).
#pragma once

#include <torch/torch.h>

#include <vector>

#include "ops.hpp"

namespace gqalut::vit {

enum class Mode { fp32, qat, lut };

struct Forward {
  Mode mode = Mode::fp32;
  Backend backend = Backend::torch;  // lut mode: the LibTorch simulation or the library itself
  const IntOps* ops = nullptr;       // lut mode: the bank's operations
};

// Rough cost of a forward/backward in this mode relative to FP32 (for the ETA).
double mode_cost(const Forward& ctx);

inline constexpr int kDim = 64, kHeads = 4, kHeadDim = kDim / kHeads, kMlp = 128, kDepth = 4;
inline constexpr int kPatch = 7, kTokens = (28 / kPatch) * (28 / kPatch) + 1;
inline constexpr double kLnEps = 1e-5;
// Input scales 2^-n of the operations: GELU/HSWISH n in [0, 6] (the tables'
// scales); the softmax input x - max in [4, 6] (int8 codes reach -8 at n = 4:
// e^-8 is 0.04 of an output step); LayerNorm input, gamma and output in [0, 12].
inline constexpr int kActNLo = 0, kActNHi = 6, kSoftmaxNLo = 4, kSoftmaxNHi = 6, kLnNLo = 0, kLnNHi = 12;

// Fake quantizer with a power-of-two scale 2^-n, n = -round(t), t = log2(s)
// learned by LSQ (gradient scale 1/sqrt(numel * qmax)); the rounding of the
// value and of the exponent are both straight-through; n is clamped into
// [n_lo, n_hi]. Initialised from the first batch it sees.
struct QuantImpl : torch::nn::Module {
  QuantImpl(int qmin, int qmax, int n_lo, int n_hi, bool weight = false);
  int n() const;
  torch::Tensor forward(const torch::Tensor& x);      // dequantized value, differentiable in x and t
  torch::Tensor codes(const torch::Tensor& x) const;  // the int64 codes forward() represents
  void init_from(const torch::Tensor& x);

  torch::Tensor t, inited;
  int qmin_, qmax_, n_lo_, n_hi_;
  bool weight_;
};
TORCH_MODULE(Quant);

struct QLinearImpl : torch::nn::Module {
  QLinearImpl(int in, int out);
  torch::Tensor forward(const torch::Tensor& x, const Forward& ctx);
  torch::nn::Linear lin;
  Quant in_q, w_q;
};
TORCH_MODULE(QLinear);

// GELU or HSWISH: int8 input codes at 2^-n, output codes at the same scale.
struct ActOpImpl : torch::nn::Module {
  explicit ActOpImpl(Activation fn);
  torch::Tensor forward(const torch::Tensor& x, const Forward& ctx);
  Activation fn_;
  Quant q;
};
TORCH_MODULE(ActOp);

// Softmax over the last dim: input x - max as int8 codes in [-128, 0] at 2^-n,
// probabilities as int8 codes at 2^-kProbBits.
struct SoftmaxOpImpl : torch::nn::Module {
  SoftmaxOpImpl();
  torch::Tensor forward(const torch::Tensor& z, const Forward& ctx);
  Quant q;
};
TORCH_MODULE(SoftmaxOp);

// LayerNorm over kDim: input, gamma and output int8 codes (their own learned
// scales), beta int32 codes at the output scale: gqalut::layernorm_row's datapath.
struct LayerNormOpImpl : torch::nn::Module {
  LayerNormOpImpl();
  torch::Tensor forward(const torch::Tensor& x, const Forward& ctx);
  Quant q;
  torch::Tensor gamma, beta;
  Quant gamma_q, out_q;
};
TORCH_MODULE(LayerNormOp);

// eff = false: the ViT block (softmax attention, GELU); true: EfficientViT
// style (ReLU linear attention with the reciprocal table, HSWISH).
struct BlockImpl : torch::nn::Module {
  explicit BlockImpl(bool eff);
  torch::Tensor forward(torch::Tensor x, const Forward& ctx);
  torch::Tensor linear_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                 const Forward& ctx);
  bool eff_;
  LayerNormOp ln1, ln2;
  QLinear qkv, proj, fc1, fc2;
  Quant qq, qk, qv;
  SoftmaxOp softmax;
  ActOp act;
};
TORCH_MODULE(Block);

struct VitImpl : torch::nn::Module {
  explicit VitImpl(bool eff = false);
  torch::Tensor forward(const torch::Tensor& img, const Forward& ctx);  // [B, 28, 28] -> [B, 10] logits
  QLinear patch;
  torch::Tensor cls, pos;
  std::vector<Block> blocks;
  LayerNormOp norm;
  QLinear head;
};
TORCH_MODULE(Vit);

// Throws std::invalid_argument if the bank cannot serve the model: a missing
// GELU/HSWISH scale in [kActNLo, kActNHi], or a softmax/LayerNorm plan the
// library refuses (gqalut::prepare_softmax / prepare_layernorm).
void check_bank(const IntOps& ops, bool eff);

}  // namespace gqalut::vit
