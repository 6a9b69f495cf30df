// AVX-512 microkernels (F+BW+VL+DQ+VBMI; this file is compiled with those
// -m flags). Datapath per 64 int8 codes:
//   idx  = sum_j (q >= thr_j)            vpcmpb + masked vpaddb, one per threshold
//   K, B = per-lane lookup by idx        vpermw (16-bit path) or vpermd/vpermt2d (32-bit)
//   acc  = K * q + B                     vpmullw/vpaddw or vpmulld/vpaddd
// The 16-bit path is used when the plan proved every accumulator fits int16.
// Tails use masked loads/stores, so there is no scalar remainder loop.
#include <immintrin.h>

#include <cstdint>

#include "ukernels.h"

namespace gqalut {
namespace ukernel {
namespace {

inline __mmask64 tail_mask64(size_t rem) { return rem >= 64 ? ~__mmask64{0} : ((__mmask64{1} << rem) - 1); }

// Full blocks use plain loads; only the tail uses a masked (zeroing) load.
// Masked loads in a streaming loop ran ~3x slower from DRAM on this CPU.
inline __m512i load_s8(const int8_t* p, size_t rem, __mmask64 m) {
  return rem >= 64 ? _mm512_loadu_si512(p) : _mm512_maskz_loadu_epi8(m, p);
}

// Segment index by a branch-free compare tree (binary search over the sorted
// thresholds, padded to a power of two with "never" = 127 for q > thr-1):
//   idx = 0; for step = P/2 .. 1: idx += step if q > thr[idx + step - 1] - 1
// where thr[idx + step - 1] is fetched per lane with vpermb (VBMI).
// log2(P) levels of vpermb + vpcmpb + masked vpaddb instead of P-1 compares.
struct Thresholds8 {
  __m512i first;                   // broadcast threshold of the first level
  __m512i table[6], step[6];       // levels 1..: per-lane threshold table, step
  __m512i first_step;
  int levels = 0;
  explicit Thresholds8(const PwlLayout& p) : levels(p.tree_levels) {
    for (int l = 0; l < levels; ++l) {
      table[l] = _mm512_loadu_si512(p.tree[l]);
      step[l] = _mm512_set1_epi8(static_cast<char>(1 << (levels - 1 - l)));
    }
    if (levels > 0) {
      first = _mm512_set1_epi8(p.tree[0][0]);
      first_step = step[0];
    }
  }
};

inline __m512i seg_index_s8(__m512i q, const Thresholds8& t) {
  if (t.levels == 0) return _mm512_setzero_si512();
  __m512i idx = _mm512_maskz_mov_epi8(_mm512_cmpgt_epi8_mask(q, t.first), t.first_step);
  for (int l = 1; l < t.levels; ++l) {
    __m512i thr = _mm512_permutexvar_epi8(idx, t.table[l]);
    idx = _mm512_mask_add_epi8(idx, _mm512_cmpgt_epi8_mask(q, thr), idx, t.step[l]);
  }
  return idx;
}

// 16-bit lookup: W = 1 (<= 32 segments, vpermw) or 2 (<= 64, vpermt2w).
template <int W>
inline __m512i lut16(__m512i i16, const __m512i* t) {
  if (W == 1) return _mm512_permutexvar_epi16(i16, t[0]);
  return _mm512_permutex2var_epi16(t[0], i16, t[1]);
}

// 32-bit lookup: W = 1 (<= 16 segments), 2 (<= 32), 4 (<= 64).
template <int W>
inline __m512i lut32(__m512i i32, const __m512i* t) {
  if (W == 1) return _mm512_permutexvar_epi32(i32, t[0]);
  __m512i lo = _mm512_permutex2var_epi32(t[0], i32, t[1]);
  if (W == 2) return lo;
  __m512i hi = _mm512_permutex2var_epi32(t[2], i32, t[3]);
  return _mm512_mask_blend_epi32(_mm512_test_epi32_mask(i32, _mm512_set1_epi32(32)), lo, hi);
}

struct Tables16 {
  __m512i k[2], b[2];
  explicit Tables16(const PwlLayout& p) {
    for (int c = 0; c < 2; ++c) {
      k[c] = _mm512_loadu_si512(p.k16 + 32 * c);
      b[c] = _mm512_loadu_si512(p.b16 + 32 * c);
    }
  }
};

struct Tables32 {
  __m512i k[4], b[4];
  explicit Tables32(const PwlLayout& p) {
    for (int c = 0; c < 4; ++c) {
      k[c] = _mm512_loadu_si512(p.k + 16 * c);
      b[c] = _mm512_loadu_si512(p.b + 16 * c);
    }
  }
};

// acc16 for half h (codes 32h..32h+31) of a 64-code block.
template <int W>
inline __m512i acc16_half(__m512i q, __m512i idx, int h, const Tables16& t) {
  __m256i qh = h ? _mm512_extracti64x4_epi64(q, 1) : _mm512_castsi512_si256(q);
  __m256i ih = h ? _mm512_extracti64x4_epi64(idx, 1) : _mm512_castsi512_si256(idx);
  __m512i q16 = _mm512_cvtepi8_epi16(qh);
  __m512i i16 = _mm512_cvtepu8_epi16(ih);
  return _mm512_add_epi16(_mm512_mullo_epi16(q16, lut16<W>(i16, t.k)), lut16<W>(i16, t.b));
}

// acc32 for quarter c (codes 16c..16c+15) of a 64-code block.
template <int W>
inline __m512i acc32_quarter(__m512i q, __m512i idx, int c, const Tables32& t) {
  __m128i qc = _mm512_extracti32x4_epi32(q, 0), ic = _mm512_extracti32x4_epi32(idx, 0);
  if (c == 1) qc = _mm512_extracti32x4_epi32(q, 1), ic = _mm512_extracti32x4_epi32(idx, 1);
  if (c == 2) qc = _mm512_extracti32x4_epi32(q, 2), ic = _mm512_extracti32x4_epi32(idx, 2);
  if (c == 3) qc = _mm512_extracti32x4_epi32(q, 3), ic = _mm512_extracti32x4_epi32(idx, 3);
  __m512i q32 = _mm512_cvtepi8_epi32(qc);
  __m512i i32 = _mm512_cvtepu8_epi32(ic);
  return _mm512_add_epi32(_mm512_mullo_epi32(q32, lut32<W>(i32, t.k)), lut32<W>(i32, t.b));
}

// Rounding (half away from zero) right shift or clamped left shift.
template <bool Right>
inline __m512i requant16(__m512i acc, const RequantLayout& r) {
  if (Right) {
    __m512i v = _mm512_add_epi16(acc, _mm512_set1_epi16(static_cast<int16_t>(r.half)));
    v = _mm512_add_epi16(v, _mm512_srai_epi16(acc, 15));
    return _mm512_sra_epi16(v, _mm_cvtsi32_si128(r.rshift));
  }
  __m512i v = _mm512_max_epi16(acc, _mm512_set1_epi16(static_cast<int16_t>(r.clamp_lo)));
  v = _mm512_min_epi16(v, _mm512_set1_epi16(static_cast<int16_t>(r.clamp_hi)));
  return _mm512_sll_epi16(v, _mm_cvtsi32_si128(r.lshift));
}

template <bool Right>
inline __m512i requant32(__m512i acc, const RequantLayout& r) {
  if (Right) {
    __m512i v = _mm512_add_epi32(acc, _mm512_set1_epi32(r.half));
    v = _mm512_add_epi32(v, _mm512_srai_epi32(acc, 31));
    return _mm512_sra_epi32(v, _mm_cvtsi32_si128(r.rshift));
  }
  __m512i v = _mm512_max_epi32(acc, _mm512_set1_epi32(r.clamp_lo));
  v = _mm512_min_epi32(v, _mm512_set1_epi32(r.clamp_hi));
  return _mm512_sll_epi32(v, _mm_cvtsi32_si128(r.lshift));
}

// ---- s8 -> s32 ----------------------------------------------------------
template <int W>
void s8_s32_via16(const PwlLayout& p, const int8_t* in, int32_t* out, size_t n) {
  const Thresholds8 thr(p);
  const Tables16 t(p);
  for (size_t i = 0; i < n; i += 64) {
    const size_t rem = n - i;
    const __mmask64 m = tail_mask64(rem);
    const __m512i q = load_s8(in + i, rem, m);
    const __m512i idx = seg_index_s8(q, thr);
    for (int h = 0; h < 2; ++h) {
      __m512i acc = acc16_half<W>(q, idx, h, t);
      __m512i lo = _mm512_cvtepi16_epi32(_mm512_castsi512_si256(acc));
      __m512i hi = _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(acc, 1));
      if (rem >= 64) {
        _mm512_storeu_si512(out + i + 32 * h, lo);
        _mm512_storeu_si512(out + i + 32 * h + 16, hi);
      } else {
        _mm512_mask_storeu_epi32(out + i + 32 * h, static_cast<__mmask16>(m >> (32 * h)), lo);
        _mm512_mask_storeu_epi32(out + i + 32 * h + 16, static_cast<__mmask16>(m >> (32 * h + 16)), hi);
      }
    }
  }
}

template <int W>
void s8_s32_via32(const PwlLayout& p, const int8_t* in, int32_t* out, size_t n) {
  const Thresholds8 thr(p);
  const Tables32 t(p);
  for (size_t i = 0; i < n; i += 64) {
    const size_t rem = n - i;
    const __mmask64 m = tail_mask64(rem);
    const __m512i q = load_s8(in + i, rem, m);
    const __m512i idx = seg_index_s8(q, thr);
    for (int c = 0; c < 4; ++c) {
      __m512i acc = acc32_quarter<W>(q, idx, c, t);
      if (rem >= 64) _mm512_storeu_si512(out + i + 16 * c, acc);
      else _mm512_mask_storeu_epi32(out + i + 16 * c, static_cast<__mmask16>(m >> (16 * c)), acc);
    }
  }
}

// ---- s8 -> s16 ----------------------------------------------------------
template <int W>
void s8_s16_impl(const PwlLayout& p, const int8_t* in, int16_t* out, size_t n) {
  const Thresholds8 thr(p);
  const Tables16 t(p);
  for (size_t i = 0; i < n; i += 64) {
    const size_t rem = n - i;
    const __mmask64 m = tail_mask64(rem);
    const __m512i q = load_s8(in + i, rem, m);
    const __m512i idx = seg_index_s8(q, thr);
    for (int h = 0; h < 2; ++h) {
      __m512i acc = acc16_half<W>(q, idx, h, t);
      if (rem >= 64) _mm512_storeu_si512(out + i + 32 * h, acc);
      else _mm512_mask_storeu_epi16(out + i + 32 * h, static_cast<__mmask32>(m >> (32 * h)), acc);
    }
  }
}

// ---- s8 -> s8 (requantized) ----------------------------------------------
template <int W, bool Right>
void s8_s8_via16(const RequantLayout& r, const int8_t* in, int8_t* out, size_t n) {
  const Thresholds8 thr(r.pwl);
  const Tables16 t(r.pwl);
  for (size_t i = 0; i < n; i += 64) {
    const size_t rem = n - i;
    const __mmask64 m = tail_mask64(rem);
    const __m512i q = load_s8(in + i, rem, m);
    const __m512i idx = seg_index_s8(q, thr);
    __m256i y0 = _mm512_cvtsepi16_epi8(requant16<Right>(acc16_half<W>(q, idx, 0, t), r));
    __m256i y1 = _mm512_cvtsepi16_epi8(requant16<Right>(acc16_half<W>(q, idx, 1, t), r));
    __m512i y = _mm512_inserti64x4(_mm512_castsi256_si512(y0), y1, 1);
    if (rem >= 64) _mm512_storeu_si512(out + i, y);
    else _mm512_mask_storeu_epi8(out + i, m, y);
  }
}

// int8 -> int8 when every pre-shifted slope is an int8 code: with u = q + 128
// (unsigned), acc = K*u + C, C = B - 128*K, so vpmaddubsw on even/odd bytes
// gives K*u in 16 bits with no widening of q; the rounding half (and, where the
// plan proved it constant per segment, the tie correction) is folded into C.
// Results of even and odd bytes are packed (saturating) and put back in order
// with one vpermb. Per 64 codes: the compare tree (LV levels), 2 vpermb (K even /
// odd), 2 vpermw (C), 2 vpmaddubsw, 2 vpaddw, [2 vpcmpw + 2 masked vpsubw], 2
// vpsraw, vpacksswb, vpermb. Everything is a compile-time shape: LV tree levels
// (the C table is one vpermw for LV <= 5, vpermt2w for 6), Right (rshift > 0)
// and Fix (per-element tie correction).
template <int LV, bool Right, bool Fix>
struct MaddubsKernel {
  __m512i first, table[6], step[6], k8, c16[2], perm, half, one, lo, hi;
  __m128i rs, ls;
  static constexpr __mmask64 kEven = 0x5555555555555555ull;
  explicit MaddubsKernel(const RequantLayout& r) {
    for (int l = 0; l < LV; ++l) {
      table[l] = _mm512_loadu_si512(r.pwl.tree[l]);
      step[l] = _mm512_set1_epi8(static_cast<char>(1 << (LV - 1 - l)));
    }
    first = _mm512_set1_epi8(r.pwl.tree[0][0]);
    k8 = _mm512_loadu_si512(r.k8);
    c16[0] = _mm512_loadu_si512(r.c16);
    c16[1] = _mm512_loadu_si512(r.c16 + 32);
    // packs puts 8 even then 8 odd results per 128-bit lane; this restores order.
    perm = _mm512_set_epi8(63, 55, 62, 54, 61, 53, 60, 52, 59, 51, 58, 50, 57, 49, 56, 48,  //
                           47, 39, 46, 38, 45, 37, 44, 36, 43, 35, 42, 34, 41, 33, 40, 32,  //
                           31, 23, 30, 22, 29, 21, 28, 20, 27, 19, 26, 18, 25, 17, 24, 16,  //
                           15, 7, 14, 6, 13, 5, 12, 4, 11, 3, 10, 2, 9, 1, 8, 0);
    half = _mm512_set1_epi16(static_cast<int16_t>(r.half));
    one = _mm512_set1_epi16(1);
    lo = _mm512_set1_epi16(static_cast<int16_t>(r.clamp_lo));
    hi = _mm512_set1_epi16(static_cast<int16_t>(r.clamp_hi));
    rs = _mm_cvtsi32_si128(r.rshift);
    ls = _mm_cvtsi32_si128(r.lshift);
  }
  inline __m512i segment(__m512i q) const {
    if (LV == 0) return _mm512_setzero_si512();
    __m512i idx = _mm512_maskz_mov_epi8(_mm512_cmpgt_epi8_mask(q, first), step[0]);
    for (int l = 1; l < LV; ++l)
      idx = _mm512_mask_add_epi8(idx, _mm512_cmpgt_epi8_mask(q, _mm512_permutexvar_epi8(idx, table[l])), idx, step[l]);
    return idx;
  }
  // vpermw reads the low 5 (6) index bits of a word: the even byte's index, as is.
  inline __m512i lut_c(__m512i i16) const {
    return LV <= 5 ? _mm512_permutexvar_epi16(i16, c16[0]) : _mm512_permutex2var_epi16(c16[0], i16, c16[1]);
  }
  inline __m512i finish(__m512i v) const {
    if (Right) {  // v = acc + half (+ folded correction); acc < 0 <=> v < half
      if (Fix) v = _mm512_mask_sub_epi16(v, _mm512_cmplt_epi16_mask(v, half), v, one);
      return _mm512_sra_epi16(v, rs);
    }
    return _mm512_sll_epi16(_mm512_min_epi16(_mm512_max_epi16(v, lo), hi), ls);
  }
  inline __m512i operator()(__m512i q) const {
    const __m512i idx = segment(q);
    const __m512i u = _mm512_xor_si512(q, _mm512_set1_epi8(static_cast<char>(0x80)));
    const __m512i ke = _mm512_maskz_permutexvar_epi8(kEven, idx, k8);
    const __m512i ko = _mm512_maskz_permutexvar_epi8(~kEven, idx, k8);
    const __m512i ce = lut_c(idx), co = lut_c(_mm512_srli_epi16(idx, 8));
    const __m512i ve = finish(_mm512_add_epi16(_mm512_maddubs_epi16(u, ke), ce));
    const __m512i vo = finish(_mm512_add_epi16(_mm512_maddubs_epi16(u, ko), co));
    return _mm512_permutexvar_epi8(perm, _mm512_packs_epi16(ve, vo));
  }
};

// The int8 -> int8 streaming loop shared by the byte kernels (k maps 64 codes
// to 64 codes): a masked head block up to the first 64-byte boundary of out,
// then two independent blocks per step (hides the compare tree's latency)
// with plain loads and ALIGNED stores, then one masked tail block.
// - Aligned stores: with the output off a 64-byte boundary every store splits
//   over two cache lines; at 64 Mi codes from DRAM that cost 15-20% (0.85x vs
//   1.06x memcpy, 64 Mi codes, output 16 bytes off; memcpy aligns its stores).
// - Masked loads stay out of the main loop: on this Zen-class CPU they ran 3x
//   slower from DRAM (3.5 vs 10 Gelem/s) than plain loads (docs/kernels.md).
template <class K>
inline void stream_s8(const K& k, const int8_t* in, int8_t* out, size_t n) {
  size_t i = (64 - (reinterpret_cast<uintptr_t>(out) & 63)) & 63;
  if (i > n) i = n;
  if (i > 0) {
    const __mmask64 m = tail_mask64(i);
    _mm512_mask_storeu_epi8(out, m, k(_mm512_maskz_loadu_epi8(m, in)));
  }
  if (n >= nontemporal_threshold()) {
    // DRAM sizes: streaming stores (no read-for-ownership), as memcpy does; sfence
    // orders them before the caller reads the output.
    for (; i + 128 <= n; i += 128) {
      const __m512i q0 = _mm512_loadu_si512(in + i), q1 = _mm512_loadu_si512(in + i + 64);
      const __m512i y0 = k(q0), y1 = k(q1);
      _mm512_stream_si512(reinterpret_cast<__m512i*>(out + i), y0);
      _mm512_stream_si512(reinterpret_cast<__m512i*>(out + i + 64), y1);
    }
    _mm_sfence();
  }
  for (; i + 128 <= n; i += 128) {
    const __m512i q0 = _mm512_loadu_si512(in + i), q1 = _mm512_loadu_si512(in + i + 64);
    const __m512i y0 = k(q0), y1 = k(q1);
    _mm512_store_si512(out + i, y0);
    _mm512_store_si512(out + i + 64, y1);
  }
  for (; i < n; i += 64) {
    const size_t rem = n - i;
    if (rem >= 64) {
      _mm512_store_si512(out + i, k(_mm512_loadu_si512(in + i)));
    } else {
      const __mmask64 m = tail_mask64(rem);
      _mm512_mask_storeu_epi8(out + i, m, k(_mm512_maskz_loadu_epi8(m, in + i)));
    }
  }
}

template <int LV, bool Right, bool Fix>
void s8_s8_maddubs(const RequantLayout& r, const int8_t* in, int8_t* out, size_t n) {
  stream_s8(MaddubsKernel<LV, Right, Fix>(r), in, out, n);
}

template <bool Right, bool Fix>
void s8_s8_maddubs_levels(const RequantLayout& r, const int8_t* in, int8_t* out, size_t n) {
  switch (r.pwl.tree_levels) {
    case 0: return s8_s8_maddubs<0, Right, Fix>(r, in, out, n);
    case 1: return s8_s8_maddubs<1, Right, Fix>(r, in, out, n);
    case 2: return s8_s8_maddubs<2, Right, Fix>(r, in, out, n);
    case 3: return s8_s8_maddubs<3, Right, Fix>(r, in, out, n);
    case 4: return s8_s8_maddubs<4, Right, Fix>(r, in, out, n);
    case 5: return s8_s8_maddubs<5, Right, Fix>(r, in, out, n);
    default: return s8_s8_maddubs<6, Right, Fix>(r, in, out, n);
  }
}

template <int W, bool Right>
void s8_s8_via32(const RequantLayout& r, const int8_t* in, int8_t* out, size_t n) {
  const Thresholds8 thr(r.pwl);
  const Tables32 t(r.pwl);
  for (size_t i = 0; i < n; i += 64) {
    const size_t rem = n - i;
    const __mmask64 m = tail_mask64(rem);
    const __m512i q = load_s8(in + i, rem, m);
    const __m512i idx = seg_index_s8(q, thr);
    __m128i y[4];
    for (int c = 0; c < 4; ++c) y[c] = _mm512_cvtsepi32_epi8(requant32<Right>(acc32_quarter<W>(q, idx, c, t), r));
    __m512i v = _mm512_castsi128_si512(y[0]);
    v = _mm512_inserti32x4(v, y[1], 1);
    v = _mm512_inserti32x4(v, y[2], 2);
    v = _mm512_inserti32x4(v, y[3], 3);
    if (rem >= 64) _mm512_storeu_si512(out + i, v);
    else _mm512_mask_storeu_epi8(out + i, m, v);
  }
}

// ---- s16 -> s32 ---------------------------------------------------------
template <int W>
void s16_s32_impl(const PwlLayout& p, const int16_t* in, int32_t* out, size_t n) {
  __m512i thr[detail::kMaxSegments];
  const int m1 = p.segments - 1;
  for (int j = 0; j < m1; ++j) thr[j] = _mm512_set1_epi16(p.thr[j]);
  const Tables32 t(p);
  const __m512i one = _mm512_set1_epi16(1);
  for (size_t i = 0; i < n; i += 32) {
    const size_t rem = n - i;
    const __mmask32 m = rem >= 32 ? ~__mmask32{0} : ((__mmask32{1} << rem) - 1);
    const __m512i q = rem >= 32 ? _mm512_loadu_si512(in + i) : _mm512_maskz_loadu_epi16(m, in + i);
    __m512i idx = _mm512_setzero_si512();
    for (int j = 0; j < m1; ++j) idx = _mm512_mask_add_epi16(idx, _mm512_cmpge_epi16_mask(q, thr[j]), idx, one);
    for (int h = 0; h < 2; ++h) {
      __m256i qh = h ? _mm512_extracti64x4_epi64(q, 1) : _mm512_castsi512_si256(q);
      __m256i ih = h ? _mm512_extracti64x4_epi64(idx, 1) : _mm512_castsi512_si256(idx);
      __m512i q32 = _mm512_cvtepi16_epi32(qh), i32 = _mm512_cvtepu16_epi32(ih);
      __m512i acc = _mm512_add_epi32(_mm512_mullo_epi32(q32, lut32<W>(i32, t.k)), lut32<W>(i32, t.b));
      if (rem >= 32) _mm512_storeu_si512(out + i + 16 * h, acc);
      else _mm512_mask_storeu_epi32(out + i + 16 * h, static_cast<__mmask16>(m >> (16 * h)), acc);
    }
  }
}

}  // namespace

// ---- the listed kernels (kernels.def: names and requirements) ----------------
// Inside one kernel only compile-time shapes vary with the plan (permute
// width for the segment count, compare-tree depth, shift direction), never
// the method.

void s8_pwl_s32__avx512_mul16(const PwlLayout& p, const int8_t* in, int32_t* out, size_t n) {
  if (p.segments <= 32) return s8_s32_via16<1>(p, in, out, n);
  return s8_s32_via16<2>(p, in, out, n);
}

void s8_pwl_s32__avx512_mul32(const PwlLayout& p, const int8_t* in, int32_t* out, size_t n) {
  if (p.segments <= 16) return s8_s32_via32<1>(p, in, out, n);
  if (p.segments <= 32) return s8_s32_via32<2>(p, in, out, n);
  return s8_s32_via32<4>(p, in, out, n);
}

void s8_pwl_s16__avx512_mul16(const PwlLayout& p, const int8_t* in, int16_t* out, size_t n) {
  if (p.segments <= 32) return s8_s16_impl<1>(p, in, out, n);
  return s8_s16_impl<2>(p, in, out, n);
}

void s8_pwl_s8__avx512_madd(const RequantLayout& r, const int8_t* in, int8_t* out, size_t n) {
  if (r.rshift > 0) return s8_s8_maddubs_levels<true, false>(r, in, out, n);
  return s8_s8_maddubs_levels<false, false>(r, in, out, n);
}

void s8_pwl_s8__avx512_madd_tie(const RequantLayout& r, const int8_t* in, int8_t* out, size_t n) {
  s8_s8_maddubs_levels<true, true>(r, in, out, n);
}

void s8_pwl_s8__avx512_mul16(const RequantLayout& r, const int8_t* in, int8_t* out, size_t n) {
  const bool right = r.rshift > 0;
  if (r.pwl.segments <= 32) return right ? s8_s8_via16<1, true>(r, in, out, n) : s8_s8_via16<1, false>(r, in, out, n);
  return right ? s8_s8_via16<2, true>(r, in, out, n) : s8_s8_via16<2, false>(r, in, out, n);
}

void s8_pwl_s8__avx512_mul32(const RequantLayout& r, const int8_t* in, int8_t* out, size_t n) {
  const int s = r.pwl.segments;
  const bool right = r.rshift > 0;
  if (s <= 16) return right ? s8_s8_via32<1, true>(r, in, out, n) : s8_s8_via32<1, false>(r, in, out, n);
  if (s <= 32) return right ? s8_s8_via32<2, true>(r, in, out, n) : s8_s8_via32<2, false>(r, in, out, n);
  return right ? s8_s8_via32<4, true>(r, in, out, n) : s8_s8_via32<4, false>(r, in, out, n);
}

void s16_pwl_s32__avx512_mul32(const PwlLayout& p, const int16_t* in, int32_t* out, size_t n) {
  if (p.segments <= 16) return s16_s32_impl<1>(p, in, out, n);
  if (p.segments <= 32) return s16_s32_impl<2>(p, in, out, n);
  return s16_s32_impl<4>(p, in, out, n);
}

// 256-entry byte lookup by two vpermi2b (128 entries each, index = the code's low
// 7 bits) and a blend on the code's sign: negative codes q index s8[q & 127]
// (= s8[q + 128]), the others s8[128 + q]. Two 64-code blocks per step with plain
// loads and aligned stores (stream_s8).
namespace {
struct Lut256Kernel {
  __m512i neg[2], pos[2];
  explicit Lut256Kernel(const Lut256Layout& t) {
    neg[0] = _mm512_loadu_si512(t.s8);
    neg[1] = _mm512_loadu_si512(t.s8 + 64);
    pos[0] = _mm512_loadu_si512(t.s8 + 128);
    pos[1] = _mm512_loadu_si512(t.s8 + 192);
  }
  inline __m512i operator()(__m512i q) const {
    const __m512i lo = _mm512_permutex2var_epi8(neg[0], q, neg[1]);
    const __m512i hi = _mm512_permutex2var_epi8(pos[0], q, pos[1]);
    return _mm512_mask_blend_epi8(_mm512_movepi8_mask(q), hi, lo);
  }
};
}  // namespace

void s8_lut256_s8__avx512_perm(const Lut256Layout& t, const int8_t* in, int8_t* out, size_t n) {
  stream_s8(Lut256Kernel(t), in, out, n);
}

void s8_lut256_s32__avx512_gather(const Lut256Layout& t, const int8_t* in, int32_t* out, size_t n) {
  for (size_t i = 0; i < n; i += 16) {
    const size_t rem = n - i;
    const __mmask16 m = rem >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << rem) - 1);
    __m512i q = _mm512_cvtepi8_epi32(rem >= 16 ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i)) : _mm_maskz_loadu_epi8(m, in + i));
    __m512i idx = _mm512_add_epi32(q, _mm512_set1_epi32(128));
    __m512i y = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, idx, t.s32, 4);
    if (rem >= 16) _mm512_storeu_si512(out + i, y);
    else _mm512_mask_storeu_epi32(out + i, m, y);
  }
}

}  // namespace ukernel
}  // namespace gqalut
