// I-BERT's integer-only operations (include/gqalut/ibert.hpp), written from
// the paper's description (Kim et al., ICML 2021, section 3 and its
// algorithms for i-poly, i-exp, i-erf/i-GELU and the integer square root).
// Plan-time constants use doubles (the paper computes floor(b / S) etc. from
// the real coefficients once); every per-element step is integer.
#include "gqalut/ibert.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

namespace gqalut {
namespace ibert {
namespace {

void check_range(const char* what, int v, int lo, int hi) {
  if (v < lo || v > hi) throw std::invalid_argument(fmt::format("{} must be in [{}, {}], got {}", what, lo, hi, v));
}

int bit_length(uint64_t v) { return v == 0 ? 0 : 64 - __builtin_clzll(v); }

// round(num / den) half up for den > 0 (num of either sign: floor((2 num + den) / (2 den))).
int64_t div_round(int64_t num, int64_t den) {
  const int64_t n2 = 2 * num + den, d2 = 2 * den;
  int64_t q = n2 / d2;
  if ((n2 % d2 != 0) && (n2 < 0)) --q;  // floor for negatives
  return q;
}

int8_t sat8(int64_t v) { return static_cast<int8_t>(std::clamp<int64_t>(v, -128, 127)); }

// round_half_away(v 2^-s) for s >= 1, v << -s for s <= 0.
int64_t round_shift_away(int64_t v, int s) {
  if (s <= 0) return v * (int64_t{1} << -s);
  const int64_t mag = v < 0 ? -v : v;
  const int64_t r = (mag + (int64_t{1} << (s - 1))) >> s;
  return v < 0 ? -r : r;
}

}  // namespace

// ---- i-poly ---------------------------------------------------------------------------

Poly make_poly(double a, double b, double c, double scale) {
  Poly p;
  p.qb = static_cast<int64_t>(std::floor(b / scale));
  p.qc = static_cast<int64_t>(std::floor(c / (a * scale * scale)));
  p.scale_out = a * scale * scale;
  return p;
}

int64_t i_poly(const Poly& p, int64_t q) { return (q + p.qb) * (q + p.qb) + p.qc; }

// ---- i-exp ----------------------------------------------------------------------------

Exp make_exp(int in_frac) {
  check_range("I-BERT exp in_frac", in_frac, kExpInFracMin, kExpInFracMax);
  Exp e;
  e.in_frac = in_frac;
  const double s = std::ldexp(1.0, -in_frac);
  e.q_ln2 = static_cast<int64_t>(std::floor(std::log(2.0) / s));
  e.poly = make_poly(kExpA, kExpB, kExpC, s);
  return e;
}

ExpSplit exp_split(const Exp& e, int64_t q) {
  ExpSplit sp;
  sp.z = (-q) / e.q_ln2;  // -q >= 0: truncation is the floor
  sp.p = q + sp.z * e.q_ln2;
  return sp;
}

int64_t i_exp(const Exp& e, int64_t q) {
  const ExpSplit sp = exp_split(e, q);
  if (sp.z > kMaxShift) return 0;
  return i_poly(e.poly, sp.p) >> sp.z;
}

// ---- softmax --------------------------------------------------------------------------

Softmax make_softmax(int in_frac, int out_frac, int work_frac) {
  check_range("I-BERT softmax in_frac", in_frac, 0, kExpInFracMax);
  check_range("I-BERT softmax out_frac", out_frac, 1, 15);
  if (work_frac < 0) work_frac = std::max(in_frac, kSoftmaxWorkFrac);
  check_range("I-BERT softmax work_frac", work_frac, std::max(in_frac, kExpInFracMin), kExpInFracMax);
  Softmax s;
  s.exp = make_exp(work_frac);
  s.in_frac = in_frac;
  s.shift = work_frac - in_frac;
  s.out_frac = out_frac;
  return s;
}

uint32_t softmax_out(const Softmax& s, int64_t e, int64_t S, uint32_t max_code) {
  const int64_t v = div_round(e * (int64_t{1} << s.out_frac), S);
  return static_cast<uint32_t>(std::min<int64_t>(v, max_code));
}

namespace {

template <typename In, typename Out>
void softmax_any(const Softmax& s, const In* q, Out* out, size_t n, uint32_t max_code) {
  if (n == 0) return;
  int64_t m = q[0];
  for (size_t i = 1; i < n; ++i) m = std::max<int64_t>(m, q[i]);
  std::vector<int64_t> e(n);
  int64_t S = 0;
  for (size_t i = 0; i < n; ++i) S += e[i] = i_exp(s.exp, (int64_t{q[i]} - m) * (int64_t{1} << s.shift));
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<Out>(softmax_out(s, e[i], S, max_code));
}

}  // namespace

void softmax_row(const Softmax& s, const int8_t* q, uint8_t* out, size_t n) { softmax_any(s, q, out, n, 255); }
void softmax_row(const Softmax& s, const int32_t* q, uint8_t* out, size_t n) { softmax_any(s, q, out, n, 255); }
void softmax_row(const Softmax& s, const int8_t* q, int8_t* out, size_t n) { softmax_any(s, q, out, n, 127); }

// ---- i-GELU ---------------------------------------------------------------------------

Gelu make_gelu(int in_frac, int out_frac) {
  check_range("I-BERT gelu in_frac", in_frac, kExpInFracMin, kGeluInFracMax);
  check_range("I-BERT gelu out_frac", out_frac, 0, 15);
  Gelu g;
  g.in_frac = in_frac;
  g.out_frac = out_frac;
  const double s = std::ldexp(1.0, -in_frac);
  g.erf = make_poly(kErfA, kErfB, kErfC, s / std::sqrt(2.0));
  g.clip = -g.erf.qb;
  g.q_one = static_cast<int64_t>(std::floor(1.0 / g.erf.scale_out));
  // S_out = S S_erf_out / 2 = kErfA 2^-(3 in_frac + 2); y = q_out S_out 2^out_frac.
  g.shift = kRequantBits + 3 * in_frac + 2 - out_frac;
  g.mult = std::llround(std::ldexp(kErfA, kRequantBits));
  return g;
}

int64_t i_erf(const Gelu& g, int64_t q) {
  const int64_t mag = std::min<int64_t>(q < 0 ? -q : q, g.clip);
  const int64_t v = i_poly(g.erf, mag);
  return q < 0 ? -v : (q > 0 ? v : 0);
}

int64_t i_gelu_acc(const Gelu& g, int64_t q) { return q * (i_erf(g, q) + g.q_one); }

int8_t i_gelu(const Gelu& g, int8_t q) { return sat8(round_shift_away(i_gelu_acc(g, q) * g.mult, g.shift)); }

void gelu(const Gelu& g, const int8_t* in, int8_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = i_gelu(g, in[i]);
}

// ---- integer square root and LayerNorm --------------------------------------------------

uint64_t isqrt_start(uint64_t v) { return uint64_t{1} << ((bit_length(v) + 1) / 2); }

uint64_t isqrt_step(uint64_t v, uint64_t x) { return (x + v / x) / 2; }

uint64_t isqrt(uint64_t v, int* iterations) {
  int it = 0;
  uint64_t x = 0;
  if (v > 0) {
    x = isqrt_start(v);  // >= sqrt(v): the iterates decrease to floor(sqrt(v))
    for (;;) {
      const uint64_t y = isqrt_step(v, x);
      ++it;
      if (y >= x) break;
      x = y;
    }
  }
  if (iterations) *iterations = it;
  return x;
}

LayerNorm make_layernorm(int in_frac, int out_frac, int gamma_frac, double eps) {
  check_range("I-BERT layernorm in_frac", in_frac, 0, kLnFracMax);
  check_range("I-BERT layernorm out_frac", out_frac, 0, kLnFracMax);
  check_range("I-BERT layernorm gamma_frac", gamma_frac, 0, kLnFracMax);
  if (!(eps >= 0) || !std::isfinite(eps)) throw std::invalid_argument(fmt::format("eps must be >= 0, got {}", eps));
  return LayerNorm{in_frac, out_frac, gamma_frac, eps};
}

LayerNormRow layernorm_row_stats(const LayerNorm& l, const int8_t* x, size_t n) {
  LayerNormRow r;
  r.n = static_cast<int64_t>(n);
  int64_t sxx = 0;
  for (size_t i = 0; i < n; ++i) {
    r.sx += x[i];
    sxx += int64_t{x[i]} * x[i];
  }
  const int64_t eps_v =
      std::llround(l.eps * (double(r.n) * double(r.n) * double(int64_t{1} << (2 * l.in_frac))));
  r.V = r.n * sxx - r.sx * r.sx + eps_v;
  r.sigma = isqrt(static_cast<uint64_t>(std::max<int64_t>(r.V, 0)));
  return r;
}

int64_t layernorm_z(const LayerNormRow& r, int8_t q) {
  if (r.sigma == 0) return 0;
  const int64_t d = r.n * q - r.sx;
  return div_round(d * (int64_t{1} << kLnFracBits), static_cast<int64_t>(r.sigma));
}

int8_t layernorm_out(const LayerNorm& l, const LayerNormRow& r, int8_t q, int8_t gamma, int32_t beta) {
  const int64_t w = round_shift_away(layernorm_z(r, q) * gamma, kLnFracBits + l.gamma_frac - l.out_frac);
  return sat8(w + beta);
}

void layernorm_row(const LayerNorm& l, const int8_t* x, const int8_t* gamma, const int32_t* beta, int8_t* out,
                   size_t n) {
  if (n == 0) return;
  const LayerNormRow r = layernorm_row_stats(l, x, n);
  for (size_t i = 0; i < n; ++i) out[i] = layernorm_out(l, r, x[i], gamma[i], beta[i]);
}

}  // namespace ibert
}  // namespace gqalut
