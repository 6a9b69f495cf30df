// gqalut reference designs: bit-exact C++ models of rtl/lut_int32.v and
// rtl/lut_fp32.v (the area baselines), used by tests/rtl to generate the
// testbench command files. Header-only; no dependency on the library.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace gqalut::rtl {

// ------------------------------------------------------------------ INT32
// acc = ((K_seg * q) << sk) + (B_seg << sb), modulo 2^64; seg = #{i : q >= P_i}
// evaluated as the hardware's priority chain (highest true comparator wins).
struct Int32Table {
  std::vector<int32_t> bp, ks, bs;  // K-1, K, K
  unsigned sk = 0, sb = 0;          // [0, 3], [0, 7]
};

inline int64_t int32_unit(const Int32Table& t, int32_t q) {
  size_t seg = 0;
  for (size_t i = 0; i < t.bp.size(); ++i)
    if (q >= t.bp[i]) seg = i + 1;
  uint64_t prod = static_cast<uint64_t>(int64_t{t.ks[seg]} * int64_t{q});
  uint64_t b = static_cast<uint64_t>(int64_t{t.bs[seg]});
  return static_cast<int64_t>((prod << t.sk) + (b << t.sb));
}

// ------------------------------------------------------------------- FP32
// IEEE-754 single, round to nearest even after the multiply and after the
// add (not fused), subnormals flushed to zero on inputs and results, NaN
// results canonical (0x7fc00000). Needs the default floating-point
// environment (round to nearest, no FTZ/DAZ, no -ffast-math).
inline uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline constexpr uint32_t kCanonicalNan = 0x7fc00000u;

inline float ftz(float f) {
  return std::fpclassify(f) == FP_SUBNORMAL ? std::copysign(0.0f, f) : f;
}

// fl(a * b) with the exponent range unbounded while rounding, then FTZ: the
// hardware rounds the 48-bit product to 24 bits before it checks underflow.
inline float fp32_mul(float a, float b) {
  a = ftz(a);
  b = ftz(b);
  if (std::isnan(a) || std::isnan(b)) return float_of(kCanonicalNan);
  if ((std::isinf(a) && b == 0) || (std::isinf(b) && a == 0)) return float_of(kCanonicalNan);
  double p = double(a) * double(b);  // exact: 24 + 24 bits < 53
  if (std::isinf(p) || p == 0) return float(p);
  if (std::fabs(p) < std::ldexp(1.0, -126)) {
    float r = float(std::ldexp(p, 64));  // rounds to 24 bits in the normal range
    if (std::fabs(r) >= std::ldexp(1.0f, -62)) return std::ldexp(r, -64);
    return std::copysign(0.0f, float(p));
  }
  return float(p);  // overflow rounds to +-inf
}

// fl(a + b), FTZ. The exact sum of two normal floats is a multiple of
// 2^-149, so a sum below 2^-126 is exact and flushing it afterwards matches
// the hardware.
inline float fp32_add(float a, float b) {
  a = ftz(a);
  b = ftz(b);
  if (std::isnan(a) || std::isnan(b)) return float_of(kCanonicalNan);
  float s = a + b;
  if (std::isnan(s)) return float_of(kCanonicalNan);  // inf - inf
  return ftz(s);
}

inline bool fp32_ge(float a, float b) { return ftz(a) >= ftz(b); }

struct Fp32Table {
  std::vector<float> bp, ks, bs;  // K-1, K, K
};

inline uint32_t fp32_unit(const Fp32Table& t, float x) {
  size_t seg = 0;
  for (size_t i = 0; i < t.bp.size(); ++i)
    if (fp32_ge(x, t.bp[i])) seg = i + 1;
  return bits_of(fp32_add(fp32_mul(t.ks[seg], x), t.bs[seg]));
}

}  // namespace gqalut::rtl
