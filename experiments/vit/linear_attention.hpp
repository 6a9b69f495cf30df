// gqalut ViT experiment: the integer ReLU linear attention of the
// EfficientViT-style model. gqalut's library has no such operation (it has
// softmax, LayerNorm and element-wise activations, include/gqalut/intops.hpp),
// so this one integer reference stays here; its only table, the reciprocal,
// goes through gqalut's PWL kernel. No LibTorch here.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gqalut/kernels.hpp"

namespace gqalut::vit {

// The reciprocal step: den >= 1 -> (r, E) with 1/den ~ r 2^-(L + E), L = the
// table's output shift: E = floor(log2 den), code = round(den 2^(n - E)) in
// [2^n, 2^(n+1)) (a round-up to 2^(n+1) renormalises to 2^n, E + 1), r = RECI(code)
// with `reci` the plan of the reciprocal table at scale n (n <= 6: int8 codes).
void reciprocal_reduce(const PwlPlan& reci, int64_t den, int64_t* r, int* big_e);

// One head: q, k, v are [tokens x dim] int8 codes (row-major) at 2^-nq,
// 2^-nk, 2^-nv; with a = relu(q), b = relu(k):
//   KV = sum_j b_j^T v_j (dim x dim), s = sum_j b_j (dim),
//   num_i = a_i KV,  den_i = a_i . s + 1 (the +1 is the epsilon, one unit of 2^-(nq+nk)),
//   (r, E) = reciprocal_reduce(den_i);  out_i = sat8(round(num_i r 2^-(L + E))),
// int8 codes at v's scale (out is a convex combination of the v_j). Rounding is
// half away from zero.
void linear_attention_head(const PwlPlan& reci, const int32_t* q, const int32_t* k, const int32_t* v,
                           int32_t* out, std::size_t tokens, std::size_t dim);

// round(v 2^-s), half away from zero; s <= 0 is an exact left shift.
int64_t round_shift(int64_t v, int s);

}  // namespace gqalut::vit
