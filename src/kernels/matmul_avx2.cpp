// AVX2/FMA/F16C matmul kernels. Compiled for that target function by function (see the pragma
// below), so the library still runs on any x86-64; matmul() only calls them after the CPU check.
// Debian's Highway 1.0.3 has no int8 dot-product ops (SatWidenMulPairwiseAdd,
// SumOfMulQuadAccumulate), hence raw intrinsics for the quantized kernels.
#include <algorithm>
#include <cstring>

#include "kernels/matmul_kernels.h"
#include "kernels/numeric.h"

#if defined(__x86_64__)
#include <immintrin.h>

// Everything below (and nothing included above) is compiled for AVX2/FMA/F16C.
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")

#include "kernels/simd_math_avx2.h"

namespace gemma4 {

namespace {

constexpr int64_t kTokenChunk = 64;
constexpr int64_t kQ4PrefillTokens = 6;  // from here on, unpacking a row tile once pays off
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

// ---- quantized weights ----------------------------------------------------------------------

struct TileQ8_0 {
  using Block = BlockQ8_0;
  // Weight block as the unsigned operand of maddubs (|w|) plus the sign source.
  struct Unpacked {
    __m256i magnitude;
    __m256i sign;
  };
  static Unpacked unpack(const Block& b) {
    __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.q));
    return {_mm256_sign_epi8(q, q), q};
  }
  // Eight exact int32 sums of w·a over 4 consecutive elements (|w|·(a·sign w) equals w·a; the
  // int16 pair sums do not saturate: 127·127·2 < 32768).
  static __m256i lane_sums(const Unpacked& w, __m256i a, const int32_t*) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(w.magnitude, _mm256_sign_epi8(a, w.sign)),
                             _mm256_set1_epi16(1));
  }
  static constexpr bool kNeedsBias = false;
};

struct TileQ4_0 {
  using Block = BlockQ4_0;
  struct Unpacked {
    __m256i nibbles;  // weights 0..31 of the block, unsigned 0..15
  };
  static Unpacked unpack(const Block& b) {
    // The 16 bytes go to both 128-bit lanes (a load-port broadcast, no shuffle); shifting the upper
    // lane's dwords right by 4 brings the high nibbles down, and the mask keeps one nibble per byte.
    const __m256i bytes = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.q)));
    const __m256i shifted = _mm256_srlv_epi32(bytes, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4));
    return {_mm256_and_si256(shifted, _mm256_set1_epi8(0x0f))};
  }
  // Σ q·a per 4 elements plus the activation's -8·Σa gives Σ (q - 8)·a exactly
  // (int16 pair sums |15·127·2| do not saturate).
  static __m256i lane_sums(const Unpacked& w, __m256i a, const int32_t* bias) {
    const __m256i qa = _mm256_madd_epi16(_mm256_maddubs_epi16(w.nibbles, a), _mm256_set1_epi16(1));
    return _mm256_add_epi32(qa, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias)));
  }
  static constexpr bool kNeedsBias = true;
};

// The f16 scales of block b of R rows, as floats in the low lanes of a ymm (one F16C convert).
template <class Block, int R>
inline __m256 row_scales(const Block* const* rows, int64_t b) {
  __m128i h = _mm_cvtsi32_si128(rows[0][b].d);
  if constexpr (R > 1) h = _mm_insert_epi16(h, rows[1][b].d, 1);
  if constexpr (R > 2) h = _mm_insert_epi16(h, rows[2][b].d, 2);
  if constexpr (R > 3) h = _mm_insert_epi16(h, rows[3][b].d, 3);
  static_assert(R <= 4);
  return _mm256_castps128_ps256(_mm_cvtph_ps(h));
}

// R weight rows × T activation rows, all blocks, with the arithmetic of quant.h's batch-invariance
// note (the VNNI kernels in matmul_vnni.cpp do the same float operations).
// `unpacked` (Q4_0 only, else null): the R rows' blocks already unpacked, [R][blocks] vectors, so a
// prefill tile does not redo the nibble unpacking for every token tile.
template <class Q, int R, int T>
void quant_tile(const MatmulProblem& p, int64_t r, int64_t t, bool prefetch, const __m256i* unpacked = nullptr) {
  using Block = typename Q::Block;
  const int64_t blocks = p.w->cols / 32;
  const Block* wrow[R];
  for (int i = 0; i < R; ++i) wrow[i] = static_cast<const Block*>(p.w->data) + (r + i) * blocks;
  const int8_t* aq[T];
  const float* as[T];
  const int32_t* ab[T];
  for (int j = 0; j < T; ++j) {
    aq[j] = p.xq->row_quants(t + j);
    as[j] = p.xq->row_scales(t + j);
    ab[j] = Q::kNeedsBias ? p.xq->row_lane_bias(t + j) : nullptr;
  }
  __m256 acc[R][T];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) acc[i][j] = _mm256_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    // On the first pass every weight byte comes straight from DRAM: asking for the bytes a few
    // cache lines ahead keeps more misses in flight than the hardware prefetcher alone.
    if (prefetch) {
      for (int i = 0; i < R; ++i)
        _mm_prefetch(reinterpret_cast<const char*>(wrow[i] + b) + kPrefetchBytes, _MM_HINT_T0);
    }
    typename Q::Unpacked w[R];
    for (int i = 0; i < R; ++i) {
      if constexpr (Q::kNeedsBias) {
        w[i] = unpacked ? typename Q::Unpacked{_mm256_loadu_si256(unpacked + i * blocks + b)} : Q::unpack(wrow[i][b]);
      } else {
        w[i] = Q::unpack(wrow[i][b]);
      }
    }
    const __m256 wd = row_scales<Block, R>(wrow, b);
    for (int j = 0; j < T; ++j) {
      const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(aq[j] + b * 32));
      // Products of the R weight scales with this activation scale; lane i is broadcast per row
      // through memory: a broadcast load uses a load port instead of the shuffle unit.
      alignas(32) float products[8];
      _mm256_store_ps(products, _mm256_mul_ps(wd, _mm256_set1_ps(as[j][b])));
      const int32_t* bias = Q::kNeedsBias ? ab[j] + b * 8 : nullptr;
      for (int i = 0; i < R; ++i) {
        const __m256i sums = Q::lane_sums(w[i], a, bias);
        const __m256 scale = _mm256_broadcast_ss(products + i);
        acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), scale, acc[i][j]);
      }
    }
  }
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) p.y[(t + j) * p.y_stride + r + i] = hsum(acc[i][j]);
}

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
template <class Q>
struct QuantTile {
  template <int R, int T>
  struct Of {
    static void run(const MatmulProblem& p, int64_t r, int64_t t, bool prefetch) {
      quant_tile<Q, R, T>(p, r, t, prefetch);
    }
  };
};

// Q4_0 with several tokens: each 4-row tile is unpacked once into a per-thread buffer and then
// serves every token tile of the chunk (same values, so the same bits as unpacking in the tile).
void q4_rows_prefill(const MatmulProblem& p, int64_t r0, int64_t r1) {
  constexpr int T = 2;
  const int64_t blocks = p.w->cols / 32;
  __m256i* unpacked = static_cast<__m256i*>(matmul_scratch(kMatmulRowTile * blocks * sizeof(__m256i)));
  for (int64_t t0 = 0; t0 < p.n; t0 += kTokenChunk) {
    const int64_t t1 = std::min(p.n, t0 + kTokenChunk);
    int64_t r = r0;
    for (; r + kMatmulRowTile <= r1; r += kMatmulRowTile) {
      const BlockQ4_0* rows = static_cast<const BlockQ4_0*>(p.w->data) + r * blocks;
      for (int64_t k = 0; k < kMatmulRowTile * blocks; ++k)
        _mm256_storeu_si256(unpacked + k, TileQ4_0::unpack(rows[k]).nibbles);
      int64_t t = t0;
      for (; t + T <= t1; t += T) quant_tile<TileQ4_0, kMatmulRowTile, T>(p, r, t, false, unpacked);
      for (; t < t1; ++t) quant_tile<TileQ4_0, kMatmulRowTile, 1>(p, r, t, false, unpacked);
    }
    if (r < r1) rows_by_tokens<QuantTile<TileQ4_0>::Of, T>(p, r, r1, t0, t1);
  }
}

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
      if (vnni_supported()) {
        quant_rows_vnni(p, r0, r1);
      } else {
        chunked<QuantTile<TileQ8_0>::Of, 2>(p, r0, r1);
      }
      break;
    case WeightType::Q4_0:
      if (vnni_supported()) {
        quant_rows_vnni(p, r0, r1);
      } else {
        if (p.n >= kQ4PrefillTokens) {
          q4_rows_prefill(p, r0, r1);
        } else {
          chunked<QuantTile<TileQ4_0>::Of, 2>(p, r0, r1);
        }
      }
      break;
  }
}

void quantize_activations_avx2(const float* x, int64_t rows, int64_t stride, int64_t cols,
                               bool with_lane_bias, QuantizedActivations& out) {
  const int64_t blocks = cols / 32;
  resize_activations(out, rows, blocks, with_lane_bias);
  const __m256 sign_bit = _mm256_set1_ps(-0.0f);
  const __m256i eight = _mm256_set1_epi8(8);
  const __m256i minus_ones = _mm256_set1_epi16(-1);
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
      if (with_lane_bias) {
        // -(8·q[2i] + 8·q[2i+1]) - (8·q[2i+2] + 8·q[2i+3]) per int32 lane.
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.lane_bias.data() + (r * blocks + b) * 8),
                            _mm256_madd_epi16(_mm256_maddubs_epi16(eight, q8), minus_ones));
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
                               bool with_lane_bias, QuantizedActivations& out) {
  quantize_activations_portable(x, rows, stride, cols, with_lane_bias, out);
}
}  // namespace gemma4

#endif
