// Scalar microkernels: the portable twins of the SIMD kernels, element by
// element with the same integer datapath (compare-count, multiply, add).
#include "ukernels.h"

namespace gqalut {
namespace ukernel {

void s8_pwl_s32__scalar(const PwlLayout& p, const int8_t* in, int32_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = pwl_acc(p, in[i]);
}

void s8_pwl_s16__scalar(const PwlLayout& p, const int8_t* in, int16_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<int16_t>(pwl_acc(p, in[i]));
}

void s8_pwl_s8__scalar(const RequantLayout& r, const int8_t* in, int8_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = requant_acc(r, pwl_acc(r.pwl, in[i]));
}

void s16_pwl_s32__scalar(const PwlLayout& p, const int16_t* in, int32_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = pwl_acc(p, in[i]);
}

void s8_lut256_s8__scalar(const Lut256Layout& t, const int8_t* in, int8_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = t.s8[static_cast<uint8_t>(in[i] ^ 0x80)];
}

void s8_lut256_s32__scalar(const Lut256Layout& t, const int8_t* in, int32_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = t.s32[static_cast<uint8_t>(in[i] ^ 0x80)];
}

}  // namespace ukernel
}  // namespace gqalut
