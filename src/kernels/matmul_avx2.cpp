// AVX2/FMA/F16C matmul kernels. Compiled for that target function by function (see the pragma
// below), so the library still runs on any x86-64; matmul() only calls them after the CPU check.
// Debian's Highway 1.0.3 has no int8 dot-product ops (SatWidenMulPairwiseAdd,
// SumOfMulQuadAccumulate), hence raw intrinsics for the quantized kernels.
#include <algorithm>
#include <cstring>

#include "kernels/matmul_kernels.h"
#include "kernels/numeric.h"
#include "kernels/quant_panels.h"

#if defined(__x86_64__)
#include <immintrin.h>

// Everything below (and nothing included above) is compiled for AVX2/FMA/F16C.
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")

#include "kernels/simd_math_avx2.h"

namespace gemma4 {

namespace {

constexpr int64_t kTokenChunk = 64;
#ifndef GEMMA4_PREFETCH_BYTES
#define GEMMA4_PREFETCH_BYTES 8192
#endif
constexpr int64_t kPrefetchBytes = GEMMA4_PREFETCH_BYTES;  // distance ahead in each weight row  // activation rows kept hot in L2 while weight tiles stream

using simd::hsum;

inline float half_to_float(uint16_t h) { return _cvtsh_ss(h); }

// ---- float weights --------------------------------------------------------------------------

struct LoadF32 {
  static __m256 load8(const void* base, int64_t i) {
    return _mm256_loadu_ps(static_cast<const float*>(base) + i);
  }
  static float load1(const void* base, int64_t i) { return static_cast<const float*>(base)[i]; }
  static constexpr int64_t kBytes = 4;
};
struct LoadBF16 {
  static __m256 load8(const void* base, int64_t i) {
    __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(base) + i));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  static float load1(const void* base, int64_t i) {
    uint16_t h;
    std::memcpy(&h, static_cast<const uint16_t*>(base) + i, 2);
    return bf16_to_f32(h);
  }
  static constexpr int64_t kBytes = 2;
};
struct LoadF16 {
  static __m256 load8(const void* base, int64_t i) {
    __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(base) + i));
    return _mm256_cvtph_ps(h);
  }
  static float load1(const void* base, int64_t i) {
    uint16_t h;
    std::memcpy(&h, static_cast<const uint16_t*>(base) + i, 2);
    return half_to_float(h);
  }
  static constexpr int64_t kBytes = 2;
};

// R weight rows × T activation rows, all columns. The weight vectors are converted once and
// reused across the T activation rows held in accumulators.
// `prefetch`: this tile is the first pass over its weight rows (later token tiles find them cached).
template <class Load, int R, int T>
void float_tile(const MatmulProblem& p, int64_t r, int64_t t, bool prefetch) {
  const int64_t cols = p.w->cols;
  const char* wbase = static_cast<const char*>(p.w->data);
  const void* wrow[R];
  for (int i = 0; i < R; ++i) wrow[i] = wbase + (r + i) * cols * Load::kBytes;
  const float* xrow[T];
  for (int j = 0; j < T; ++j) xrow[j] = p.x + (t + j) * p.x_stride;
  __m256 acc[R][T];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) acc[i][j] = _mm256_setzero_ps();
  int64_t c = 0;
  for (; c + 8 <= cols; c += 8) {
    if (prefetch) {  // see quant_tile
      if ((c * Load::kBytes) % 64 == 0)
        for (int i = 0; i < R; ++i)
          _mm_prefetch(static_cast<const char*>(wrow[i]) + c * Load::kBytes + kPrefetchBytes, _MM_HINT_T0);
    }
    __m256 wv[R];
    for (int i = 0; i < R; ++i) wv[i] = Load::load8(wrow[i], c);
    for (int j = 0; j < T; ++j) {
      __m256 xv = _mm256_loadu_ps(xrow[j] + c);
      for (int i = 0; i < R; ++i) acc[i][j] = _mm256_fmadd_ps(wv[i], xv, acc[i][j]);
    }
  }
  for (int i = 0; i < R; ++i) {
    for (int j = 0; j < T; ++j) {
      float sum = hsum(acc[i][j]);
      for (int64_t k = c; k < cols; ++k) sum += Load::load1(wrow[i], k) * xrow[j][k];
      p.y[(t + j) * p.y_stride + r + i] = sum;
    }
  }
}

// ---- quantized weights: 16-row panels (quant_panels.h) -----------------------------------------
// A 64-byte group of a panel is two ymm: rows 0..7 and rows 8..15, lane i holding row i's four
// bytes. maddubs multiplies them with the token's four activation bytes broadcast to every lane.

#include "kernels/panel_driver.h"

// Tokens per tile: 2 halves × T float accumulators plus T integer sums in 16 registers.
constexpr int kPanelTokens = 3;

inline __m256i broadcast4(const int8_t* a) {
  int32_t v;
  std::memcpy(&v, a, 4);
  return _mm256_set1_epi32(v);
}

inline void store_results(const PanelTask& task, int64_t t, __m256 low, __m256 high) {
  if (task.lo == 0 && task.hi == kPanelRows) {
    float* y = task.p->y + t * task.p->y_stride + task.row0;
    _mm256_storeu_ps(y, low);
    _mm256_storeu_ps(y + 8, high);
    return;
  }
  alignas(32) float values[kPanelRows];
  _mm256_store_ps(values, low);
  _mm256_store_ps(values + 8, high);
  store_panel_lanes(task, t, values);
}

// acc = fma(float(sums), d_w · d_a, acc) for the 8 rows of half h of block b (scales: its 16 f16).
template <int T>
inline void apply_scales(const PanelTask& task, const uint16_t* scales, int64_t t, int64_t b, int h,
                         const __m256i* sums, __m256* acc) {
  const __m256 wd = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(scales + 8 * h)));
  for (int j = 0; j < T; ++j) {
    const __m256 scale = _mm256_mul_ps(wd, _mm256_set1_ps(task.p->xq->row_scales(t + j)[b]));
    acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums[j]), scale, acc[j]);
  }
}

// Q8_0: the stored q + 128 becomes the signed q again; maddubs takes |q| and the activation with
// q's sign (|q|·a·sign(q) = q·a, pair sums ≤ 2·127·127 do not saturate), madd widens to int32.
// Both halves of a group are done together, so each activation broadcast serves 16 rows.
template <int T>
struct Q8Tile {
  static void run(const PanelTask& task, int64_t t, bool prefetch) {
    const QuantizedActivations& xq = *task.p->xq;
    const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[2][T];
    for (int h = 0; h < 2; ++h)
      for (int j = 0; j < T; ++j) acc[h][j] = _mm256_setzero_ps();
    for (int64_t b = 0; b < task.blocks; ++b) {
      const uint8_t* q = block_quants(task, WeightType::Q8_0, b);
      if (prefetch)
        for (int line = 0; line < 512; line += 64) _mm_prefetch(reinterpret_cast<const char*>(q + kPrefetchBytes + line), _MM_HINT_T0);
      __m256i sums[2][T];
      for (int h = 0; h < 2; ++h)
        for (int j = 0; j < T; ++j) sums[h][j] = _mm256_setzero_si256();
      for (int k = 0; k < 8; ++k) {
        __m256i w[2], magnitude[2];
        for (int h = 0; h < 2; ++h) {
          w[h] = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 64 * k + 32 * h)), flip);
          magnitude[h] = _mm256_sign_epi8(w[h], w[h]);
        }
        for (int j = 0; j < T; ++j) {
          const __m256i a = broadcast4(xq.row_quants(t + j) + b * 32 + 4 * k);
          for (int h = 0; h < 2; ++h) {
            const __m256i products = _mm256_maddubs_epi16(magnitude[h], _mm256_sign_epi8(a, w[h]));
            sums[h][j] = _mm256_add_epi32(sums[h][j], _mm256_madd_epi16(products, ones));
          }
        }
      }
      for (int h = 0; h < 2; ++h) apply_scales<T>(task, block_scales(task, WeightType::Q8_0, b), t, b, h, sums[h], acc[h]);
    }
    for (int j = 0; j < T; ++j) store_results(task, t + j, acc[0][j], acc[1][j]);
  }
};

// Q4_0: nibbles × activations summed in int16 over the whole block (8 pair sums of ≤ 2·15·127
// stay below 32768), widened once, then the block's −8·Σa added. Both halves of a group are done
// together, so each activation broadcast serves 16 rows.
template <int T>
struct Q4Tile {
  static void run(const PanelTask& task, int64_t t, bool prefetch) {
    const QuantizedActivations& xq = *task.p->xq;
    const __m256i low_nibbles = _mm256_set1_epi8(0x0f);
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[2][T];
    for (int h = 0; h < 2; ++h)
      for (int j = 0; j < T; ++j) acc[h][j] = _mm256_setzero_ps();
    for (int64_t b = 0; b < task.blocks; ++b) {
      const uint8_t* q = block_quants(task, WeightType::Q4_0, b);
      if (prefetch)
        for (int line = 0; line < 256; line += 64) _mm_prefetch(reinterpret_cast<const char*>(q + kPrefetchBytes + line), _MM_HINT_T0);
      __m256i sums[2][T];
      for (int h = 0; h < 2; ++h)
        for (int j = 0; j < T; ++j) sums[h][j] = _mm256_setzero_si256();
      for (int k = 0; k < 4; ++k) {
        __m256i lo[2], hi[2];
        for (int h = 0; h < 2; ++h) {
          const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 64 * k + 32 * h));
          lo[h] = _mm256_and_si256(bytes, low_nibbles);
          hi[h] = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low_nibbles);
        }
        for (int j = 0; j < T; ++j) {
          const int8_t* a = xq.row_quants(t + j) + b * 32 + 4 * k;
          const __m256i a_lo = broadcast4(a), a_hi = broadcast4(a + 16);
          for (int h = 0; h < 2; ++h) {
            sums[h][j] = _mm256_add_epi16(sums[h][j], _mm256_maddubs_epi16(lo[h], a_lo));
            sums[h][j] = _mm256_add_epi16(sums[h][j], _mm256_maddubs_epi16(hi[h], a_hi));
          }
        }
      }
      for (int h = 0; h < 2; ++h) {
        for (int j = 0; j < T; ++j)
          sums[h][j] = _mm256_add_epi32(_mm256_madd_epi16(sums[h][j], ones), _mm256_set1_epi32(xq.row_block_bias(t + j)[b]));
        apply_scales<T>(task, block_scales(task, WeightType::Q4_0, b), t, b, h, sums[h], acc[h]);
      }
    }
    for (int j = 0; j < T; ++j) store_results(task, t + j, acc[0][j], acc[1][j]);
  }
};

// ---- tiling driver --------------------------------------------------------------------------

template <template <int, int> class Tile, int T>
void rows_by_tokens(const MatmulProblem& p, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  int64_t r = r0;
  for (; r + kMatmulRowTile <= r1; r += kMatmulRowTile) {
    int64_t t = t0;
    for (; t + T <= t1; t += T) Tile<kMatmulRowTile, T>::run(p, r, t, t == t0);
    for (; t < t1; ++t) Tile<kMatmulRowTile, 1>::run(p, r, t, t == t0);
  }
  for (; r < r1; ++r) {
    int64_t t = t0;
    for (; t + T <= t1; t += T) Tile<1, T>::run(p, r, t, t == t0);
    for (; t < t1; ++t) Tile<1, 1>::run(p, r, t, t == t0);
  }
}

template <class Load>
struct FloatTile {
  template <int R, int T>
  struct Of {
    static void run(const MatmulProblem& p, int64_t r, int64_t t, bool prefetch) {
      float_tile<Load, R, T>(p, r, t, prefetch);
    }
  };
};
template <template <int, int> class Tile, int T>
void chunked(const MatmulProblem& p, int64_t r0, int64_t r1) {
  for (int64_t t0 = 0; t0 < p.n; t0 += kTokenChunk) {
    rows_by_tokens<Tile, T>(p, r0, r1, t0, std::min(p.n, t0 + kTokenChunk));
  }
}

}  // namespace

void matmul_rows_avx2(const MatmulProblem& p, int64_t r0, int64_t r1) {
  switch (p.w->type) {
    case WeightType::F32: chunked<FloatTile<LoadF32>::Of, 3>(p, r0, r1); break;
    case WeightType::BF16: chunked<FloatTile<LoadBF16>::Of, 3>(p, r0, r1); break;
    case WeightType::F16: chunked<FloatTile<LoadF16>::Of, 3>(p, r0, r1); break;
    case WeightType::Q8_0:
    case WeightType::Q4_0:
      if (vnni_supported()) {
        quant_panels_vnni(p, r0, r1);
      } else {
        quant_panels_avx2(p, r0, r1);
      }
      break;
  }
}

void quant_panels_avx2(const MatmulProblem& p, int64_t r0, int64_t r1) {
  if (p.w->type == WeightType::Q8_0) {
    panel_rows<Q8Tile, kPanelTokens>(p, r0, r1);
  } else {
    panel_rows<Q4Tile, kPanelTokens>(p, r0, r1);
  }
}

void quantize_activations_avx2(const float* x, int64_t rows, int64_t stride, int64_t cols,
                               int32_t bias_offset, QuantizedActivations& out) {
  const int64_t blocks = cols / 32;
  resize_activations(out, rows, blocks, bias_offset != 0);
  const __m256 sign_bit = _mm256_set1_ps(-0.0f);
  const __m256i ones = _mm256_set1_epi8(1);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t b = 0; b < blocks; ++b) {
      const float* xb = x + r * stride + b * 32;
      __m256 v[4];
      __m256 amax = _mm256_setzero_ps();
      for (int k = 0; k < 4; ++k) {
        v[k] = _mm256_loadu_ps(xb + 8 * k);
        amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign_bit, v[k]));
      }
      __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
      m = _mm_max_ps(m, _mm_movehl_ps(m, m));
      m = _mm_max_ss(m, _mm_movehdup_ps(m));
      // Same scalar operations as the portable path, so the results are bit-identical.
      const float d = _mm_cvtss_f32(m) / 127.0f;
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      out.scales[r * blocks + b] = d;
      const __m256 idv = _mm256_set1_ps(id);
      __m256i q32[4];
      for (int k = 0; k < 4; ++k) {
        q32[k] = _mm256_cvtps_epi32(
            _mm256_round_ps(_mm256_mul_ps(v[k], idv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
      }
      // Pack 32 int32 -> 32 int8; the packs work per 128-bit lane, the permute restores order.
      __m256i q16a = _mm256_packs_epi32(q32[0], q32[1]);
      __m256i q16b = _mm256_packs_epi32(q32[2], q32[3]);
      __m256i q8 = _mm256_packs_epi16(q16a, q16b);
      q8 = _mm256_permutevar8x32_epi32(q8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.quants.data() + (r * blocks + b) * 32), q8);
      if (bias_offset != 0) {
        // Σq: maddubs(1, q) gives pair sums, madd(·, 1) sums of four, then the eight lanes.
        const __m256i quads = _mm256_madd_epi16(_mm256_maddubs_epi16(ones, q8), _mm256_set1_epi16(1));
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(quads), _mm256_extracti128_si256(quads, 1));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
        out.block_bias[r * blocks + b] = -bias_offset * _mm_cvtsi128_si32(s);
      }
    }
  }
}

}  // namespace gemma4

#pragma GCC pop_options

#else  // not x86-64: the AVX2 path is never selected (kernel_path_supported says so).

namespace gemma4 {
void matmul_rows_avx2(const MatmulProblem& p, int64_t r0, int64_t r1) { matmul_rows_portable(p, r0, r1); }
void quantize_activations_avx2(const float* x, int64_t rows, int64_t stride, int64_t cols,
                               int32_t bias_offset, QuantizedActivations& out) {
  quantize_activations_portable(x, rows, stride, cols, bias_offset, out);
}
void quant_panels_avx2(const MatmulProblem& p, int64_t r0, int64_t r1) { matmul_rows_portable(p, r0, r1); }
}  // namespace gemma4

#endif
