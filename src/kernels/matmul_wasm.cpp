// WebAssembly SIMD128 kernels for the quantized (Q8_0, Q4_0) panel matmul (quant_panels.h).
// The integer block dots use i32x4.dot_i16x8_s; the float step per row and block is the scalar
// fma of the portable path (SIMD128 has no fused multiply-add without relaxed SIMD), so this path
// gives the portable path's bits and a row's result never depends on its batch.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/matmul_kernels.h"
#include "kernels/numeric.h"
#include "kernels/quant_panels.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>

namespace gemma4 {
namespace {

#include "kernels/panel_driver.h"

constexpr int kPanelTokens = 2;

// The token's four activations of a group as i16 [a0 a1 a2 a3 a0 a1 a2 a3].
inline v128_t broadcast4(const int8_t* a) {
  int32_t v;
  std::memcpy(&v, a, 4);
  return wasm_i16x8_extend_low_i8x16(wasm_i32x4_splat(v));
}

// One 16-byte quarter of a group (rows 4c..4c+3, four signed weights each) times the token's
// activations: lanes [row 4c: pairs 01, 23 | row 4c+1: ...] and the same for rows 4c+2, 4c+3.
inline void dot_quarter(v128_t w, v128_t a, v128_t& low, v128_t& high) {
  low = wasm_i32x4_add(low, wasm_i32x4_dot_i16x8(wasm_i16x8_extend_low_i8x16(w), a));
  high = wasm_i32x4_add(high, wasm_i32x4_dot_i16x8(wasm_i16x8_extend_high_i8x16(w), a));
}

// Row sums of quarter c from its two pair-sum accumulators.
inline void row_sums(v128_t low, v128_t high, int32_t* out) {
  const v128_t even = wasm_i32x4_shuffle(low, high, 0, 2, 4, 6);
  const v128_t odd = wasm_i32x4_shuffle(low, high, 1, 3, 5, 7);
  wasm_v128_store(out, wasm_i32x4_add(even, odd));
}

// The signed weights of quarter c of group k of a block (Q8_0: stored q + 128; Q4_0: nibble - 8).
template <WeightType Type>
inline v128_t signed_weights(const uint8_t* q, int k, int c, bool high_nibbles) {
  if constexpr (Type == WeightType::Q8_0) {
    return wasm_v128_xor(wasm_v128_load(q + 64 * k + 16 * c), wasm_i8x16_splat(static_cast<int8_t>(0x80)));
  } else {
    const v128_t bytes = wasm_v128_load(q + 64 * k + 16 * c);
    const v128_t nibbles = high_nibbles ? wasm_u8x16_shr(bytes, 4) : wasm_v128_and(bytes, wasm_i8x16_splat(0x0f));
    return wasm_i8x16_sub(nibbles, wasm_i8x16_splat(8));
  }
}

// Exact int32 dot of block b with token t for the panel's 16 rows.
template <WeightType Type>
void block_dots(const PanelTask& task, int64_t t, int64_t b, int32_t* sums) {
  const uint8_t* q = block_quants(task, Type, b);
  const int8_t* a = task.p->xq->row_quants(t) + b * 32;
  v128_t low[4], high[4];
  for (int c = 0; c < 4; ++c) low[c] = high[c] = wasm_i32x4_splat(0);
  if constexpr (Type == WeightType::Q8_0) {
    for (int k = 0; k < 8; ++k) {
      const v128_t av = broadcast4(a + 4 * k);
      for (int c = 0; c < 4; ++c) dot_quarter(signed_weights<Type>(q, k, c, false), av, low[c], high[c]);
    }
  } else {
    for (int k = 0; k < 4; ++k) {
      const v128_t a_lo = broadcast4(a + 4 * k), a_hi = broadcast4(a + 16 + 4 * k);
      for (int c = 0; c < 4; ++c) {
        dot_quarter(signed_weights<Type>(q, k, c, false), a_lo, low[c], high[c]);
        dot_quarter(signed_weights<Type>(q, k, c, true), a_hi, low[c], high[c]);
      }
    }
  }
  for (int c = 0; c < 4; ++c) row_sums(low[c], high[c], sums + 4 * c);
}

template <WeightType Type>
struct Tile {
  template <int T>
  struct Of {
    static void run(const PanelTask& task, int64_t t, bool /*prefetch*/) {
      float acc[T][kPanelRows] = {};
      alignas(16) int32_t sums[kPanelRows];
      for (int64_t b = 0; b < task.blocks; ++b) {
        const uint16_t* scales = block_scales(task, Type, b);
        for (int j = 0; j < T; ++j) {
          block_dots<Type>(task, t + j, b, sums);
          const float da = task.p->xq->row_scales(t + j)[b];
          for (int i = 0; i < kPanelRows; ++i) {
            uint16_t h;
            std::memcpy(&h, scales + i, 2);
            acc[j][i] = std::fma(static_cast<float>(sums[i]), f16_to_f32(h) * da, acc[j][i]);
          }
        }
      }
      for (int j = 0; j < T; ++j) store_panel_lanes(task, t + j, acc[j]);
    }
  };
};

}  // namespace

void matmul_rows_wasm(const MatmulProblem& p, int64_t r0, int64_t r1) {
  if (p.w->type == WeightType::Q8_0) {
    panel_rows<Tile<WeightType::Q8_0>::Of, kPanelTokens>(p, r0, r1);
  } else if (p.w->type == WeightType::Q4_0) {
    panel_rows<Tile<WeightType::Q4_0>::Of, kPanelTokens>(p, r0, r1);
  } else {
    matmul_rows_portable(p, r0, r1);  // float weights: the portable loop (auto-vectorized)
  }
}

}  // namespace gemma4

#else  // no SIMD128: kernel_path_supported(WasmSimd128) is false, so this is never selected.

namespace gemma4 {
void matmul_rows_wasm(const MatmulProblem& p, int64_t r0, int64_t r1) { matmul_rows_portable(p, r0, r1); }
}  // namespace gemma4

#endif
