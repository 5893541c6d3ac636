// AArch64 matmul kernels, baseline tier (Armv8.0 NEON, e.g. Cortex-A72), and the dispatch to the
// AArch64 tiers. The quantized kernels read the 16-row panels of quant_panels.h as stored: a
// 64-byte group is four 16-byte registers, register q holding rows 4q..4q+3 with four bytes each.
// Without dot-product instructions a block dot is built from widening multiplies (smull: int8 ×
// int8 → int16, exact) and pairwise widening adds into int32 (sadalp), so every block sum is the
// exact integer of quant_panels.h and the float steps are the portable path's: same bits.
// Float weight rows (f32, bf16, f16) have their NEON kernel here too, shared by every tier.
#include <algorithm>
#include <cstring>

#include "kernels/matmul_kernels.h"
#include "kernels/numeric.h"
#include "kernels/quant_panels.h"

#if defined(__aarch64__)
#include <arm_neon.h>

namespace gemma4 {

namespace {

#include "kernels/panel_driver.h"
#include "kernels/panel_epilogue_neon.h"

// Tokens per tile: 8 pair-sum registers + 4 float accumulators per token, 4 weight registers.
constexpr int kNeonTokens = 2;

// A token's four activation bytes of one group, twice (the operand of smull with 8 weight bytes:
// two rows' four).
inline int8x8_t broadcast4(const int8_t* a) {
  int32_t v;
  std::memcpy(&v, a, 4);
  return vreinterpret_s8_s32(vdup_n_s32(v));
}

// pairs[2q] lanes: row 4q's two pair sums, row 4q + 1's; pairs[2q + 1]: rows 4q + 2, 4q + 3.
inline void finish_pairs(const int32x4_t (&pairs)[8], int32x4_t (&dots)[4]) {
  for (int q = 0; q < 4; ++q) dots[q] = vpaddq_s32(pairs[2 * q], pairs[2 * q + 1]);
}

// Q8_0: signed q · a as int16 products (|q·a| ≤ 128², exact), pair-summed into int32 per group.
template <int T>
struct Q8Tile {
  static void run(const PanelTask& task, int64_t t, bool) {
    const QuantizedActivations& xq = *task.p->xq;
    float32x4_t acc[T][4];
    for (auto& a : acc) zero(a);
    for (int64_t b = 0; b < task.blocks; ++b) {
      const uint8_t* q = block_quants(task, WeightType::Q8_0, b);
      int32x4_t pairs[T][8];
      for (auto& row : pairs)
        for (auto& s : row) s = vdupq_n_s32(0);
      for (int k = 0; k < 8; ++k) {
        int8x16_t w[4];
        for (int r = 0; r < 4; ++r) w[r] = q8_signed(q + 64 * k + 16 * r);
        for (int j = 0; j < T; ++j) {
          const int8x8_t a = broadcast4(xq.row_quants(t + j) + b * 32 + 4 * k);
          for (int r = 0; r < 4; ++r) {
            pairs[j][2 * r] = vpadalq_s16(pairs[j][2 * r], vmull_s8(vget_low_s8(w[r]), a));
            pairs[j][2 * r + 1] = vpadalq_s16(pairs[j][2 * r + 1], vmull_s8(vget_high_s8(w[r]), a));
          }
        }
      }
      for (int j = 0; j < T; ++j) {
        int32x4_t dots[4];
        finish_pairs(pairs[j], dots);
        apply_block_scales(block_scales(task, WeightType::Q8_0, b), xq.row_scales(t + j)[b], dots, acc[j]);
      }
    }
    for (int j = 0; j < T; ++j) store_results(task, t + j, acc[j]);
  }
};

// Q4_0: (q − 8) · a summed in int16 over the whole block (eight products of |·| ≤ 8 · 128 per lane:
// at most 8192, exact), then pair-summed into int32 once.
template <int T>
struct Q4Tile {
  static void run(const PanelTask& task, int64_t t, bool) {
    const QuantizedActivations& xq = *task.p->xq;
    float32x4_t acc[T][4];
    for (auto& a : acc) zero(a);
    for (int64_t b = 0; b < task.blocks; ++b) {
      const uint8_t* q = block_quants(task, WeightType::Q4_0, b);
      int16x8_t products[T][8];
      for (auto& row : products)
        for (auto& s : row) s = vdupq_n_s16(0);
      for (int k = 0; k < 4; ++k) {
        int8x16_t lo[4], hi[4];
        for (int r = 0; r < 4; ++r) {
          const uint8x16_t bytes = vld1q_u8(q + 64 * k + 16 * r);
          lo[r] = q4_low_signed(bytes);
          hi[r] = q4_high_signed(bytes);
        }
        for (int j = 0; j < T; ++j) {
          const int8_t* a = xq.row_quants(t + j) + b * 32 + 4 * k;
          const int8x8_t a_lo = broadcast4(a), a_hi = broadcast4(a + 16);
          for (int r = 0; r < 4; ++r) {
            int16x8_t& p0 = products[j][2 * r];
            int16x8_t& p1 = products[j][2 * r + 1];
            p0 = vmlal_s8(vmlal_s8(p0, vget_low_s8(lo[r]), a_lo), vget_low_s8(hi[r]), a_hi);
            p1 = vmlal_s8(vmlal_s8(p1, vget_high_s8(lo[r]), a_lo), vget_high_s8(hi[r]), a_hi);
          }
        }
      }
      for (int j = 0; j < T; ++j) {
        int32x4_t pairs[8];
        for (int i = 0; i < 8; ++i) pairs[i] = vpaddlq_s16(products[j][i]);
        int32x4_t dots[4];
        finish_pairs(pairs, dots);
        apply_block_scales(block_scales(task, WeightType::Q4_0, b), xq.row_scales(t + j)[b], dots, acc[j]);
      }
    }
    for (int j = 0; j < T; ++j) store_results(task, t + j, acc[j]);
  }
};

// ---- float weights (f32, bf16, f16 rows) ------------------------------------------------------
// One weight row against T tokens: eight decoded weights serve the T tokens. Each output has the
// same arithmetic whatever T is (two float32x4 accumulators over the columns in steps of eight,
// one fixed reduction, then the tail in order), so a row's result does not depend on the batch.

struct LoadF32 {
  static float32x4_t load4(const void* base, int64_t i) { return vld1q_f32(static_cast<const float*>(base) + i); }
  static float load1(const void* base, int64_t i) { return static_cast<const float*>(base)[i]; }
  static constexpr int64_t kBytes = 4;
};
struct LoadBF16 {
  static float32x4_t load4(const void* base, int64_t i) {
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(static_cast<const uint16_t*>(base) + i), 16));
  }
  static float load1(const void* base, int64_t i) { return bf16_to_f32(static_cast<const uint16_t*>(base)[i]); }
  static constexpr int64_t kBytes = 2;
};
struct LoadF16 {
  static float32x4_t load4(const void* base, int64_t i) {
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(static_cast<const uint16_t*>(base) + i)));
  }
  static float load1(const void* base, int64_t i) { return f16_to_f32(static_cast<const uint16_t*>(base)[i]); }
  static constexpr int64_t kBytes = 2;
};

template <class Load, int T>
void float_row_tokens(const MatmulProblem& p, int64_t r, int64_t t) {
  const int64_t cols = p.w->cols;
  const void* wrow = static_cast<const char*>(p.w->data) + r * cols * Load::kBytes;
  float32x4_t acc[T][2];
  for (auto& a : acc) a[0] = a[1] = vdupq_n_f32(0.0f);
  int64_t c = 0;
  for (; c + 8 <= cols; c += 8) {
    const float32x4_t w0 = Load::load4(wrow, c), w1 = Load::load4(wrow, c + 4);
    for (int j = 0; j < T; ++j) {
      const float* x = p.x + (t + j) * p.x_stride + c;
      acc[j][0] = vfmaq_f32(acc[j][0], w0, vld1q_f32(x));
      acc[j][1] = vfmaq_f32(acc[j][1], w1, vld1q_f32(x + 4));
    }
  }
  for (int j = 0; j < T; ++j) {
    const float* x = p.x + (t + j) * p.x_stride;
    float sum = vaddvq_f32(vaddq_f32(acc[j][0], acc[j][1]));
    for (int64_t k = c; k < cols; ++k) sum += Load::load1(wrow, k) * x[k];
    p.y[(t + j) * p.y_stride + r] = sum;
  }
}

constexpr int kFloatTokens = 4;
constexpr int64_t kFloatTokenChunk = 64;  // activation rows kept hot while the weight rows stream

template <class Load>
void float_rows(const MatmulProblem& p, int64_t r0, int64_t r1) {
  for (int64_t t0 = 0; t0 < p.n; t0 += kFloatTokenChunk) {
    const int64_t t1 = std::min(p.n, t0 + kFloatTokenChunk);
    for (int64_t r = r0; r < r1; ++r) {
      int64_t t = t0;
      for (; t + kFloatTokens <= t1; t += kFloatTokens) float_row_tokens<Load, kFloatTokens>(p, r, t);
      switch (t1 - t) {
        case 3: float_row_tokens<Load, 3>(p, r, t); break;
        case 2: float_row_tokens<Load, 2>(p, r, t); break;
        case 1: float_row_tokens<Load, 1>(p, r, t); break;
        default: break;
      }
    }
  }
}

}  // namespace

void quant_panels_neon(const MatmulProblem& p, int64_t r0, int64_t r1) {
  if (p.w->type == WeightType::Q8_0) {
    panel_rows<Q8Tile, kNeonTokens>(p, r0, r1);
  } else {
    panel_rows<Q4Tile, kNeonTokens>(p, r0, r1);
  }
}

void matmul_rows_arm(const MatmulProblem& p, int64_t r0, int64_t r1, KernelPath path) {
  switch (p.w->type) {
    case WeightType::F32: return float_rows<LoadF32>(p, r0, r1);
    case WeightType::BF16: return float_rows<LoadBF16>(p, r0, r1);
    case WeightType::F16: return float_rows<LoadF16>(p, r0, r1);
    default: break;
  }
  switch (path) {
    case KernelPath::I8mm: return quant_panels_i8mm(p, r0, r1);
    case KernelPath::Dotprod: return quant_panels_dotprod(p, r0, r1);
    default: return quant_panels_neon(p, r0, r1);
  }
}

}  // namespace gemma4

#else  // not AArch64: the AArch64 paths are never selected (kernel_path_supported says so).

namespace gemma4 {
void quant_panels_neon(const MatmulProblem& p, int64_t r0, int64_t r1) { matmul_rows_portable(p, r0, r1); }
void matmul_rows_arm(const MatmulProblem& p, int64_t r0, int64_t r1, KernelPath) {
  matmul_rows_portable(p, r0, r1);
}
}  // namespace gemma4

#endif
