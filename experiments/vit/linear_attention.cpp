// gqalut ViT experiment: integer ReLU linear attention (see linear_attention.hpp).
#include "linear_attention.hpp"

#include <algorithm>
#include <vector>

namespace gqalut::vit {

int64_t round_shift(int64_t v, int s) {
  if (s <= 0) return v * (int64_t{1} << -s);
  const int64_t mag = v < 0 ? -v : v;
  const int64_t r = (mag + (int64_t{1} << (s - 1))) >> s;
  return v < 0 ? -r : r;
}

void reciprocal_reduce(const PwlPlan& reci, int64_t den, int64_t* r, int* big_e) {
  den = std::max<int64_t>(den, 1);
  const int nr = reci.scale();
  const int e = 63 - __builtin_clzll(static_cast<uint64_t>(den));
  int64_t code = round_shift(den, e - nr);
  int ee = e;
  if (code == (int64_t{2} << nr)) {  // rounded up to 2: renormalise
    code >>= 1;
    ++ee;
  }
  const int8_t c8 = static_cast<int8_t>(code);
  int32_t acc = 0;
  apply(reci, &c8, &acc, 1);
  *r = acc;
  *big_e = ee;
}

void linear_attention_head(const PwlPlan& reci, const int32_t* q, const int32_t* k, const int32_t* v,
                           int32_t* out, std::size_t tokens, std::size_t dim) {
  const int shift = reci.shift();  // L of the reciprocal table (once per head)
  std::vector<int64_t> kv(dim * dim, 0), ks(dim, 0), num(dim);
  for (std::size_t j = 0; j < tokens; ++j) {
    for (std::size_t a = 0; a < dim; ++a) {
      const int64_t b = std::max(k[j * dim + a], 0);
      ks[a] += b;
      for (std::size_t c = 0; c < dim; ++c) kv[a * dim + c] += b * v[j * dim + c];
    }
  }
  for (std::size_t i = 0; i < tokens; ++i) {
    int64_t den = 1;
    std::fill(num.begin(), num.end(), 0);
    for (std::size_t a = 0; a < dim; ++a) {
      const int64_t qa = std::max(q[i * dim + a], 0);
      den += qa * ks[a];
      for (std::size_t c = 0; c < dim; ++c) num[c] += qa * kv[a * dim + c];
    }
    int64_t r = 0;
    int big_e = 0;
    reciprocal_reduce(reci, den, &r, &big_e);
    for (std::size_t c = 0; c < dim; ++c) {
      out[i * dim + c] = static_cast<int32_t>(std::clamp<int64_t>(round_shift(num[c] * r, shift + big_e), -128, 127));
    }
  }
}

}  // namespace gqalut::vit
