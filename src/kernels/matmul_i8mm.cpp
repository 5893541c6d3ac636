// AArch64 quantized matmul kernels, i8mm tier (Armv8.6 smmla: Apple M2+, Graviton3+, Neoverse
// V1/N2, recent phones). smmla multiplies a 2×8 int8 matrix by the transpose of another 2×8 and
// adds the 2×2 int32 result: here two tokens' eight activations by two weight rows' eight weights.
// A row's eight consecutive weights are two 4-byte lanes of neighbouring panel groups (k, k + 1),
// brought together by one zip per row pair; the 2×2 results are sorted back into rows 4q..4q+3 per
// token at the end of a block. The weights are made signed first (Q8_0: q + 128 → q; Q4_0: q − 8),
// so every block sum is the exact integer of quant_panels.h and the float steps are the portable
// path's: same bits. Compiled for +i8mm function by function; chosen at run time only when
// AT_HWCAP2 has I8MM.
#include <algorithm>
#include <cstring>

#include "kernels/matmul_kernels.h"
#include "kernels/quant_panels.h"

// GCC compiles the intrinsics for the target named by the pragma below; clang ignores that pragma
// and, up to clang 15, declares these intrinsics only when the whole compilation targets the
// extension (__ARM_FEATURE_MATMUL_INT8__ below). A clang build for a baseline CPU thus leaves this tier
// out (i8mm_kernels_built() is false, so the dispatch never picks it).
#if defined(__aarch64__) && (!defined(__clang__) || defined(__ARM_FEATURE_MATMUL_INT8))
#define GEMMA4_BUILD_TIER 1
#endif

#if defined(GEMMA4_BUILD_TIER)
#include <arm_neon.h>

#pragma GCC push_options
#pragma GCC target("arch=armv8.2-a+dotprod+i8mm")

namespace gemma4 {

namespace {

#include "kernels/panel_driver.h"
#include "kernels/panel_epilogue_neon.h"

// Tokens per tile: one pair (8 sums, 8 float accumulators, 8 weight row pairs; 4 tokens spill).
// An odd remainder pairs its last token with zeros.
constexpr int kI8mmTokens = 2;

// Row pairs of two groups: pairs[2q] = rows 4q, 4q + 1, pairs[2q + 1] = rows 4q + 2, 4q + 3, each
// row with group g0's four elements then g1's.
inline void row_pairs(const int8x16_t (&g0)[4], const int8x16_t (&g1)[4], int8x16_t (&pairs)[8]) {
  for (int q = 0; q < 4; ++q) {
    const int32x4_t a = vreinterpretq_s32_s8(g0[q]), b = vreinterpretq_s32_s8(g1[q]);
    pairs[2 * q] = vreinterpretq_s8_s32(vzip1q_s32(a, b));
    pairs[2 * q + 1] = vreinterpretq_s8_s32(vzip2q_s32(a, b));
  }
}

// Eight activations of tokens t and t + 1 (of t alone, with zeros, when `second` is false).
inline int8x16_t token_pair(const QuantizedActivations& xq, int64_t t, bool second, int64_t element) {
  const int8x8_t first = vld1_s8(xq.row_quants(t) + element);
  return vcombine_s8(first, second ? vld1_s8(xq.row_quants(t + 1) + element) : vdup_n_s8(0));
}

// sums[2q], sums[2q + 1] of a token pair hold [t·r, t·r', t'·r, t'·r'] for rows r = 4q, 4q + 1 and
// 4q + 2, 4q + 3; returns the four rows of each token.
inline void sort_rows(const int32x4_t (&sums)[8], int32x4_t (&first)[4], int32x4_t (&second)[4]) {
  for (int q = 0; q < 4; ++q) {
    const int64x2_t a = vreinterpretq_s64_s32(sums[2 * q]), b = vreinterpretq_s64_s32(sums[2 * q + 1]);
    first[q] = vreinterpretq_s32_s64(vzip1q_s64(a, b));
    second[q] = vreinterpretq_s32_s64(vzip2q_s64(a, b));
  }
}

// The per-type part: the signed weights of the block's eight-element steps. Q8_0: steps m = 0..3
// are groups 2m, 2m + 1 (elements 8m..8m + 7). Q4_0: steps 0, 1 are the low nibbles of groups
// (0, 1), (2, 3) (elements 0..15), steps 2, 3 their high nibbles (elements 16..31).
struct Q8Steps {
  static constexpr WeightType kType = WeightType::Q8_0;
  static void load(const uint8_t* q, int m, int8x16_t (&pairs)[8]) {
    int8x16_t g0[4], g1[4];
    for (int r = 0; r < 4; ++r) {
      g0[r] = q8_signed(q + 64 * (2 * m) + 16 * r);
      g1[r] = q8_signed(q + 64 * (2 * m + 1) + 16 * r);
    }
    row_pairs(g0, g1, pairs);
  }
};
struct Q4Steps {
  static constexpr WeightType kType = WeightType::Q4_0;
  static void load(const uint8_t* q, int m, int8x16_t (&pairs)[8]) {
    const int k = 2 * (m % 2);
    int8x16_t g0[4], g1[4];
    for (int r = 0; r < 4; ++r) {
      const uint8x16_t b0 = vld1q_u8(q + 64 * k + 16 * r), b1 = vld1q_u8(q + 64 * (k + 1) + 16 * r);
      g0[r] = m < 2 ? q4_low_signed(b0) : q4_high_signed(b0);
      g1[r] = m < 2 ? q4_low_signed(b1) : q4_high_signed(b1);
    }
    row_pairs(g0, g1, pairs);
  }
};

template <class Steps>
struct Tiles {
  template <int T>
  struct Tile {
    static void run(const PanelTask& task, int64_t t, bool) {
      constexpr int kPairs = (T + 1) / 2;
      const QuantizedActivations& xq = *task.p->xq;
      float32x4_t acc[2 * kPairs][4];  // the last one unused when T is odd
      for (auto& a : acc) zero(a);
      for (int64_t b = 0; b < task.blocks; ++b) {
        const uint8_t* q = block_quants(task, Steps::kType, b);
        int32x4_t sums[kPairs][8];
        for (auto& pair : sums)
          for (auto& s : pair) s = vdupq_n_s32(0);
        for (int m = 0; m < 4; ++m) {
          int8x16_t w[8];
          Steps::load(q, m, w);
          for (int pr = 0; pr < kPairs; ++pr) {
            const int8x16_t a = token_pair(xq, t + 2 * pr, 2 * pr + 1 < T, b * 32 + 8 * m);
            for (int i = 0; i < 8; ++i) sums[pr][i] = vmmlaq_s32(sums[pr][i], a, w[i]);
          }
        }
        const uint16_t* scales = block_scales(task, Steps::kType, b);
        for (int pr = 0; pr < kPairs; ++pr) {
          int32x4_t first[4], second[4];
          sort_rows(sums[pr], first, second);
          apply_block_scales(scales, xq.row_scales(t + 2 * pr)[b], first, acc[2 * pr]);
          if (2 * pr + 1 < T) apply_block_scales(scales, xq.row_scales(t + 2 * pr + 1)[b], second, acc[2 * pr + 1]);
        }
      }
      for (int j = 0; j < T; ++j) store_results(task, t + j, acc[j]);
    }
  };
};

}  // namespace

void quant_panels_i8mm(const MatmulProblem& p, int64_t r0, int64_t r1) {
  if (p.w->type == WeightType::Q8_0) {
    panel_rows<Tiles<Q8Steps>::Tile, kI8mmTokens>(p, r0, r1);
  } else {
    panel_rows<Tiles<Q4Steps>::Tile, kI8mmTokens>(p, r0, r1);
  }
}

}  // namespace gemma4

#pragma GCC pop_options

namespace gemma4 {
bool i8mm_kernels_built() { return true; }
}  // namespace gemma4

#else

namespace gemma4 {
void quant_panels_i8mm(const MatmulProblem& p, int64_t r0, int64_t r1) { matmul_rows_portable(p, r0, r1); }
bool i8mm_kernels_built() { return false; }
}  // namespace gemma4

#endif
