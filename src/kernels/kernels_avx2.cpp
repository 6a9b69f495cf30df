// AVX2 microkernels (this file is compiled with -mavx2). Datapath per 32 int8 codes:
//   idx  = sum_j (q > thr_j - 1)          vpcmpgtb + vpsubb, one per threshold
//   K, B = per-lane lookup by idx         vpshufb on 16-entry byte tables (16-bit path)
//                                         or vpermd / vpgatherdd (32-bit path)
//   acc  = K * q + B                      vpmullw/vpaddw or vpmulld/vpaddd
// Tails (< one vector) go through the scalar per-element reference.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "ukernels.h"

namespace gqalut {
namespace ukernel {
namespace {

struct Thresholds8 {
  __m256i v[detail::kMaxSegments];
  int count;
  explicit Thresholds8(const PwlLayout& p) : count(p.segments - 1) {
    for (int j = 0; j < count; ++j) v[j] = _mm256_set1_epi8(p.thr8m1[j]);
  }
};

inline __m256i seg_index_s8(__m256i q, const Thresholds8& t) {
  __m256i idx = _mm256_setzero_si256();
  for (int j = 0; j < t.count; ++j) idx = _mm256_sub_epi8(idx, _mm256_cmpgt_epi8(q, t.v[j]));
  return idx;
}

// Byte tables of the 16-bit K and B, 16 entries per chunk, broadcast to both lanes.
struct ByteTables {
  __m256i klo[4], khi[4], blo[4], bhi[4];
  explicit ByteTables(const PwlLayout& p) {
    alignas(32) uint8_t kl[64], kh[64], bl[64], bh[64];
    for (int j = 0; j < 64; ++j) {
      kl[j] = static_cast<uint8_t>(p.k16[j]);
      kh[j] = static_cast<uint8_t>(static_cast<uint16_t>(p.k16[j]) >> 8);
      bl[j] = static_cast<uint8_t>(p.b16[j]);
      bh[j] = static_cast<uint8_t>(static_cast<uint16_t>(p.b16[j]) >> 8);
    }
    for (int c = 0; c < 4; ++c) {
      klo[c] = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(kl + 16 * c)));
      khi[c] = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(kh + 16 * c)));
      blo[c] = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(bl + 16 * c)));
      bhi[c] = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(bh + 16 * c)));
    }
  }
};

// vpshufb lookup of a byte table of C*16 entries.
template <int C>
inline __m256i lookup8(__m256i idx, const __m256i* tab) {
  if (C == 1) return _mm256_shuffle_epi8(tab[0], idx);
  __m256i r = _mm256_setzero_si256();
  for (int c = 0; c < C; ++c) {
    __m256i ic = _mm256_sub_epi8(idx, _mm256_set1_epi8(static_cast<char>(16 * c)));
    ic = _mm256_or_si256(ic, _mm256_cmpgt_epi8(ic, _mm256_set1_epi8(15)));  // out of chunk -> zero
    r = _mm256_or_si256(r, _mm256_shuffle_epi8(tab[c], ic));
  }
  return r;
}

// 16-bit accumulators of 32 codes, in vpunpck order: a = codes 0-7,16-23; b = 8-15,24-31.
template <int C>
inline void acc16(__m256i q, const Thresholds8& thr, const ByteTables& t, __m256i& a, __m256i& b) {
  const __m256i idx = seg_index_s8(q, thr);
  const __m256i klo = lookup8<C>(idx, t.klo), khi = lookup8<C>(idx, t.khi);
  const __m256i blo = lookup8<C>(idx, t.blo), bhi = lookup8<C>(idx, t.bhi);
  const __m256i sq = _mm256_cmpgt_epi8(_mm256_setzero_si256(), q);
  a = _mm256_add_epi16(_mm256_mullo_epi16(_mm256_unpacklo_epi8(q, sq), _mm256_unpacklo_epi8(klo, khi)),
                       _mm256_unpacklo_epi8(blo, bhi));
  b = _mm256_add_epi16(_mm256_mullo_epi16(_mm256_unpackhi_epi8(q, sq), _mm256_unpackhi_epi8(klo, khi)),
                       _mm256_unpackhi_epi8(blo, bhi));
}

// 32-bit lookup: W = 1 (<= 8 entries), 2 (<= 16), 0 (gather, <= 64).
template <int W>
inline __m256i lut32(__m256i i32, const __m256i* t, const int32_t* mem) {
  if (W == 1) return _mm256_permutevar8x32_epi32(t[0], i32);
  if (W == 2) {
    __m256i lo = _mm256_permutevar8x32_epi32(t[0], i32), hi = _mm256_permutevar8x32_epi32(t[1], i32);
    return _mm256_blendv_epi8(lo, hi, _mm256_cmpgt_epi32(i32, _mm256_set1_epi32(7)));
  }
  return _mm256_i32gather_epi32(mem, i32, 4);
}

struct Tables32 {
  __m256i k[2], b[2];
  const int32_t* km;
  const int32_t* bm;
  explicit Tables32(const PwlLayout& p) : km(p.k), bm(p.b) {
    for (int c = 0; c < 2; ++c) {
      k[c] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.k + 8 * c));
      b[c] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.b + 8 * c));
    }
  }
};

// 8 codes (low 8 bytes of q8, idx8) -> 8 int32 accumulators.
template <int W>
inline __m256i acc32_8(__m128i q8, __m128i idx8, const Tables32& t) {
  __m256i q32 = _mm256_cvtepi8_epi32(q8), i32 = _mm256_cvtepu8_epi32(idx8);
  return _mm256_add_epi32(_mm256_mullo_epi32(q32, lut32<W>(i32, t.k, t.km)), lut32<W>(i32, t.b, t.bm));
}

inline __m128i chunk8(__m256i v, int c) {
  __m128i h = c < 2 ? _mm256_castsi256_si128(v) : _mm256_extracti128_si256(v, 1);
  return (c & 1) ? _mm_srli_si128(h, 8) : h;
}

template <bool Right>
inline __m256i requant16(__m256i acc, const RequantLayout& r) {
  if (Right) {
    __m256i v = _mm256_add_epi16(acc, _mm256_set1_epi16(static_cast<int16_t>(r.half)));
    v = _mm256_add_epi16(v, _mm256_srai_epi16(acc, 15));
    return _mm256_sra_epi16(v, _mm_cvtsi32_si128(r.rshift));
  }
  __m256i v = _mm256_max_epi16(acc, _mm256_set1_epi16(static_cast<int16_t>(r.clamp_lo)));
  v = _mm256_min_epi16(v, _mm256_set1_epi16(static_cast<int16_t>(r.clamp_hi)));
  return _mm256_sll_epi16(v, _mm_cvtsi32_si128(r.lshift));
}

template <bool Right>
inline __m256i requant32(__m256i acc, const RequantLayout& r) {
  if (Right) {
    __m256i v = _mm256_add_epi32(acc, _mm256_set1_epi32(r.half));
    v = _mm256_add_epi32(v, _mm256_srai_epi32(acc, 31));
    return _mm256_sra_epi32(v, _mm_cvtsi32_si128(r.rshift));
  }
  __m256i v = _mm256_max_epi32(acc, _mm256_set1_epi32(r.clamp_lo));
  v = _mm256_min_epi32(v, _mm256_set1_epi32(r.clamp_hi));
  return _mm256_sll_epi32(v, _mm_cvtsi32_si128(r.lshift));
}

inline __m256i loadu(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline void storeu(void* p, __m256i v) { _mm256_storeu_si256(static_cast<__m256i*>(p), v); }

// ---- kernels --------------------------------------------------------------
template <int C>
void s8_s32_via16(const PwlLayout& p, const int8_t* in, int32_t* out, size_t n) {
  const Thresholds8 thr(p);
  const ByteTables t(p);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i a, b;
    acc16<C>(loadu(in + i), thr, t, a, b);
    __m256i w0 = _mm256_permute2x128_si256(a, b, 0x20), w1 = _mm256_permute2x128_si256(a, b, 0x31);
    storeu(out + i, _mm256_cvtepi16_epi32(_mm256_castsi256_si128(w0)));
    storeu(out + i + 8, _mm256_cvtepi16_epi32(_mm256_extracti128_si256(w0, 1)));
    storeu(out + i + 16, _mm256_cvtepi16_epi32(_mm256_castsi256_si128(w1)));
    storeu(out + i + 24, _mm256_cvtepi16_epi32(_mm256_extracti128_si256(w1, 1)));
  }
  for (; i < n; ++i) out[i] = pwl_acc(p, in[i]);
}

template <int W>
void s8_s32_via32(const PwlLayout& p, const int8_t* in, int32_t* out, size_t n) {
  const Thresholds8 thr(p);
  const Tables32 t(p);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i q = loadu(in + i);
    __m256i idx = seg_index_s8(q, thr);
    for (int c = 0; c < 4; ++c) storeu(out + i + 8 * c, acc32_8<W>(chunk8(q, c), chunk8(idx, c), t));
  }
  for (; i < n; ++i) out[i] = pwl_acc(p, in[i]);
}

template <int C>
void s8_s16_impl(const PwlLayout& p, const int8_t* in, int16_t* out, size_t n) {
  const Thresholds8 thr(p);
  const ByteTables t(p);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i a, b;
    acc16<C>(loadu(in + i), thr, t, a, b);
    storeu(out + i, _mm256_permute2x128_si256(a, b, 0x20));
    storeu(out + i + 16, _mm256_permute2x128_si256(a, b, 0x31));
  }
  for (; i < n; ++i) out[i] = static_cast<int16_t>(pwl_acc(p, in[i]));
}

template <int C, bool Right>
void s8_s8_via16(const RequantLayout& r, const int8_t* in, int8_t* out, size_t n) {
  const Thresholds8 thr(r.pwl);
  const ByteTables t(r.pwl);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i a, b;
    acc16<C>(loadu(in + i), thr, t, a, b);
    // packs of (0-7,16-23) and (8-15,24-31) gives codes 0..31 in order.
    storeu(out + i, _mm256_packs_epi16(requant16<Right>(a, r), requant16<Right>(b, r)));
  }
  for (; i < n; ++i) out[i] = requant_acc(r, pwl_acc(r.pwl, in[i]));
}

// int8 -> int8, vpmaddubsw form (plan.madd_ok, <= 16 segments), 32 codes per vector:
//   idx   compare tree: log2(P) levels of vpshufb (threshold of the lane's node,
//         16-entry table in each 128-bit lane) + vpcmpgtb + vpand + vpaddb
//   K, C  vpshufb from 16-entry byte tables (K; low and high bytes of C)
//   u     q ^ 0x80 (q + 128, unsigned); bytes 0-7 / 8-15 of each lane widened by
//         vpunpck{l,h}bw against zero (u) and paired with K, C's bytes
//   acc   vpmaddubsw(u | 0, K | *) + C = K*u + C = acc + half (+ folded correction)
//   out   [tie correction], vpsraw, vpacksswb (saturates; the unpack order makes
//         the pack come out in code order, no fix-up shuffle)
template <int LV, bool Right, bool Fix>
struct MaddubsKernel {
  __m256i first, table[4], step[4], k8, clo, chi, half, lo, hi;
  __m128i rs, ls;
  explicit MaddubsKernel(const RequantLayout& r) {
    alignas(16) int8_t cl[16], ch[16];
    for (int j = 0; j < 16; ++j) {
      cl[j] = static_cast<int8_t>(static_cast<uint16_t>(r.c16[j]) & 0xFF);
      ch[j] = static_cast<int8_t>(static_cast<uint16_t>(r.c16[j]) >> 8);
    }
    for (int l = 0; l < LV; ++l) {
      table[l] = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r.pwl.tree[l])));
      step[l] = _mm256_set1_epi8(static_cast<char>(1 << (LV - 1 - l)));
    }
    first = _mm256_set1_epi8(r.pwl.tree[0][0]);
    k8 = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r.k8)));
    clo = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(cl)));
    chi = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(ch)));
    half = _mm256_set1_epi16(static_cast<int16_t>(r.half));
    lo = _mm256_set1_epi16(static_cast<int16_t>(r.clamp_lo));
    hi = _mm256_set1_epi16(static_cast<int16_t>(r.clamp_hi));
    rs = _mm_cvtsi32_si128(r.rshift);
    ls = _mm_cvtsi32_si128(r.lshift);
  }
  inline __m256i segment(__m256i q) const {
    if (LV == 0) return _mm256_setzero_si256();
    __m256i idx = _mm256_and_si256(_mm256_cmpgt_epi8(q, first), step[0]);
    for (int l = 1; l < LV; ++l) {
      const __m256i thr = _mm256_shuffle_epi8(table[l], idx);
      idx = _mm256_add_epi8(idx, _mm256_and_si256(_mm256_cmpgt_epi8(q, thr), step[l]));
    }
    return idx;
  }
  inline __m256i finish(__m256i v) const {
    if (Right) {  // v = acc + half; acc < 0 <=> v < half: add -1
      if (Fix) v = _mm256_add_epi16(v, _mm256_cmpgt_epi16(half, v));
      return _mm256_sra_epi16(v, rs);
    }
    return _mm256_sll_epi16(_mm256_min_epi16(_mm256_max_epi16(v, lo), hi), ls);
  }
  inline __m256i operator()(__m256i q) const {
    const __m256i idx = segment(q);
    const __m256i z = _mm256_setzero_si256();
    const __m256i u = _mm256_xor_si256(q, _mm256_set1_epi8(static_cast<char>(0x80)));
    const __m256i kb = _mm256_shuffle_epi8(k8, idx);
    const __m256i cl = _mm256_shuffle_epi8(clo, idx), ch = _mm256_shuffle_epi8(chi, idx);
    const __m256i a = _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_unpacklo_epi8(u, z), _mm256_unpacklo_epi8(kb, z)),
                                       _mm256_unpacklo_epi8(cl, ch));
    const __m256i b = _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_unpackhi_epi8(u, z), _mm256_unpackhi_epi8(kb, z)),
                                       _mm256_unpackhi_epi8(cl, ch));
    return _mm256_packs_epi16(finish(a), finish(b));
  }
};

// Two independent vectors per step (hides the tree's latency); scalar tail.
template <int LV, bool Right, bool Fix>
void s8_s8_maddubs(const RequantLayout& r, const int8_t* in, int8_t* out, size_t n) {
  const MaddubsKernel<LV, Right, Fix> k(r);
  // Scalar head up to the first 32-byte boundary of out, then aligned stores
  // (a store split over two cache lines costs 15-20% from DRAM, docs/kernels.md).
  size_t i = std::min(n, (32 - (reinterpret_cast<uintptr_t>(out) & 31)) & 31);
  for (size_t j = 0; j < i; ++j) out[j] = requant_acc(r, pwl_acc(r.pwl, in[j]));
  for (; i + 64 <= n; i += 64) {
    // From DRAM the hardware prefetcher alone left this loop at 0.55x memcpy on an Intel
    // Xeon (docs/kernels.md); one line 1 KiB ahead per 64-code step brings it to ~0.9x.
    _mm_prefetch(reinterpret_cast<const char*>(in + i + 1024), _MM_HINT_T0);
    const __m256i q0 = loadu(in + i), q1 = loadu(in + i + 32);
    const __m256i y0 = k(q0), y1 = k(q1);
    _mm256_store_si256(reinterpret_cast<__m256i*>(out + i), y0);
    _mm256_store_si256(reinterpret_cast<__m256i*>(out + i + 32), y1);
  }
  if (i + 32 <= n) {
    _mm256_store_si256(reinterpret_cast<__m256i*>(out + i), k(loadu(in + i)));
    i += 32;
  }
  for (; i < n; ++i) out[i] = requant_acc(r, pwl_acc(r.pwl, in[i]));
}

template <int W, bool Right>
void s8_s8_via32(const RequantLayout& r, const int8_t* in, int8_t* out, size_t n) {
  const Thresholds8 thr(r.pwl);
  const Tables32 t(r.pwl);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i q = loadu(in + i);
    __m256i idx = seg_index_s8(q, thr);
    __m256i y[4];
    for (int c = 0; c < 4; ++c) y[c] = requant32<Right>(acc32_8<W>(chunk8(q, c), chunk8(idx, c), t), r);
    __m256i w0 = _mm256_permute4x64_epi64(_mm256_packs_epi32(y[0], y[1]), 0xD8);
    __m256i w1 = _mm256_permute4x64_epi64(_mm256_packs_epi32(y[2], y[3]), 0xD8);
    storeu(out + i, _mm256_permute4x64_epi64(_mm256_packs_epi16(w0, w1), 0xD8));
  }
  for (; i < n; ++i) out[i] = requant_acc(r, pwl_acc(r.pwl, in[i]));
}

template <int W>
void s16_s32_impl(const PwlLayout& p, const int16_t* in, int32_t* out, size_t n) {
  __m256i thr[detail::kMaxSegments];
  const int m1 = p.segments - 1;
  for (int j = 0; j < m1; ++j) thr[j] = _mm256_set1_epi16(static_cast<int16_t>(p.thr[j] - 1));
  const Tables32 t(p);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256i q = loadu(in + i);
    __m256i idx = _mm256_setzero_si256();
    for (int j = 0; j < m1; ++j) idx = _mm256_sub_epi16(idx, _mm256_cmpgt_epi16(q, thr[j]));
    for (int h = 0; h < 2; ++h) {
      __m128i qh = h ? _mm256_extracti128_si256(q, 1) : _mm256_castsi256_si128(q);
      __m128i ih = h ? _mm256_extracti128_si256(idx, 1) : _mm256_castsi256_si128(idx);
      __m256i q32 = _mm256_cvtepi16_epi32(qh), i32 = _mm256_cvtepu16_epi32(ih);
      storeu(out + i + 8 * h,
             _mm256_add_epi32(_mm256_mullo_epi32(q32, lut32<W>(i32, t.k, t.km)), lut32<W>(i32, t.b, t.bm)));
    }
  }
  for (; i < n; ++i) out[i] = pwl_acc(p, in[i]);
}

}  // namespace

// ---- the listed kernels (kernels.def: names and requirements) ----------------
// Inside one kernel only compile-time shapes vary with the plan (table chunks
// for the segment count, compare-tree depth, shift direction), never the method.

void s8_pwl_s32__avx2_mul16(const PwlLayout& p, const int8_t* in, int32_t* out, size_t n) {
  if (p.segments <= 16) return s8_s32_via16<1>(p, in, out, n);
  return s8_s32_via16<2>(p, in, out, n);
}

void s8_pwl_s32__avx2_mul32(const PwlLayout& p, const int8_t* in, int32_t* out, size_t n) {
  if (p.segments <= 8) return s8_s32_via32<1>(p, in, out, n);
  return s8_s32_via32<2>(p, in, out, n);
}

void s8_pwl_s32__avx2_gather(const PwlLayout& p, const int8_t* in, int32_t* out, size_t n) {
  s8_s32_via32<0>(p, in, out, n);
}

void s8_pwl_s16__avx2_mul16(const PwlLayout& p, const int8_t* in, int16_t* out, size_t n) {
  if (p.segments <= 16) return s8_s16_impl<1>(p, in, out, n);
  if (p.segments <= 32) return s8_s16_impl<2>(p, in, out, n);
  return s8_s16_impl<4>(p, in, out, n);
}

namespace {
template <bool Right, bool Fix>
void s8_s8_maddubs_levels(const RequantLayout& r, const int8_t* in, int8_t* out, size_t n) {
  switch (r.pwl.tree_levels) {
    case 0: return s8_s8_maddubs<0, Right, Fix>(r, in, out, n);
    case 1: return s8_s8_maddubs<1, Right, Fix>(r, in, out, n);
    case 2: return s8_s8_maddubs<2, Right, Fix>(r, in, out, n);
    case 3: return s8_s8_maddubs<3, Right, Fix>(r, in, out, n);
    default: return s8_s8_maddubs<4, Right, Fix>(r, in, out, n);
  }
}
}  // namespace

void s8_pwl_s8__avx2_madd(const RequantLayout& r, const int8_t* in, int8_t* out, size_t n) {
  if (r.rshift > 0) return s8_s8_maddubs_levels<true, false>(r, in, out, n);
  return s8_s8_maddubs_levels<false, false>(r, in, out, n);
}

void s8_pwl_s8__avx2_madd_tie(const RequantLayout& r, const int8_t* in, int8_t* out, size_t n) {
  s8_s8_maddubs_levels<true, true>(r, in, out, n);
}

void s8_pwl_s8__avx2_mul16(const RequantLayout& r, const int8_t* in, int8_t* out, size_t n) {
  const int s = r.pwl.segments;
  const bool right = r.rshift > 0;
  if (s <= 16) return right ? s8_s8_via16<1, true>(r, in, out, n) : s8_s8_via16<1, false>(r, in, out, n);
  if (s <= 32) return right ? s8_s8_via16<2, true>(r, in, out, n) : s8_s8_via16<2, false>(r, in, out, n);
  return right ? s8_s8_via16<4, true>(r, in, out, n) : s8_s8_via16<4, false>(r, in, out, n);
}

void s8_pwl_s8__avx2_mul32(const RequantLayout& r, const int8_t* in, int8_t* out, size_t n) {
  const bool right = r.rshift > 0;
  if (r.pwl.segments <= 8) return right ? s8_s8_via32<1, true>(r, in, out, n) : s8_s8_via32<1, false>(r, in, out, n);
  return right ? s8_s8_via32<2, true>(r, in, out, n) : s8_s8_via32<2, false>(r, in, out, n);
}

void s8_pwl_s8__avx2_gather(const RequantLayout& r, const int8_t* in, int8_t* out, size_t n) {
  return r.rshift > 0 ? s8_s8_via32<0, true>(r, in, out, n) : s8_s8_via32<0, false>(r, in, out, n);
}

void s16_pwl_s32__avx2_mul32(const PwlLayout& p, const int16_t* in, int32_t* out, size_t n) {
  if (p.segments <= 8) return s16_s32_impl<1>(p, in, out, n);
  return s16_s32_impl<2>(p, in, out, n);
}

void s16_pwl_s32__avx2_gather(const PwlLayout& p, const int16_t* in, int32_t* out, size_t n) {
  s16_s32_impl<0>(p, in, out, n);
}

// AVX2 has no 256-entry byte permute: there is no s8_lut256_s8__avx2 (kernels.def).

void s8_lut256_s32__avx2_gather(const Lut256Layout& t, const int8_t* in, int32_t* out, size_t n) {
  size_t i = 0;
  const __m256i bias = _mm256_set1_epi32(128);
  for (; i + 8 <= n; i += 8) {
    __m128i q8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(in + i));
    __m256i idx = _mm256_add_epi32(_mm256_cvtepi8_epi32(q8), bias);
    storeu(out + i, _mm256_i32gather_epi32(t.s32, idx, 4));
  }
  for (; i < n; ++i) out[i] = t.s32[static_cast<uint8_t>(in[i] ^ 0x80)];
}

}  // namespace ukernel
}  // namespace gqalut
