// gqalut: the fixed widths of the integer softmax and LayerNorm datapaths:
// every constant that no table decides (include/gqalut/datapath.hpp is the
// reference that uses them; docs/intops.md). The plans, the per-ISA row loops,
// the LibTorch mirror and the RTL generators read them from here; never retype
// one. Constants only (no code): the per-ISA translation units include this.
#pragma once

#include <cstdint>

namespace gqalut {
namespace ref {

// Plan arguments.
inline constexpr int kSoftmaxInFracMax = 20;   // softmax in_frac in [0, 20]
inline constexpr int kSoftmaxOutFracMin = 1, kSoftmaxOutFracMax = 15;
inline constexpr int kLayerNormFracMax = 15;   // LayerNorm in/out/gamma fracs in [0, 15]
inline constexpr int kExpScaleMax = 8;         // the finest EXP2M1 scale used (codes = int8)
inline constexpr int kExpTableShiftMax = 24;   // L_e <= 24
inline constexpr int kRecipTableShiftMax = 40; // L_d, L_r <= 40
// Softmax EXP stage.
inline constexpr int kLog2eBits = 30;          // C = round(log2(e) * 2^30)
inline constexpr int kExpBits = 24;            // e < 2^24 - 2^7 (and e(0) >= 2^22)
inline constexpr int kExpZeroShift = 26;       // mantissas < 2^25: a rounding shift of 26 gives 0
inline constexpr int kE16Shift = 8;            // e16 = (e + 2^7) >> 8 < 2^16: what the outputs multiply
// Reciprocals (DIV and RSQRT): the reduced operand and the Newton iterate in Q28.
inline constexpr int kNewtonFrac = 28;
inline constexpr int kOctaveLimitLog2 = 4;     // reduced operands X within [2^-4, 2^4]
inline constexpr int kNewtonTargetLog2 = -17;  // Newton steps until the bound is <= 2^-17
inline constexpr int kNewtonTruncLog2 = -24;   // + 2^-24 per step for the fixed-point truncations
inline constexpr double kDivSeedLimit = 0.5;   // a DIV seed must be within 50% (relative)
inline constexpr double kRsqrtSeedLimit = 0.4; // an RSQRT seed within 40%
// Softmax output stage.
inline constexpr int kRecipBits = 15;          // R ~ 2^15 / (S 2^-x)
inline constexpr int kProductBits = 31;        // e16 * R < 2^31
inline constexpr int kOutShiftZero = 32;       // T >= 32: every output is 0 (the product is < 2^31)
// LayerNorm.
inline constexpr int kRsqrtBits = 20;          // R = 1/sqrt(X) at 2^-20 (18..22 bits)
inline constexpr int kLnZFrac = 14;            // F: the normalised value z at 2^-14
inline constexpr int kLnMulBits = 22;          // |a| <= 2^22 (P chosen so)
inline constexpr int kLnZClampBits = 23;       // z clamped to [-2^23, 2^23]
inline constexpr int kLnShiftMax = 30;         // s in [1, 30]
inline constexpr int kLnOutShiftMax = 29;      // the 32-bit stage needs t in [1, 29], else the int64 one
inline constexpr int kLnWideShiftMax = 62;     // the int64 stage's shift, capped (|D gamma R| < 2^62)
inline constexpr int32_t kLnBetaClamp = (int32_t{3} << 29) - 1;  // beta clamped to +-(3*2^29 - 1)

}  // namespace ref
}  // namespace gqalut
