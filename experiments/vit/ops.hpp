// gqalut ViT experiment: the model's integer non-linear operations on LibTorch
// tensors of integer codes, with two interchangeable backends:
//   Backend::torch    a LibTorch simulation of gqalut's integer datapaths
//                     (bucketize + gather for the table lookups, integer
//                     tensor arithmetic for the range reductions), fast on
//                     whole batches; the training and test forward pass;
//   Backend::library  the codes copied to plain buffers and run through
//                     include/gqalut/intops.hpp (activation, softmax_row,
//                     layernorm_row); the integer-only check.
//   Backend::reference (softmax and LayerNorm) the scalar datapath reference
//                     (include/gqalut/datapath.hpp) the other two are tested
//                     equal to; the activations run the library there.
// Both give the same integers (checks.cpp tests it on every code and on random
// rows; the integer-only check then compares whole networks' predictions).
// The ReLU linear attention has no library operation: its library backend is
// the C++ reference of linear_attention.hpp (the lookup through gqalut's kernel).
#pragma once

#include <torch/torch.h>

#include <map>
#include <tuple>

#include "bank.hpp"
#include "gqalut/intops.hpp"

namespace gqalut::vit {

enum class Backend { torch, library, reference };
enum class Activation { gelu, hswish };

// Probabilities of the integer softmax: int8 codes at 2^-7.
inline constexpr int kProbBits = 7;

// A gqalut table at one scale in LibTorch, the coefficients pre-shifted so that
// acc = k[seg] * q + b[seg] is exactly SPEC section 2's datapath.
struct TorchLut {
  int n = 0, shift = 0;
  bool right = true;  // the table's tie rule: a code equal to a breakpoint P_i is in segment i+1
  torch::Tensor bp, k, b;
};
TorchLut make_torch_lut(const Table& t);
// acc for int64 codes q (any shape): the segment is the number of breakpoints
// P_i <= q (tie rule "right", bucketize right=true) or P_i < q ("left"), SPEC
// section 1's segment rule.
torch::Tensor lut_acc(const TorchLut& t, const torch::Tensor& q);

// The integer operations of one LUT bank. Plans (gqalut's and the LibTorch
// tables) are built on first use and kept; not thread-safe. Codes are int64
// tensors; every function returns int64 codes of the input's shape.
class IntOps {
 public:
  explicit IntOps(const LutBank& bank) : bank_(&bank) {}
  const LutBank& bank() const { return *bank_; }

  // int8 codes at 2^-in_frac through the function's table at scale in_frac ->
  // int8 codes at 2^-out_frac (gqalut::prepare_activation / activation).
  torch::Tensor activation(Activation fn, int in_frac, int out_frac, const torch::Tensor& q, Backend b) const;

  // Softmax over the last dimension of int8 logit codes at 2^-in_frac ->
  // probabilities as int8 codes at 2^-kProbBits (gqalut::softmax_row, int8 out).
  torch::Tensor softmax(int in_frac, const torch::Tensor& q, Backend b) const;

  // LayerNorm over the last dimension: x int8 codes at 2^-in_frac, gamma [D]
  // int8 codes at 2^-gamma_frac, beta [D] int32 codes at 2^-out_frac -> int8
  // codes at 2^-out_frac (gqalut::layernorm_row), eps in real units.
  torch::Tensor layernorm(int in_frac, const torch::Tensor& x, int gamma_frac, const torch::Tensor& gamma,
                          int out_frac, const torch::Tensor& beta, double eps, Backend b) const;

  // ReLU linear attention of int8 codes q, k, v [..., T, D] (one head per
  // leading index) -> int8 codes at v's scale (linear_attention_head).
  torch::Tensor linear_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                 Backend b) const;

  // The library's plans (also read by the LibTorch simulation).
  const ActivationPlan& activation_plan(Activation fn, int in_frac, int out_frac) const;
  const SoftmaxPlan& softmax_plan(int in_frac) const;
  const LayerNormPlan& layernorm_plan(int in_frac, int gamma_frac, int out_frac, double eps) const;

 private:
  const TableSet& set_of(Activation fn) const;
  const TorchLut& torch_lut(const TableSet& set, int n) const;
  const PwlPlan& reci_plan() const;

  const LutBank* bank_;
  mutable std::map<std::tuple<int, int, int>, ActivationPlan> act_plans_;
  mutable std::map<int, SoftmaxPlan> softmax_plans_;
  mutable std::map<std::tuple<int, int, int, double>, LayerNormPlan> ln_plans_;
  mutable std::map<std::pair<const TableSet*, int>, TorchLut> luts_;
  mutable std::map<int, PwlPlan> reci_plan_;
};

}  // namespace gqalut::vit
