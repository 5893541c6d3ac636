// AArch64 quantized matmul kernels, dot-product tier (Armv8.2 sdot: Cortex-A76/Pi 5, phones,
// Neoverse N1). A 16-byte register of a panel group (rows 4q..4q+3, four bytes each) is the sdot
// operand as stored: lane i of the result gains row 4q + i's four-element dot with the token's
// four activation bytes, broadcast to every lane. Q8_0's stored q + 128 is made signed again
// first; Q4_0's nibbles enter as they are, with the sums started from −8 · Σa. After a block lane
// i holds the exact block dot of quant_panels.h and the float steps are the portable path's: same
// bits.
// Compiled for +dotprod function by function (the pragma below); chosen at run time only when
// AT_HWCAP has ASIMDDP.
#include <algorithm>
#include <cstring>

#include "kernels/matmul_kernels.h"
#include "kernels/quant_panels.h"

// GCC compiles the intrinsics for the target named by the pragma below; clang ignores that pragma
// and, up to clang 15, declares these intrinsics only when the whole compilation targets the
// extension (__ARM_FEATURE_DOTPROD__ below). A clang build for a baseline CPU thus leaves this tier
// out (dotprod_kernels_built() is false, so the dispatch never picks it).
#if defined(__aarch64__) && (!defined(__clang__) || defined(__ARM_FEATURE_DOTPROD))
#define GEMMA4_BUILD_TIER 1
#endif

#if defined(GEMMA4_BUILD_TIER)
#include <arm_neon.h>

#pragma GCC push_options
#pragma GCC target("arch=armv8.2-a+dotprod")

namespace gemma4 {

namespace {

#include "kernels/panel_driver.h"
#include "kernels/panel_epilogue_neon.h"

// Tokens per tile: 4 int32 sums + 4 float accumulators per token and 4 weight registers (with 3
// tokens GCC 12 spills to the stack).
constexpr int kDotprodTokens = 2;

inline int8x16_t broadcast4(const int8_t* a) {
  int32_t v;
  std::memcpy(&v, a, 4);
  return vreinterpretq_s8_s32(vdupq_n_s32(v));
}

template <int T>
struct Q8Tile {
  static void run(const PanelTask& task, int64_t t, bool) {
    const QuantizedActivations& xq = *task.p->xq;
    float32x4_t acc[T][4];
    for (auto& a : acc) zero(a);
    for (int64_t b = 0; b < task.blocks; ++b) {
      const uint8_t* q = block_quants(task, WeightType::Q8_0, b);
      int32x4_t dots[T][4];
      for (auto& d : dots) zero(d);
      for (int k = 0; k < 8; ++k) {
        int8x16_t w[4];
        for (int r = 0; r < 4; ++r) w[r] = q8_signed(q + 64 * k + 16 * r);
        for (int j = 0; j < T; ++j) {
          const int8x16_t a = broadcast4(xq.row_quants(t + j) + b * 32 + 4 * k);
          for (int r = 0; r < 4; ++r) dots[j][r] = vdotq_s32(dots[j][r], w[r], a);
        }
      }
      for (int j = 0; j < T; ++j)
        apply_block_scales(block_scales(task, WeightType::Q8_0, b), xq.row_scales(t + j)[b], dots[j], acc[j]);
    }
    for (int j = 0; j < T; ++j) store_results(task, t + j, acc[j]);
  }
};

// Q4_0: a group's low nibbles are elements 4k..4k+3, its high nibbles 16 + 4k..16 + 4k + 3. The
// nibbles (0..15) are valid signed bytes as they are, so sdot takes them unshifted and each block's
// sums start from the activation's −8 · Σa (QuantizedActivations::block_bias): Σ(q − 8)·a exactly,
// without a subtraction per weight register.
template <int T>
struct Q4Tile {
  static void run(const PanelTask& task, int64_t t, bool) {
    const QuantizedActivations& xq = *task.p->xq;
    float32x4_t acc[T][4];
    for (auto& a : acc) zero(a);
    for (int64_t b = 0; b < task.blocks; ++b) {
      const uint8_t* q = block_quants(task, WeightType::Q4_0, b);
      int32x4_t dots[T][4];
      for (int j = 0; j < T; ++j)
        for (auto& d : dots[j]) d = vdupq_n_s32(xq.row_block_bias(t + j)[b]);
      for (int k = 0; k < 4; ++k) {
        int8x16_t lo[4], hi[4];
        for (int r = 0; r < 4; ++r) {
          const uint8x16_t bytes = vld1q_u8(q + 64 * k + 16 * r);
          lo[r] = vreinterpretq_s8_u8(vandq_u8(bytes, vdupq_n_u8(0x0f)));
          hi[r] = vreinterpretq_s8_u8(vshrq_n_u8(bytes, 4));
        }
        for (int j = 0; j < T; ++j) {
          const int8_t* a = xq.row_quants(t + j) + b * 32 + 4 * k;
          const int8x16_t a_lo = broadcast4(a), a_hi = broadcast4(a + 16);
          for (int r = 0; r < 4; ++r) dots[j][r] = vdotq_s32(vdotq_s32(dots[j][r], lo[r], a_lo), hi[r], a_hi);
        }
      }
      for (int j = 0; j < T; ++j)
        apply_block_scales(block_scales(task, WeightType::Q4_0, b), xq.row_scales(t + j)[b], dots[j], acc[j]);
    }
    for (int j = 0; j < T; ++j) store_results(task, t + j, acc[j]);
  }
};

}  // namespace

void quant_panels_dotprod(const MatmulProblem& p, int64_t r0, int64_t r1) {
  if (p.w->type == WeightType::Q8_0) {
    panel_rows<Q8Tile, kDotprodTokens>(p, r0, r1);
  } else {
    panel_rows<Q4Tile, kDotprodTokens>(p, r0, r1);
  }
}

}  // namespace gemma4

#pragma GCC pop_options

namespace gemma4 {
bool dotprod_kernels_built() { return true; }
}  // namespace gemma4

#else

namespace gemma4 {
void quant_panels_dotprod(const MatmulProblem& p, int64_t r0, int64_t r1) { matmul_rows_portable(p, r0, r1); }
bool dotprod_kernels_built() { return false; }
}  // namespace gemma4

#endif
