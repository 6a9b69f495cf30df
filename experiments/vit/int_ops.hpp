// gqalut ViT experiment: the integer non-linear operations of the ViT, written
// without LibTorch. They are the reference the LibTorch LUT path is checked
// against (bit for bit) and the "integer-only" forward path of the experiment.
//
// Every operation takes int8 codes and returns integers; only the final
// conversion to a real number (value = integer * 2^-shift) leaves the integer
// domain. The piecewise-linear tables are gqalut tables evaluated with
// gqalut::eval_acc (SPEC section 2, tie rule "right").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "gqalut/table.hpp"

namespace gqalut::vit {

// Output scale of the integer softmax: probabilities are int8 codes at 2^-7.
inline constexpr int kProbBits = 7;
// LayerNorm width the integer LayerNorm supports: D = 2^6 (log2 D must be even
// so that sqrt(D^3) is a power of two).
inline constexpr int kLnDimLog2 = 6;
inline constexpr int kLnDim = 1 << kLnDimLog2;

// The tables one LUT variant uses, one TableSet per function. The ViT uses
// gelu, exp, reci, rsqrt; the EfficientViT-style model hswish, reci, rsqrt.
// A function a model does not use stays an empty TableSet.
struct LutBank {
  std::string name;     // e.g. "optimal-8"
  TableSet gelu;        // GELU, per input scale
  TableSet exp;         // e^x on [-8, 0], per input scale
  TableSet hswish;      // HSWISH, per input scale (EfficientViT-style model)
  TableSet reci;        // 1/x on [1, 2] after range reduction (scale reci_n)
  TableSet rsqrt;       // 1/sqrt(x) on [1, 4] after range reduction (scale rsqrt_n)
  int reci_n = 6;       // input scale of the reciprocal lookup
  int rsqrt_n = 5;      // input scale of the rsqrt lookup
};

// Chooses reci_n (largest scale <= 6) and rsqrt_n (largest scale <= 5) from
// the tables present; throws std::invalid_argument if a table has none.
void choose_reduction_scales(LutBank& bank);

// The functions each model's tables cover: "vit" -> gelu, exp, reci, rsqrt;
// "effvit" -> hswish, reci, rsqrt. Throws std::invalid_argument otherwise.
std::vector<std::string> model_functions(const std::string& model);

// Loads "<dir>/<method>_<entries>_<fn>.json" for each fn in `functions`
// (reci and rsqrt must be among them).
LutBank load_bank(const std::string& dir, const std::string& method, int entries,
                  const std::vector<std::string>& functions = {"gelu", "exp", "reci", "rsqrt"});
// The official GQA-LUT tables (<dir>/<fn>_pwl_<entries-1>.json); hswish too
// when its file exists.
LutBank load_official_bank(const std::string& dir, int entries);

// Scale n of the table in `set` nearest to `n` (clamped into its scales, and
// into [n_lo, n_hi]).
int clamp_scale(const TableSet& set, int n, int n_lo = 0, int n_hi = 64);

// floor(log2 v) for v >= 1.
int floor_log2(int64_t v);
// round(v * 2^-s), half away from zero; s may be negative (exact left shift).
int64_t round_shift(int64_t v, int s);

// acc[i] = eval_acc(t, q[i]) (output scale 2^-t.shift()) for int8 codes q[i],
// computed with gqalut's PWL kernel (gqalut::apply) when the kernels library is
// built, else with the scalar evaluator.
void lut_apply(const Table& t, const int32_t* q, int64_t* acc, std::size_t count);

// Integer softmax of one row of `count` codes d[i] in [-128, 0] at input scale
// 2^-exp_t.n (the row's max already subtracted):
//   e_i = EXP(d_i);  S = sum e_i = m 2^E, m in [1, 2);  r = RECI(round(m 2^nr));
//   p_i = round(e_i r 2^-(Lr + E - 7)) saturated to int8 (scale 2^-7).
void softmax_row(const Table& exp_t, const Table& reci_t, const int32_t* d, int32_t* p,
                 std::size_t count);

// Integer LayerNorm normalisation of one row of kLnDim codes q[i] at scale
// 2^-nx (before the affine gamma/beta):
//   c_i = D q_i - sum q;  W = sum c_i^2 + round(eps D^3 4^nx) = m 4^k, m in [1, 4);
//   r = RSQRT(round(m 2^ns));  y_i = c_i r 2^-(Ls + k - 3)  (= (x_i - mean) / sqrt(var + eps)).
// Writes prod[i] = c_i r and returns the shift s (y_i = prod[i] * 2^-s).
int layernorm_row(const Table& rsqrt_t, const int32_t* q, int64_t* prod, int nx, double eps);
// Integer ReLU linear attention of one head (EfficientViT style): q, k, v are
// [tokens x dim] int8 codes (row-major) at scales 2^-nq, 2^-nk, 2^-nv; with
// a = relu(q), b = relu(k):
//   KV = sum_j b_j^T v_j (dim x dim), s = sum_j b_j (dim),
//   num_i = a_i KV (scale 2^-(nq+nk+nv)),  den_i = a_i . s + 1 (scale 2^-(nq+nk);
//   the +1 is the epsilon, one unit of the denominator's scale);
//   den_i = m 2^E, m in [1, 2);  r = RECI(round(m 2^nr))  (the softmax's reduction);
//   out_i = round(num_i r 2^-(Lr + E)) saturated to int8: codes at v's scale 2^-nv
// (out is a convex combination of the v_j, so it fits v's int8 range).
void linear_attention_head(const Table& reci_t, const int32_t* q, const int32_t* k,
                           const int32_t* v, int32_t* out, std::size_t tokens, std::size_t dim);
// The reciprocal step alone: den >= 1 -> (r, E) with 1/den ~ r 2^-(Lr + E).
void reciprocal_reduce(const Table& reci_t, int64_t den, int64_t* r, int* big_e);

// round(eps * 2^(2 nx + 3 log2 D)): the integer epsilon of layernorm_row.
int64_t layernorm_eps_code(int nx, double eps);

}  // namespace gqalut::vit
